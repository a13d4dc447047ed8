/**
 * The worker-process section of `docs/benchmarks.md`: the definitions of the `--workers N` figures, and
 * the figures of `bench overhead --workers N` and `bench recovery --workers N` runs, read from a results
 * directory (`bench/results/<date>-workers/`: one JSON file per invocation, each the last stdout line of
 * its command, `commands.json` naming the exact command of each file, and optionally `notes.md`, what was
 * found about those figures, shown after them), checked against their targets.
 */
import type { OverheadResult } from './overhead.js';
import type { RecoveryBenchResult, RecoveryModeFigures } from './recovery.js';
import { withBandRule } from './report-recompute.js';
import { formatFigure, newestResultsDir, readResultsDir, targetTable, type TargetCheck } from './results-dir.js';
import { overheadModesTable } from './report-overhead.js';

/** Worker-process results a report shows. */
export interface WorkerReportData {
  /** The results directory, relative to the repository root. */
  dir: string;
  /** `bench overhead --workers N` results (`workers` > 0), in file order. */
  overhead: { file: string; command: string; result: OverheadResult }[];
  /** `bench recovery --workers N` results, in file order. */
  recovery: { file: string; command: string; result: RecoveryBenchResult }[];
  /** The directory's `notes.md` (markdown), or null. */
  notes: string | null;
}

/** A target of the worker figures and whether the results meet it (missed also when the figure could not be measured). */
export type WorkerTargetCheck = TargetCheck;

const fmt = formatFigure;
const ms = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : `${fmt(v, v < 10 ? 1 : 0)} ms`);
/** Duplicates or losses: null is a check that could not run, a violation. */
const counted = (v: number | null | undefined): string => (v === null || v === undefined ? '**violation** (not checked)' : fmt(v));

/** The newest `bench/results/*-workers/` directory under `root` (relative to it), or null. */
export function newestWorkerResults(root: string): string | null {
  return newestResultsDir(root, 'workers');
}

/** Reads the results in `dir` (relative to `root`): every `*.json` but `commands.json`, by its `bench` field. */
export function loadWorkerResults(root: string, dir: string): WorkerReportData {
  const { files, notes } = readResultsDir(root, dir);
  const data: WorkerReportData = { dir, overhead: [], recovery: [], notes };
  for (const { file, command, result } of files) {
    if (result.bench === 'overhead') data.overhead.push({ file, command, result: result as OverheadResult });
    // Results taken under the old rule get `recoveryMs` recomputed from their stored timelines.
    else if (result.bench === 'recovery') data.recovery.push({ file, command, result: withBandRule(result as RecoveryBenchResult) });
  }
  return data;
}

const range = (values: readonly number[], digits: number): string => {
  if (values.length === 0) return 'n/a';
  const [low, high] = [Math.min(...values), Math.max(...values)];
  return low === high ? fmt(low, digits) : `${fmt(low, digits)} – ${fmt(high, digits)}`;
};

/**
 * Checks the worker targets against the results. A figure that could not be measured (`null`: a recovery
 * that never settled, an oracle that could not replay, an unknown detection) is a miss, as the contract
 * counts it; with several invocations of one command, every one must meet the target.
 */
export function checkWorkerTargets(data: WorkerReportData): WorkerTargetCheck[] {
  const checks: WorkerTargetCheck[] = [];
  for (const { result: o } of data.overhead) {
    const q = o.query.toUpperCase();
    if (o.workers > 0) {
      const r = o.embeddedNoneRatio ?? null;
      checks.push({
        figure: `${q} \`none\`, ${o.workers} workers ÷ embedded (same invocation)`,
        target: '≥ 1.2',
        measured: `${fmt(r, 3)} (rounds ${fmt(o.embeddedNoneRatioMin, 3)} – ${fmt(o.embeddedNoneRatioMax, 3)})`,
        met: r !== null && !Number.isNaN(r) && r >= 1.2,
      });
    }
    const eo = o.modes['exactly-once'];
    if (eo) {
      checks.push({
        figure: `${q} exactly-once (dsd 1) ÷ none, ${o.workers} workers`,
        target: '≥ 0.90',
        measured: `${fmt(eo.ratio, 3)} (rounds ${fmt(eo.ratioMin, 3)} – ${fmt(eo.ratioMax, 3)})`,
        met: eo.ratio !== undefined && !Number.isNaN(eo.ratio) && eo.ratio >= 0.9,
      });
    }
  }
  const runs = data.recovery.map((r) => r.result);
  const label = (r: RecoveryBenchResult): string => `${r.query.toUpperCase()} ${r.failures}, ${r.workers} workers`;
  const eoRuns = runs.filter((r) => r.modes['exactly-once']);
  for (const l of [...new Set(eoRuns.map(label))]) {
    const these = eoRuns.filter((r) => label(r) === l);
    const eos = these.map((r) => r.modes['exactly-once']!);
    const runsText = these.length > 1 ? ` over ${these.length} invocations` : '';
    const gaps = eos.map((f) => f.outputGapMs);
    checks.push({
      figure: `${l}: exactly-once output gap${runsText}`,
      target: '≤ 200 ms',
      measured: gaps.map(ms).join(', '),
      met: gaps.every((g) => g !== null && g <= 200),
    });
    const ratios = these.map((r) => {
      const eo = r.modes['exactly-once']!.recoveryMs;
      const gr = r.modes['global-rollback']?.recoveryMs ?? null;
      return eo !== null && gr !== null && gr > 0 ? eo / gr : null;
    });
    checks.push({
      figure: `${l}: exactly-once recoveryMs ÷ global-rollback's${runsText}`,
      target: '≤ 0.2',
      measured: these.map((r, i) => `${fmt(ratios[i], 3)} (${ms(r.modes['exactly-once']!.recoveryMs)} / ${ms(r.modes['global-rollback']?.recoveryMs)})`).join(', '),
      met: ratios.every((v) => v !== null && v <= 0.2),
    });
    checks.push({
      figure: `${l}: exactly-once duplicates / lost, oracle${runsText}`,
      target: '0 / 0, identical',
      measured: eos.map((f) => `${fmt(f.duplicates)} / ${fmt(f.lost)}, ${oracleText(f)}`).join('; '),
      met: eos.every((f) => f.duplicates === 0 && f.lost === 0 && f.oracleIdentical === true),
    });
  }
  const detections = runs.flatMap((r) => Object.values(r.modes).flatMap((f) => (f as RecoveryModeFigures).perKill.map((k) => k.detectionMs)));
  if (detections.length > 0) {
    const known = detections.filter((d): d is number => d !== null);
    checks.push({
      figure: `Detection of a SIGKILLed worker (every kill of the recovery runs, ${detections.length} kills)`,
      target: '≤ 50 ms',
      measured: known.length > 0 ? `${range(known, 1)} ms${known.length < detections.length ? `, ${detections.length - known.length} unknown` : ''}` : 'n/a',
      met: known.length === detections.length && known.every((d) => d <= 50),
    });
  }
  return checks;
}

/** The oracle column: whether the run's output equals an oracle replay of its determinant traces. */
function oracleText(f: RecoveryModeFigures): string {
  if (f.oracleIdentical === null) return 'not checked';
  if (f.oracleIdentical) return 'identical';
  return f.duplicates === null ? 'could not replay' : 'differs';
}

function recoveryTable(r: RecoveryBenchResult): string[] {
  const rows = [
    '| Mode | recoveryMs | band | outputGapMs | peakLatencyMs | detectionMs | takeoverMs | respawnMs | duplicates | lost | oracle |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [mode, f] of Object.entries(r.modes) as [string, RecoveryModeFigures][]) {
    const oracle = oracleText(f);
    rows.push(
      `| \`${mode}\` | ${f.recoveryMs === null ? 'never settled (**missed**)' : ms(f.recoveryMs)} | ${ms(f.bandMs)} | ${ms(f.outputGapMs)} | ${ms(f.peakLatencyMs)} | ${ms(f.detectionMs)} | ${ms(f.takeoverMs)} | ${ms(f.respawnMs)} | ${counted(f.duplicates)} | ${counted(f.lost)} | ${oracle}${f.escalations > 0 ? ` (${f.escalations} escalation)` : ''} |`,
    );
  }
  return rows;
}

/** The definitions of the worker figures (markdown lines). */
export const WORKER_DEFINITIONS: readonly string[] = [
  'With `--workers N` the job runs in N worker processes on this host and the command\'s process is the coordinator (checkpoints, failure detection, recovery, and the partitions of coordinator-held sinks). Each worker loads `bench/worker-job.ts` and builds the same graph with `buildBenchJob(args)` from the same JSON arguments (query, parallelism, rate, mode, dsd, directory, sink).',
  '',
  '- `workers`: in the JSON of every benchmark: the worker processes the job ran in, 0 for the embedded runtime (and for benchmarks that run no job).',
  '- `bench overhead --workers N`: every mode runs in N workers, the query writing into a `DiscardSink`, which lives in the worker of its task (nothing is sent per record; the runtime still sends the coordinator one figures message per sink batch). Each round first runs `none` embedded, then every mode in workers. `eventsPerSec` is the source input the workers report to the coordinator (batched every 10 ms; the window is read 100 ms after it ends). `ratio`, `ratioMin`, `ratioMax`: median, lowest and highest over rounds of mode ÷ workers `none` of the same round. `embeddedNone`: the embedded `none` runs; `embeddedNoneRatio`, `embeddedNoneRatioMin`, `embeddedNoneRatioMax`: median, lowest and highest over rounds of workers `none` ÷ embedded `none` of the same round. `peakRssMB` is the coordinator\'s alone (per mode, of a coordinator process that ran only that mode, in results that have it).',
  '- `bench recovery --workers N`: the query writes into a `CollectSink`, whose partitions live in the coordinator (the workers send it one message per batch), so that the run is checked against an oracle replay as embedded (`duplicates`, `lost`; the oracle runs embedded). A kill is a SIGKILL of the worker process holding the killed task, and with it of every task and standby it held (`killedWorkers`). Figures count from the kill (the `worker-killed` event): `detectionMs` is the `worker-lost` event\'s (from the SIGKILL until the coordinator noticed the closed control connection or the exit; embedded 0, the kill is the failure report), `takeoverMs` runs until every replacement is live (`recovery-finished`) or every task restarted (`rollback-finished`), `respawnMs` is how long the new worker process took to start (it runs beside the recovery, on the same cores), and `recoveryMs` (with its `band`), `outputGapMs`, `peakLatencyMs` are as embedded. With several kills each figure is the longest.',
];

/** The section (markdown lines), or none without results. */
export function renderWorkersSection(data: WorkerReportData | null): string[] {
  if (!data || (data.overhead.length === 0 && data.recovery.length === 0)) return [];
  const checks = checkWorkerTargets(data);
  const out: string[] = ['## Worker processes', '', ...WORKER_DEFINITIONS, ''];
  out.push(
    `Measured by the commands below, one invocation per table, raw JSON in \`${data.dir}/\`; ratios compare runs of one invocation only.` +
      (data.recovery.some((r) => r.result.recomputedFromTimeline)
        ? ' These recovery results were taken before the band rule: their `recoveryMs` and `band` are recomputed from the stored timelines.'
        : ''),
    '',
    '### Targets with worker processes',
    '',
    ...targetTable(checks),
    '',
  );
  for (const { file, command, result: o } of data.overhead) {
    out.push(`### Overhead, ${o.query.toUpperCase()}, ${o.workers} workers (\`${file}\`)`, '', `\`${command}\` (${o.seconds} s per mode over the rounds, checkpoint every ${o.checkpointIntervalMs} ms, latency at ${fmt(o.latencyRate)} events/s)`, '', ...overheadModesTable(o), '');
  }
  for (const { file, command, result: r } of data.recovery) {
    out.push(
      `### Recovery, ${r.query.toUpperCase()}, ${r.failures} failure, ${r.workers} workers (\`${file}\`)`,
      '',
      `\`${command}\`: ${r.killed.join(', ')} killed at ${r.killAtMs.map((t) => `${t / 1000} s`).join(', ')} (SIGKILL of worker ${[...new Set(r.killedWorkers)].join(', ')}), ${fmt(r.rate)} events/s, dsd ${r.dsd}`,
      '',
      ...recoveryTable(r),
      '',
    );
  }
  if (data.notes) out.push(data.notes, '');
  return out;
}
