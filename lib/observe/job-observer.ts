/**
 * What the coordinator knows of a running job, gathered for the metrics endpoint and the dashboard: it
 * samples every worker's task figures about once a second (rates and backpressure are differences of two
 * samples), folds the job's events into checkpoint history and recovery timelines, and keeps the sinks'
 * latency per sink task. Both the Prometheus registry and the dashboard read this one object, so the two
 * never disagree about what they count.
 */
import { EventEmitter } from 'node:events';
import type { JobEvent } from '../runtime/events.js';
import type { JobProgress } from '../runtime/executor/job-metrics.js';
import { Histogram } from '../runtime/metrics.js';
import type { PhysicalPlan } from '../runtime/plan.js';
import type { StandbyFigures, TaskFigures, WorkerTaskFigures } from '../runtime/task-figures.js';
import { RecoveryTimelines } from './recovery-timeline.js';

/** What the observer reads of a job: the coordinator (`Executor`) provides it. */
export interface ObservedJob {
  readonly plan: PhysicalPlan;
  readonly options: { readonly name: string; readonly recovery: { readonly mode: string } };
  readonly workerCount: number;
  taskFigures(): Promise<WorkerTaskFigures[]>;
  currentPlacement(): readonly number[];
  progress(): JobProgress;
  eventLog(): readonly JobEvent[];
  onSinkOutput(listener: (taskId: number, count: number, latencyMs: number) => void): void;
  readonly events: { on(event: 'event', listener: (event: JobEvent) => void): unknown };
  workerPids(): (number | null)[];
  clock(): number;
}

/** Upper bounds of the sink latency buckets, in seconds (Prometheus `le`). */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Cumulative sink latency of one sink task, in Prometheus buckets (count-weighted: one report is a flushed batch). */
export interface SinkLatency {
  /** Records per bucket (not cumulative), the last slot is +Inf. */
  readonly buckets: Float64Array;
  /** Sum of latencies, seconds, weighted by records. */
  sum: number;
  /** Records. */
  count: number;
  /** Latencies since the previous sample (ms), for the dashboard's p50/p99. */
  readonly window: Histogram;
}

/** One task as the observer last saw it. */
export interface ObservedTask {
  id: number;
  name: string;
  /** Operator label: the task's chain head, without the subtask. */
  operator: string;
  subtask: number;
  vertex: number;
  worker: number;
  /** Workers holding a standby of it (from the latest sample). */
  standbyWorkers: number[];
  /** `running`, `replaying`, `finished` or `failed`. */
  status: 'running' | 'replaying' | 'finished' | 'failed';
  figures: TaskFigures | null;
  /** Job-clock ms of the sample `figures` came from. */
  sampledAt: number;
  /** Records its sinks made visible, over every incarnation (sink tasks; 0 for the others). */
  sinkRecords: number;
  /** `sinkRecords` at the previous sample. */
  sinkRecordsSampled: number;
  /** Records per second in and out (a sink task: what its sinks made visible), and the fraction of time waiting for credit, over the last sample interval. */
  inPerSec: number;
  outPerSec: number;
  backpressureRatio: number;
  /** Sink latency p50 and p99 (ms) over the last interval, for sink tasks with output in it. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

/** A checkpoint as the events told it. */
export interface ObservedCheckpoint {
  id: number;
  triggeredAt: number;
  status: 'in-progress' | 'completed' | 'aborted' | 'failed';
  durationMs: number | null;
  bytes: number | null;
}

/** One point of the job's throughput and latency series. */
export interface SeriesPoint {
  t: number;
  inPerSec: number;
  outPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

const SERIES_POINTS = 600;
const CHECKPOINTS_KEPT = 60;

/** Samples a job and folds its events; emits `update` after every sample and `event` for every job event. */
export class JobObserver extends EventEmitter {
  readonly tasks: ObservedTask[];
  readonly standbys: (StandbyFigures & { worker: number })[] = [];
  readonly sinkLatency = new Map<number, SinkLatency>();
  readonly checkpoints: ObservedCheckpoint[] = [];
  readonly checkpointCounts = { completed: 0, aborted: 0, failed: 0 };
  readonly timelines = new RecoveryTimelines();
  readonly series: SeriesPoint[] = [];
  /** Whether the job ended (finished, stopped or failed), and how. */
  ended: string | null = null;
  /** The latest completed checkpoint when the standbys were sampled (their lag is counted against it). */
  latestCheckpointSampled = 0;
  private previous: { t: number; recordsIn: number; recordsOut: number } | null = null;
  private readonly jobWindow = new Histogram();
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> | null = null;

  constructor(
    readonly job: ObservedJob,
    private readonly sampleMs = 1000,
  ) {
    super();
    const plan = job.plan;
    this.tasks = plan.tasks.map((task) => ({
      id: task.id,
      name: task.name,
      operator: task.name.replace(/\[\d+\]$/, ''),
      subtask: task.subtask,
      vertex: task.vertex,
      worker: 0,
      standbyWorkers: [],
      status: 'running',
      figures: null,
      sampledAt: 0,
      sinkRecords: 0,
      sinkRecordsSampled: 0,
      inPerSec: 0,
      outPerSec: 0,
      backpressureRatio: 0,
      latencyP50Ms: null,
      latencyP99Ms: null,
    }));
    for (const event of job.eventLog()) this.fold(event);
    job.events.on('event', (event: JobEvent) => {
      this.fold(event);
      // Listeners (metrics, live streams) must not break the job that emits: an error of theirs stays here.
      try {
        this.emit('event', event);
      } catch (error) {
        process.emitWarning(`causalflow observer: a listener of job events failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    job.onSinkOutput((taskId, count, latencyMs) => this.sinkOutput(taskId, count, latencyMs));
  }

  /** Starts sampling (the first sample right away). */
  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.sampleMs);
    this.timer.unref();
  }

  /** Stops sampling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes a sample now (one at a time: a slow worker answer delays the next, never overlaps it). */
  sample(): Promise<void> {
    this.sampling ??= this.takeSample().finally(() => (this.sampling = null));
    return this.sampling;
  }

  /** The job's live figures. */
  progress(): JobProgress {
    return this.job.progress();
  }

  private async takeSample(): Promise<void> {
    let workers: WorkerTaskFigures[];
    try {
      workers = await this.job.taskFigures();
    } catch {
      return; // a worker went away mid-answer: the next sample sees the new placement
    }
    const t = this.job.clock();
    const progress = this.job.progress();
    this.latestCheckpointSampled = progress.latestCheckpoint;
    const placement = this.job.currentPlacement();
    const seen = new Set<number>();
    this.standbys.length = 0;
    for (const worker of workers) {
      for (const figures of worker.tasks) {
        seen.add(figures.taskId);
        this.updateTask(this.tasks[figures.taskId]!, figures, worker.worker, t);
        if (figures.replaying && figures.replayEntriesRead !== null) this.timelines.replayProgress(this.tasks[figures.taskId]!.name, figures.replayEntriesRead);
      }
      for (const standby of worker.standbys) this.standbys.push({ ...standby, worker: worker.worker });
    }
    for (const task of this.tasks) {
      task.worker = placement[task.id] ?? task.worker;
      task.standbyWorkers = this.standbys.filter((s) => s.taskId === task.id).map((s) => s.worker);
      if (!seen.has(task.id) && task.status !== 'finished') {
        task.inPerSec = 0;
        task.outPerSec = 0;
      }
      const latency = this.sinkLatency.get(task.id);
      task.latencyP50Ms = latency && latency.window.total > 0 ? latency.window.quantile(0.5) : null;
      task.latencyP99Ms = latency && latency.window.total > 0 ? latency.window.quantile(0.99) : null;
      latency?.window.reset();
    }
    this.addSeriesPoint(t, progress);
    this.emit('update');
  }

  private updateTask(task: ObservedTask, figures: TaskFigures, worker: number, t: number): void {
    const before = task.figures;
    const since = t - task.sampledAt;
    // A replacement starts its counters again: its first sample has nothing to subtract.
    const continued = before !== null && figures.recordsIn >= before.recordsIn && since > 0;
    task.inPerSec = continued ? ((figures.recordsIn - before.recordsIn) * 1000) / since : 0;
    const sinkDelta = task.sinkRecords - task.sinkRecordsSampled;
    task.sinkRecordsSampled = task.sinkRecords;
    task.outPerSec = continued ? ((figures.recordsOut - before.recordsOut + sinkDelta) * 1000) / since : 0;
    task.backpressureRatio = continued ? Math.min(1, Math.max(0, (figures.backpressureMs - before.backpressureMs) / since)) : 0;
    task.sampledAt = t;
    task.figures = figures;
    task.worker = worker;
    if (task.status !== 'finished') task.status = figures.replaying ? 'replaying' : 'running';
  }

  private addSeriesPoint(t: number, progress: JobProgress): void {
    const previous = this.previous;
    const dt = previous ? t - previous.t : 0;
    this.previous = { t, recordsIn: progress.recordsIn, recordsOut: progress.recordsOut };
    if (!previous || dt <= 0) return;
    const window = this.jobWindow;
    this.series.push({
      t,
      inPerSec: ((progress.recordsIn - previous.recordsIn) * 1000) / dt,
      outPerSec: ((progress.recordsOut - previous.recordsOut) * 1000) / dt,
      p50Ms: window.total > 0 ? window.quantile(0.5) : null,
      p99Ms: window.total > 0 ? window.quantile(0.99) : null,
    });
    window.reset();
    if (this.series.length > SERIES_POINTS) this.series.shift();
  }

  private sinkOutput(taskId: number, count: number, latencyMs: number): void {
    let latency = this.sinkLatency.get(taskId);
    if (!latency) {
      latency = { buckets: new Float64Array(LATENCY_BUCKETS_SECONDS.length + 1), sum: 0, count: 0, window: new Histogram() };
      this.sinkLatency.set(taskId, latency);
    }
    const seconds = latencyMs / 1000;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[bucket]!) bucket++;
    latency.buckets[bucket]! += count;
    latency.sum += seconds * count;
    latency.count += count;
    latency.window.record(latencyMs, count);
    this.jobWindow.record(latencyMs, count);
    const task = this.tasks[taskId];
    if (task) task.sinkRecords += count;
  }

  /** Folds one event into the checkpoint history, the task states and the recovery timelines. */
  private fold(event: JobEvent): void {
    this.timelines.add(event);
    switch (event.type) {
      case 'checkpoint-triggered':
        this.checkpoints.push({ id: event.id, triggeredAt: event.t, status: 'in-progress', durationMs: null, bytes: null });
        if (this.checkpoints.length > CHECKPOINTS_KEPT) this.checkpoints.shift();
        return;
      case 'checkpoint-acknowledged': {
        const checkpoint = this.checkpointById(event.id);
        if (checkpoint) checkpoint.bytes = event.bytes;
        return;
      }
      case 'checkpoint': {
        this.checkpointCounts.completed++;
        const checkpoint = this.checkpointById(event.id);
        if (checkpoint) Object.assign(checkpoint, { status: 'completed', durationMs: event.durationMs, bytes: event.bytes });
        return;
      }
      case 'checkpoint-aborted': {
        this.checkpointCounts.aborted++;
        const checkpoint = this.checkpointById(event.id);
        if (checkpoint) checkpoint.status = 'aborted';
        return;
      }
      case 'task-failed':
        this.setStatus(event.task, 'failed');
        return;
      case 'live':
        this.setStatus(event.task, 'running');
        return;
      case 'task-finished':
        this.setStatus(event.task, 'finished');
        return;
      case 'failed':
        // A checkpoint in flight when the job failed (persisting it failed, or the job failed around it).
        for (const checkpoint of this.checkpoints) {
          if (checkpoint.status !== 'in-progress') continue;
          checkpoint.status = 'failed';
          this.checkpointCounts.failed++;
        }
        this.ended = `failed: ${event.error}`;
        return;
      case 'finished':
        this.ended = 'finished';
        return;
      case 'stopped':
        this.ended = `stopped: ${event.reason}`;
        return;
      default:
        return;
    }
  }

  /** Sets a task's status; an event about a task this plan does not have changes nothing (it must never throw: it runs inside the job's event emitter). */
  private setStatus(name: string, status: ObservedTask['status']): void {
    const task = this.tasks.find((t) => t.name === name);
    if (task) task.status = status;
  }

  private checkpointById(id: number): ObservedCheckpoint | undefined {
    for (let i = this.checkpoints.length - 1; i >= 0; i--) if (this.checkpoints[i]!.id === id) return this.checkpoints[i];
    return undefined;
  }
}
