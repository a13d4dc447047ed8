/**
 * How a recovery looks from the sink, computed from a job's timeline (as `../shared/contracts.md`
 * defines the figures):
 *
 * - `recoveryMs`: from the kill until the sink's latency (the median of each 100 ms slot) is back within
 *   10% (or 1 ms, whichever is more) of its median before the failure, and stays there for one second,
 *   during which the sink shows at least half as much as in an average second before the failure (a
 *   second without output is not a recovered second, least of all for transactional sinks, whose output
 *   comes in bursts when checkpoints complete);
 * - `settledMs`: the same, with normal meaning what the job showed before the failure (see the field);
 * - `outputGapMs`: the longest interval after the kill with no sink output;
 * - `peakLatencyMs`: the highest per-slot p99 after the kill.
 */
import type { TimelineSlot } from './metrics.js';

/** Figures of one recovery. */
export interface RecoveryFigures {
  /** Kill to latency back to normal for a second (ms), or null if it never settled. */
  recoveryMs: number | null;
  /**
   * The same, with "normal" widened to the latency the job showed before the failure: within 10% of the
   * median, or up to the 95th percentile of the slots before the kill, whichever is more. On a loaded
   * machine, checkpoints make short latency blips that `recoveryMs` counts as not recovered even
   * when the job had them all along.
   */
  settledMs: number | null;
  /** Longest interval without output after the kill (ms), or null without output times. */
  outputGapMs: number | null;
  /** Highest per-slot p99 latency after the kill (ms), or null without output. */
  peakLatencyMs: number | null;
  /** Median per-slot p50 latency before the kill (ms): the baseline. */
  baselineLatencyMs: number | null;
  /** Longest interval without output before the kill, after the warm-up (ms): windowed queries have gaps of their own. */
  baselineGapMs: number | null;
}

/** Options of {@link recoveryFigures}. */
export interface RecoveryFigureOptions {
  /** Job-clock ms of the (first) kill. */
  killAt: number;
  /** Slots before this are warm-up, left out of the baseline (default: none). */
  warmupMs?: number;
  /** Latency within (1 + tolerance) × baseline counts as normal (default 0.1). */
  tolerance?: number;
  /** How long latency must stay normal (default 1000 ms). */
  holdMs?: number;
  /**
   * Latency within this many ms of the baseline also counts as normal (default 1): at millisecond
   * latencies 10% is below the jitter of one slot's median.
   */
  slackMs?: number;
}

/** Median of numbers, or null for none. */
export function medianOf(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-quantile (0..1) of numbers by nearest rank, or null for none. */
export function percentileOf(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * The longest interval without output after `killAt`, counted from the kill: from the kill to the first
 * output after it, then between consecutive outputs. `outputTimes` are job-clock ms, ascending. With no
 * output after the kill at all, the gap runs to `endAt`.
 */
export function outputGap(outputTimes: readonly number[], killAt: number, endAt: number): number | null {
  if (outputTimes.length === 0) return null;
  let last = killAt;
  let longest = 0;
  let any = false;
  for (const t of outputTimes) {
    if (t <= killAt) continue;
    any = true;
    if (t - last > longest) longest = t - last;
    last = t;
  }
  return any ? longest : endAt - killAt;
}

/** Computes the figures of a recovery from timeline slots and output times. */
export function recoveryFigures(slots: readonly TimelineSlot[], outputTimes: readonly number[], options: RecoveryFigureOptions): RecoveryFigures {
  const tolerance = options.tolerance ?? 0.1;
  const holdMs = options.holdMs ?? 1000;
  const slackMs = options.slackMs ?? 1;
  const warmup = options.warmupMs ?? 0;
  const baselineSlots = slots.filter((s) => s.t >= warmup && s.t + 100 <= options.killAt);
  const before = baselineSlots.filter((s) => s.p50 !== null).map((s) => s.p50!);
  const baseline = medianOf(before);
  const outputPerSlot = baselineSlots.length > 0 ? baselineSlots.reduce((n, s) => n + s.output, 0) / baselineSlots.length : 0;
  const minOutput = 0.5 * outputPerSlot * (holdMs / 100);
  const after = slots.filter((s) => s.t + 100 > options.killAt);
  const end = slots.length > 0 ? slots[slots.length - 1]!.t + 100 : options.killAt;
  const peaks = after.filter((s) => s.p99 !== null).map((s) => s.p99!);
  const settle = (limit: number): number | null => firstSettled(after, limit, holdMs, minOutput, end, options.killAt);
  return {
    recoveryMs: baseline === null ? null : settle(Math.max(baseline * (1 + tolerance), baseline + slackMs)),
    settledMs: baseline === null ? null : settle(Math.max(baseline * (1 + tolerance), baseline + slackMs, percentileOf(before, 0.95)!)),
    outputGapMs: outputGap(outputTimes, options.killAt, end),
    peakLatencyMs: peaks.length > 0 ? Math.max(...peaks) : null,
    baselineLatencyMs: baseline,
    baselineGapMs: longestGapBetween(outputTimes, warmup, options.killAt),
  };
}

/** The longest interval between outputs (or from `from` to the first) within [from, to), or null without output there. */
function longestGapBetween(outputTimes: readonly number[], from: number, to: number): number | null {
  let last = from;
  let longest = 0;
  let any = false;
  for (const t of outputTimes) {
    if (t < from) continue;
    if (t >= to) break;
    any = true;
    if (t - last > longest) longest = t - last;
    last = t;
  }
  return any ? Math.max(longest, to - last) : null;
}

/** Ms from `killAt` to the first slot from which every slot with output, for `holdMs`, is within `limit` (with enough output), or null. */
function firstSettled(after: readonly TimelineSlot[], limit: number, holdMs: number, minOutput: number, end: number, killAt: number): number | null {
  for (let i = 0; i < after.length; i++) {
    const start = after[i]!;
    if (start.p50 === null || start.p50 > limit) continue;
    if (start.t + holdMs > end) return null;
    let settled = true;
    let output = 0;
    for (let j = i; j < after.length && after[j]!.t < start.t + holdMs; j++) {
      const slot = after[j]!;
      output += slot.output;
      if (slot.p50 !== null && slot.p50 > limit) {
        settled = false;
        break;
      }
    }
    if (settled && output > 0 && output >= minOutput) return Math.max(0, start.t - killAt);
  }
  return null;
}
