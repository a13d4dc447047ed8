/**
 * One seeded chaos run and its judgement, for a built-in job or a user's job file:
 *
 * 1. build the job with the run's options; kill tasks at seeded moments (some in one instant, some while
 *    an earlier recovery still replays); let it recover and finish, keeping every determinant;
 * 2. replay the final determinant trace of every task as an *oracle*, and compare the output with it
 *    (`compare.ts`); an oracle that cannot follow the trace is a violation, never "not measured";
 * 3. for a built-in job, check every record with the independent witness (`witness/`);
 * 4. judge escalations: a job that stopped with `ExactlyOnceLostError`, or that declared at-least-once
 *    on a sink that had shown output, is a violation unless the run asked for `onEscalation: 'rollback'`.
 *    Then the degraded sink must still show every record of the final execution, in its order (nothing
 *    lost); the records of the abandoned execution are judged on their own only.
 *
 * With `workers`, the run's job runs in worker processes built from the target's `workerJob` (a module
 * and JSON arguments), and the kills are SIGKILLs of workers (`worker-kills.ts`); the oracle stays embedded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, JobHandle } from '../api/job.js';
import type { JobOptions, RecoveryMode, WorkerOptions } from '../config.js';
import type { JobEvent } from '../runtime/events.js';
import type { JobResult } from '../runtime/executor.js';
import { describeGuarantee, type Guarantee } from '../runtime/guarantee.js';
import { SeededRandom } from '../util/random.js';
import { compareOutputs, describeComparison, extraRecords, outputOf, type Comparison, type PartitionedOutput } from './compare.js';
import { classifyWorkerKills, describeWorkerKill, drawWorkerKills, type RespawnKill, type WorkerKillTally } from './worker-kills.js';
import { checkWitness, describeWitness, type WitnessEnv, type WitnessReport, type WitnessRule } from './witness/check.js';

/** A job's sink as the verifier reads it (a `CollectSink`). */
export interface CollectedOutput {
  /** Partitions opened. */
  readonly partitionCount: number;
  /** Visible records of one partition, in output order. */
  partition(subtask: number): readonly unknown[];
}

/** What the verifier runs: a job it can build twice (the run and its oracle). */
export interface RunTarget {
  /** Name in reports. */
  readonly name: string;
  /** Builds the job for the run (`oracle` false) or for its oracle replay. */
  build(options: JobOptions, oracle: boolean): Promise<{ job: Job; sink: CollectedOutput }>;
  /** Names a record (duplicates are counted by identity); default: the record as JSON. */
  readonly identity?: (record: unknown) => string;
  /** Checks the output independently; null for a job the verifier knows nothing of. */
  witness?(output: PartitionedOutput, span: { wall: [number, number]; monotonic: [number, number] }, abandoned: readonly (readonly number[])[] | undefined, incomplete: boolean): WitnessReport;
  /** Kill moments are drawn in this window (ms after the start). */
  readonly killWindowMs: readonly [number, number];
  /**
   * How worker processes build the run's job (`--workers`): the module, its export and the JSON
   * arguments it is called with. Absent for a target that cannot run in worker processes.
   */
  workerJob?(options: JobOptions): WorkerJobSpec;
}

/** What worker processes load to build a run's job: `workers.module`, `workers.export`, `workers.args`. */
export interface WorkerJobSpec {
  /** The module (a path or file URL). */
  module: string;
  /** Its export: a Job, a build function of `args`, or an object with `build(args)`. */
  export: string;
  /** JSON-serialisable arguments. */
  args: unknown;
}

/** Settings of every run. */
export interface RunSettings {
  /** Tasks killed per run. */
  failures: number;
  /** Recovery mode. */
  mode: RecoveryMode;
  /** Determinant sharing depth (-1 full, or 'auto'). */
  dsd: number | 'auto';
  /** Checkpoint interval, ms. */
  checkpointIntervalMs: number;
  /** What the job does when recovery escalates and sinks had shown output. */
  onEscalation: 'fail' | 'rollback';
  /** Default parallelism of the job (default 2). */
  parallelism?: number;
  /**
   * Worker processes the run's job runs in (0 or absent: the embedded runtime). Seeded kills are then
   * SIGKILLs of workers (`worker-N@ms`, see `worker-kills.ts`); the oracle stays embedded.
   */
  workers?: number;
  /**
   * Kills to make instead of the seeded ones (scenario tests): tasks named together die in one instant.
   * `failures` is then ignored.
   */
  kills?: readonly { task: string | readonly string[]; afterMs: number }[];
}

/** What one run found. */
export interface RunReport {
  /** Run number, from 0. */
  run: number;
  /** Its seed. */
  seed: number;
  /** Job name. */
  job: string;
  /** Kills scheduled, as `task@ms`. */
  kills: string[];
  /** With seeded worker kills: how each kill of `kills` was chosen (`worker-kills.ts`); null otherwise. */
  killPatterns: string[] | null;
  /** Tasks that actually failed (`task-failed` events). */
  tasksFailed: number;
  /** Recoveries (standby activations and rollbacks). */
  recoveries: number;
  /** Escalations to a global rollback (I16). */
  escalations: number;
  /** Records the sink showed. */
  records: number;
  /** How the job ended: finished, stopped rather than break exactly-once, or failed otherwise. */
  ended: 'finished' | 'exactly-once-lost' | 'failed';
  /** The guarantee the job reported (null when it did not finish). */
  guarantee: Guarantee | null;
  /** The run declared at-least-once, as it asked to (`onEscalation: 'rollback'`). */
  degraded: boolean;
  /** Why the oracle could not follow the trace, or null. */
  oracleFailure: string | null;
  /** The comparison with the oracle. */
  comparison: Comparison;
  /** The witness's findings (null for a user's job). */
  witness: WitnessReport | null;
  /** The run broke exactly-once (or the promise it made instead). */
  violation: boolean;
  /** Readable reasons when `violation`. */
  reason?: string;
  /** With workers: what the kills hit (from the `worker-killed` events); null without. */
  workerKills: WorkerKillTally | null;
  /** Every event of the run. */
  events: JobEvent[];
}

/** Runs `target` once under seeded kills and judges it. */
export async function verifyOne(target: RunTarget, run: number, seed: number, settings: RunSettings): Promise<RunReport> {
  const random = new SeededRandom(seed);
  const directory = mkdtempSync(join(tmpdir(), 'causalflow-verify-'));
  try {
    const jobOptions = (dir: string): JobOptions => ({
      parallelism: settings.parallelism ?? 2,
      recovery: { mode: settings.mode, checkpointIntervalMs: settings.checkpointIntervalMs, dsd: settings.dsd, onEscalation: settings.onEscalation },
      retainDeterminants: true,
      directory: join(directory, dir),
    });
    const workers = settings.workers ?? 0;
    const { job, sink } = await target.build(jobOptions('run'), false);
    const faults: { task: string | readonly string[]; afterMs: number }[] = [...(settings.kills ?? [])];
    let drawn: ReturnType<typeof drawWorkerKills> | null = null;
    if (!settings.kills) {
      if (workers > 0) {
        drawn = drawWorkerKills(random, job.placement(workers)!, settings.failures, target.killWindowMs);
        faults.push(...drawn.faults);
      } else faults.push(...drawTaskKills(random, job.plan().tasks.map((t) => t.name), settings.failures, target.killWindowMs));
    }
    let workerOptions: WorkerOptions | undefined;
    if (workers > 0) {
      if (!target.workerJob) throw new Error(`${target.name} cannot run in worker processes`);
      const spec = target.workerJob(jobOptions('run'));
      workerOptions = { count: workers, module: spec.module, export: spec.export, args: spec.args };
    }
    const wall0 = Date.now();
    const mono0 = performance.now();
    const handle = await job.start({ faults, ...(workerOptions ? { workers: workerOptions } : {}) });
    const killsOnRespawn = drawn ? killOnRespawn(handle, drawn.respawnKills) : null;
    let result: JobResult | null = null;
    let failure: unknown = null;
    try {
      result = await handle.done;
    } catch (error) {
      failure = error;
    }
    killsOnRespawn?.stop();
    const wall1 = Date.now();
    // A worker process's monotonic clock counts from its own start, which falls within the run.
    const monotonic: [number, number] = workers > 0 ? [0, wall1 - wall0 + 1] : [mono0, performance.now()];
    const span = { wall: [wall0, wall1] as [number, number], monotonic };
    const events = [...handle.events()];
    const output = outputOf(sink);
    const report: RunReport = {
      run,
      seed,
      job: target.name,
      kills: drawn ? drawn.kills.map(describeWorkerKill) : faults.flatMap((f) => (typeof f.task === 'string' ? [f.task] : f.task).map((task) => `${task}@${f.afterMs}ms`)),
      killPatterns: drawn ? drawn.kills.map((k) => k.pattern) : null,
      tasksFailed: events.filter((e) => e.type === 'task-failed').length,
      recoveries: result?.recoveries ?? events.filter((e) => e.type === 'standby-activated' || e.type === 'rollback-started').length,
      escalations: result?.escalations ?? events.filter((e) => e.type === 'escalated').length,
      records: output.reduce((n, p) => n + p.length, 0),
      ended: failure === null ? 'finished' : errorCode(failure) === 'EXACTLY_ONCE_LOST' ? 'exactly-once-lost' : 'failed',
      guarantee: result?.guarantee ?? null,
      degraded: false,
      oracleFailure: null,
      comparison: compareOutputs(output, null, { identity: target.identity }),
      witness: null,
      violation: false,
      workerKills: workers > 0 ? classifyWorkerKills(events) : null,
      events,
    };
    const reasons: string[] = [];
    if (failure !== null) {
      // No oracle for a job that stopped: what it showed must still be one consistent execution.
      reasons.push(report.ended === 'exactly-once-lost' ? `the job stopped with ExactlyOnceLostError (${message(failure)})` : `the job failed (${message(failure)})`);
      if (target.witness) report.witness = target.witness(output, span, undefined, true);
    } else {
      const oracle = await oracleOutput(target, jobOptions('oracle'), handle.traces());
      report.oracleFailure = oracle.failure;
      if (oracle.failure !== null) reasons.push(`the oracle could not follow the final trace (${oracle.failure})`);
      report.comparison = compareOutputs(output, oracle.output, { identity: target.identity });
      const guarantee = result!.guarantee;
      let abandoned: number[][] | undefined;
      if (guarantee.kind === 'at-least-once') {
        // Accepted only where the run asked for it: an escalation of an exactly-once job set to roll back.
        if (settings.mode === 'exactly-once' && settings.onEscalation === 'rollback' && report.escalations > 0) report.degraded = true;
        else if (settings.mode === 'exactly-once') reasons.push(`the job escalated over shown output and went on ${describeGuarantee(guarantee)}, though it asked to fail rather than do so`);
        else reasons.push(`the job kept only ${describeGuarantee(guarantee)}`);
      }
      if (report.degraded) {
        const extras = oracle.output === null ? null : extraRecords(output, oracle.output);
        if (oracle.output !== null && extras === null) reasons.push(`the sink declared ${describeGuarantee(guarantee)}, yet does not show every record of the final execution in order (${describeComparison(report.comparison)})`);
        abandoned = extras ?? undefined;
      } else if (oracle.output !== null && !report.comparison.identical) {
        reasons.push(describeComparison(report.comparison));
      }
      if (target.witness && !(report.degraded && abandoned === undefined)) report.witness = target.witness(output, span, abandoned, false);
    }
    if (report.comparison.duplicates && report.comparison.identical === null) reasons.push(`${report.comparison.duplicates} duplicates by identity`);
    if (report.witness && report.witness.problems > 0) reasons.push(describeWitness(report.witness));
    if (report.records === 0) reasons.push('no output at all');
    if (reasons.length > 0) {
      report.violation = true;
      report.reason = reasons.join('; ');
    }
    return report;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** The witness of a built-in job, bound to its rule and the server log of the run. */
export function witnessWith(rule: WitnessRule, calls: () => WitnessEnv['calls']): NonNullable<RunTarget['witness']> {
  return (output, span, abandoned, incomplete) => checkWitness(rule, output, { ...span, calls: calls() }, { abandoned, incomplete });
}

async function oracleOutput(
  target: RunTarget,
  options: JobOptions,
  traces: Map<number, { epoch: number; bytes: Uint8Array }[]>,
): Promise<{ output: PartitionedOutput | null; failure: string | null }> {
  try {
    const { job, sink } = await target.build(options, true);
    const oracle = await job.replay(traces);
    await oracle.done;
    return { output: outputOf(sink), failure: null };
  } catch (error) {
    // The trace cannot be followed from the start: it is not the trace of one execution.
    return { output: null, failure: message(error) };
  }
}

/** Kills the first worker of each `kills[i].of` to come back, `afterRespawnMs` after it did; `stop` cancels what is pending. */
function killOnRespawn(handle: JobHandle, kills: readonly RespawnKill[]): { stop(): void } {
  const pending = new Set(kills);
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  if (pending.size > 0) {
    handle.onEvent((event) => {
      if (stopped || event.type !== 'worker-respawned') return;
      for (const kill of pending) {
        if (!kill.of.includes(event.worker)) continue;
        pending.delete(kill);
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!stopped) handle.kill(`worker-${event.worker}`);
        }, kill.afterRespawnMs);
        timers.add(timer);
      }
    });
  }
  return {
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
    },
  };
}

/**
 * Seeded kills of tasks (the embedded runtime): each at a fresh moment in `window`, in the same instant
 * as the previous kill, or while its recovery replays (1–8 ms later).
 */
function drawTaskKills(random: SeededRandom, names: readonly string[], failures: number, window: readonly [number, number]): { task: string; afterMs: number }[] {
  const [from, to] = window;
  const faults: { task: string; afterMs: number }[] = [];
  let at = 0;
  for (let i = 0; i < failures; i++) {
    const pattern = i === 0 ? 0 : random.nextInt(3);
    // 0: a fresh moment; 1: at the same moment as the previous kill (one instant); 2: while its recovery replays.
    if (pattern === 0) at = from + random.nextInt(Math.max(1, to - from));
    else if (pattern === 2) at += 1 + random.nextInt(8);
    faults.push({ task: names[random.nextInt(names.length)]!, afterMs: at });
  }
  return faults;
}

function errorCode(error: unknown): string | undefined {
  // By code, not class: a user's job file may load the compiled package, whose classes are not ours.
  return error !== null && typeof error === 'object' && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
