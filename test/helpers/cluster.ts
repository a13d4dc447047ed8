/** Helpers for worker-process tests: run a job of `test/cluster/jobs.ts` in worker processes, then its oracle. */
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { inspectLog } from '../../determinants/index.js';
import type { FaultSpec, JobEvent, JobHandle, JobOptions, JobResult } from '../../lib/index.js';
import { buildClusterJob, CLUSTER_JOBS, type ClusterJobArgs } from '../cluster/jobs.js';
import { jobDirectory } from './jobs.js';

/** What a worker-process run produced. */
export interface ClusterRun {
  result: JobResult;
  handle: JobHandle;
  /** Sink output, partition by partition, as JSON lines. */
  output: string[][];
  /** The oracle's output for the run's final traces (an embedded replay), or null without retained determinants. */
  oracle: string[][] | null;
  /** Determinant kinds in each task's final trace, by task name. */
  kinds: Map<string, Set<string>>;
  events: JobEvent[];
  /** The records themselves, all partitions. */
  records: unknown[];
}

/** Options of {@link runCluster}. */
export interface ClusterRunOptions {
  /** Worker processes (default 2). */
  workers?: number;
  faults?: FaultSpec[];
  /** Called with the live handle (to kill on events). */
  arm?: (handle: JobHandle) => void;
  /** Job options over the defaults (exactly-once, 50 ms checkpoints, retained determinants). */
  job?: JobOptions;
  /** Extra worker options (heartbeat timeout, secret). */
  workerOptions?: Record<string, unknown>;
  count?: number;
  rate?: number;
  /** Skip the oracle replay. */
  noOracle?: boolean;
}

/** Runs `job` in worker processes with `faults`, then (with retained determinants) replays its final traces as an oracle in this process. */
export async function runCluster(t: ExecutionContext, job: ClusterJobArgs['job'], o: ClusterRunOptions = {}): Promise<ClusterRun> {
  const directory = jobDirectory(t);
  const options: JobOptions = {
    parallelism: 2,
    retainDeterminants: !o.noOracle,
    stallTimeoutMs: 20_000,
    ...o.job,
    recovery: { mode: 'exactly-once', checkpointIntervalMs: 50, dsd: 'auto', ...o.job?.recovery },
  };
  const args: ClusterJobArgs = { job, options: { ...options, directory: join(directory, 'run') }, ...(o.count ? { count: o.count } : {}), ...(o.rate ? { rate: o.rate } : {}) };
  const built = buildClusterJob(args);
  const handle = await built.job.start({
    faults: o.faults ?? [],
    workers: { count: o.workers ?? 2, module: CLUSTER_JOBS, export: 'buildClusterJob', args, ...o.workerOptions },
  });
  o.arm?.(handle);
  const result = await handle.done;
  const output = partitions(built.sink);
  const records = output.flat().map((line) => JSON.parse(line) as unknown);
  const kinds = new Map<string, Set<string>>();
  let oracle: string[][] | null = null;
  if (!o.noOracle) {
    const traces = handle.traces();
    const names = handle.taskNames();
    for (const [taskId, segments] of traces) kinds.set(names[taskId]!, new Set(inspectLog(taskId, segments).map((e) => e.determinant.kind)));
    const replay = buildClusterJob({ ...args, options: { ...options, directory: join(directory, 'oracle') } });
    await (await replay.job.replay(traces)).done;
    oracle = partitions(replay.sink);
  }
  t.log(`events: ${result.events.filter((e) => e.type.startsWith('worker-') || e.type === 'task-failed' || e.type.startsWith('rollback') || e.type === 'guarantee-degraded').map((e) => e.type + (('worker' in e) ? `(${String(e.worker)})` : '')).join(', ')}`);
  return { result, handle, output, oracle, kinds, events: [...result.events], records };
}

function partitions(sink: { partitionCount: number; partition(p: number): readonly unknown[] }): string[][] {
  const out: string[][] = [];
  for (let p = 0; p < sink.partitionCount; p++) out.push(sink.partition(p).map((r) => JSON.stringify(r)));
  return out;
}

/** Asserts a worker was lost and recovered, and the output equals the oracle's, partition by partition, record by record. */
export function assertRecoveredExactlyOnce(t: ExecutionContext, run: ClusterRun, minLost = 1): void {
  const lost = run.events.filter((e) => e.type === 'worker-lost');
  t.true(lost.length >= minLost, `workers lost: ${lost.length}`);
  t.is(run.result.escalations, 0, 'no escalation');
  t.deepEqual(run.result.guarantee, { kind: 'exactly-once' });
  t.true(run.output.flat().length > 0, 'the job produced output');
  if (run.oracle) t.deepEqual(run.output, run.oracle);
  const lines = run.output.flat();
  t.is(new Set(lines).size, lines.length, 'no record twice');
}
