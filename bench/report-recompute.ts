/**
 * Recovery results taken before `recoveryMs` followed the contract's band rule (`../shared/contracts.md`:
 * back within the 5 s before the kill's p95 plus 10%, for a second) carry the old figure, "within 10% of
 * the median before". Their 100 ms timelines are stored with them, so the report recomputes the figure
 * from those, with the same function the benchmark uses now, instead of showing figures of two rules
 * side by side. Output gaps, takeovers and the oracle's counts do not depend on the rule and are kept.
 */
import { recoveryFiguresPerKill } from '../lib/runtime/recovery-metrics.js';
import type { TimelineSlot } from '../lib/runtime/metrics.js';
import { STARTUP_MS, type RecoveryBenchResult, type RecoveryModeFigures, type TimelinePoint } from './recovery.js';
import { worstOf } from './recovery-events.js';
import { round } from './harness.js';

/** Whether a mode's figures were taken under the band rule (they carry `bandMs`, null or not). */
export function hasBandRule(f: Pick<RecoveryModeFigures, 'bandMs'>): boolean {
  return f.bandMs !== undefined;
}

/** The timeline slots a stored timeline stands for (rates are per second of 100 ms slots). */
function slotsOf(timeline: readonly TimelinePoint[]): TimelineSlot[] {
  return timeline.map((p) => ({ t: p.t, input: Math.round(p.inRate / 10), output: Math.round(p.outRate / 10), p50: p.p50, p99: p.p99 }));
}

/** One mode's figures with `recoveryMs` (and its deprecated alias `settledMs`) under the band rule. */
export function modeWithBandRule(f: RecoveryModeFigures): RecoveryModeFigures {
  if (hasBandRule(f) || f.perKill.length === 0) return f;
  const perKill = recoveryFiguresPerKill(
    slotsOf(f.timeline),
    [],
    f.perKill.map((k) => k.killAt),
    { warmupMs: STARTUP_MS },
  );
  const kills = f.perKill.map((k, i) => {
    const recoveryMs = perKill[i]!.recoveryMs === null ? null : round(perKill[i]!.recoveryMs!);
    return { ...k, recoveryMs, settledMs: recoveryMs };
  });
  const recoveryMs = worstOf(kills.map((k) => k.recoveryMs));
  return { ...f, recoveryMs, settledMs: recoveryMs, bandMs: perKill[0]!.bandMs === null ? null : round(perKill[0]!.bandMs!), perKill: kills };
}

/** A recovery result with every mode under the band rule; `recomputedFromTimeline` says whether any had to be. */
export function withBandRule(r: RecoveryBenchResult): RecoveryBenchResult {
  const modes = Object.values(r.modes) as RecoveryModeFigures[];
  if (modes.every(hasBandRule)) return r;
  const recomputed: RecoveryBenchResult['modes'] = {};
  for (const [mode, f] of Object.entries(r.modes) as [keyof RecoveryBenchResult['modes'], RecoveryModeFigures][]) recomputed[mode] = modeWithBandRule(f);
  return { ...r, modes: recomputed, recomputedFromTimeline: true };
}
