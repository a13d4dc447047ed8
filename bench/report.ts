/**
 * `causalflow bench report`: the whole benchmark suite in one invocation. It runs the determinant-log
 * micro-benchmark, the failure-free overhead of each query, the recovery experiments and the sweeps,
 * then writes:
 *
 * - `bench/results/<date>/*.json`: raw figures and timelines, one file per experiment;
 * - `docs/benchmarks/*.svg`: the charts (Vega-Lite, rendered headless);
 * - `docs/benchmarks.md`: machine, tables, charts, the comparison with Clonos, and what missed its target.
 */
import { cpus, totalmem, platform, release } from 'node:os';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runDeterminantsBench, type DeterminantsBenchResult } from './determinants.js';
import { runOverheadBench, OVERHEAD_MODES, type OverheadResult } from './overhead.js';
import { runRecoveryBench, type FailurePattern, type RecoveryBenchResult } from './recovery.js';
import {
  DEEP_STAGES,
  sweepRecoveryMs,
  STATE_SWEEP_RATE,
  measureDeterminantBytes,
  sweepCheckpointInterval,
  sweepDsd,
  sweepRate,
  sweepStateSize,
  type DeterminantBytesPoint,
  type DsdPoint,
  type RecoverySweepPoint,
} from './sweeps.js';
import { overheadSpec, renderSvg, sweepSpec, timelineSpec } from './charts.js';
import { renderReport } from './report-markdown.js';
import { PEERS_BEGIN, PEERS_END, spliceSection } from './peers/peers-report.js';
import { withBandRule } from './report-recompute.js';
import { loadWorkerResults, newestWorkerResults } from './report-workers.js';
import { loadOverheadResults, newestOverheadResults } from './report-overhead.js';
import type { QueryId } from './nexmark/queries.js';

/** Options of {@link runReport}. */
export interface ReportOptions {
  /** Fewer rounds and points: the whole report in about seven minutes instead of about thirty. */
  quick: boolean;
  /** Repository root (results, charts and docs are written under it). */
  root: string;
  parallelism: number;
  /** The worker-process section's results (relative to `root`; default the newest `bench/results/*-workers/`). */
  workersDir?: string;
  /** Called at each step with its name, the steps done, the total, and the estimated seconds left. */
  onProgress?: (step: string, done: number, total: number, secondsLeft: number | null) => void;
}

/** Everything one report measured. */
export interface ReportData {
  quick: boolean;
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; node: string };
  determinants: DeterminantsBenchResult;
  overhead: OverheadResult[];
  recovery: RecoveryBenchResult[];
  dsd: DsdPoint[];
  checkpointInterval: RecoverySweepPoint[];
  stateSize: RecoverySweepPoint[];
  rate: RecoverySweepPoint[];
  determinantBytes: DeterminantBytesPoint[];
  /** Wall-clock seconds the report took. */
  seconds: number;
}

interface Step {
  name: string;
  /** Estimated seconds, for the ETA. */
  estimate: number;
  run: () => Promise<void>;
}

/** Runs the suite and writes results, charts and `docs/benchmarks.md`; returns the data. */
export async function runReport(options: ReportOptions): Promise<{ data: ReportData; resultsDir: string; files: string[] }> {
  const quick = options.quick;
  const started = Date.now();
  const date = new Date().toISOString().slice(0, 10);
  const resultsDir = join(options.root, 'bench', 'results', date);
  mkdirSync(resultsDir, { recursive: true });
  const parallelism = options.parallelism;
  const overheadQueries: QueryId[] = quick ? ['q3'] : ['q1', 'q3', 'q8', 'q12'];
  const recoveryRuns: { query: QueryId; failures: FailurePattern }[] = quick
    ? [
        { query: 'q3', failures: 'single' },
        { query: 'q8', failures: 'single' },
      ]
    : [
        { query: 'q3', failures: 'single' },
        { query: 'q8', failures: 'single' },
        { query: 'q3', failures: 'multiple' },
        { query: 'q3', failures: 'concurrent' },
      ];
  // The 1 s start-up, then the 5 s the latency band before the kill is taken over.
  const warmupMs = 6000;
  const afterMs = quick ? 2500 : 6000;
  const data: ReportData = {
    quick,
    date,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${platform()} ${release()}`,
      node: process.version,
    },
    determinants: undefined as unknown as DeterminantsBenchResult,
    overhead: [],
    recovery: [],
    dsd: [],
    checkpointInterval: [],
    stateSize: [],
    rate: [],
    determinantBytes: [],
    seconds: 0,
  };
  const maxRateOf = (query: QueryId): number => {
    const o = data.overhead.find((r) => r.query === query);
    return o?.modes.none?.eventsPerSec ?? 1_000_000;
  };
  let note = (_m: string): void => {};
  const steps: Step[] = [
    {
      name: 'determinant log micro-benchmark',
      estimate: quick ? 3 : 6,
      run: async () => {
        data.determinants = await runDeterminantsBench({ seconds: quick ? 2 : 5 });
      },
    },
    ...overheadQueries.map<Step>((query) => ({
      name: `failure-free overhead of ${query}`,
      // Rounds of ten checkpoint intervals (10 s) after 2 s of warm-up, each mode's latency run in a process of its own.
      estimate: quick ? 5 * 2 * 12 + 5 * 14 : 5 * 3 * 12 + 5 * 14,
      run: async () => {
        data.overhead.push(await runOverheadBench({ query, rounds: quick ? 2 : 3, parallelism, checkpointIntervalMs: 1000, onProgress: (m) => note(m) }));
      },
    })),
    ...recoveryRuns.map<Step>(({ query, failures }) => ({
      name: `recovery of ${query}, ${failures} failure`,
      estimate: (failures === 'multiple' ? 3 * 28 : 3 * 16) * (quick ? 0.7 : 1),
      run: async () => {
        data.recovery.push(
          await runRecoveryBench({
            query,
            failures,
            // Half of the maximum the overhead step measured for this query (measured here if it did not run).
            rate: data.overhead.some((o) => o.query === query) ? Math.round(maxRateOf(query) / 2) : undefined,
            parallelism,
            checkpointIntervalMs: 1000,
            warmupMs,
            afterMs,
            onProgress: (m) => note(m),
          }),
        );
      },
    })),
    {
      name: `overhead against sharing depth (${DEEP_STAGES} keyed stages)`,
      estimate: quick ? 5 * 12 : 3 * 5 * 12,
      run: async () => {
        data.dsd = await sweepDsd({ rounds: quick ? 1 : 3, measureMs: 10_000, parallelism, onProgress: (m) => note(m) });
      },
    },
    {
      name: 'recovery against checkpoint interval',
      estimate: quick ? 35 : 130,
      run: async () => {
        data.checkpointInterval = await sweepCheckpointInterval(quick ? [500, 2000] : [500, 1000, 2000, 5000], {
          parallelism,
          maxRate: maxRateOf('q3'),
          warmupMs,
          afterMs,
          onProgress: (m) => note(m),
        });
      },
    },
    {
      name: 'recovery against keyed-state size',
      estimate: quick ? 35 : 95,
      run: async () => {
        data.stateSize = await sweepStateSize(quick ? [1, 10] : [1, 10, 100], { parallelism, maxRate: maxRateOf('q3'), warmupMs, afterMs, onProgress: (m) => note(m) });
      },
    },
    {
      name: 'recovery against input rate',
      estimate: quick ? 30 : 85,
      run: async () => {
        data.rate = await sweepRate(quick ? [0.25, 0.75] : [0.25, 0.5, 0.75], { parallelism, maxRate: maxRateOf('q3'), warmupMs, afterMs, onProgress: (m) => note(m) });
      },
    },
    {
      name: 'determinant bytes per event',
      estimate: quick ? 6 : 12,
      run: async () => {
        data.determinantBytes = await measureDeterminantBytes(['q1', 'q3', 'q5', 'q8', 'q12'], quick ? 400_000 : 2_000_000, parallelism, (m) => note(m));
      },
    },
  ];

  const totalEstimate = steps.reduce((n, s) => n + s.estimate, 0);
  let estimateDone = 0;
  for (const [i, step] of steps.entries()) {
    const elapsed = (Date.now() - started) / 1000;
    const left = estimateDone > 0 ? Math.round((elapsed / estimateDone) * (totalEstimate - estimateDone)) : totalEstimate;
    note = (m) => options.onProgress?.(`${step.name}: ${m}`, i, steps.length, left);
    options.onProgress?.(step.name, i, steps.length, left);
    await step.run();
    estimateDone += step.estimate;
  }
  data.seconds = Math.round((Date.now() - started) / 1000);
  options.onProgress?.('rendering charts', steps.length, steps.length, 0);
  const files = await writeReport(data, options.root, options.workersDir);
  return { data, resultsDir, files };
}

/**
 * Reads the results a report wrote (`bench/results/<date>/`), for rendering them again with
 * {@link writeReport}, e.g. after re-running one experiment into the same directory.
 */
export function loadReportData(resultsDir: string): ReportData {
  const read = <T>(name: string): T => JSON.parse(readFileSync(join(resultsDir, name), 'utf8')) as T;
  const names = readdirSync(resultsDir);
  const machine = read<ReportData['machine'] & { date: string; quick: boolean; seconds: number }>('machine.json');
  const order = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });
  const recoveryOrder = ['single', 'multiple', 'concurrent'];
  return {
    quick: machine.quick,
    date: machine.date,
    machine: { cpu: machine.cpu, cores: machine.cores, memoryGiB: machine.memoryGiB, os: machine.os, node: machine.node },
    determinants: read('determinants.json'),
    overhead: names.filter((n) => n.startsWith('overhead-') && n.endsWith('.json')).sort(order).map((n) => read<OverheadResult>(n)),
    recovery: names
      .filter((n) => n.startsWith('recovery-') && n.endsWith('.json'))
      // Results taken under the old rule get `recoveryMs` recomputed from their stored timelines.
      .map((n) => withBandRule(read<RecoveryBenchResult>(n)))
      .sort((a, b) => recoveryOrder.indexOf(a.failures) - recoveryOrder.indexOf(b.failures) || order(a.query, b.query)),
    dsd: read('sweep-dsd.json'),
    checkpointInterval: read('sweep-checkpoint-interval.json'),
    stateSize: read('sweep-state-size.json'),
    rate: read('sweep-rate.json'),
    determinantBytes: read('determinant-bytes.json'),
    seconds: machine.seconds,
  };
}

/**
 * Writes the results, the charts and `docs/benchmarks.md` of `data` under `root`; returns the files written.
 * The worker-process section comes from `workersDir` (relative to `root`; default the newest
 * `bench/results/*-workers/`, none if there is none; null: leave it out). With `writeResults` false
 * (rendering again from stored results) `bench/results/` is left as it is: the raw figures stay as
 * measured, whatever the renderer recomputes from them.
 */
export async function writeReport(data: ReportData, root: string, workersDir?: string | null, writeResults = true): Promise<string[]> {
  const resultsDir = join(root, 'bench', 'results', data.date);
  const chartsDir = join(root, 'docs', 'benchmarks');
  if (writeResults) mkdirSync(resultsDir, { recursive: true });
  mkdirSync(chartsDir, { recursive: true });
  const quick = data.quick;
  const files: string[] = [];
  const writeJson = (name: string, value: unknown): void => {
    if (!writeResults) return;
    const path = join(resultsDir, name);
    writeFileSync(path, `${JSON.stringify(value, null, 1)}\n`);
    files.push(path);
  };
  writeJson('machine.json', { ...data.machine, date: data.date, quick, seconds: data.seconds });
  writeJson('determinants.json', data.determinants);
  for (const o of data.overhead) writeJson(`overhead-${o.query}.json`, o);
  for (const r of data.recovery) writeJson(`recovery-${r.query}-${r.failures}.json`, r);
  writeJson('sweep-dsd.json', data.dsd);
  writeJson('sweep-checkpoint-interval.json', data.checkpointInterval);
  writeJson('sweep-state-size.json', data.stateSize);
  writeJson('sweep-rate.json', data.rate);
  writeJson('determinant-bytes.json', data.determinantBytes);

  const charts: Record<string, string> = {};
  const writeSvg = async (name: string, spec: Parameters<typeof renderSvg>[0]): Promise<void> => {
    const svg = await renderSvg(spec);
    writeFileSync(join(chartsDir, name), svg);
    if (writeResults) writeFileSync(join(resultsDir, name), svg);
    charts[name] = `benchmarks/${name}`;
    files.push(join(chartsDir, name));
  };
  for (const r of data.recovery) {
    await writeSvg(`recovery-${r.query}-${r.failures}.svg`, timelineSpec(r, `${r.query.toUpperCase()}, ${r.failures} failure: sink output and p99 latency (kills dashed)`));
  }
  await writeSvg(
    'overhead.svg',
    overheadSpec(data.overhead.flatMap((o) => OVERHEAD_MODES.filter((m) => m.name !== 'none' && o.ratios[m.name] !== null).map((m) => ({ query: o.query.toUpperCase(), mode: m.name, ratio: o.ratios[m.name]! })))),
  );
  await writeSvg(
    'sweep-dsd.svg',
    sweepSpec({
      title: `Throughput against sharing depth (${DEEP_STAGES} keyed stages)`,
      rows: data.dsd.filter((p) => p.dsd !== null).map((p) => ({ x: p.dsd === -1 ? DEEP_STAGES : p.dsd!, y: p.ratio, series: 'exactly-once' })),
      xTitle: `sharing depth (${DEEP_STAGES} = full)`,
      yTitle: 'throughput / none',
    }),
  );
  const recoverySweep = (points: RecoverySweepPoint[]) =>
    points.flatMap((p) => Object.entries(p.modes).map(([mode, f]) => ({ x: p.x, y: sweepRecoveryMs(f!), series: mode })));
  await writeSvg('sweep-checkpoint-interval.svg', sweepSpec({ title: 'Recovery time against checkpoint interval (Q3)', rows: recoverySweep(data.checkpointInterval), xTitle: 'checkpoint interval (ms)', yTitle: 'recoveryMs' }));
  await writeSvg('sweep-state-size.svg', sweepSpec({ title: 'Recovery time against keyed state per task', rows: recoverySweep(data.stateSize), xTitle: 'keyed state per task (MB)', yTitle: 'recoveryMs', logX: true }));
  await writeSvg('sweep-rate.svg', sweepSpec({ title: 'Recovery time against input rate (Q3)', rows: recoverySweep(data.rate).map((r) => ({ ...r, x: r.x * 100 })), xTitle: 'input rate (% of maximum)', yTitle: 'recoveryMs' }));

  const workers = workersDir === null ? null : (workersDir ?? newestWorkerResults(root));
  // The overhead against its targets: the newest `bench/results/*-overhead/` (its own invocations, see report-overhead.ts).
  const overheadDir = newestOverheadResults(root);
  const markdown = renderReport(data, charts, {
    stateSweepRate: STATE_SWEEP_RATE,
    resultsDir: `bench/results/${data.date}`,
    workers: workers ? loadWorkerResults(root, workers) : null,
    overhead: overheadDir ? loadOverheadResults(root, overheadDir) : null,
  });
  const docPath = join(root, 'docs', 'benchmarks.md');
  // The side-by-side section against Flink is written by `bench peers`, not by this suite: keep it.
  const previous = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
  const begin = previous.indexOf(PEERS_BEGIN);
  const end = previous.indexOf(PEERS_END);
  const peers = begin >= 0 && end > begin ? previous.slice(begin + PEERS_BEGIN.length, end) : null;
  writeFileSync(docPath, peers === null ? markdown : spliceSection(markdown, peers));
  files.push(docPath);
  return files;
}
