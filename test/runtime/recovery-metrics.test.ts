import test from 'ava';
import { medianOf, outputGap, percentileOf, recoveryFigures } from '../../lib/runtime/recovery-metrics.js';
import type { TimelineSlot } from '../../lib/runtime/metrics.js';

/** A synthetic timeline: 100 ms slots with the given p50 latencies (null: no output in that slot). */
function slots(p50s: (number | null)[]): TimelineSlot[] {
  return p50s.map((p50, i) => ({ t: i * 100, input: 1000, output: p50 === null ? 0 : 100, p50, p99: p50 === null ? null : p50 * 2 }));
}

test('median and percentiles of synthetic samples', (t) => {
  t.is(medianOf([5, 1, 3]), 3);
  t.is(medianOf([4, 1, 3, 2]), 2.5);
  t.is(medianOf([]), null);
  t.is(percentileOf([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.99), 100);
  t.is(percentileOf([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.5), 50);
  t.is(percentileOf([], 0.5), null);
});

test('recoveryMs: from the kill until latency is back within 10% of the median before, for a second', (t) => {
  // 2 s at 4 ms, a kill at 2,000 ms, 300 ms of high latency, then 4 ms again for 2 s.
  const timeline = slots([...Array(20).fill(4), 40, 30, 20, ...Array(20).fill(4)]);
  const figures = recoveryFigures(timeline, [], { killAt: 2000 });
  t.is(figures.baselineLatencyMs, 4);
  t.is(figures.recoveryMs, 300);
  t.is(figures.peakLatencyMs, 80);
});

test('recoveryMs waits for a whole second of normal latency, not the first normal slot', (t) => {
  const timeline = slots([...Array(10).fill(10), 50, 10, 10, 60, ...Array(15).fill(10)]);
  t.is(recoveryFigures(timeline, [], { killAt: 1000 }).recoveryMs, 400);
});

test('slots without output neither break nor make a recovery', (t) => {
  const timeline = slots([...Array(10).fill(10), null, null, 30, 10, null, 10, ...Array(12).fill(10)]);
  t.is(recoveryFigures(timeline, [], { killAt: 1000 }).recoveryMs, 300);
});

test('a latency that never settles gives a null recovery time, not a made-up one', (t) => {
  const timeline = slots([...Array(10).fill(10), ...Array(15).fill(100)]);
  t.is(recoveryFigures(timeline, [], { killAt: 1000 }).recoveryMs, null);
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
  const burst = (latency: number | null) => [latency, null, null, null, null, null, null, null, null, null];
  const values = [...burst(500), ...burst(500), null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, 1200, null, null, null, null, ...burst(500), ...burst(500), ...burst(500)];
  const timeline = values.map((p50, i) => ({ t: i * 100, input: 100, output: p50 === null ? 0 : 1000, p50, p99: p50 }));
  // Recovered at the first commit with normal latency after the gap and the late burst: slot 40 (4000 ms).
  t.is(recoveryFigures(timeline, [], { killAt: 2000 }).recoveryMs, 2000);
});

test('settledMs accepts the latency blips the job showed before the failure; recoveryMs does not', (t) => {
  // Every 10th slot blips to 40 before and after the kill; the kill adds three slots at 200.
  const values = Array.from({ length: 60 }, (_, i) => (i >= 30 && i < 33 ? 200 : i % 10 === 5 ? 40 : 10));
  const figures = recoveryFigures(slots(values), [], { killAt: 3000 });
  t.is(figures.settledMs, 300);
  t.is(figures.recoveryMs, null, 'a blip every second keeps the strict figure from settling');
});
