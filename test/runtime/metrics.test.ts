import test from 'ava';
import { Histogram, Timeline } from '../../lib/runtime/metrics.js';
import { SeededRandom } from '../../lib/util/random.js';
import { SEED } from '../helpers/property.js';

test('histogram quantiles are within the bucket error of the exact ones', (t) => {
  const random = new SeededRandom(SEED);
  const values = Array.from({ length: 20_000 }, () => Math.exp(random.next() * 8) / 10);
  const histogram = new Histogram();
  for (const v of values) histogram.record(v);
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99, 0.999]) {
    const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
    const estimate = histogram.quantile(q);
    t.true(Math.abs(estimate - exact) / exact < 0.07, `q${q}: ${estimate} vs ${exact}`);
  }
  t.is(histogram.max, sorted[sorted.length - 1]!);
});

test('weighted samples count as many samples, and merging adds', (t) => {
  const a = new Histogram();
  a.record(1, 99);
  a.record(100, 1);
  t.true(Math.abs(a.quantile(0.5) - 1) < 0.07);
  t.true(Math.abs(a.quantile(1) - 100) < 7);
  const b = new Histogram();
  b.record(100, 100);
  a.merge(b);
  t.is(a.total, 200);
  t.true(a.quantile(0.75) > 90);
  t.true(Number.isNaN(new Histogram().quantile(0.5)));
});

test('the timeline counts per 100 ms slot and reports latency per slot', (t) => {
  const timeline = new Timeline(100);
  timeline.input(5, 10);
  timeline.output(50, 4, 2);
  timeline.output(250, 1, 40);
  const slots = timeline.slotsSoFar();
  t.is(slots.length, 3);
  t.deepEqual(
    slots.map((s) => [s.t, s.input, s.output]),
    [
      [0, 10, 4],
      [100, 0, 0],
      [200, 0, 1],
    ],
  );
  t.is(slots[1]!.p99, null);
  t.true(Math.abs(slots[2]!.p50! - 40) < 3);
  t.is(timeline.inputBetween(0, 300), 10);
  t.is(timeline.latencyBetween(0, 100).total, 4);
});

test('old slots forget their histograms, so a long run stays bounded in memory', (t) => {
  const timeline = new Timeline(100, 10);
  for (let i = 0; i < 50; i++) timeline.output(i * 100, 1, 5);
  const slots = timeline.slotsSoFar();
  t.is(slots.length, 50);
  t.is(slots[0]!.output, 1, 'counts are kept');
  t.is(slots[0]!.p50, null, 'the histogram is gone');
  t.not(slots[49]!.p50, null);
});
