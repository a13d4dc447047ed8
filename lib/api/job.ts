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
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Source } from '../connectors/source.js';
import { ProcessFleet } from '../cluster/process-fleet.js';
import { describePlacement, placeTasks, workerDomains, type Placement } from '../runtime/placement.js';
import type { LogicalNode } from '../runtime/plan.js';
import { ConfigError } from '../errors.js';
import { strategyFor } from '../recovery/index.js';
import { OracleReplay } from '../recovery/oracle.js';
import { Executor, type JobEvent, type JobProgress, type JobResult, type KillSchedule } from '../runtime/executor.js';
import { buildPlan, type PhysicalPlan, type WatermarkStrategy } from '../runtime/plan.js';
import { resolveJobOptions, type JobOptions, type ResolvedJobOptions, type WorkerOptions } from '../config.js';
import { Observability, type JobEndpoints } from '../observe/observability.js';
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
  /** Overrides the job's `workers` option for this run (`causalflow run --workers N`). */
  workers?: number | WorkerOptions;
  /** Overrides the job's `resume` option for this run (`causalflow run --resume`). */
  resume?: boolean;
  /** Overrides the job's metrics and dashboard options for this run (`--metrics-port`, `--dashboard`). */
  endpoints?: Pick<JobOptions, 'metrics' | 'dashboard' | 'endpointToken' | 'endpointsAfterEnd'>;
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
  /** This run's identity: sinks tag their output with it (`SinkContext.runId`); a resumed run keeps it. */
  readonly runId: string;
  /** With worker processes: their process ids, by worker index (null where a worker is being replaced). */
  workerPids(): (number | null)[];
  /** Every task's whole determinant trace, by task id (needs `retainDeterminants`; see `Job.replay`). */
  traces(): Map<number, { epoch: number; bytes: Uint8Array }[]>;
  /** Stops the job now; `reason` goes into the event log. */
  stop(reason?: string): Promise<JobResult>;
  /** Where the metrics endpoint and the dashboard listen (options `metrics`, `dashboard`), and their token. */
  readonly endpoints: JobEndpoints;
  /** Closes the metrics and dashboard endpoints (they close by themselves when the job ends, unless `endpointsAfterEnd: 'keep'`). */
  closeEndpoints(): Promise<void>;
  /** @internal The executor (tests and tools). */
  readonly executor: Executor;
}

/**
 * @internal In a worker process, `job.start()` hands the job to the worker through this global instead
 * of running it (a module that builds and starts its job at the top level works as a worker's module).
 */
export const WORKER_JOB_HOOK = Symbol.for('causalflow.worker.job-started');

/** A dataflow job. */
export class Job {
  /** Validated options. */
  readonly options: ResolvedJobOptions;
  private readonly graph: JobGraph;
  private started = false;
  /** The options as given (a run may override `workers` and `resume`). */
  private readonly given: JobOptions;
  /** The module that called `new Job` (worker processes load it unless `workers.module` names another), or null. */
  private readonly constructedIn: string | null;

  constructor(options: JobOptions = {}) {
    this.options = resolveJobOptions(options);
    this.given = options;
    this.graph = new JobGraph(this.options.parallelism);
    this.constructedIn = callerModule();
  }

  /** The options of a run: the job's, with the run's overrides. */
  private optionsFor(run: RunOptions): ResolvedJobOptions {
    if (run.workers === undefined && run.resume === undefined && run.endpoints === undefined) return this.options;
    return resolveJobOptions({
      ...this.given,
      ...(run.workers !== undefined ? { workers: run.workers } : {}),
      ...(run.resume !== undefined ? { resume: run.resume } : {}),
      ...(run.endpoints ?? {}),
    });
  }

  /** The module worker processes load (file URL). */
  private workerModule(options: ResolvedJobOptions): string {
    const module = options.workers?.module ?? this.constructedIn;
    if (module === null) throw new ConfigError('workers.module', 'the module that builds the job (workers could not tell which file called new Job)', undefined);
    return moduleUrl(module);
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

  /** With `workers` (the job's, or `workers` given): which worker runs each task and holds its standby (null for the embedded runtime). */
  placement(workers?: number): Placement | null {
    const count = workers ?? this.options.workers?.count ?? 0;
    return count > 0 ? placeTasks(this.plan(), count) : null;
  }

  /**
   * The plan in words: each task and what is chained into it; with `workers`, which task and which standby
   * lives where, and whether the sharing depth recovers the failure of any one worker exactly once.
   */
  describePlan(workers?: number): string[] {
    const plan = this.plan();
    const lines = plan.tasks.map((task) => `task ${task.id} ${task.name}: ${plan.vertices[task.vertex]!.nodes.map((id) => plan.nodes[id]!.name).join(' → ')}`);
    const placement = this.placement(workers);
    if (placement) {
      const strategy = strategyFor(this.options, plan, workerDomains(placement));
      const dsd = this.options.recovery.mode === 'exactly-once' && strategy.features.causal ? strategy.features.causal.dsd : null;
      lines.push(...describePlacement(plan, placement, dsd));
    }
    return lines;
  }

  /** Starts the job; returns a handle to watch and control it. */
  async start(options: RunOptions = {}): Promise<JobHandle> {
    if (this.started) throw new ConfigError('job', 'a job started once (build a new Job to run again)', 'a second start');
    this.started = true;
    const worker = (globalThis as Record<symbol, unknown>)[WORKER_JOB_HOOK] as ((job: Job) => void) | undefined;
    if (worker) {
      // This process is a worker: the coordinator runs the job; this one only built it.
      worker(this);
      return new Promise<JobHandle>(() => {});
    }
    const plan = buildPlan(this.graph.nodes);
    const runOptions = this.optionsFor(options);
    const workers = runOptions.workers;
    let executor: Executor;
    if (workers) {
      const placement = placeTasks(plan, workers.count);
      const fleet = new ProcessFleet({ workers, module: this.workerModule(runOptions) });
      executor = new Executor(this.graph.nodes, runOptions, strategyFor(runOptions, plan, workerDomains(placement)), null, { fleet, placement });
    } else {
      executor = new Executor(this.graph.nodes, runOptions, strategyFor(runOptions, plan));
    }
    // The endpoints listen before the tasks start: a port in use fails the start, not a running job.
    const observability = await Observability.start(executor, runOptions.endpoints);
    if (observability && runOptions.endpoints.afterEnd === 'close') {
      executor.done.then(
        () => observability.close(),
        () => observability.close(),
      );
    }
    try {
      await executor.start(options.faults ?? []);
    } catch (error) {
      await observability?.close();
      throw error;
    }
    return handleOf(executor, observability);
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

/** @internal Whether `value` is a {@link Job} (of this copy of the library or another: duck-typed). */
export function isJob(value: unknown): value is Job {
  if (value === null || typeof value !== 'object') return false;
  const v = value as { start?: unknown; plan?: unknown; graph?: { nodes?: unknown } };
  return typeof v.start === 'function' && typeof v.plan === 'function' && Array.isArray(v.graph?.nodes);
}

/** @internal The logical nodes of a job's graph (worker processes rebuild the plan from them). */
export function jobNodes(job: Job): readonly LogicalNode[] {
  return (job as unknown as { graph: JobGraph }).graph.nodes;
}

/** A module path or URL as a file URL. */
function moduleUrl(module: string): string {
  if (/^file:/.test(module)) return module;
  return pathToFileURL(isAbsolute(module) ? module : `${process.cwd()}/${module}`).href;
}

/**
 * The module that called `new Job(...)`: the first frame of the stack outside this library. Worker
 * processes load it to build the job (give `workers.module` where the job is built in a library).
 */
function callerModule(): string | null {
  const library = fileURLToPath(new URL('../../', import.meta.url));
  const stack = new Error().stack ?? '';
  for (const line of stack.split('\n').slice(1)) {
    const match = /(file:\/\/[^\s)]+?|\/[^\s():]+?):\d+:\d+\)?\s*$/.exec(line);
    if (!match) continue;
    const path = match[1]!.startsWith('file:') ? fileURLToPath(match[1]!) : match[1]!;
    const inside = path.startsWith(`${library}lib/`) || path.startsWith(`${library}dist/`);
    if (!inside && !path.includes('/node_modules/causalflow/')) return path;
  }
  return null;
}

function handleOf(executor: Executor, observability: Observability | null = null): JobHandle {
  return {
    endpoints: observability?.endpoints ?? { metrics: null, dashboard: null, token: null },
    closeEndpoints: async () => observability?.close(),
    done: executor.done,
    progress: () => executor.progress(),
    events: () => executor.eventLog(),
    onEvent: (listener) => executor.events.on('event', listener),
    kill: (task, when) => executor.kill(task, when),
    taskNames: () => executor.plan.tasks.map((t) => t.name),
    workerPids: () => executor.workerPids(),
    runId: executor.jobRunId,
    traces: () => executor.traces(),
    stop: (reason) => executor.stop(reason),
    executor,
  };
}

/** Another name for {@link Job}, for readers coming from Flink. */
export { Job as StreamEnvironment };
