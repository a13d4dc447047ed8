/** Helpers for causal-recovery scenarios: run a job with kills, then replay its traces as an oracle. */
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { inspectLog } from '../../determinants/index.js';
import type { CollectSink, FaultSpec, Job, JobEvent, JobHandle, JobOptions, JobResult } from '../../lib/index.js';
import { jobDirectory } from './jobs.js';

/** What a scenario run produced. */
export interface ScenarioRun {
  result: JobResult;
  handle: JobHandle;
  /** Sink output, partition by partition, as JSON lines. */
  output: string[][];
  /** The oracle's output for the run's final traces. */
  oracle: string[][];
  /** Determinant kinds found in each task's final trace, by task name. */
  kinds: Map<string, Set<string>>;
  events: JobEvent[];
}

/** Builds a job and its sink for `options` (called twice: the run and the oracle). */
export type ScenarioBuilder = (options: JobOptions) => { job: Job; sink: CollectSink<unknown> };

/** Runs `build` in exactly-once mode with `faults` (or `arm` to schedule kills on a live handle), then its oracle. */
export async function runScenario(
  t: ExecutionContext,
  build: ScenarioBuilder,
  options: { faults?: FaultSpec[]; arm?: (handle: JobHandle) => void; job?: JobOptions } = {},
): Promise<ScenarioRun> {
  const directory = jobDirectory(t);
  const jobOptions: JobOptions = {
    parallelism: 2,
    retainDeterminants: true,
    ...options.job,
    recovery: { mode: 'exactly-once', checkpointIntervalMs: 50, ...options.job?.recovery },
  };
  const { job, sink } = build({ ...jobOptions, directory: join(directory, 'run') });
  const handle = await job.start({ faults: options.faults ?? [] });
  options.arm?.(handle);
  const result = await handle.done;
  const traces = handle.traces();
  const oracleBuild = build({ ...jobOptions, directory: join(directory, 'oracle') });
  const oracle = await oracleBuild.job.replay(traces);
  await oracle.done;
  const names = handle.taskNames();
  const kinds = new Map<string, Set<string>>();
  for (const [taskId, segments] of traces) kinds.set(names[taskId]!, new Set(inspectLog(taskId, segments).map((e) => e.determinant.kind)));
  return { result, handle, output: partitions(sink), oracle: partitions(oracleBuild.sink), kinds, events: [...result.events] };
}

function partitions(sink: CollectSink<unknown>): string[][] {
  const out: string[][] = [];
  for (let p = 0; p < sink.partitionCount; p++) out.push(sink.partition(p).map((r) => JSON.stringify(r)));
  return out;
}

/** Asserts the run recovered and its output equals the oracle's, partition by partition, record by record. */
export function assertExactlyOnce(t: ExecutionContext, run: ScenarioRun, minRecoveries = 1): void {
  t.true(run.result.recoveries >= minRecoveries, `recoveries: ${run.result.recoveries}`);
  t.is(run.result.escalations, 0, 'no escalation');
  t.true(run.output.flat().length > 0, 'the job produced output');
  t.deepEqual(run.output, run.oracle);
  const lines = run.output.flat();
  t.is(new Set(lines).size, lines.length, 'no record twice');
}
