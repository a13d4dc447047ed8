/**
 * What `bench peers` reports: the contract's object (`../shared/contracts.md`), the results file's report around it,
 * and the result of an invocation that could not run the peer. The measuring is in `peers.ts`.
 */
import type { RatioSpread } from '../overhead.js';
import type { RecoveryModeFigures, TimelinePoint } from '../recovery.js';
import { FLINK_VERSION, type FlinkBuild } from './flink-driver.js';

/** The queries both systems run. */
export const PEER_QUERIES = ['q1', 'q3', 'q8'] as const;
/** A query both systems run. */
export type PeerQuery = (typeof PEER_QUERIES)[number];

/** Parallelism of both systems, and causalflow's worker processes. */
export const PEER_PARALLELISM = 2;
/** Checkpoint interval of both systems (ms). */
export const PEER_CHECKPOINT_MS = 1000;
/** One system's figures, as the contract names them; null: not measured. */
export interface PeerFigures {
  maxEventsPerSec: number | null;
  maxEventsPerSecCheckpointing: number | null;
  p99Ms: number | null;
  visibleP50Ms: number | null;
  visibleP99Ms: number | null;
  recoveryMs: number | null;
  outputGapMs: number | null;
  peakLatencyMs: number | null;
  duplicates: number | null;
  lost: number | null;
}

/** The JSON result, as fixed by `../shared/contracts.md`. */
export interface PeersResult {
  bench: 'peers';
  query: PeerQuery;
  /** The paced rate both ran at (events/s); 0 when skipped. */
  rate: number;
  /** Why nothing ran (java or mvn missing), else null. */
  skipped: string | null;
  systems: {
    flink: { version: string } & PeerFigures;
    causalflow: { mode: 'exactly-once'; workers: number } & PeerFigures;
  };
}

/** Recovery figures of one failure run: those of `bench recovery` that both systems have. */
export type FailureRunFigures = Pick<
  RecoveryModeFigures,
  'recoveryMs' | 'bandMs' | 'outputGapMs' | 'peakLatencyMs' | 'duplicates' | 'lost' | 'baselineLatencyMs' | 'baselineGapMs'
>;

/** Everything one invocation measured: the contract's object and what explains it (the results file). */
export interface PeersReport {
  result: PeersResult;
  /** ISO time the invocation started. */
  startedAt: string;
  /** The machine's 1-minute load average when the invocation started and when it ended. */
  loadAverage: [number, number];
  seconds: number;
  killAtMs: number;
  afterMs: number;
  /** Rate of the failure runs: `result.rate` unless the run had to be slowed to fit the oracle check. */
  failureRate: number;
  /** Events of the failure runs (both systems). */
  events: number;
  /** Whether causalflow's killed worker got its tasks back once its new process was up (`--rebalance`; absent before 2026-12-02: no). */
  rebalance?: boolean;
  /** How the Flink peer was built (its classpath, which names this machine's Maven repository, left out). */
  flinkBuild: Omit<FlinkBuild, 'classpath'> | null;
  /** Flink's restarts: with fixed delay 0 (the contract's figures) and with its default strategy. */
  flinkRestarts: { fastest: FailureRunFigures; default: FailureRunFigures } | null;
  /** causalflow's failure run, with the same figures as Flink's beside the contract's. */
  causalflowRecovery: FailureRunFigures | null;
  /** Flink kill runs: from submission until its sources started (ms). */
  flinkStartupMs: number[];
  /** Where both paced runs' latency window started (ms; absent before 2026-12-03: 1000). */
  pacedWarmupMs?: number;
  /** Both paced runs' latency from 1 s until their window started: start-up, left out of `p99Ms` and `visibleP99Ms`. */
  startupLatency?: { flink: StartupLatency | null; causalflow: StartupLatency | null };
  /** The maximum-rate runs round by round (absent before the evening of 2026-12-03: one run of each). */
  maxRounds?: MaxRateRounds;
  /** The 100 ms timelines of each failure run, ms since the start. */
  timelines: Record<'flink-fastest' | 'flink-default' | 'causalflow', TimelinePoint[]>;
  killedAtMs: Record<'flink-fastest' | 'flink-default' | 'causalflow', number | null>;
}

/** Latency and visibility percentiles of a paced run's start-up seconds (ms). */
export interface StartupLatency {
  p50Ms: number | null;
  p99Ms: number | null;
  visibleP50Ms: number | null;
  visibleP99Ms: number | null;
}

/** Every round's maximum rates (events/s; null: a Flink run that measured none) and the paired ratios. */
export interface MaxRateRounds {
  rounds: number;
  flink: { max: (number | null)[]; checkpoints: (number | null)[] };
  causalflow: { max: number[]; checkpoints: number[] };
  /** causalflow exactly-once ÷ Flink with checkpoints, round by round: median, lowest and highest; null: no round measured both. */
  checkpointsRatio: RatioSpread | null;
  /** causalflow none ÷ Flink without checkpoints, the same way. */
  noCheckpointsRatio: RatioSpread | null;
}

const NULL_FIGURES: PeerFigures = {
  maxEventsPerSec: null,
  maxEventsPerSecCheckpointing: null,
  p99Ms: null,
  visibleP50Ms: null,
  visibleP99Ms: null,
  recoveryMs: null,
  outputGapMs: null,
  peakLatencyMs: null,
  duplicates: null,
  lost: null,
};

/** The result when the peer cannot run: every figure null, the reason in `skipped`. */
export function skippedResult(query: PeerQuery, reason: string): PeersResult {
  return {
    bench: 'peers',
    query,
    rate: 0,
    skipped: reason,
    systems: { flink: { version: FLINK_VERSION, ...NULL_FIGURES }, causalflow: { mode: 'exactly-once', workers: PEER_PARALLELISM, ...NULL_FIGURES } },
  };
}
