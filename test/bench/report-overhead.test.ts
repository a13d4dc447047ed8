/**
 * The overhead section of the report: each run checked against exactly-once ÷ none ≥ 0.95, full ≥ 0.90
 * and p99 ≤ 20 ms, with the spread over rounds shown, and a figure that could not be measured a miss.
 */
import test from 'ava';
import { checkOverheadTargets, renderOverheadSection, type OverheadReportData } from '../../bench/report-overhead.js';
import type { OverheadResult } from '../../bench/overhead.js';

function run(query: 'q1' | 'q3' | 'q12', workers: number, eo: number | null, full: number, p99: number | null): OverheadResult {
  const figures = (ratio: number | null, p: number | null) => ({ eventsPerSec: 1000, p50Ms: 1, p99Ms: p, ratio, ratioMin: ratio === null ? null : ratio - 0.05, ratioMax: ratio === null ? null : ratio + 0.05, peakRssMB: 200 });
  return {
    bench: 'overhead', query, seconds: 30, parallelism: 2, checkpointIntervalMs: 1000, rounds: 3, latencyRate: 500, workers,
    modes: { none: figures(null, 3), 'global-rollback': figures(0.9, 4), 'at-least-once': figures(0.9, 4), 'exactly-once': figures(eo, p99), 'exactly-once-full': figures(full, 5) },
    ratios: {}, embeddedNone: null, embeddedNoneRatio: null, embeddedNoneRatioMin: null, embeddedNoneRatioMax: null, peakRssMB: 200,
  } as unknown as OverheadResult;
}

test('each run is checked against its three targets; a null ratio or p99 is missed, never "not measured"', (t) => {
  const data: OverheadReportData = { dir: 'bench/results/x-overhead', notes: 'measured quietly', runs: [{ file: 'q1.json', command: 'npx causalflow bench overhead --query q1 --json', result: run('q1', 0, 0.97, 0.93, 12) }, { file: 'q3-w2.json', command: 'c', result: run('q3', 2, null, 0.6, null) }] };
  const checks = checkOverheadTargets(data);
  t.deepEqual(checks.map((c) => c.met), [true, true, true, false, false, false]);
  t.regex(checks[0]!.measured, /^0\.97 \(rounds 0\.92 – 1\.02\)$/);
  t.is(checks[3]!.measured, 'n/a (rounds n/a – n/a)');
  const markdown = renderOverheadSection(data).join('\n');
  t.regex(markdown, /Q3, 2 workers: `exactly-once` ÷ `none` \| ≥ 0\.95 \| n\/a \(rounds n\/a – n\/a\) \| \*\*missed\*\*/);
  t.regex(markdown, /measured quietly/);
  t.deepEqual(renderOverheadSection({ dir: 'd', notes: null, runs: [] }), []);
});

test('Q12 is checked against the two ratio targets only: the p99 target names Q1, Q3 and Q8', (t) => {
  const data: OverheadReportData = { dir: 'd', notes: null, runs: [{ file: 'q12.json', command: 'c', result: run('q12', 0, 0.96, 0.91, 300) }] };
  const checks = checkOverheadTargets(data);
  t.deepEqual(checks.map((c) => [c.figure.replace(/ at .*/, ''), c.met]), [
    ['Q12, embedded: `exactly-once` ÷ `none`', true],
    ['Q12, embedded: `exactly-once-full` ÷ `none`', true],
  ]);
});
