/**
 * How a recovery looks from the sink, computed from a job's timeline (as `../shared/contracts.md`
 * defines the figures):
 *
 * - `recoveryMs`: from the kill until the median latency of every 100 ms slot is back within the band the
 *   job showed in the 5 s before the kill (up to the 95th percentile of those slots' medians, plus 10%), and
 *   stays there for one second, during which the sink shows at least half as much as in an average slot
 *   of the band window (a second without output is not a recovered second, least of all for
 *   transactional sinks, whose output comes in bursts when checkpoints complete); null when it never
 *   settles before the timeline ends, which counts as a miss. The band is the job's own normal, checkpoint
 *   blips included: a rule on the median alone (the old "within 10% of the median before") never settles
 *   on a job whose checkpoints make a blip every second, failure or not;
 * - `outputGapMs`: the longest interval after the kill with no sink output;
 * - `peakLatencyMs`: the highest per-slot p99 after the kill.
 */
import type { TimelineSlot } from './metrics.js';

/** Width of a timeline slot (ms), as `JobTimeline` records them. */
const SLOT_MS = 100;

/** Figures of one recovery. */
export interface RecoveryFigures {
  /** Kill to latency back within the band for a second (ms), or null if it never settled: a miss. */
  recoveryMs: number | null;
  /**
   * Deprecated: the same as `recoveryMs`. It was `recoveryMs` with a band widened to the pre-kill range
   * while `recoveryMs` kept the old rule; the revised contract made that band the rule. Kept so that
   * callers and stored results that read it keep working.
   */
  settledMs: number | null;
  /** Longest interval without output after the kill (ms), or null without output times. */
  outputGapMs: number | null;
  /** Highest per-slot p99 latency after the kill (ms), or null without output. */
  peakLatencyMs: number | null;
  /** Median per-slot p50 latency of the band window before the kill (ms). */
  baselineLatencyMs: number | null;
  /** Upper edge of the band (ms): the slots' p95 in the window before the kill, plus the margin; null without output there. */
  bandMs: number | null;
  /** Longest interval without output before the kill, after the warm-up (ms): windowed queries have gaps of their own. */
  baselineGapMs: number | null;
}

/** Options of {@link recoveryFigures}. */
export interface RecoveryFigureOptions {
  /** Job-clock ms of the (first) kill. */
  killAt: number;
  /** Slots before this are warm-up, left out of the band even when inside its window (default: none). */
  warmupMs?: number;
  /** How far before the kill the band's slots reach (default 5000 ms). */
  bandWindowMs?: number;
  /** Quantile of the window's slot medians that tops the band (default 0.95). */
  bandQuantile?: number;
  /** Relative margin above that quantile (default 0.1). */
  bandMargin?: number;
  /**
   * Latency within (1 + tolerance) × the median before the kill also counts as normal. A floor under the
   * band, from the old rule; it only matters when larger than the band. Default: no floor.
   */
  tolerance?: number;
  /** Latency up to this many ms above the band also counts as normal (default 0, the contract's band). */
  slackMs?: number;
  /** How long latency must stay within the band (default 1000 ms). */
  holdMs?: number;
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
  const holdMs = options.holdMs ?? 1000;
  const warmup = options.warmupMs ?? 0;
  const bandFrom = Math.max(warmup, options.killAt - (options.bandWindowMs ?? 5000));
  const bandSlots = slots.filter((s) => s.t >= bandFrom && s.t + SLOT_MS <= options.killAt);
  const before = bandSlots.filter((s) => s.p50 !== null).map((s) => s.p50!);
  const baseline = medianOf(before);
  const band = latencyBand(before, options);
  const outputPerSlot = bandSlots.length > 0 ? bandSlots.reduce((n, s) => n + s.output, 0) / bandSlots.length : 0;
  const minOutput = 0.5 * outputPerSlot * (holdMs / SLOT_MS);
  const after = slots.filter((s) => s.t + SLOT_MS > options.killAt);
  const end = slots.length > 0 ? slots[slots.length - 1]!.t + SLOT_MS : options.killAt;
  const peaks = after.filter((s) => s.p99 !== null).map((s) => s.p99!);
  const recoveryMs = band === null ? null : firstSettled(after, band, holdMs, minOutput, end, options.killAt);
  return {
    recoveryMs,
    settledMs: recoveryMs,
    outputGapMs: outputGap(outputTimes, options.killAt, end),
    peakLatencyMs: peaks.length > 0 ? Math.max(...peaks) : null,
    baselineLatencyMs: baseline,
    bandMs: band,
    baselineGapMs: longestGapBetween(outputTimes, warmup, options.killAt),
  };
}

/**
 * The figures of each of several kills (job-clock ms, ascending): each from the timeline up to the next
 * kill, and its band from the 5 s before it, but not from before the previous kill had settled (its
 * recovery is not the job's normal); after a previous kill that never settled, from that kill on.
 */
export function recoveryFiguresPerKill(
  slots: readonly TimelineSlot[],
  outputTimes: readonly number[],
  killTimes: readonly number[],
  options: Omit<RecoveryFigureOptions, 'killAt'> = {},
): RecoveryFigures[] {
  const figures: RecoveryFigures[] = [];
  let normalFrom = options.warmupMs ?? 0;
  for (const [i, killAt] of killTimes.entries()) {
    const until = killTimes[i + 1] ?? Infinity;
    const f = recoveryFigures(
      slots.filter((s) => s.t < until),
      outputTimes.filter((t) => t < until),
      { ...options, killAt, warmupMs: normalFrom },
    );
    figures.push(f);
    normalFrom = Math.max(normalFrom, killAt + (f.recoveryMs ?? 0));
  }
  return figures;
}

/**
 * The upper edge of the normal band from the slot medians before the kill: their `bandQuantile` plus
 * `bandMargin`, raised to the `tolerance` floor and by `slackMs` when given; null without medians.
 */
export function latencyBand(medians: readonly number[], options: Pick<RecoveryFigureOptions, 'bandQuantile' | 'bandMargin' | 'tolerance' | 'slackMs'> = {}): number | null {
  const top = percentileOf(medians, options.bandQuantile ?? 0.95);
  if (top === null) return null;
  const floor = options.tolerance === undefined ? 0 : medianOf(medians)! * (1 + options.tolerance);
  return Math.max(top * (1 + (options.bandMargin ?? 0.1)), floor) + (options.slackMs ?? 0);
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
