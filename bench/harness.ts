/**
 * Shared benchmark plumbing: run one Nexmark query under one recovery mode for a while, with a
 * fresh job directory, and read throughput and latency off the job's timeline.
 */
import type { InflightRetention } from '../lib/config.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, type DataStream, type JobHandle, type RecoveryMode } from '../lib/index.js';
import type { NexmarkEvent } from './nexmark/model.js';
import { DiscardSink } from '../lib/connectors/discard.js';
import { nexmarkSource } from './nexmark/source.js';
import type { QueryId } from './nexmark/queries.js';
import { BENCH_EVENT_RATE, buildBenchJob } from './worker-job.js';

export { BENCH_EVENT_RATE } from './worker-job.js';

/** How long after a measured window the figures of worker processes are read (they batch them for 10 ms). */
const FIGURES_SETTLE_MS = 100;

/** One benchmark run. */
export interface RunSpec {
  /** Query. */
  query: QueryId;
  /** Recovery mode. */
  mode: RecoveryMode;
  /** Determinant sharing depth (exactly-once). */
  dsd?: number;
  /** Parallelism of every operator and of the source. */
  parallelism: number;
  /** Events per second, or undefined for as fast as possible. */
  rate?: number;
  /** Checkpoint interval (ms). */
  checkpointIntervalMs: number;
  /** Warm-up not measured (ms). */
  warmupMs: number;
  /** Measured window after the warm-up (ms). */
  measureMs: number;
  /** Called once the job started; the function it returns is called just before the job stops. */
  observe?: (handle: JobHandle) => () => void | Promise<void>;
  /** The dataflow after the source, when not the query's (sweeps; embedded only). */
  pipeline?: (events: DataStream<NexmarkEvent>) => DataStream<any>;
  /** Worker processes (0 or omitted: the embedded runtime). */
  workers?: number;
  /** What in-flight logs keep of a complete chunk (omitted: the runtime's default). */
  inflightRetention?: InflightRetention;
}

/** What one run measured. */
export interface RunFigures {
  /** Events read per second in the measured window. */
  eventsPerSec: number;
  /** Median sink latency in the measured window (ms), or null without output. */
  p50Ms: number | null;
  /** 99th-percentile sink latency in the measured window (ms), or null. */
  p99Ms: number | null;
  /** Records the sinks made visible in the whole run. */
  output: number;
  /** Checkpoints completed. */
  checkpoints: number;
}

/**
 * A job running a query (or `spec.pipeline`) into a discard sink, ready to start. Without a pipeline it is
 * {@link buildBenchJob}'s, which worker processes can build too; a pipeline is a closure, so it runs embedded.
 */
export function benchJob(
  spec: Pick<RunSpec, 'query' | 'mode' | 'dsd' | 'parallelism' | 'rate' | 'checkpointIntervalMs' | 'pipeline' | 'workers' | 'inflightRetention'>,
  directory: string,
): { job: Job; sink: DiscardSink<unknown> } {
  if (!spec.pipeline) {
    const { job, sink } = buildBenchJob({
      query: spec.query,
      mode: spec.mode,
      ...(spec.dsd !== undefined ? { dsd: spec.dsd } : {}),
      parallelism: spec.parallelism,
      ...(spec.rate !== undefined ? { rate: spec.rate } : {}),
      checkpointIntervalMs: spec.checkpointIntervalMs,
      directory,
      sink: 'discard',
      workers: spec.workers ?? 0,
      ...(spec.inflightRetention !== undefined ? { inflightRetention: spec.inflightRetention } : {}),
    });
    return { job, sink: sink as DiscardSink<unknown> };
  }
  if ((spec.workers ?? 0) > 0) throw new Error('a benchmark pipeline is a closure: it runs embedded only (workers: 0)');
  const job = new Job({
    name: `bench-${spec.query}-${spec.mode}`,
    parallelism: spec.parallelism,
    directory,
    recovery: { mode: spec.mode, checkpointIntervalMs: spec.checkpointIntervalMs, ...(spec.dsd !== undefined ? { dsd: spec.dsd } : {}) },
    ...(spec.inflightRetention !== undefined ? { inflightRetention: spec.inflightRetention } : {}),
  });
  const events = job.source(nexmarkSource({ partitions: spec.parallelism, eventRate: BENCH_EVENT_RATE, rate: spec.rate }), { watermarks: {} });
  const sink = new DiscardSink<unknown>();
  spec.pipeline(events).sink(sink, { name: 'bench-sink' });
  return { job, sink };
}

/** Runs one query under one mode and measures it. */
export async function measureRun(spec: RunSpec): Promise<RunFigures> {
  const directory = mkdtempSync(join(tmpdir(), 'causalflow-bench-'));
  try {
    const { job, sink } = benchJob(spec, directory);
    const handle: JobHandle = await job.start();
    const beforeStop = spec.observe?.(handle);
    // Worker processes send their figures every few ms: wait for those of the window's last moments.
    await sleep(spec.warmupMs + spec.measureMs + ((spec.workers ?? 0) > 0 ? FIGURES_SETTLE_MS : 0));
    await beforeStop?.();
    const from = spec.warmupMs;
    const to = spec.warmupMs + spec.measureMs;
    const timeline = handle.executor.timeline;
    const progress = handle.progress();
    await handle.stop('benchmark window over');
    const latency = timeline.latencyBetween(from, to);
    return {
      eventsPerSec: Math.round(timeline.inputBetween(from, to) / (spec.measureMs / 1000)),
      p50Ms: latency.total > 0 ? round(latency.quantile(0.5)) : null,
      p99Ms: latency.total > 0 ? round(latency.quantile(0.99)) : null,
      // A discard sink in a worker process counts there; the coordinator counts what every sink reported.
      output: (spec.workers ?? 0) > 0 ? progress.recordsOut : sink.count,
      checkpoints: progress.checkpoints,
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rounds to 3 decimals. */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Median of numbers (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Peak resident memory of this process so far, in MB. */
export function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
