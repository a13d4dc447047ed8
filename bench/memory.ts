/**
 * `causalflow bench memory`: resident memory of a query running for a while at a fixed rate, with
 * checkpoints. The default rate is half of the maximum `none` reaches, measured first for a few
 * seconds in a child process, so that `peakRssMB` (this process's) is the measured mode's only.
 */
import type { JobHandle, RecoveryMode } from '../lib/index.js';
import type { QueryId } from './nexmark/queries.js';
import { measureRun, peakRssMB } from './harness.js';
import { measureRunInChild } from './mode-process.js';

/** The JSON result. */
export interface MemoryResult {
  bench: 'memory';
  /** Worker processes of the runtime (always 0: the job runs embedded). */
  workers: 0;
  query: QueryId;
  mode: RecoveryMode;
  seconds: number;
  rate: number;
  achievedEventsPerSec: number;
  p99Ms: number | null;
  checkpoints: number;
  peakRssMB: number;
  /** Largest determinant log plus replicas of any one task, sampled every 200 ms (bytes; 0 without causal logging). */
  maxCausalLogBytes: number;
  /** Largest ratio of a standby's keyed state to its task's, at the end of the run (encoded bytes), or null without standbys. */
  maxStandbyStateRatio: number | null;
  /** Keyed state of the largest task at the end of the run (encoded bytes). */
  maxTaskStateBytes: number;
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
    // In a process of its own: this process's peak RSS is then the measured mode's alone.
    const max = await measureRunInChild({ ...base, mode: 'none', warmupMs: 1000, measureMs: 3000 });
    rate = Math.max(1000, Math.round(max.eventsPerSec / 2));
  }
  options.onProgress?.(`running ${options.query} in mode ${options.mode} at ${rate} events/s for ${options.seconds} s`);
  let maxCausalLogBytes = 0;
  let maxStandbyStateRatio: number | null = null;
  let maxTaskStateBytes = 0;
  const observe = (handle: JobHandle) => {
    const sampler = setInterval(() => {
      void handle.executor.memoryFigures(false).then((figures) => {
        for (const task of figures) maxCausalLogBytes = Math.max(maxCausalLogBytes, task.causalBytes);
      });
    }, 200);
    return async () => {
      clearInterval(sampler);
      for (const task of await handle.executor.memoryFigures(true)) {
        maxCausalLogBytes = Math.max(maxCausalLogBytes, task.causalBytes);
        maxTaskStateBytes = Math.max(maxTaskStateBytes, task.stateBytes);
        // Ratios of tiny states say nothing (a standby one checkpoint behind a task holding 3 keys).
        if (task.standbyStateBytes !== null && task.stateBytes >= 64 * 1024) {
          maxStandbyStateRatio = Math.max(maxStandbyStateRatio ?? 0, Math.round((task.standbyStateBytes / task.stateBytes) * 1000) / 1000);
        }
      }
    };
  };
  const run = await measureRun({ ...base, mode: options.mode, rate, warmupMs: 1000, measureMs: options.seconds * 1000, observe });
  return {
    bench: 'memory',
    workers: 0,
    query: options.query,
    mode: options.mode,
    seconds: options.seconds,
    rate,
    achievedEventsPerSec: run.eventsPerSec,
    p99Ms: run.p99Ms,
    checkpoints: run.checkpoints,
    peakRssMB: peakRssMB(),
    maxCausalLogBytes,
    maxStandbyStateRatio,
    maxTaskStateBytes,
  };
}
