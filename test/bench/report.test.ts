import test from 'ava';
import { overheadSpec, renderSvg, sweepSpec, timelineSpec } from '../../bench/charts.js';
import { renderReport } from '../../bench/report-markdown.js';
import type { ReportData } from '../../bench/report.js';
import type { RecoveryBenchResult, RecoveryModeFigures } from '../../bench/recovery.js';

function figures(recoveryMs: number, gap: number, overrides: Partial<RecoveryModeFigures> = {}): RecoveryModeFigures {
  return {
    recoveryMs,
    settledMs: recoveryMs,
    outputGapMs: gap,
    peakLatencyMs: 50,
    duplicates: 0,
    lost: 0,
    oracleIdentical: true,
    baselineLatencyMs: 2,
    baselineGapMs: 30,
    takeoverMs: [12],
    perKill: [{ killAt: 4000, recoveryMs, settledMs: recoveryMs, outputGapMs: gap, peakLatencyMs: 50 }],
    recoveries: 1,
    escalations: 0,
    records: 1000,
    determinantBytesPerEvent: null,
    timeline: Array.from({ length: 80 }, (_, i) => ({ t: i * 100, inRate: 100_000, outRate: i === 41 ? 0 : 900, p50: 2, p99: i === 42 ? 300 : 5 })),
    marks: [
      { t: 4000, type: 'task-failed', task: 'q3-join[0]' },
      { t: 4010, type: 'standby-activated', task: 'q3-join[0]' },
      { t: 4030, type: 'live', task: 'q3-join[0]' },
    ],
    ...overrides,
  };
}

const recovery: RecoveryBenchResult = {
  bench: 'recovery',
  query: 'q3',
  failures: 'single',
  rate: 100_000,
  maxRate: 200_000,
  parallelism: 2,
  checkpointIntervalMs: 1000,
  killed: ['q3-join[0]'],
  killAtMs: [4000],
  dsd: 1,
  modes: { 'global-rollback': figures(2500, 1200), 'exactly-once': figures(300, 40) },
};

test('charts render to SVG headless: timeline, overhead bars and a sweep', async (t) => {
  const timeline = await renderSvg(timelineSpec(recovery, 'Q3 single'));
  t.true(timeline.startsWith('<svg'));
  t.true(timeline.includes('Q3 single'));
  const bars = await renderSvg(overheadSpec([{ query: 'Q3', mode: 'exactly-once', ratio: 0.97 }]));
  t.true(bars.includes('<svg') && bars.includes('throughput / none'));
  const sweep = await renderSvg(sweepSpec({ title: 'sweep', rows: [{ x: 1, y: 10, series: 'exactly-once' }, { x: 10, y: 20, series: 'exactly-once' }], xTitle: 'MB', yTitle: 'ms', logX: true }));
  t.true(sweep.includes('sweep'));
});

test('the report states each target as met or missed with its figure', (t) => {
  const data: ReportData = {
    quick: true,
    date: '2026-11-22',
    machine: { cpu: 'test cpu', cores: 2, memoryGiB: 24, os: 'linux', node: 'v20' },
    determinants: { bench: 'determinants', appendsPerSec: 4e7, orderBytesPerRecordBatched: 0.0156, orderBytesPerRecordInterleaved: 0.5, shipMBps: 1200, node: 'v20' } as never,
    overhead: [
      {
        bench: 'overhead',
        query: 'q3',
        seconds: 2,
        parallelism: 2,
        checkpointIntervalMs: 1000,
        latencyRate: 1,
        modes: {
          none: { eventsPerSec: 100, p50Ms: 1, p99Ms: 2, throughputRuns: [100] },
          'global-rollback': { eventsPerSec: 97, p50Ms: 500, p99Ms: 1000, throughputRuns: [97] },
          'at-least-once': { eventsPerSec: 96, p50Ms: 1, p99Ms: 3, throughputRuns: [96] },
          'exactly-once': { eventsPerSec: 93, p50Ms: 1, p99Ms: 25, dsd: 1, throughputRuns: [93] },
          'exactly-once-full': { eventsPerSec: 92, p50Ms: 1, p99Ms: 4, dsd: -1, throughputRuns: [92] },
        },
        ratios: { none: 1, 'global-rollback': 0.97, 'at-least-once': 0.96, 'exactly-once': 0.93, 'exactly-once-full': 0.92 },
        peakRssMB: 100,
      },
    ],
    recovery: [recovery],
    dsd: [{ config: 'none', dsd: null, eventsPerSec: 100, ratio: 1 }],
    checkpointInterval: [],
    stateSize: [],
    rate: [],
    determinantBytes: [{ query: 'q3', events: 1000, bytesPerEvent: 0.05 }],
    seconds: 120,
  };
  const md = renderReport(data, {}, { stateSweepRate: 200_000, resultsDir: 'bench/results/2026-11-22' });
  t.regex(md, /\| Q3 failure-free throughput, exactly-once \(dsd 1\) ÷ none \| ≥ 0\.95 \| 0\.93 \| \*\*missed\*\* \|/);
  t.regex(md, /\| Q3 p99 latency, exactly-once, at half of the maximum rate \| ≤ 20 ms \| 25 ms \| \*\*missed\*\* \|/);
  t.regex(md, /exactly-once recoveryMs ÷ global-rollback \| ≤ 0\.2 \| 0\.12 \(300 ms \/ 2,500 ms\) \| met \|/);
  t.regex(md, /## Where we are behind[\s\S]*Q3 failure-free throughput, exactly-once \(dsd 1\) ÷ none: 0\.93 against ≥ 0\.95/);
  t.regex(md, /\| Q3 single failure, recovery \| about 10 s \| 87 – 96 s \| 300 ms \| 2,500 ms \|/);
});
