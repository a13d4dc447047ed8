/**
 * Sweeps: how the cost of fault tolerance grows with the work.
 *
 * - overhead against sharing depth, on a pipeline of five keyed stages (paired throughput runs);
 * - recovery time against checkpoint interval, keyed-state size and input rate (`global-rollback`
 *   against `exactly-once`, one kill of the deepest stateful task);
 * - determinant bytes per input event, per query.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, type DataStream, type RecoveryMode } from '../lib/index.js';
import type { CollectSink } from '../lib/connectors/collect.js';
import { DiscardSink } from '../lib/connectors/discard.js';
import { BENCH_EVENT_RATE, measureRun, median, round } from './harness.js';
import type { Bid, NexmarkEvent } from './nexmark/model.js';
import { nexmarkSource } from './nexmark/source.js';
import { QUERIES, isBid, type QueryId } from './nexmark/queries.js';
import { runRecoveryBench, type BenchJobBuilder } from './recovery.js';
import { MIN_CHECKPOINT_INTERVALS } from './overhead.js';

/** Keyed stages of the deep pipeline. */
export const DEEP_STAGES = 5;

/** Bids through five keyed stages, alternating the key between auction and bidder; each counts per key. */
export function deepPipeline(events: DataStream<NexmarkEvent>): DataStream<unknown> {
  let stream: DataStream<Bid> = events.filter(isBid, { name: 'deep-bids' });
  for (let stage = 1; stage <= DEEP_STAGES; stage++) {
    const byAuction = stage % 2 === 1;
    stream = stream
      .keyBy((b) => (byAuction ? b.auction : b.bidder))
      .process<Bid>(
        {
          processElement(b, ctx) {
            const seen = ctx.state.value<number>('seen');
            seen.update((seen.value() ?? 0) + 1);
            ctx.emit(b);
          },
        },
        { name: `deep-${stage}` },
      );
  }
  return stream as DataStream<unknown>;
}

/** One point of the sharing-depth sweep. */
export interface DsdPoint {
  /** `none`, or the sharing depth of `exactly-once` (-1: full). */
  config: string;
  dsd: number | null;
  eventsPerSec: number;
  /** Throughput ÷ `none` in the same round, median over rounds. */
  ratio: number;
  /** The lowest and highest round of that ratio (absent from results taken before the spread was kept). */
  ratioMin?: number;
  ratioMax?: number;
}

/** Checkpoint interval of the sharing-depth sweep (ms); each round samples ten of them, as `bench overhead` does. */
const DSD_CHECKPOINT_MS = 1000;

/**
 * Overhead against sharing depth on the deep pipeline: paired rounds of `none` and `exactly-once` with
 * dsd 0, 1, 2, full. A round's window is `measureMs`, raised to ten checkpoint intervals when shorter.
 */
export async function sweepDsd(options: { rounds: number; measureMs: number; parallelism: number; onProgress?: (m: string) => void }): Promise<DsdPoint[]> {
  const measureMs = Math.max(options.measureMs, MIN_CHECKPOINT_INTERVALS * DSD_CHECKPOINT_MS);
  const configs: { config: string; mode: RecoveryMode; dsd: number | null }[] = [
    { config: 'none', mode: 'none', dsd: null },
    { config: 'dsd 0', mode: 'exactly-once', dsd: 0 },
    { config: 'dsd 1', mode: 'exactly-once', dsd: 1 },
    { config: 'dsd 2', mode: 'exactly-once', dsd: 2 },
    { config: 'dsd full', mode: 'exactly-once', dsd: -1 },
  ];
  const rates = configs.map(() => [] as number[]);
  const ratios = configs.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    let baseline = 0;
    for (const [i, c] of configs.entries()) {
      options.onProgress?.(`sharing depth: ${c.config}, round ${round + 1}/${options.rounds}`);
      const figures = await measureRun({
        query: 'q1',
        mode: c.mode,
        ...(c.dsd !== null ? { dsd: c.dsd } : {}),
        parallelism: options.parallelism,
        checkpointIntervalMs: DSD_CHECKPOINT_MS,
        warmupMs: 2 * DSD_CHECKPOINT_MS,
        measureMs,
        pipeline: deepPipeline,
      });
      if (i === 0) baseline = figures.eventsPerSec;
      rates[i]!.push(figures.eventsPerSec);
      ratios[i]!.push(baseline > 0 ? figures.eventsPerSec / baseline : NaN);
    }
  }
  return configs.map((c, i) => {
    const finite = ratios[i]!.filter((r) => Number.isFinite(r));
    const spread = finite.length > 0 ? { ratioMin: round(Math.min(...finite)), ratioMax: round(Math.max(...finite)) } : {};
    return { config: c.config, dsd: c.dsd, eventsPerSec: Math.round(median(rates[i]!)), ratio: round(median(ratios[i]!)), ...spread };
  });
}

/** One point of a recovery sweep: the figures of both modes at one value of the swept parameter. */
export interface RecoverySweepPoint {
  x: number;
  modes: Partial<Record<RecoveryMode, SweepModeFigures>>;
}

/** One mode at one point of a recovery sweep. */
export interface SweepModeFigures {
  /** Under the band rule (`recoveryFigures`) when `bandMs` is present; points without it were taken under the old rule. */
  recoveryMs: number | null;
  /** Deprecated alias of `recoveryMs`; under the old rule the figure nearest to the band rule (p95 of the 3 s before the kill). */
  settledMs: number | null;
  /** Upper edge of the band (ms); absent from points taken before the band rule. */
  bandMs?: number | null;
  outputGapMs: number | null;
  peakLatencyMs: number | null;
  takeoverMs: number | null;
}

/**
 * The recovery figure of a sweep point: `recoveryMs`, or for points taken before the band rule (no
 * timeline was stored to recompute it from) their `settledMs`, the figure then nearest to the band rule.
 */
export function sweepRecoveryMs(f: SweepModeFigures): number | null {
  return f.bandMs !== undefined ? f.recoveryMs : f.settledMs;
}

const SWEEP_MODES: readonly RecoveryMode[] = ['global-rollback', 'exactly-once'];

async function recoveryPoint(
  x: number,
  options: Parameters<typeof runRecoveryBench>[0],
): Promise<RecoverySweepPoint> {
  const result = await runRecoveryBench({ ...options, modes: SWEEP_MODES, verify: false });
  const point: RecoverySweepPoint = { x, modes: {} };
  for (const mode of SWEEP_MODES) {
    const f = result.modes[mode]!;
    point.modes[mode] = { recoveryMs: f.recoveryMs, settledMs: f.settledMs, bandMs: f.bandMs ?? null, outputGapMs: f.outputGapMs, peakLatencyMs: f.peakLatencyMs, takeoverMs: f.takeoverMs };
  }
  return point;
}

/** Common settings of the recovery sweeps. */
export interface RecoverySweepOptions {
  parallelism: number;
  /** Events/s of the maximum (mode none) that rates are fractions of. */
  maxRate: number;
  warmupMs: number;
  afterMs: number;
  onProgress?: (m: string) => void;
}

/** Recovery time against checkpoint interval (Q3, half of the maximum rate). */
export async function sweepCheckpointInterval(intervalsMs: readonly number[], o: RecoverySweepOptions): Promise<RecoverySweepPoint[]> {
  const points: RecoverySweepPoint[] = [];
  for (const interval of intervalsMs) {
    o.onProgress?.(`checkpoint interval ${interval} ms`);
    // Several checkpoints before the kill, whatever the interval.
    const warmupMs = Math.max(o.warmupMs, Math.round(interval * 2.5));
    points.push(await recoveryPoint(interval, { query: 'q3', failures: 'single', rate: Math.round(o.maxRate / 2), parallelism: o.parallelism, checkpointIntervalMs: interval, warmupMs, afterMs: o.afterMs }));
  }
  return points;
}

/** Recovery time against input rate, as fractions of the maximum (Q3, 1 s checkpoints). */
export async function sweepRate(fractions: readonly number[], o: RecoverySweepOptions): Promise<RecoverySweepPoint[]> {
  const points: RecoverySweepPoint[] = [];
  for (const fraction of fractions) {
    o.onProgress?.(`input rate ${Math.round(fraction * 100)}% of the maximum`);
    points.push(
      await recoveryPoint(fraction, { query: 'q3', failures: 'single', rate: Math.round(o.maxRate * fraction), parallelism: o.parallelism, checkpointIntervalMs: 1000, warmupMs: o.warmupMs, afterMs: o.afterMs }),
    );
  }
  return points;
}

/** Keys per task of the state-size job. */
const STATE_KEYS_PER_TASK = 1024;
/** Input rate of the state-size job (events/s), well below its maximum at every size. */
export const STATE_SWEEP_RATE = 200_000;

/**
 * The state-size job: bids keyed over `1024 × parallelism` keys; each key holds a ballast value of
 * `bytesPerTask / 1024` bytes, written once, and a counter updated by every bid. Every 64th bid of a key
 * is emitted. Incremental snapshots carry the ballast once; a global rollback reads all of it back, a
 * standby already holds it.
 */
export function stateJobBuilder(bytesPerTask: number, parallelism: number): BenchJobBuilder {
  const ballastBytes = Math.max(1, Math.round(bytesPerTask / STATE_KEYS_PER_TASK));
  const keys = STATE_KEYS_PER_TASK * parallelism;
  return ({ directory, mode, dsd, checkpointIntervalMs, rate, maxEvents, retain }) => {
    const job = new Job({ name: 'bench-state', parallelism, directory, recovery: { mode, checkpointIntervalMs, dsd }, retainDeterminants: retain });
    const sink = job
      .source(nexmarkSource({ partitions: parallelism, eventRate: BENCH_EVENT_RATE, rate, maxEvents }), { watermarks: {} })
      .filter(isBid, { name: 'state-bids' })
      .keyBy((b) => (b.auction * 31 + b.bidder) % keys)
      .process<{ key: number; count: number }>(
        {
          processElement(_b, ctx) {
            const ballast = ctx.state.value<Uint8Array>('ballast');
            if (ballast.value() === undefined) ballast.update(new Uint8Array(ballastBytes).fill(ctx.key as number));
            const count = ctx.state.value<number>('count');
            const n = (count.value() ?? 0) + 1;
            count.update(n);
            if (n % 64 === 0) ctx.emit({ key: ctx.key as number, count: n });
          },
        },
        { name: 'state-count' },
      )
      .collect({ name: 'bench-sink' });
    return { job, sink: sink as CollectSink<unknown> };
  };
}

/** Recovery time against keyed-state size per task (MB). */
export async function sweepStateSize(megabytes: readonly number[], o: RecoverySweepOptions): Promise<RecoverySweepPoint[]> {
  const points: RecoverySweepPoint[] = [];
  for (const mb of megabytes) {
    o.onProgress?.(`keyed state ${mb} MB per task`);
    points.push(
      await recoveryPoint(mb, {
        query: 'q3',
        failures: 'single',
        rate: STATE_SWEEP_RATE,
        parallelism: o.parallelism,
        checkpointIntervalMs: 1000,
        warmupMs: o.warmupMs,
        afterMs: o.afterMs,
        build: stateJobBuilder(mb * 1024 * 1024, o.parallelism),
      }),
    );
  }
  return points;
}

/** Determinant bytes per input event of one query under `exactly-once` (dsd 1). */
export interface DeterminantBytesPoint {
  query: QueryId;
  events: number;
  /** Bytes of every task's own log (what recovery may need), per input event. */
  bytesPerEvent: number;
}

/** Runs each query for `events` events with every determinant kept, and divides the trace size by the events read. */
export async function measureDeterminantBytes(queries: readonly QueryId[], events: number, parallelism: number, onProgress?: (m: string) => void): Promise<DeterminantBytesPoint[]> {
  const points: DeterminantBytesPoint[] = [];
  for (const query of queries) {
    onProgress?.(`determinant bytes of ${query}`);
    const directory = mkdtempSync(join(tmpdir(), 'causalflow-bench-bytes-'));
    try {
      const job = new Job({ name: `bytes-${query}`, parallelism, directory, recovery: { mode: 'exactly-once', checkpointIntervalMs: 1000, dsd: 1 }, retainDeterminants: true });
      const source = job.source(nexmarkSource({ partitions: parallelism, eventRate: BENCH_EVENT_RATE, maxEvents: events }), { watermarks: {} });
      QUERIES[query].build(source).sink(new DiscardSink<unknown>(), { name: 'bench-sink' });
      const handle = await job.start();
      const result = await handle.done;
      let bytes = 0;
      for (const segments of handle.traces().values()) for (const segment of segments) bytes += segment.bytes.length;
      points.push({ query, events: result.recordsIn, bytesPerEvent: round(bytes / Math.max(1, result.recordsIn)) });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }
  return points;
}
