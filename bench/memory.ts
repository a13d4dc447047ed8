/**
 * `causalflow bench memory`: resident memory of a query running for a while at a fixed rate, with
 * checkpoints. The default rate is half of the maximum `none` reaches, measured first for a few
 * seconds.
 */
import type { RecoveryMode } from '../lib/index.js';
import type { QueryId } from './nexmark/queries.js';
import { measureRun, peakRssMB } from './harness.js';

/** The JSON result. */
export interface MemoryResult {
  bench: 'memory';
  query: QueryId;
  mode: RecoveryMode;
  seconds: number;
  rate: number;
  achievedEventsPerSec: number;
  p99Ms: number | null;
  checkpoints: number;
  peakRssMB: number;
}

/** Options of {@link runMemoryBench}. */
export interface MemoryOptions {
  query: QueryId;
  mode: RecoveryMode;
  seconds: number;
  parallelism: number;
  checkpointIntervalMs: number;
  /** Events per second; default half of the measured maximum. */
  rate?: number;
  onProgress?: (message: string) => void;
}

/** Runs the benchmark. */
export async function runMemoryBench(options: MemoryOptions): Promise<MemoryResult> {
  const base = { query: options.query, parallelism: options.parallelism, checkpointIntervalMs: options.checkpointIntervalMs };
  let rate = options.rate;
  if (rate === undefined) {
    options.onProgress?.('measuring the maximum rate of mode none (3 s)');
    const max = await measureRun({ ...base, mode: 'none', warmupMs: 1000, measureMs: 3000 });
    rate = Math.max(1000, Math.round(max.eventsPerSec / 2));
  }
  options.onProgress?.(`running ${options.query} in mode ${options.mode} at ${rate} events/s for ${options.seconds} s`);
  const run = await measureRun({ ...base, mode: options.mode, rate, warmupMs: 1000, measureMs: options.seconds * 1000 });
  return {
    bench: 'memory',
    query: options.query,
    mode: options.mode,
    seconds: options.seconds,
    rate,
    achievedEventsPerSec: run.eventsPerSec,
    p99Ms: run.p99Ms,
    checkpoints: run.checkpoints,
    peakRssMB: peakRssMB(),
  };
}
