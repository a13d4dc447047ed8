/**
 * Chaos verification of exactly-once output (`causalflow verify`). For each seeded run:
 *
 * 1. run one of the built-in nondeterministic jobs, killing tasks at random moments — some at once,
 *    some while an earlier recovery is still replaying;
 * 2. let it finish, keeping every determinant (test-only retention);
 * 3. check the sink: no record twice (by uid), and output equal, partition by partition and record by
 *    record, to an *oracle replay*: a failure-free run of the same job forced to follow the final
 *    determinant trace of every task.
 *
 * In `at-least-once` mode the trace is recorded but not used for recovery, so the oracle replays what
 * the failed tasks did before dying while their replacements did something else: the verifier must
 * report violations there, which shows it can fail. In `global-rollback` mode the trace of every task
 * continues from the checkpoint the job rolled back to, and transactional sinks show only committed
 * epochs: the output must equal the oracle's there too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../util/random.js';
import type { JobEvent, RecoveryMode } from '../index.js';
import { VERIFY_JOBS, type VerifyJob } from './jobs.js';

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
  /** Determinant sharing depth (default -1, full). */
  dsd: number;
  /** Checkpoint interval (default 40 ms: several checkpoints per run). */
  checkpointIntervalMs: number;
  /** Only these jobs (default: all, in turn). */
  jobs?: readonly string[];
  /** Called after every run. */
  onRun?: (report: RunReport, done: number, total: number) => void;
}

/** What one run found. */
export interface RunReport {
  run: number;
  seed: number;
  job: string;
  kills: string[];
  recoveries: number;
  escalations: number;
  records: number;
  duplicates: number;
  /** Records the oracle produced that the run did not (by uid). */
  lost: number;
  /** Records the run produced that the oracle did not (by uid). */
  unexpected: number;
  /** Partitions whose records differ from the oracle's, in content or order. */
  divergentPartitions: number;
  violation: boolean;
  /** A readable reason when `violation`. */
  reason?: string;
  events: JobEvent[];
}

/** The JSON result, as fixed by `../shared/contracts.md`. */
export interface VerifyResult {
  verify: 'chaos';
  runs: number;
  failuresInjected: number;
  violations: number;
  failedSeeds: number[];
  mode: RecoveryMode;
  dsd: number;
  recoveries: number;
  escalations: number;
  records: number;
}

/** Runs the verification. */
export async function verifyRuns(options: VerifyOptions): Promise<VerifyResult> {
  const jobs = options.jobs ? VERIFY_JOBS.filter((j) => options.jobs!.includes(j.name)) : VERIFY_JOBS;
  const result: VerifyResult = {
    verify: 'chaos',
    runs: 0,
    failuresInjected: 0,
    violations: 0,
    failedSeeds: [],
    mode: options.mode,
    dsd: options.dsd,
    recoveries: 0,
    escalations: 0,
    records: 0,
  };
  for (let run = 0; run < options.runs; run++) {
    const seed = options.seed + run;
    const report = await verifyOne(jobs[run % jobs.length]!, run, seed, options);
    result.runs++;
    result.failuresInjected += report.kills.length;
    result.recoveries += report.recoveries;
    result.escalations += report.escalations;
    result.records += report.records;
    if (report.violation) {
      result.violations++;
      result.failedSeeds.push(seed);
    }
    options.onRun?.(report, run + 1, options.runs);
  }
  return result;
}

/** One seeded run and its oracle. */
export async function verifyOne(spec: VerifyJob, run: number, seed: number, options: VerifyOptions): Promise<RunReport> {
  const random = new SeededRandom(seed);
  const directory = mkdtempSync(join(tmpdir(), 'causalflow-verify-'));
  try {
    const jobOptions = {
      parallelism: 2,
      recovery: { mode: options.mode, checkpointIntervalMs: options.checkpointIntervalMs, dsd: options.dsd },
      retainDeterminants: true,
      directory: join(directory, 'run'),
    };
    const { job, sink } = spec.build(jobOptions);
    const names = job.plan().tasks.map((t) => t.name);
    const kills: string[] = [];
    const faults: { task: string; afterMs: number }[] = [];
    let at = 0;
    for (let i = 0; i < options.failures; i++) {
      const pattern = i === 0 ? 0 : random.nextInt(3);
      // 0: a fresh moment; 1: at the same moment as the previous kill; 2: while its recovery replays.
      if (pattern === 0) at = 80 + random.nextInt(450);
      else if (pattern === 2) at += 1 + random.nextInt(8);
      const task = names[random.nextInt(names.length)]!;
      faults.push({ task, afterMs: at });
      kills.push(`${task}@${at}ms`);
    }
    const handle = await job.start({ faults });
    const outcome = await handle.done;
    const traces = handle.executor.traces();
    const runOutput = partitionsOf(sink);

    const oracleBuild = spec.build({ ...jobOptions, directory: join(directory, 'oracle') });
    const oracle = await oracleBuild.job.replay(traces);
    let oracleFailure: string | null = null;
    try {
      await oracle.done;
    } catch (error) {
      // The trace cannot be followed from the start: it is not the trace of one execution.
      oracleFailure = error instanceof Error ? error.message : String(error);
    }
    const oracleOutput = partitionsOf(oracleBuild.sink);

    const report: RunReport = {
      run,
      seed,
      job: spec.name,
      kills,
      recoveries: outcome.recoveries,
      escalations: outcome.escalations,
      records: runOutput.reduce((n, p) => n + p.length, 0),
      duplicates: 0,
      lost: 0,
      unexpected: 0,
      divergentPartitions: 0,
      violation: false,
      events: [...outcome.events],
    };
    const uids = new Map<string, number>();
    for (const partition of runOutput) for (const record of partition) uids.set(uidOf(record), (uids.get(uidOf(record)) ?? 0) + 1);
    for (const count of uids.values()) if (count > 1) report.duplicates += count - 1;
    if (process.env.CF_VERIFY_DEBUG && report.duplicates > 0) {
      runOutput.forEach((partition, p) =>
        partition.forEach((line, i) => {
          if ((uids.get(uidOf(line)) ?? 0) > 1) console.error(`dup p${p}#${i} ${line}`);
        }),
      );
    }
    const oracleUids = new Set<string>();
    for (const partition of oracleOutput) for (const record of partition) oracleUids.add(uidOf(record));
    for (const uid of oracleUids) if (!uids.has(uid)) report.lost++;
    for (const uid of uids.keys()) if (!oracleUids.has(uid)) report.unexpected++;
    const partitions = Math.max(runOutput.length, oracleOutput.length);
    for (let p = 0; p < partitions; p++) {
      const a = runOutput[p] ?? [];
      const b = oracleOutput[p] ?? [];
      if (a.length !== b.length || a.some((line, i) => line !== b[i])) {
        report.divergentPartitions++;
        if (process.env.CF_VERIFY_DEBUG) {
          const i = a.findIndex((line, k) => line !== b[k]);
          console.error(`partition ${p} (${a.length} vs oracle ${b.length}) first difference at #${i}:\n  run    ${a[i]}\n  oracle ${b[i]}\n  next run ${a[i + 1]}\n  next oracle ${b[i + 1]}`);
        }
      }
    }
    const reasons: string[] = [];
    if (oracleFailure !== null) reasons.push(`the oracle could not follow the final trace (${oracleFailure})`);
    if (report.duplicates > 0) reasons.push(`${report.duplicates} duplicates`);
    if (report.lost > 0) reasons.push(`${report.lost} records of the oracle missing`);
    if (report.unexpected > 0) reasons.push(`${report.unexpected} records the oracle does not have`);
    if (report.divergentPartitions > 0) reasons.push(`${report.divergentPartitions} partitions differ from the oracle`);
    if (report.records === 0) reasons.push('no output at all');
    if (reasons.length > 0) {
      report.violation = true;
      report.reason = reasons.join(', ');
    }
    return report;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function partitionsOf(sink: { partitionCount: number; partition(i: number): readonly unknown[] }): string[][] {
  const out: string[][] = [];
  for (let p = 0; p < sink.partitionCount; p++) out.push(sink.partition(p).map((r) => JSON.stringify(r)));
  return out;
}

function uidOf(line: string): string {
  return (JSON.parse(line) as { uid: string }).uid;
}
