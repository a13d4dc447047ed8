/**
 * Chaos verification of exactly-once output (`causalflow verify`): seeded runs of the built-in
 * nondeterministic jobs (`jobs.ts`), or of a user's job file (`job-file.ts`), each judged by `run.ts`
 * against an oracle replay of its final determinant trace and, for the built-in jobs, by the independent
 * witness (`witness/`), whose external service is a real HTTP server started for every run.
 *
 * In `at-least-once` mode the trace is recorded but not used for recovery, so the oracle replays what
 * the failed tasks did before dying while their replacements did something else, and the witness sees
 * calls made twice and broken chains: the verifier must report violations there, which shows it can
 * fail. In `global-rollback` mode transactional sinks show only committed epochs: the output must equal
 * the oracle's, and pass the witness, there too.
 */
import { describeGuarantee } from '../runtime/guarantee.js';
import type { RecoveryMode } from '../config.js';
import { VERIFY_JOBS, type VerifyJob } from './jobs.js';
import { verifyOne, witnessWith, type RunReport, type RunSettings, type RunTarget } from './run.js';
import { WitnessServer } from './witness/server.js';
import { jsonSafe, WORKER_JOBS_EXPORT, WORKER_JOBS_MODULE, type WorkerJobArgs } from './worker-jobs.js';
import type { WorkerKillTally } from './worker-kills.js';
import { ruleFor } from './witness/rules.js';

export type { RunReport } from './run.js';

/** Options of {@link verifyRuns}. */
export interface VerifyOptions {
  /** Runs (default 20). */
  runs: number;
  /** Seed of run 0; run i uses seed + i (default 1). */
  seed: number;
  /** Tasks killed per run (default 2). */
  failures: number;
  /** `exactly-once` (default), `global-rollback`, or `at-least-once` (to show the verifier can fail). */
  mode: RecoveryMode;
  /** Determinant sharing depth (default -1, full; or 'auto'). */
  dsd: number | 'auto';
  /** Checkpoint interval (default 40 ms: several checkpoints per run). */
  checkpointIntervalMs: number;
  /** What the jobs do when recovery escalates over shown output (default `fail`: such a run is a violation). */
  onEscalation?: 'fail' | 'rollback';
  /**
   * Worker processes each run's job runs in (default 0: the embedded runtime). Kills are then SIGKILLs of
   * worker processes at seeded moments (`worker-kills.ts`); the oracle replays embedded.
   */
  workers?: number;
  /** Only these built-in jobs (default: all, in turn). */
  jobs?: readonly string[];
  /** Called after every run. */
  onRun?: (report: RunReport, done: number, total: number) => void;
}

/** A run whose sink declared at-least-once, as it asked to. */
export interface DegradedRun {
  /** The run's seed. */
  seed: number;
  /** Its job. */
  job: string;
  /** The guarantee it kept, in words. */
  guarantee: string;
}

/** The JSON result, as fixed by `../shared/contracts.md` (`verify` … `failedSeeds`), and more. */
export interface VerifyResult {
  verify: 'chaos';
  /** Runs made. */
  runs: number;
  /** Kills scheduled. */
  failuresInjected: number;
  /** Runs that broke exactly-once (or the promise they made instead). */
  violations: number;
  /** Escalations to a global rollback, over all runs. */
  escalations: number;
  /** Seeds of the violating runs, to run again with `--seed`. */
  failedSeeds: number[];
  /** Recovery mode of the runs. */
  mode: RecoveryMode;
  /** Sharing depth of the runs. */
  dsd: number | 'auto';
  /** What the runs' jobs did on an escalation over shown output. */
  onEscalation: 'fail' | 'rollback';
  /** Worker processes per run (0: the embedded runtime). */
  workers: number;
  /** With workers: what the kills hit, summed over the runs (from the `worker-killed` events); null without. */
  workerKills: WorkerKillTally | null;
  /** The job file verified (`--job`), or null for the built-in jobs. */
  jobFile: string | null;
  /** Tasks that actually failed. */
  tasksFailed: number;
  /** Recoveries over all runs. */
  recoveries: number;
  /** Records the sinks showed. */
  records: number;
  /** Runs that stopped with ExactlyOnceLostError. */
  exactlyOnceLost: number;
  /** Runs whose oracle could not follow the trace. */
  oracleFailures: number;
  /** Records the witness checked, and the problems it found (null for a user's job). */
  witness: { records: number; problems: number } | null;
  /** Runs that declared at-least-once on their sink (only with `onEscalation: 'rollback'`). */
  degraded: DegradedRun[];
}

/** Runs the verification of the built-in jobs. */
export async function verifyRuns(options: VerifyOptions): Promise<VerifyResult> {
  const jobs = options.jobs ? VERIFY_JOBS.filter((j) => options.jobs!.includes(j.name)) : VERIFY_JOBS;
  if (jobs.length === 0) throw new Error(`no built-in job named ${options.jobs!.join(', ')}`);
  return runAll(options, null, (run, seed) => verifyBuiltIn(jobs[run % jobs.length]!, run, seed, settingsOf(options)));
}

/**
 * One run of a built-in job, with a witness server of its own, its sources at `pace` times their usual rate
 * (default: {@link WORKER_PACE} in worker processes, else 1).
 */
export async function verifyBuiltIn(spec: VerifyJob, run: number, seed: number, settings: RunSettings, pace = (settings.workers ?? 0) > 0 ? WORKER_PACE : 1): Promise<RunReport> {
  const server = await WitnessServer.start();
  try {
    return await verifyOne(builtInTarget(spec, server, pace), run, seed, settings);
  } finally {
    await server.close();
  }
}

/** The settings of every run, from the options. */
export function settingsOf(options: VerifyOptions): RunSettings {
  return {
    failures: options.failures,
    mode: options.mode,
    dsd: options.dsd,
    checkpointIntervalMs: options.checkpointIntervalMs,
    onEscalation: options.onEscalation ?? 'fail',
    workers: options.workers ?? 0,
  };
}

/** Runs `one` for every run and sums the reports into the result. */
export async function runAll(options: VerifyOptions, jobFile: string | null, one: (run: number, seed: number) => Promise<RunReport>): Promise<VerifyResult> {
  const result: VerifyResult = {
    verify: 'chaos',
    runs: 0,
    failuresInjected: 0,
    violations: 0,
    escalations: 0,
    failedSeeds: [],
    mode: options.mode,
    dsd: options.dsd,
    onEscalation: options.onEscalation ?? 'fail',
    workers: options.workers ?? 0,
    workerKills: (options.workers ?? 0) > 0 ? { killed: 0, together: 0, duringRecovery: 0, duringReplay: 0, standbyOfFailing: 0, standbysOnly: 0 } : null,
    jobFile,
    tasksFailed: 0,
    recoveries: 0,
    records: 0,
    exactlyOnceLost: 0,
    oracleFailures: 0,
    witness: jobFile === null ? { records: 0, problems: 0 } : null,
    degraded: [],
  };
  for (let run = 0; run < options.runs; run++) {
    const seed = options.seed + run;
    const report = await one(run, seed);
    result.runs++;
    result.failuresInjected += report.kills.length;
    result.tasksFailed += report.tasksFailed;
    result.recoveries += report.recoveries;
    result.escalations += report.escalations;
    result.records += report.records;
    if (report.ended === 'exactly-once-lost') result.exactlyOnceLost++;
    if (result.workerKills && report.workerKills) for (const key of Object.keys(result.workerKills) as (keyof WorkerKillTally)[]) result.workerKills[key] += report.workerKills[key];
    if (report.oracleFailure !== null) result.oracleFailures++;
    if (result.witness && report.witness) {
      result.witness.records += report.witness.records;
      result.witness.problems += report.witness.problems;
    }
    if (report.degraded && report.guarantee) result.degraded.push({ seed, job: report.job, guarantee: describeGuarantee(report.guarantee) });
    if (report.violation) {
      result.violations++;
      result.failedSeeds.push(seed);
    }
    options.onRun?.(report, run + 1, options.runs);
  }
  return result;
}

/**
 * The pace of the built-in jobs in worker processes: a third of their usual rate, so that a worker
 * SIGKILLed early comes back (a new process loads the job in about a second) while the job still runs.
 */
export const WORKER_PACE = 1 / 3;

/** A built-in job as a run target at `pace`: it calls `server`; its oracle gets a token the server refuses. */
function builtInTarget(spec: VerifyJob, server: WitnessServer, pace: number): RunTarget {
  const rule = ruleFor(spec.name);
  if (rule === null) throw new Error(`built-in job ${spec.name} has no witness rule`);
  return {
    name: spec.name,
    // The oracle replays recorded answers and must never call out: a call it makes is refused (401),
    // which fails the oracle, which is a violation.
    build: async (options, oracle) => spec.build(options, oracle ? { url: server.url, token: 'the-oracle-must-not-call' } : server, pace),
    identity: (record) => String((record as { uid?: unknown }).uid),
    witness: witnessWith(rule, () => server.log()),
    killWindowMs: [Math.round(80 / pace), Math.round(530 / pace)],
    workerJob: (options) => ({
      module: WORKER_JOBS_MODULE,
      export: WORKER_JOBS_EXPORT,
      args: jsonSafe('the job options', { job: spec.name, options, service: { url: server.url, token: server.token }, pace } satisfies WorkerJobArgs),
    }),
  };
}
