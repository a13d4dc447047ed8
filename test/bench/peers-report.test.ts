import test from 'ava';
import { readFileSync } from 'node:fs';
import type { PeersReport } from '../../bench/peers/peers.js';
import { formatPeersTable, peerTargetVerdicts, renderPeersSection } from '../../bench/peers/peers-report.js';

// A stored report of a real invocation, taken as one with a single run of each maximum rate (as results before
// the rounds are), and the same with rounds added.
const { maxRounds: _rounds, ...stored } = JSON.parse(readFileSync(new URL('../../bench/results/2026-12-03-peers/q3.json', import.meta.url), 'utf8')) as PeersReport;
const throughput = (report: PeersReport) => peerTargetVerdicts(report).find((v) => v.figure.startsWith('throughput'))!;

test('a report with one run of each maximum rate judges throughput by the ratio of the two figures, with no spread', (t) => {
  const { flink, causalflow } = stored.result.systems;
  const v = throughput(stored);
  t.is(v.ratio, Math.round((causalflow.maxEventsPerSecCheckpointing! / flink.maxEventsPerSecCheckpointing!) * 1000) / 1000);
  t.is(v.spread, null);
  t.false(renderPeersSection([stored], 'bench/results/x').includes('Maximum rates in'));
});

test('with alternated rounds the throughput target takes the median of the paired ratios, shows their range, and the table lists every round', (t) => {
  const report: PeersReport = {
    ...stored,
    maxRounds: {
      rounds: 3,
      flink: { max: [3_000_000, 2_000_000, 4_000_000], checkpoints: [2_000_000, 1_000_000, 4_000_000] },
      causalflow: { max: [2_400_000, 2_000_000, 2_000_000], checkpoints: [1_800_000, 1_000_000, 2_000_000] },
      checkpointsRatio: { ratio: 0.9, ratioMin: 0.5, ratioMax: 1 },
      noCheckpointsRatio: { ratio: 0.8, ratioMin: 0.5, ratioMax: 1 },
    },
  };
  const v = throughput(report);
  t.is(v.ratio, 0.9, 'the median of the rounds, not the ratio of the medians');
  t.is(v.spread, 'median of 3 rounds, 0.5–1');
  t.true(v.met);
  const section = renderPeersSection([report], 'bench/results/x');
  t.regex(section, /\| throughput, `--workers 2` exactly-once ÷ Flink with checkpoints \| 0\.9 \(median of 3 rounds, 0\.5–1\) \| ≥ 0\.8 \| met \|/);
  t.regex(section, /Maximum rates in 3 rounds, .*with checkpoints, Flink 2,000,000, 1,000,000, 4,000,000, causalflow 1,800,000, 1,000,000, 2,000,000;/);
  t.regex(formatPeersTable(report), /with checkpoints 0\.9 \(0\.5–1\), without 0\.8 \(0\.5–1\)/);
});

test('rounds where no pair was measured leave the throughput target missed, not met', (t) => {
  const report: PeersReport = {
    ...stored,
    maxRounds: { rounds: 1, flink: { max: [null], checkpoints: [null] }, causalflow: { max: [1], checkpoints: [1] }, checkpointsRatio: null, noCheckpointsRatio: null },
  };
  const v = throughput(report);
  t.is(v.ratio, null);
  t.false(v.met);
  t.regex(formatPeersTable(report), /with checkpoints n\/a \(missed\)/);
});
