/**
 * `Job` (alias `StreamEnvironment`): where a dataflow starts. Add sources, transform the streams, add
 * sinks, then `run()` it to completion or `start()` it and control it through the handle.
 *
 * ```ts
 * const job = new Job({ name: 'counts', recovery: { mode: 'global-rollback' } });
 * const words = job.source(fromArray(['a', 'b', 'a']));
 * const counts = words.keyBy((w) => w).reduce((a, b) => a + b).collect();
 * await job.run();
 * ```
 */
import type { Source } from '../connectors/source.js';
import { ConfigError } from '../errors.js';
import { strategyFor } from '../recovery/index.js';
import { OracleReplay } from '../recovery/oracle.js';
import { Executor, type JobEvent, type JobProgress, type JobResult, type KillSchedule } from '../runtime/executor.js';
import { buildPlan, type PhysicalPlan, type WatermarkStrategy } from '../runtime/plan.js';
import { resolveJobOptions, type JobOptions, type ResolvedJobOptions } from '../config.js';
import { JobGraph } from './graph.js';
import { DataStream } from './stream.js';

/** Options of a source. */
export interface SourceOptions {
  /** Name, unique in the job (default `source-<n>`). */
  name?: string;
  /** Source tasks (default: the job's parallelism, at most the number of partitions). */
  parallelism?: number;
  /** Event time: timestamps and watermarks. Omit for a stream without event time. */
  watermarks?: WatermarkStrategy;
}

/** A fault to inject when the job starts. */
export interface FaultSpec extends KillSchedule {
  /**
   * The task to kill: its name, `<operator>[<subtask>]` for any operator chained into it (stable whatever
   * the chaining), or its id. Several tasks die in one instant, as one failure group; so do faults that
   * give the same `afterMs`.
   */
  task: string | number | readonly (string | number)[];
}

/** Options of `run` and `start`. */
export interface RunOptions {
  /** Faults to inject. */
  faults?: FaultSpec[];
}

/** A running job. */
export interface JobHandle {
  /** Resolves with the final figures when every task finished; rejects if the job failed. */
  readonly done: Promise<JobResult>;
  /** Live figures. */
  progress(): JobProgress;
  /** Events so far (failures, recoveries, checkpoints). */
  events(): readonly JobEvent[];
  /** Calls `listener` for every event from now on. */
  onEvent(listener: (event: JobEvent) => void): void;
  /**
   * Kills a task now, or after some time or records (fault injection). Tasks given together die in one
   * instant and are recovered together.
   */
  kill(task: string | number | readonly (string | number)[], when?: KillSchedule): void;
  /** Names of the job's tasks, by id. */
  taskNames(): string[];
  /** Every task's whole determinant trace, by task id (needs `retainDeterminants`; see `Job.replay`). */
  traces(): Map<number, { epoch: number; bytes: Uint8Array }[]>;
  /** Stops the job now; `reason` goes into the event log. */
  stop(reason?: string): Promise<JobResult>;
  /** @internal The executor (tests and tools). */
  readonly executor: Executor;
}

/** A dataflow job. */
export class Job {
  /** Validated options. */
  readonly options: ResolvedJobOptions;
  private readonly graph: JobGraph;
  private started = false;

  constructor(options: JobOptions = {}) {
    this.options = resolveJobOptions(options);
    this.graph = new JobGraph(this.options.parallelism);
  }

  /** Adds a source. */
  source<T>(source: Source<T>, options: SourceOptions = {}): DataStream<T> {
    if (source === null || typeof source !== 'object' || typeof source.open !== 'function' || typeof source.partitions !== 'function') {
      throw new ConfigError('source', 'a Source (an object with partitions() and open())', source);
    }
    const partitions = source.partitions();
    if (!Number.isInteger(partitions) || partitions < 1) throw new ConfigError(`${source.name}.partitions()`, 'an integer >= 1', partitions);
    const parallelism = options.parallelism ?? Math.min(this.options.parallelism, partitions);
    if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > partitions) {
      throw new ConfigError(`${options.name ?? 'source'}.parallelism`, `an integer from 1 to the source's ${partitions} partitions`, parallelism);
    }
    const watermarks = options.watermarks ?? null;
    if (watermarks !== null) {
      if (typeof watermarks !== 'object') throw new ConfigError('watermarks', 'an object', watermarks);
      if (watermarks.timestamp !== undefined && typeof watermarks.timestamp !== 'function') throw new ConfigError('watermarks.timestamp', 'a function', watermarks.timestamp);
      const bound = watermarks.maxOutOfOrdernessMs ?? 0;
      if (!(bound >= 0)) throw new ConfigError('watermarks.maxOutOfOrdernessMs', 'a number of ms >= 0', bound);
    }
    const id = this.graph.addSource(options.name, source as Source<unknown>, parallelism, watermarks);
    return new DataStream<T>(this.graph, id);
  }

  /**
   * The physical plan: which operators were chained into which tasks, and the channels between
   * them. Useful to pick task names for fault injection.
   */
  plan(): PhysicalPlan {
    return buildPlan(this.graph.nodes);
  }

  /** Starts the job; returns a handle to watch and control it. */
  async start(options: RunOptions = {}): Promise<JobHandle> {
    if (this.started) throw new ConfigError('job', 'a job started once (build a new Job to run again)', 'a second start');
    this.started = true;
    const executor = new Executor(this.graph.nodes, this.options, strategyFor(this.options, buildPlan(this.graph.nodes)));
    await executor.start(options.faults ?? []);
    return handleOf(executor);
  }

  /**
   * Runs the job with every task replaying a recorded determinant trace from the start, with no
   * checkpoints and no failures: the execution the trace describes, reproduced. The verifier's oracle
   * uses it; so can you, to reproduce a run (traces come from a run with `retainDeterminants`, through
   * `handle.traces()`). Sources must serve the same records, and external calls are not made.
   */
  async replay(traces: ReadonlyMap<number, readonly { epoch: number; bytes: Uint8Array }[]>): Promise<JobHandle> {
    if (this.started) throw new ConfigError('job', 'a job started once (build a new Job to run again)', 'a second start');
    this.started = true;
    const executor = new Executor(this.graph.nodes, this.options, new OracleReplay(), traces as ReadonlyMap<number, { epoch: number; bytes: Uint8Array }[]>);
    await executor.start();
    return handleOf(executor);
  }

  /** Runs the job until every source is exhausted and every sink has committed. */
  async run(options: RunOptions = {}): Promise<JobResult> {
    const handle = await this.start(options);
    return handle.done;
  }
}

function handleOf(executor: Executor): JobHandle {
  return {
    done: executor.done,
    progress: () => executor.progress(),
    events: () => executor.eventLog(),
    onEvent: (listener) => executor.events.on('event', listener),
    kill: (task, when) => executor.kill(task, when),
    taskNames: () => executor.plan.tasks.map((t) => t.name),
    traces: () => executor.traces(),
    stop: (reason) => executor.stop(reason),
    executor,
  };
}

/** Another name for {@link Job}, for readers coming from Flink. */
export { Job as StreamEnvironment };
