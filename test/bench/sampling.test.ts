import test from 'ava';
import { readFileSync } from 'node:fs';
import { DeltaShipper } from '../../determinants/index.js';
import { SHIP_ENVELOPE_SIZES, measureShipPerEnvelope } from '../../bench/determinants.js';
import { measureEnvelopeSizes } from '../../bench/envelope-sizes.js';
import { checkSampling, minimumSeconds, runOverheadBench } from '../../bench/overhead.js';
import { measureRunInChild } from '../../bench/mode-process.js';
import { withBandRule } from '../../bench/report-recompute.js';
import type { RecoveryBenchResult, RecoveryModeFigures } from '../../bench/recovery.js';

test('overhead rounds: fewer than ten checkpoint intervals per round are refused with what would do', async (t) => {
  t.is(minimumSeconds(3, 1000), 30);
  t.is(checkSampling(30, 3, 1000), null);
  t.is(checkSampling(2, 2, 100), null);
  const reason = checkSampling(10, 10, 1000);
  t.truthy(reason);
  t.regex(reason!, /1000 ms rounds, fewer than 10 checkpoint intervals of 1000 ms: give --seconds 100 or more/);
  await t.throwsAsync(runOverheadBench({ query: 'q1', seconds: 1, rounds: 3, parallelism: 2, checkpointIntervalMs: 1000 }), { instanceOf: RangeError });
});

test('ship per envelope: envelopes of the sizes aimed at, timed as a cost per envelope', (t) => {
  for (const target of SHIP_ENVELOPE_SIZES) {
    const f = measureShipPerEnvelope(target, 0.05);
    t.true(f.envelopeBytes >= target && f.envelopeBytes < target + 16, `aimed at ${target} bytes, got ${f.envelopeBytes}`);
    t.true(Number.isFinite(f.nsPerEnvelope) && f.nsPerEnvelope >= 0);
  }
});

test('the runtime ships envelopes of tens of bytes, and the instrument leaves DeltaShipper as it was', async (t) => {
  const original = DeltaShipper.prototype.writeDelta;
  const sizes = await measureEnvelopeSizes({ query: 'q1', rate: 20_000, measureMs: 500 });
  t.is(DeltaShipper.prototype.writeDelta, original);
  t.true(sizes.envelopes > 0);
  t.true(sizes.medianBytes >= 10 && sizes.medianBytes < 100, `median envelope ${sizes.medianBytes} bytes`);
  t.true(sizes.medianBytes <= SHIP_ENVELOPE_SIZES[SHIP_ENVELOPE_SIZES.length - 1]!, 'the timed sizes cover what the runtime ships');
});

test('the determinant benchmark uses only the public determinants API', (t) => {
  const source = readFileSync(new URL('../../bench/determinants.ts', import.meta.url), 'utf8');
  const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
  t.deepEqual(imports.filter((i) => i.includes('determinants/')), ['../determinants/index.js']);
});

test('a run in a process of its own reports its figures and that process peak RSS', async (t) => {
  const f = await measureRunInChild({ query: 'q1', mode: 'exactly-once', dsd: 1, parallelism: 1, rate: 5000, checkpointIntervalMs: 100, warmupMs: 200, measureMs: 300 });
  t.true(f.eventsPerSec > 0);
  t.true(f.peakRssMB > 0 && Number.isInteger(f.peakRssMB));
});

test('results taken under the old rule get recoveryMs recomputed from their stored timeline', (t) => {
  // Slot medians of 10 ms with a 40 ms checkpoint blip every second; the kill at 6 s adds 300 ms at 200 ms.
  const timeline = Array.from({ length: 100 }, (_, i) => {
    const p50 = i >= 60 && i < 63 ? 200 : i % 10 === 5 ? 40 : 10;
    return { t: i * 100, inRate: 10_000, outRate: 1000, p50, p99: p50 * 2 };
  });
  const old = { recoveryMs: null, settledMs: 500, perKill: [{ killAt: 6000, recoveryMs: null, settledMs: 500 }], timeline } as unknown as RecoveryModeFigures;
  const result = { bench: 'recovery', modes: { 'exactly-once': old } } as unknown as RecoveryBenchResult;
  const recomputed = withBandRule(result);
  t.true(recomputed.recomputedFromTimeline);
  const f = recomputed.modes['exactly-once']!;
  t.is(f.recoveryMs, 300);
  t.is(f.bandMs, 44);
  t.is(f.perKill[0]!.recoveryMs, 300);
  t.is(withBandRule(recomputed), recomputed, 'results under the band rule are left as they are');
});
