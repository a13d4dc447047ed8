/**
 * `causalflow bench overhead`: failure-free throughput and latency of one Nexmark query under each
 * recovery mode, in one process. Runs are paired and interleaved (every mode once per round, in
 * turn), so that a noisy neighbour slows all modes alike and the ratios hold.
 *
 * - Throughput: the source runs as fast as the job takes it; events/s over the measured window,
 *   median over rounds. Each round's window samples at least {@link MIN_CHECKPOINT_INTERVALS} checkpoint
 *   intervals, after a warm-up of two intervals (at least 1 s): a window of one interval measures whether
 *   a checkpoint fell into it, not the mode. Too short a window is refused ({@link checkSampling}), not
 *   silently lengthened: the caller asked for a duration and would get another.
 * - Latency and memory: the source is paced at half of the maximum rate measured for mode `none`; p50
 *   and p99 of sink latency (from the ingest time of the input behind a record until the record is
 *   visible) over a window as long as a round's. Each mode's latency run is a process of its own
 *   (`mode-process.ts`), whose peak resident memory is the mode's `peakRssMB`.
 * - With `workers` > 0 every mode runs in that many worker processes (the query's sink a `DiscardSink`,
 *   which lives in the worker of its task), and each round also runs mode `none` embedded: the JSON
 *   reports workers-`none` ÷ embedded-`none`, paired per round like the other ratios.
 */
import type { InflightRetention } from '../lib/config.js';
import type { RecoveryMode } from '../lib/index.js';
import { IMPLEMENTED_MODES } from '../lib/recovery/index.js';
import type { QueryId } from './nexmark/queries.js';
import { measureRun, median, peakRssMB } from './harness.js';
import { measureRunInChild, type ChildRunFigures } from './mode-process.js';

/** A mode as the contract names it. */
export type OverheadMode = 'none' | 'global-rollback' | 'at-least-once' | 'exactly-once' | 'exactly-once-full';

/** Contract modes, with the recovery mode and sharing depth each stands for. */
export const OVERHEAD_MODES: readonly { name: OverheadMode; mode: RecoveryMode; dsd?: number }[] = [
  { name: 'none', mode: 'none' },
  { name: 'global-rollback', mode: 'global-rollback' },
  { name: 'at-least-once', mode: 'at-least-once', dsd: 0 },
  { name: 'exactly-once', mode: 'exactly-once', dsd: 1 },
  { name: 'exactly-once-full', mode: 'exactly-once', dsd: -1 },
];

/** Checkpoint intervals every throughput round samples at least. */
export const MIN_CHECKPOINT_INTERVALS = 10;

/** Default rounds of throughput runs. */
export const DEFAULT_ROUNDS = 3;

/** Figures of one mode (null when the mode is not implemented in this build). */
export type ModeFigures = {
  eventsPerSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /**
   * Peak resident memory of a process that ran only this mode's latency run (MB; with workers, the
   * coordinator's). Absent from results taken before it was measured per mode.
   */
  peakRssMB?: number;
  dsd?: number;
  throughputRuns: number[];
  /** Every mode but `none`: median over rounds of (this mode ÷ `none` in the same round), with the lowest and highest round. */
  ratio?: number;
  ratioMin?: number;
  ratioMax?: number;
} | null;

/** A paired ratio: median over rounds, with the lowest and highest round. */
export interface RatioSpread {
  ratio: number;
  ratioMin: number;
  ratioMax: number;
}

/** The JSON result, as fixed by `../shared/contracts.md`. */
export interface OverheadResult {
  bench: 'overhead';
  query: QueryId;
  /** Measured seconds of throughput per mode, over all rounds. */
  seconds: number;
  parallelism: number;
  checkpointIntervalMs: number;
  /** Rounds of throughput runs (this and the next two are absent from results taken before they were reported). */
  rounds?: number;
  /** Warm-up before every measured window (ms). */
  warmupMs?: number;
  /** Measured window of each throughput round, and of each latency run (ms): at least ten checkpoint intervals. */
  roundMs?: number;
  latencyRate: number;
  modes: Record<OverheadMode, ModeFigures>;
  /** Throughput of each mode divided by that of `none` in the same round, median over rounds. */
  ratios: Record<OverheadMode, number | null>;
  /** Worker processes the modes ran in (0: the embedded runtime). */
  workers: number;
  /** What the in-flight logs kept of a complete chunk (absent from results taken before it was an option: `'encoded'`). */
  inflightRetention?: InflightRetention;
  /** With workers: mode `none` run embedded in the same rounds (events/s, median, and each round); else null. */
  embeddedNone: { eventsPerSec: number; throughputRuns: number[] } | null;
  /** With workers: median over rounds of (workers `none` ÷ embedded `none` in the same round); else null. */
  embeddedNoneRatio: number | null;
  /** The lowest and highest round of that ratio (null without workers). */
  embeddedNoneRatioMin: number | null;
  embeddedNoneRatioMax: number | null;
  /** The largest of the modes' `peakRssMB` (each measured in a process of its own). */
  peakRssMB: number;
  /**
   * Peak resident memory of this invocation's own process (MB): every embedded throughput run, so the
   * largest mode's and more; what `peakRssMB` was before it was measured per mode (absent from those results).
   */
  invocationPeakRssMB?: number;
}

/** Options of {@link runOverheadBench}. */
export interface OverheadOptions {
  query: QueryId;
  /**
   * Measured seconds of throughput per mode, split over the rounds; default the least that gives every
   * round ten checkpoint intervals ({@link minimumSeconds}). Less than that is refused.
   */
  seconds?: number;
  parallelism: number;
  checkpointIntervalMs: number;
  /** Rounds of throughput runs (default {@link DEFAULT_ROUNDS}). */
  rounds?: number;
  /** Worker processes to run the modes in (default 0: embedded). */
  workers?: number;
  /** What in-flight logs keep of a complete chunk (default: the runtime's, `'references'`). */
  inflightRetention?: InflightRetention;
  /** Called before each run. */
  onProgress?: (message: string, done: number, total: number) => void;
}

/** The least `seconds` that gives each of `rounds` rounds {@link MIN_CHECKPOINT_INTERVALS} checkpoint intervals. */
export function minimumSeconds(rounds: number, checkpointIntervalMs: number): number {
  return (rounds * MIN_CHECKPOINT_INTERVALS * checkpointIntervalMs) / 1000;
}

/**
 * Null when `seconds` over `rounds` gives every round at least ten checkpoint intervals, else the reason
 * it does not and what would (one line, for the CLI).
 */
export function checkSampling(seconds: number, rounds: number, checkpointIntervalMs: number): string | null {
  const least = minimumSeconds(rounds, checkpointIntervalMs);
  if (seconds >= least) return null;
  return (
    `--seconds ${seconds} over ${rounds} rounds gives ${Math.round((seconds * 1000) / rounds)} ms rounds, fewer than ${MIN_CHECKPOINT_INTERVALS} checkpoint intervals of ${checkpointIntervalMs} ms: ` +
    `give --seconds ${least} or more, fewer --rounds, or a shorter --checkpoint-interval`
  );
}

/** Runs the benchmark; throws a `RangeError` with {@link checkSampling}'s reason when the rounds would be too short. */
export async function runOverheadBench(options: OverheadOptions): Promise<OverheadResult> {
  const rounds = options.rounds ?? DEFAULT_ROUNDS;
  const seconds = options.seconds ?? minimumSeconds(rounds, options.checkpointIntervalMs);
  const refused = checkSampling(seconds, rounds, options.checkpointIntervalMs);
  if (refused !== null) throw new RangeError(refused);
  const workers = options.workers ?? 0;
  const modes = OVERHEAD_MODES.filter((m) => IMPLEMENTED_MODES.includes(m.mode));
  const total = (modes.length + (workers > 0 ? 1 : 0)) * rounds + modes.length;
  let done = 0;
  const measureMs = (seconds * 1000) / rounds;
  // Past the start-up, the first checkpoints (the first snapshot is a full one) and the JIT's first tiers.
  const warmupMs = Math.max(1000, 2 * options.checkpointIntervalMs);
  const inflightRetention = options.inflightRetention ?? 'references';
  const base = { query: options.query, parallelism: options.parallelism, checkpointIntervalMs: options.checkpointIntervalMs, warmupMs, measureMs, workers, inflightRetention };
  const where = workers > 0 ? ` in ${workers} workers` : '';
  const throughput = new Map<OverheadMode, number[]>();
  const embedded: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (workers > 0) {
      options.onProgress?.(`throughput none embedded (round ${round + 1}/${rounds})`, done++, total);
      embedded.push((await measureRun({ ...base, workers: 0, mode: 'none' })).eventsPerSec);
    }
    for (const m of modes) {
      options.onProgress?.(`throughput ${m.name}${where} (round ${round + 1}/${rounds})`, done++, total);
      const figures = await measureRun({ ...base, mode: m.mode, dsd: m.dsd });
      throughput.set(m.name, [...(throughput.get(m.name) ?? []), figures.eventsPerSec]);
    }
  }
  const noneRuns = throughput.get('none')!;
  const maxRate = median(noneRuns);
  const latencyRate = Math.max(1000, Math.round(maxRate / 2));
  const latency = new Map<OverheadMode, ChildRunFigures>();
  for (const m of modes) {
    options.onProgress?.(`latency and memory ${m.name}${where} at ${latencyRate} events/s, in a process of its own`, done++, total);
    latency.set(m.name, await measureRunInChild({ ...base, mode: m.mode, ...(m.dsd !== undefined ? { dsd: m.dsd } : {}), rate: latencyRate }));
  }
  const result = {} as Record<OverheadMode, ModeFigures>;
  const ratios = {} as Record<OverheadMode, number | null>;
  for (const m of OVERHEAD_MODES) {
    const runs = throughput.get(m.name);
    if (!runs) {
      result[m.name] = null;
      ratios[m.name] = null;
      continue;
    }
    const lat = latency.get(m.name)!;
    // Paired: each round's run against the `none` run of the same round, then the median over rounds.
    const spread = pairedRatio(runs, noneRuns);
    result[m.name] = {
      eventsPerSec: Math.round(median(runs)),
      p50Ms: lat.p50Ms,
      p99Ms: lat.p99Ms,
      peakRssMB: lat.peakRssMB,
      ...(m.dsd !== undefined ? { dsd: m.dsd } : {}),
      throughputRuns: runs,
      ...(m.name !== 'none' ? spread : {}),
    };
    ratios[m.name] = spread.ratio;
  }
  const vsEmbedded = workers > 0 ? pairedRatio(noneRuns, embedded) : null;
  return {
    bench: 'overhead',
    query: options.query,
    seconds,
    parallelism: options.parallelism,
    checkpointIntervalMs: options.checkpointIntervalMs,
    rounds,
    warmupMs,
    roundMs: measureMs,
    latencyRate,
    modes: result,
    ratios,
    workers,
    inflightRetention,
    embeddedNone: workers > 0 ? { eventsPerSec: Math.round(median(embedded)), throughputRuns: embedded } : null,
    embeddedNoneRatio: vsEmbedded?.ratio ?? null,
    embeddedNoneRatioMin: vsEmbedded?.ratioMin ?? null,
    embeddedNoneRatioMax: vsEmbedded?.ratioMax ?? null,
    peakRssMB: Math.max(...[...latency.values()].map((l) => l.peakRssMB)),
    invocationPeakRssMB: peakRssMB(),
  };
}

/** `runs[i] ÷ baseline[i]` per round: the median, the lowest and the highest, to 3 decimals. */
export function pairedRatio(runs: readonly number[], baseline: readonly number[]): RatioSpread {
  const per = runs.map((r, i) => r / baseline[i]!).filter((v) => Number.isFinite(v));
  const r3 = (v: number): number => Math.round(v * 1000) / 1000;
  if (per.length === 0) return { ratio: NaN, ratioMin: NaN, ratioMax: NaN };
  return { ratio: r3(median(per)), ratioMin: r3(Math.min(...per)), ratioMax: r3(Math.max(...per)) };
}
