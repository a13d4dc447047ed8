import test from 'ava';
import fc from 'fast-check';
import { latencyBand, medianOf, outputGap, percentileOf, recoveryFigures } from '../../lib/runtime/recovery-metrics.js';
import type { TimelineSlot } from '../../lib/runtime/metrics.js';
import { checkProperty } from '../helpers/property.js';

/** A synthetic timeline: 100 ms slots with the given p50 latencies (null: no output in that slot). */
function slots(p50s: (number | null)[]): TimelineSlot[] {
  return p50s.map((p50, i) => ({ t: i * 100, input: 1000, output: p50 === null ? 0 : 100, p50, p99: p50 === null ? null : p50 * 2 }));
}

const fill = (n: number, v: number | null): (number | null)[] => Array<number | null>(n).fill(v);

test('median and percentiles of synthetic samples', (t) => {
  t.is(medianOf([5, 1, 3]), 3);
  t.is(medianOf([4, 1, 3, 2]), 2.5);
  t.is(medianOf([]), null);
  t.is(percentileOf([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.99), 100);
  t.is(percentileOf([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.5), 50);
  t.is(percentileOf([], 0.5), null);
});

test('the band: the 95th percentile of the slot medians plus 10%, the old rule only as a floor when asked', (t) => {
  const medians = [...Array(19).fill(10), 40];
  t.is(latencyBand(medians), 11, '19 of 20 at 10 ms: the p95 is 10 ms');
  t.is(latencyBand([...medians, 40]), 44, '2 of 21 at 40 ms: the p95 is 40 ms');
  t.is(latencyBand([]), null);
  t.is(latencyBand(medians, { tolerance: 1 }), 20, 'a tolerance floor above the band raises it');
  t.is(latencyBand(medians, { slackMs: 1 }), 12);
});

test('recoveryMs: from the kill until latency is back within the band, for a second', (t) => {
  // 2 s at 4 ms, a kill at 2,000 ms, 300 ms of high latency, then 4 ms again for 2 s.
  const timeline = slots([...fill(20, 4), 40, 30, 20, ...fill(20, 4)]);
  const figures = recoveryFigures(timeline, [], { killAt: 2000 });
  t.is(figures.baselineLatencyMs, 4);
  t.is(figures.bandMs, 4 * 1.1);
  t.is(figures.recoveryMs, 300);
  t.is(figures.settledMs, figures.recoveryMs, 'the deprecated alias follows recoveryMs');
  t.is(figures.peakLatencyMs, 80);
});

test('checkpoint blips before the kill widen the band: the same blips after it do not hold recovery back', (t) => {
  // Every 10th slot blips to 40 (a checkpoint a second) before and after the kill; the kill adds three slots at 200.
  const values = Array.from({ length: 60 }, (_, i) => (i >= 30 && i < 33 ? 200 : i % 10 === 5 ? 40 : 10));
  const figures = recoveryFigures(slots(values), [], { killAt: 3000 });
  t.is(figures.bandMs, 44, '3 blips in 30 slots: above the 5% the percentile leaves out');
  t.is(figures.recoveryMs, 300);
  // The old rule (within 10% of the 10 ms median) never settles on this job; its floor does not narrow the band.
  t.is(recoveryFigures(slots(values), [], { killAt: 3000, tolerance: 0.1 }).recoveryMs, 300);
});

test('blips larger after the kill than any before it are not recovered', (t) => {
  const values = Array.from({ length: 60 }, (_, i) => (i % 10 === 5 ? (i < 30 ? 40 : 60) : 10));
  t.is(recoveryFigures(slots(values), [], { killAt: 3000 }).recoveryMs, null);
});

test('only the 5 s before the kill make the band: a slow start long before does not widen it', (t) => {
  // 3 s at 100 ms (a cold start), 5 s at 10 ms, the kill at 8,000 ms, then 2 s at 50 ms and 2 s at 10 ms.
  const timeline = slots([...fill(30, 100), ...fill(50, 10), ...fill(20, 50), ...fill(20, 10)]);
  const figures = recoveryFigures(timeline, [], { killAt: 8000 });
  t.is(figures.bandMs, 11);
  t.is(figures.recoveryMs, 2000);
  t.is(recoveryFigures(timeline, [], { killAt: 8000, bandWindowMs: 8000 }).recoveryMs, 0, 'a window reaching the cold start would call 50 ms normal');
});

test('settling and relapsing within the second does not count: the second starts again after the relapse', (t) => {
  // Kill at 1,000 ms: 300 ms high, 500 ms normal, one slot high, then normal for 1.5 s.
  const timeline = slots([...fill(10, 10), ...fill(3, 90), ...fill(5, 10), 90, ...fill(15, 10)]);
  t.is(recoveryFigures(timeline, [], { killAt: 1000 }).recoveryMs, 900);
});

test('slots without output neither break nor make a recovery', (t) => {
  const timeline = slots([...fill(10, 10), null, null, 30, 10, null, 10, ...fill(12, 10)]);
  t.is(recoveryFigures(timeline, [], { killAt: 1000 }).recoveryMs, 300);
});

test('a latency that never settles gives a null recovery time, not a made-up one', (t) => {
  t.is(recoveryFigures(slots([...fill(10, 10), ...fill(15, 100)]), [], { killAt: 1000 }).recoveryMs, null);
  // Back in the band, but the run ends before a whole second of it: not settled either.
  t.is(recoveryFigures(slots([...fill(10, 10), ...fill(15, 100), ...fill(9, 10)]), [], { killAt: 1000 }).recoveryMs, null);
  // No output before the kill: no band to return to.
  const silent = recoveryFigures(slots([...fill(10, null), ...fill(20, 10)]), [], { killAt: 1000 });
  t.is(silent.bandMs, null);
  t.is(silent.recoveryMs, null);
});

test('outputGap: the longest stretch after the kill with no output, counted from the kill', (t) => {
  t.is(outputGap([100, 200, 300, 1500, 1510, 1900], 1000, 3000), 500);
  t.is(outputGap([100, 1020, 1040, 1300], 1000, 2000), 260);
  t.is(outputGap([100, 200], 1000, 2500), 1500, 'no output after the kill: the gap runs to the end');
  t.is(outputGap([], 1000, 2000), null);
});

test('bursty transactional output: a second without output after the kill is not a recovered second', (t) => {
  // Output every 10th slot (a commit per second) at latency 500, then after the kill at 2000 ms a gap of
  // 1.5 s and a late burst at 1200 ms, then commits at 500 ms again.
  const burst = (latency: number | null) => [latency, ...fill(9, null)];
  const values = [...burst(500), ...burst(500), ...fill(15, null), 1200, ...fill(4, null), ...burst(500), ...burst(500), ...burst(500)];
  const timeline = values.map((p50, i) => ({ t: i * 100, input: 100, output: p50 === null ? 0 : 1000, p50, p99: p50 }));
  // Recovered at the first commit with normal latency after the gap and the late burst: slot 40 (4000 ms).
  t.is(recoveryFigures(timeline, [], { killAt: 2000 }).recoveryMs, 2000);
});

test('property: a recovery time is a slot start after which a whole second stays within the band, and scaling latency keeps it', (t) => {
  const latency = fc.option(fc.integer({ min: 1, max: 200 }), { freq: 8 });
  checkProperty(
    t,
    fc.property(fc.array(latency, { minLength: 20, maxLength: 60 }), fc.array(latency, { minLength: 0, maxLength: 60 }), (before, after) => {
      const killAt = before.length * 100;
      const timeline = slots([...before, ...after]);
      const f = recoveryFigures(timeline, [], { killAt });
      if (f.recoveryMs === null) return;
      if (f.recoveryMs % 100 !== 0 || f.recoveryMs + 1000 > after.length * 100) throw new Error(`recoveryMs ${f.recoveryMs} is not a slot start with a second after it`);
      const held = timeline.filter((s) => s.t >= killAt + f.recoveryMs! && s.t < killAt + f.recoveryMs! + 1000);
      if (held.some((s) => s.p50 !== null && s.p50 > f.bandMs!)) throw new Error('a slot of the held second is above the band');
      // Times 4 is exact in floating point: the band and every slot scale alike.
      const scaled = recoveryFigures(slots([...before, ...after].map((v) => (v === null ? null : v * 4))), [], { killAt });
      if (scaled.recoveryMs !== f.recoveryMs) throw new Error(`scaled latency moved recoveryMs from ${f.recoveryMs} to ${scaled.recoveryMs}`);
    }),
    200,
  );
});
