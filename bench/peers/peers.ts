/**
 * `causalflow bench peers`: Apache Flink and causalflow side by side on one Nexmark workload, one after
 * the other in one invocation (`../shared/contracts.md`).
 *
 * 1. The maximum rate of each, with and without checkpoints (Flink: its MiniCluster, parallelism 2;
 *    causalflow: `--workers 2`, mode `none` and `exactly-once`).
 * 2. Both paced at the same rate, half of the slower one's maximum with checkpoints, for the same number
 *    of events, with one failure at the same second: subtask 0 of the join (Q1: of its map) throws in
 *    Flink, which restarts with its fastest strategy (fixed delay 0) and, in a second run, its default;
 *    causalflow's worker holding the same task is SIGKILLed (`bench/recovery.ts`).
 * 3. Latency at that rate in a failure-free run as long as the time before the kill; visibility: for Flink when the checkpoint after the record
 *    commits, for causalflow when the sink writes it; recovery figures from each sink's timeline
 *    (`lib/runtime/recovery-metrics.ts`); duplicates and lost: causalflow's against the oracle replay,
 *    Flink's committed output against the TypeScript query's output over the same events.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { join } from 'node:path';
import { recoveryFigures } from '../../lib/runtime/recovery-metrics.js';
import type { TimelineSlot } from '../../lib/runtime/metrics.js';
import { measureRun, median, round } from '../harness.js';
import { pairedRatio, type RatioSpread } from '../overhead.js';
import type { QueryId } from '../nexmark/queries.js';
import { runRecoveryBench, type TimelinePoint } from '../recovery.js';
import { compareHashes, expectedHashes, parseHashes } from './output-check.js';
import { buildFlinkPeer, flinkUnavailable, runFlinkPeer, type FlinkRun } from './flink-driver.js';
import {
  PEER_CHECKPOINT_MS,
  PEER_PARALLELISM,
  skippedResult,
  type FailureRunFigures,
  type MaxRateRounds,
  type PeerQuery,
  type PeersReport,
  type PeersResult,
  type StartupLatency,
} from './peer-results.js';

export {
  PEER_CHECKPOINT_MS,
  PEER_PARALLELISM,
  PEER_QUERIES,
  skippedResult,
  type FailureRunFigures,
  type MaxRateRounds,
  type PeerFigures,
  type PeerQuery,
  type PeersReport,
  type PeersResult,
  type StartupLatency,
} from './peer-results.js';

/** Latency and throughput windows start after this much warm-up (ms). */
const WARMUP_MS = 1000;
/** Flink's maximum-rate runs warm the JIT up for longer: its first second runs interpreted code. */
const FLINK_MAX_WARMUP_MS = 2000;
/**
 * Where the latency window of both paced runs starts (ms): the p99 at half load is the steady state's. A causalflow
 * job starts new worker processes, whose code is cold, and at half of its maximum with checkpoints it took up to 8 s
 * to work off what piled up meanwhile (2026-12-03, Q3 in 2 workers); Flink's JVM has run a warm-up job before its
 * paced run. The seconds from 1 s until then are reported apart (`PeersReport.startupLatency`), for both.
 */
export const PACED_WARMUP_MS = 5000;
/**
 * Most events of a failure run. Q1 outputs a record per bid, and this process holds a hash of each, several
 * times over: causalflow's run and its oracle replay (`recordHashes`), the TypeScript query's expected output,
 * and Flink's committed lines, each as a collected array and a sorted copy. Until 2026-12-03 the run kept
 * records and their JSON (about 470 bytes each; a 4.3 GB heap ran out at 8.6 million) and the check counted
 * them in a Map (at most 2^24 keys); now one event per 250 bytes of the heap limit
 * (`NODE_OPTIONS=--max-old-space-size=<MB>` raises it), up to 25 million: 10 s at 2.5 M events/s. Q3 and
 * Q8 output a few records per thousand events. A longer run is shortened, kill included, then slowed (see
 * {@link failureRunPlan}).
 */
export function maxFailureRunEvents(query: PeerQuery): number {
  return query === 'q1' ? Math.min(25_000_000, Math.floor(getHeapStatistics().heap_size_limit / 250)) : 40_000_000;
}

/** The four percentiles of a Flink run's start-up figures (it prints its record counts beside them). */
function startupOf(figures: StartupLatency): StartupLatency {
  return { p50Ms: figures.p50Ms, p99Ms: figures.p99Ms, visibleP50Ms: figures.visibleP50Ms, visibleP99Ms: figures.visibleP99Ms };
}

/** Options of {@link runPeersBench}. */
export interface PeersBenchOptions {
  query: PeerQuery;
  /** Measured seconds of each maximum-rate run and before each kill (after a 1 s warm-up). */
  seconds: number;
  /** Seconds each failure run goes on after the kill. */
  afterSeconds: number;
  /** causalflow's killed worker gets its tasks back once its new process is up (`workers.rebalance`; default false). */
  rebalance?: boolean;
  /** Rounds of the maximum-rate runs, each Flink's two then causalflow's two (default {@link PEER_MAX_ROUNDS}). */
  maxRounds?: number;
  onProgress?: (message: string) => void;
}

/**
 * Rounds of the maximum-rate runs. This machine's two cores moved one system's maximum by a factor of 2 to 4 between
 * invocations on one day (2026-12-03), so one run of each decides nothing: the throughput ratio is the median over
 * rounds of causalflow ÷ Flink in the same round, with the lowest and highest round.
 */
export const PEER_MAX_ROUNDS = 3;

/** Runs the comparison; a result with `skipped` set (and no report details) when Java or Maven is missing. */
export async function runPeersBench(options: PeersBenchOptions): Promise<PeersReport | PeersResult> {
  const progress = options.onProgress ?? (() => {});
  const unavailable = flinkUnavailable();
  if (unavailable !== null) return skippedResult(options.query, unavailable);
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg()[0]!;
  const build = buildFlinkPeer(progress);
  if (build.built) progress(`built the Flink peer in ${(build.buildMs / 1000).toFixed(1)} s${build.offline ? ' (offline)' : ''}`);
  const measureMs = options.seconds * 1000;
  const query = options.query;

  const spec = { query: query as QueryId, parallelism: PEER_PARALLELISM, checkpointIntervalMs: PEER_CHECKPOINT_MS, warmupMs: WARMUP_MS, measureMs, workers: PEER_PARALLELISM };
  const maxRounds = await measureMaxRates(options, build.classpath, spec, progress);
  const medianOf = (values: readonly (number | null)[]): number | null => {
    const measured = values.filter((v): v is number => v !== null);
    return measured.length > 0 ? round(median(measured)) : null;
  };
  const flinkMax = { eventsPerSec: medianOf(maxRounds.flink.max) };
  const flinkMaxCheckpoints = { eventsPerSec: medianOf(maxRounds.flink.checkpoints) };
  const causalMax = { eventsPerSec: medianOf(maxRounds.causalflow.max) ?? 0 };
  const causalMaxCheckpoints = { eventsPerSec: medianOf(maxRounds.causalflow.checkpoints) ?? 0 };

  const flinkCheckpointed = flinkMaxCheckpoints.eventsPerSec ?? 0;
  const rate = Math.max(1000, Math.round(Math.min(flinkCheckpointed, causalMaxCheckpoints.eventsPerSec) / 2));
  const pacedMs = PACED_WARMUP_MS + measureMs;
  // The kill falls where it fell before the paced window moved: the failure runs' band needs no longer warm-up.
  const { killAtMs, afterMs, rate: failureRate } = failureRunPlan(rate, WARMUP_MS + measureMs, options.afterSeconds * 1000, maxFailureRunEvents(query));
  const events = Math.round((failureRate * (killAtMs + afterMs)) / 1000);

  const scratch = mkdtempSync(join(tmpdir(), 'causalflow-bench-peers-'));
  try {
    progress(
      `flink ${query}: latency at ${rate} events/s for ${pacedMs / 1000} s (measured after ${PACED_WARMUP_MS / 1000} s); then ${events} events at ${failureRate} events/s, subtask 0 of the join failing at ${killAtMs / 1000} s, ` +
        'with a fixed-delay 0 restart, then the default',
    );
    const [paced, fastest, fallback] = await runFlinkPeer({
      classpath: build.classpath,
      query,
      // A JVM's first seconds run interpreted code: warm it up before the runs whose latency counts.
      runs: ['warmup', 'paced', 'kill-fastest', 'kill-default'],
      rate,
      pacedMs,
      latencyFromMs: PACED_WARMUP_MS,
      failureRate,
      killAtMs,
      afterMs,
      outputDir: scratch,
      onProgress: progress,
    });
    progress(`${query}: the expected output of ${events} events (the TypeScript query, embedded, no failure)`);
    const expected = await expectedHashes(query, events, PEER_PARALLELISM, join(scratch, 'expected'));
    const committed = (run: string): Float64Array => parseHashes(readFileSync(join(scratch, `${run}.hashes`)));
    const flinkFastest = flinkFailureFigures(fastest!, committed('kill-fastest'), expected);
    const flinkDefault = flinkFailureFigures(fallback!, committed('kill-default'), expected);

    progress(`causalflow ${query}: latency at ${rate} events/s for ${pacedMs / 1000} s (measured after ${PACED_WARMUP_MS / 1000} s), exactly-once in ${PEER_PARALLELISM} workers`);
    let causalStartup: StartupLatency | null = null;
    const causalPaced = await measureRun({
      ...spec,
      mode: 'exactly-once',
      rate,
      warmupMs: PACED_WARMUP_MS,
      observe: (handle) => () => {
        const latency = handle.executor.timeline.latencyBetween(WARMUP_MS, PACED_WARMUP_MS);
        const at = (q: number): number | null => (latency.total > 0 ? round(latency.quantile(q)) : null);
        causalStartup = { p50Ms: at(0.5), p99Ms: at(0.99), visibleP50Ms: at(0.5), visibleP99Ms: at(0.99) };
      },
    });
    progress(`causalflow ${query}: ${events} events at ${failureRate} events/s, the worker of the join SIGKILLed at ${killAtMs / 1000} s`);
    const recovery = await runRecoveryBench({
      query,
      failures: 'single',
      rate: failureRate,
      parallelism: PEER_PARALLELISM,
      checkpointIntervalMs: PEER_CHECKPOINT_MS,
      modes: ['exactly-once'],
      warmupMs: killAtMs,
      afterMs,
      workers: PEER_PARALLELISM,
      rebalance: options.rebalance ?? false,
      // Hashes, as Flink's sink keeps in its failure runs: Q1's record per event would load the coordinator otherwise.
      recordHashes: true,
      onProgress: progress,
    });
    const causal = recovery.modes['exactly-once']!;

    const result: PeersResult = {
      bench: 'peers',
      query,
      rate,
      skipped: null,
      systems: {
        flink: {
          version: fastest!.version,
          maxEventsPerSec: flinkMax.eventsPerSec ?? null,
          maxEventsPerSecCheckpointing: flinkMaxCheckpoints.eventsPerSec ?? null,
          // From a failure-free run: records just before a kill become visible only after the restart.
          p99Ms: paced!.p99Ms,
          visibleP50Ms: paced!.visibleP50Ms,
          visibleP99Ms: paced!.visibleP99Ms,
          recoveryMs: flinkFastest.recoveryMs,
          outputGapMs: flinkFastest.outputGapMs,
          peakLatencyMs: flinkFastest.peakLatencyMs,
          // Both restart strategies are checked; the contract shows the worse of the two.
          duplicates: worse(flinkFastest.duplicates, flinkDefault.duplicates),
          lost: worse(flinkFastest.lost, flinkDefault.lost),
        },
        causalflow: {
          mode: 'exactly-once',
          workers: PEER_PARALLELISM,
          maxEventsPerSec: causalMax.eventsPerSec,
          maxEventsPerSecCheckpointing: causalMaxCheckpoints.eventsPerSec,
          p99Ms: causalPaced.p99Ms,
          // The sink writes a record once: that is when an exactly-once consumer can read it.
          visibleP50Ms: causalPaced.p50Ms,
          visibleP99Ms: causalPaced.p99Ms,
          recoveryMs: causal.recoveryMs,
          outputGapMs: causal.outputGapMs,
          peakLatencyMs: causal.peakLatencyMs,
          duplicates: causal.duplicates,
          lost: causal.lost,
        },
      },
    };
    return {
      result,
      startedAt,
      loadAverage: [loadAtStart, loadavg()[0]!],
      seconds: options.seconds,
      killAtMs,
      afterMs,
      failureRate,
      events,
      rebalance: options.rebalance ?? false,
      flinkBuild: { built: build.built, offline: build.offline, buildMs: build.buildMs },
      flinkRestarts: { fastest: flinkFastest, default: flinkDefault },
      causalflowRecovery: {
        recoveryMs: causal.recoveryMs,
        bandMs: causal.bandMs ?? null,
        outputGapMs: causal.outputGapMs,
        peakLatencyMs: causal.peakLatencyMs,
        duplicates: causal.duplicates,
        lost: causal.lost,
        baselineLatencyMs: causal.baselineLatencyMs,
        baselineGapMs: causal.baselineGapMs,
      },
      flinkStartupMs: [fastest!.startupMs ?? NaN, fallback!.startupMs ?? NaN],
      maxRounds,
      pacedWarmupMs: PACED_WARMUP_MS,
      startupLatency: { flink: paced!.startup ? startupOf(paced!.startup) : null, causalflow: causalStartup },
      timelines: { 'flink-fastest': points(fastest!.timeline), 'flink-default': points(fallback!.timeline), causalflow: causal.timeline },
      killedAtMs: { 'flink-fastest': fastest!.killAtMs ?? null, 'flink-default': fallback!.killAtMs ?? null, causalflow: recovery.killAtMs[0] ?? null },
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The maximum rates, in rounds that alternate the systems (Flink's runs without and with checkpoints in one JVM,
 * then causalflow's in `none` and `exactly-once`), so that a change of the machine's speed falls on both.
 */
async function measureMaxRates(
  options: PeersBenchOptions,
  classpath: string,
  spec: Omit<Parameters<typeof measureRun>[0], 'mode'>,
  progress: (message: string) => void,
): Promise<MaxRateRounds> {
  const rounds = Math.max(1, options.maxRounds ?? PEER_MAX_ROUNDS);
  const out: MaxRateRounds = { rounds, flink: { max: [], checkpoints: [] }, causalflow: { max: [], checkpoints: [] }, checkpointsRatio: null, noCheckpointsRatio: null };
  for (let r = 1; r <= rounds; r++) {
    progress(`flink ${options.query}: maximum rate without and with checkpoints (${options.seconds} s each), round ${r} of ${rounds}`);
    const [max, checkpoints] = await runFlinkPeer({ classpath, query: options.query, runs: ['max', 'max-checkpoints'], warmupMs: FLINK_MAX_WARMUP_MS, measureMs: spec.measureMs, onProgress: progress });
    out.flink.max.push(max!.eventsPerSec ?? null);
    out.flink.checkpoints.push(checkpoints!.eventsPerSec ?? null);
    progress(`causalflow ${options.query}: maximum rate in ${PEER_PARALLELISM} workers, mode none, then exactly-once, round ${r} of ${rounds}`);
    out.causalflow.max.push((await measureRun({ ...spec, mode: 'none' })).eventsPerSec);
    out.causalflow.checkpoints.push((await measureRun({ ...spec, mode: 'exactly-once' })).eventsPerSec);
  }
  const paired = (ours: readonly number[], theirs: readonly (number | null)[]): RatioSpread | null => {
    const spread = pairedRatio(ours, theirs.map((v) => v ?? NaN));
    return Number.isFinite(spread.ratio) ? spread : null;
  };
  out.checkpointsRatio = paired(out.causalflow.checkpoints, out.flink.checkpoints);
  out.noCheckpointsRatio = paired(out.causalflow.max, out.flink.max);
  return out;
}

/**
 * The failure runs' kill time, time after it and rate: as asked, unless the run would exceed `maxEvents`;
 * then both times shrink in proportion, down to 2 s before the kill (1 s of warm-up, 1 s of latency) and 3 s
 * after it, and if that is still too many events, the rate is lowered to fit.
 */
export function failureRunPlan(rate: number, killAtMs: number, afterMs: number, maxEvents: number): { killAtMs: number; afterMs: number; rate: number } {
  const events = (rate * (killAtMs + afterMs)) / 1000;
  if (events <= maxEvents) return { killAtMs, afterMs, rate };
  const factor = maxEvents / events;
  const shortened = { killAtMs: Math.max(2000, Math.round((killAtMs * factor) / 100) * 100), afterMs: Math.max(3000, Math.round((afterMs * factor) / 100) * 100) };
  const fitting = Math.floor((maxEvents * 1000) / (shortened.killAtMs + shortened.afterMs));
  return { ...shortened, rate: Math.min(rate, fitting) };
}

/** The larger of two counts, null if either is (a check that could not run). */
function worse(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : Math.max(a, b);
}

function points(slots: readonly TimelineSlot[]): TimelinePoint[] {
  return slots.map((s) => ({ t: s.t, inRate: s.input * 10, outRate: s.output * 10, p50: s.p50, p99: s.p99 }));
}

/** Recovery figures of a Flink failure run, and its committed lines checked against the expected ones. */
export function flinkFailureFigures(run: FlinkRun, committed: Float64Array, expected: Float64Array): FailureRunFigures {
  const check = compareHashes(committed, expected);
  const killAt = run.killAtMs ?? null;
  const figures = killAt === null ? null : recoveryFigures(run.timeline, run.outputTimes, { killAt, warmupMs: WARMUP_MS });
  const rounded = (value: number | null | undefined): number | null => (value == null ? null : round(value));
  return {
    recoveryMs: rounded(figures?.recoveryMs),
    bandMs: rounded(figures?.bandMs),
    outputGapMs: rounded(figures?.outputGapMs),
    peakLatencyMs: rounded(figures?.peakLatencyMs),
    duplicates: check.duplicates,
    lost: check.lost,
    baselineLatencyMs: rounded(figures?.baselineLatencyMs),
    baselineGapMs: rounded(figures?.baselineGapMs),
  };
}
