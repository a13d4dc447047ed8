import test from 'ava';
import { overheadSpec, renderSvg, sweepSpec, timelineSpec } from '../../bench/charts.js';
import { renderReport } from '../../bench/report-markdown.js';
import type { ReportData } from '../../bench/report.js';
import type { RecoveryBenchResult, RecoveryModeFigures } from '../../bench/recovery.js';
import { renderWorkersSection } from '../../bench/report-workers.js';

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
    detectionMs: 0,
    takeoverMs: 12,
    respawnMs: null,
    perKill: [{ killAt: 4000, recoveryMs, settledMs: recoveryMs, outputGapMs: gap, peakLatencyMs: 50, detectionMs: 0, takeoverMs: 12, workers: [] }],
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
  workers: 0,
  killedWorkers: [],
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
        workers: 0,
        embeddedNone: null,
        embeddedNoneRatio: null,
        embeddedNoneRatioMin: null,
        embeddedNoneRatioMax: null,
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

test('a figure that could not be measured is a miss, an unchecked oracle a violation, and ratios come with their spread', (t) => {
  const unsettled = figures(0, 40, { recoveryMs: null, settledMs: null, bandMs: 4.4, duplicates: null, lost: null, oracleIdentical: false });
  const data = {
    quick: true,
    date: '2026-12-01',
    machine: { cpu: 'test cpu', cores: 2, memoryGiB: 24, os: 'linux', node: 'v20' },
    determinants: {
      bench: 'determinants', appendsPerSec: 4e7, orderBytesPerRecordBatched: 0.0156, orderBytesPerRecordInterleaved: 0.5, shipMBps: 1200, node: 'v20',
      shipNsPerEnvelope: 400, shipNsPerEnvelopeBySize: [{ targetBytes: 20, envelopeBytes: 21.8, nsPerEnvelope: 400 }],
    },
    overhead: [
      {
        bench: 'overhead', query: 'q3', seconds: 30, parallelism: 2, checkpointIntervalMs: 1000, rounds: 3, warmupMs: 2000, roundMs: 10_000, latencyRate: 1,
        modes: {
          none: { eventsPerSec: 100, p50Ms: 1, p99Ms: 2, peakRssMB: 120, throughputRuns: [100, 100, 100] },
          'global-rollback': null,
          'at-least-once': null,
          'exactly-once': { eventsPerSec: 96, p50Ms: 1, p99Ms: null, peakRssMB: 140, dsd: 1, throughputRuns: [96, 95, 97], ratio: 0.96, ratioMin: 0.95, ratioMax: 0.97 },
          'exactly-once-full': null,
        },
        ratios: { none: 1, 'global-rollback': null, 'at-least-once': null, 'exactly-once': 0.96, 'exactly-once-full': null },
        workers: 0, embeddedNone: null, embeddedNoneRatio: null, embeddedNoneRatioMin: null, embeddedNoneRatioMax: null, peakRssMB: 140, invocationPeakRssMB: 200,
      },
    ],
    recovery: [{ ...recovery, modes: { 'global-rollback': figures(2500, 1200, { bandMs: 6 }), 'exactly-once': unsettled } }],
    dsd: [], checkpointInterval: [], stateSize: [], rate: [], determinantBytes: [], seconds: 400,
  } as unknown as ReportData;
  const md = renderReport(data, {}, { stateSweepRate: 200_000, resultsDir: 'bench/results/2026-12-01' });
  t.false(/\| not measured \|$/m.test(md), 'no target\'s verdict is "not measured"');
  t.regex(md, /exactly-once \(dsd 1\) ÷ none \| ≥ 0\.95 \| 0\.96 \(rounds 0\.95 – 0\.97\) \| met \|/);
  t.regex(md, /p99 latency, exactly-once, at half of the maximum rate \| ≤ 20 ms \| not measured \| \*\*missed\*\* \|/);
  t.regex(md, /exactly-once recoveryMs ÷ global-rollback \| ≤ 0\.2 \| never settled \/ 2,500 ms \| \*\*missed\*\* \|/);
  t.regex(md, /exactly-once duplicates \/ lost \| 0 \/ 0 \| not checked: the oracle could not replay \(a violation\) \| \*\*missed\*\* \|/);
  t.regex(md, /\| `exactly-once` \| never settled \(\*\*missed\*\*\) \| 4\.4 ms \|/);
  t.regex(md, /\| Q3 \| `exactly-once` \| 96 \| 0\.96 \(rounds 0\.95 – 0\.97\) \| 1 ms \| not measured \(\*\*missed\*\*\) \| 140 MB \|/);
  t.regex(md, /Rounds: Q3: 3 rounds of 10 s/);
  t.regex(md, /400 ns at 21\.8 bytes/);
});

test('the worker-process section defines its figures and checks each worker target, met or missed', (t) => {
  const overhead = {
    bench: 'overhead' as const,
    query: 'q3' as const,
    seconds: 30,
    parallelism: 2,
    checkpointIntervalMs: 1000,
    latencyRate: 1,
    modes: {
      none: { eventsPerSec: 120, p50Ms: 1, p99Ms: 2, throughputRuns: [120] },
      'global-rollback': null,
      'at-least-once': null,
      'exactly-once': { eventsPerSec: 110, p50Ms: 1, p99Ms: 3, dsd: 1, throughputRuns: [110], ratio: 0.917, ratioMin: 0.9, ratioMax: 0.95 },
      'exactly-once-full': null,
    },
    ratios: { none: 1, 'global-rollback': null, 'at-least-once': null, 'exactly-once': 0.917, 'exactly-once-full': null },
    workers: 2,
    embeddedNone: { eventsPerSec: 100, throughputRuns: [100] },
    embeddedNoneRatio: 1.1,
    embeddedNoneRatioMin: 1.05,
    embeddedNoneRatioMax: 1.3,
    peakRssMB: 100,
  };
  const withWorkers = (eo: RecoveryModeFigures, detectionMs: number): RecoveryModeFigures => ({ ...eo, detectionMs, perKill: eo.perKill.map((k) => ({ ...k, detectionMs, workers: [2] })) });
  const workersRecovery: RecoveryBenchResult = {
    ...recovery,
    workers: 3,
    killedWorkers: [2],
    modes: { 'global-rollback': withWorkers(figures(2500, 1200), 20), 'exactly-once': withWorkers(figures(300, 150), 60) },
  };
  const data = {
    dir: 'bench/results/2026-12-01-workers',
    overhead: [{ file: 'overhead-q3-w2.json', command: 'npx causalflow bench overhead --query q3 --workers 2 --json', result: overhead }],
    recovery: [{ file: 'recovery-q3-w3.json', command: 'npx causalflow bench recovery --query q3 --workers 3 --json', result: workersRecovery }],
    notes: '### Why\n\nBecause.',
  };
  const md = renderWorkersSection(data).join('\n');
  t.regex(md, /## Worker processes/);
  t.regex(md, /`embeddedNoneRatio`/);
  t.regex(md, /`detectionMs` is the `worker-lost` event's/);
  t.regex(md, /\| Q3 `none`, 2 workers ÷ embedded \(same invocation\) \| ≥ 1\.2 \| 1\.1 \(rounds 1\.05 – 1\.3\) \| \*\*missed\*\* \|/);
  t.regex(md, /\| Q3 exactly-once \(dsd 1\) ÷ none, 2 workers \| ≥ 0\.90 \| 0\.917 \(rounds 0\.9 – 0\.95\) \| met \|/);
  t.regex(md, /Q3 single, 3 workers: exactly-once output gap \| ≤ 200 ms \| 150 ms \| met \|/);
  t.regex(md, /Q3 single, 3 workers: exactly-once recoveryMs ÷ global-rollback's \| ≤ 0\.2 \| 0\.12 \(300 ms \/ 2,500 ms\) \| met \|/);
  t.regex(md, /Detection of a SIGKILLed worker \(every kill of the recovery runs, 2 kills\) \| ≤ 50 ms \| 20 – 60 ms \| \*\*missed\*\* \|/);
  t.regex(md, /`npx causalflow bench recovery --query q3 --workers 3 --json`/);
  t.regex(md, /Q3 single, 3 workers: exactly-once duplicates \/ lost, oracle \| 0 \/ 0, identical \| 0 \/ 0, identical \| met \|/);
  t.regex(md, /### Why\n\nBecause\./);
  t.deepEqual(renderWorkersSection(null), []);
});

test('a worker figure that could not be measured is a miss, and every invocation must meet the target', (t) => {
  const withWorkers = (f: RecoveryModeFigures, detectionMs: number | null): RecoveryModeFigures => ({ ...f, detectionMs, perKill: f.perKill.map((k) => ({ ...k, detectionMs, workers: [2] })) });
  const run = (eo: RecoveryModeFigures, gr: RecoveryModeFigures): RecoveryBenchResult => ({ ...recovery, workers: 3, killedWorkers: [2], modes: { 'global-rollback': gr, 'exactly-once': eo } });
  const settled = run(withWorkers(figures(300, 150), 20), withWorkers(figures(2500, 1200), 20));
  const unsettled = run(
    withWorkers(figures(300, 150, { recoveryMs: null, duplicates: null, lost: null, oracleIdentical: false }), null),
    withWorkers(figures(2500, 1200), 20),
  );
  const entry = (result: RecoveryBenchResult, i: number) => ({ file: `recovery-q3-w3-${i}.json`, command: 'npx causalflow bench recovery --query q3 --workers 3 --json', result });
  const md = renderWorkersSection({ dir: 'bench/results/x-workers', overhead: [], recovery: [entry(settled, 1), entry(unsettled, 2)], notes: null }).join('\n');
  t.regex(md, /exactly-once recoveryMs ÷ global-rollback's over 2 invocations \| ≤ 0\.2 \| 0\.12 \(300 ms \/ 2,500 ms\), n\/a \(n\/a \/ 2,500 ms\) \| \*\*missed\*\* \|/);
  t.regex(md, /exactly-once duplicates \/ lost, oracle over 2 invocations \| 0 \/ 0, identical \| 0 \/ 0, identical; n\/a \/ n\/a, could not replay \| \*\*missed\*\* \|/);
  t.regex(md, /exactly-once output gap over 2 invocations \| ≤ 200 ms \| 150 ms, 150 ms \| met \|/);
  t.regex(md, /Detection of a SIGKILLed worker \(every kill of the recovery runs, 4 kills\) \| ≤ 50 ms \| 20 ms, 1 unknown \| \*\*missed\*\* \|/);
  t.notRegex(md, /not measured/);
});

test('at-least-once lost is a target of its own (I35): met at 0 against a failure-free run, missed when no reference stands for the job', (t) => {
  const base = { quick: true, date: '2026-12-03', machine: { cpu: 'test cpu', cores: 2, memoryGiB: 24, os: 'linux', node: 'v20' },
    determinants: {
      bench: 'determinants', appendsPerSec: 4e7, orderBytesPerRecordBatched: 0.0156, orderBytesPerRecordInterleaved: 0.5, shipMBps: 1200, node: 'v20',
      shipNsPerEnvelope: 400, shipNsPerEnvelopeBySize: [{ targetBytes: 20, envelopeBytes: 21.8, nsPerEnvelope: 400 }],
    },
    overhead: [], dsd: [], checkpointInterval: [], stateSize: [], rate: [], determinantBytes: [], seconds: 100 };
  const render = (alo: RecoveryModeFigures): string =>
    renderReport({ ...base, recovery: [{ ...recovery, modes: { ...recovery.modes, 'at-least-once': alo } }] } as unknown as ReportData, {}, { stateSweepRate: 200_000, resultsDir: 'bench/results/2026-12-03' });
  const checked = render(figures(300, 40, { duplicates: 57, lost: 0, oracleIdentical: false, checkedAgainst: 'failure-free-run' }));
  t.regex(checked, /Q3 single: at-least-once lost \| 0 \(I35\) \| 0 \(against a failure-free run; 57 duplicates, allowed\) \| met \|/);
  const unchecked = render(figures(300, 40, { duplicates: null, lost: null, oracleIdentical: false, checkedAgainst: 'failure-free-run' }));
  t.regex(unchecked, /Q3 single: at-least-once lost \| 0 \(I35\) \| not checked: no failure-free run stands for this job \(a violation\) \| \*\*missed\*\* \|/);
  const lost = render(figures(300, 40, { duplicates: 3, lost: 2, oracleIdentical: false, checkedAgainst: 'failure-free-run' }));
  t.regex(lost, /Q3 single: at-least-once lost \| 0 \(I35\) \| 2 \(against a failure-free run; 3 duplicates, allowed\) \| \*\*missed\*\* \|/);
  const older = render(figures(300, 40, { duplicates: 9, lost: 0, oracleIdentical: false }));
  t.false(/at-least-once lost \|/.test(older), 'a result from before the reference was named has no such row');
});
