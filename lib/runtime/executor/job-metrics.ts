/**
 * The figures of a running job, as the coordinator collects them: records read by sources and made
 * visible by sinks, sink latency, the timeline and output times that recovery figures are computed from
 * (`recovery-metrics.ts`), recoveries and escalations; and the live {@link JobProgress} built from them,
 * the checkpoint statistics and what each worker reports of its tasks.
 *
 * Figures arrive per report of a worker (a flushed sink batch, a source poll), never per record, and
 * recording them allocates nothing (`metrics.ts`).
 */
import type { CheckpointStats } from '../coordinator.js';
import type { JobEvent } from '../events.js';
import type { Guarantee } from '../guarantee.js';
import { Histogram, OutputTimes, Timeline } from '../metrics.js';
import type { WorkerCommands } from '../worker-api.js';

/** Live figures of a running job. */
export interface JobProgress {
  /** Job-clock ms since start. */
  elapsedMs: number;
  /** Records read by sources. */
  recordsIn: number;
  /** Records made visible by sinks. */
  recordsOut: number;
  /** Sink latency percentiles since start (ms), null before any output. */
  latencyP50Ms: number | null;
  /** 99th percentile. */
  latencyP99Ms: number | null;
  /** Checkpoints completed. */
  checkpoints: number;
  /** Latest completed checkpoint id. */
  latestCheckpoint: number;
  /** Duration of the latest checkpoint (ms). */
  lastCheckpointMs: number;
  /** Recoveries so far: failed tasks handed to recovery (a move back is not one, see `moves`). */
  recoveries: number;
  /** Tasks moved back to their respawned first worker (`workers.rebalance`, I33): recovered like failures, but none. */
  moves: number;
  /** Records dropped as late by windows. */
  lateRecordsDropped: number;
  /** Records sent to the dead-letter sink. */
  deadLetters: number;
  /** Local recoveries that had to escalate to a global rollback. */
  escalations: number;
  /** In-flight log chunks spilled to disk, and read back by replays. */
  inflightSpill: { chunks: number; bytes: number; chunksReadBack: number };
  /** Tasks finished / total. */
  tasksFinished: number;
  /** Total tasks. */
  tasks: number;
}

/** Result of a job that ran to completion. */
export interface JobResult extends JobProgress {
  /** The guarantee the job kept on its output: exactly-once, or at-least-once since a checkpoint on named sinks. */
  guarantee: Guarantee;
  /** Every event recorded. */
  events: JobEvent[];
}

/** What {@link JobMetrics.progress} reads besides the figures it collected itself. */
export interface ProgressInputs {
  /** The job clock (ms since start). */
  clock(): number;
  /** Statistics of the checkpoint coordinator, null for a job without checkpoints. */
  readonly checkpoints: CheckpointStats | null;
  /** The workers, by index (null where one is gone): late records, dead letters and spills are theirs. */
  readonly links: readonly (WorkerCommands | null)[];
  /** Tasks finished. */
  readonly tasksFinished: number;
  /** Tasks of the job. */
  readonly tasks: number;
}

/** The figures the coordinator collects while a job runs. */
export class JobMetrics {
  /** Sink output and source input per 100 ms. */
  readonly timeline = new Timeline(100);
  /** Sink latency since start. */
  readonly latency = new Histogram();
  /** When sinks made output visible (job clock), to measure output gaps. */
  readonly outputTimes = new OutputTimes();
  /** Records read by sources. */
  recordsIn = 0;
  /** Records made visible by sinks. */
  recordsOut = 0;
  /** Failures handed to the recovery strategy. */
  recoveries = 0;
  /** Tasks that moved back to their first worker (handed to the recovery strategy too, but no failure). */
  moves = 0;
  /** Local recoveries that escalated to a global rollback. */
  escalations = 0;

  /** A sink made `count` records visible at job-clock `at`, `latency` ms after they entered the job. */
  sinkOutput(at: number, count: number, latency: number): void {
    this.recordsOut += count;
    this.outputTimes.record(at);
    this.latency.record(latency, count);
    this.timeline.output(at, count, latency);
  }

  /** Sources read `count` records at job-clock `at`. */
  sourceInput(at: number, count: number): void {
    this.recordsIn += count;
    this.timeline.input(at, count);
  }

  /** The live figures: what was collected here, the checkpoint statistics and the workers' figures summed. */
  progress(inputs: ProgressInputs): JobProgress {
    const { checkpoints, links, tasksFinished, tasks } = inputs;
    const nan = (v: number): number | null => (Number.isNaN(v) ? null : Math.round(v * 1000) / 1000);
    let late = 0;
    let deadLetters = 0;
    const inflightSpill = { chunks: 0, bytes: 0, chunksReadBack: 0 };
    for (const link of links) {
      if (!link) continue;
      const figures = link.figures();
      late += figures.late;
      deadLetters += figures.deadLetters;
      inflightSpill.chunks += figures.inflightSpill.chunks;
      inflightSpill.bytes += figures.inflightSpill.bytes;
      inflightSpill.chunksReadBack += figures.inflightSpill.chunksReadBack;
    }
    return {
      elapsedMs: inputs.clock(),
      recordsIn: this.recordsIn,
      recordsOut: this.recordsOut,
      latencyP50Ms: nan(this.latency.quantile(0.5)),
      latencyP99Ms: nan(this.latency.quantile(0.99)),
      checkpoints: checkpoints?.completed ?? 0,
      latestCheckpoint: checkpoints?.latest ?? 0,
      lastCheckpointMs: checkpoints?.lastDurationMs ?? 0,
      recoveries: this.recoveries,
      moves: this.moves,
      lateRecordsDropped: late,
      deadLetters,
      escalations: this.escalations,
      inflightSpill,
      tasksFinished,
      tasks,
    };
  }
}
