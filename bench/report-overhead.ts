/**
 * The section of `docs/benchmarks.md` that holds the failure-free overhead against its targets
 * (exactly-once ÷ none ≥ 0.95, exactly-once-full ÷ none ≥ 0.90, and for Q1, Q3 and Q8 p99 with exactly-once
 * output at half load ≤ 20 ms), embedded and in worker processes, from a results directory (`bench/results/<date>-overhead/`:
 * one JSON file per `bench overhead` invocation, `commands.json` naming each file's command, `notes.md`
 * shown after the figures). Every ratio is shown with its spread over rounds; a figure that could not be
 * measured is a miss.
 */
import { formatFigure, newestResultsDir, readResultsDir, targetTable, type TargetCheck } from './results-dir.js';
import { OVERHEAD_MODES, type OverheadResult } from './overhead.js';

/** The overhead results a report shows. */
export interface OverheadReportData {
  /** The results directory, relative to the repository root. */
  dir: string;
  runs: { file: string; command: string; result: OverheadResult }[];
  notes: string | null;
}

/** One target check. */
export type OverheadTargetCheck = TargetCheck;

const fmt = formatFigure;

/** The newest `bench/results/*-overhead/` directory under `root` (relative to it), or null. */
export function newestOverheadResults(root: string): string | null {
  return newestResultsDir(root, 'overhead');
}

/** Reads every `bench overhead` result in `dir` (relative to `root`). */
export function loadOverheadResults(root: string, dir: string): OverheadReportData {
  const { files, notes } = readResultsDir(root, dir);
  const runs = files.filter((f) => f.result.bench === 'overhead').map(({ file, command, result }) => ({ file, command, result: result as OverheadResult }));
  return { dir, runs, notes };
}

/** The queries the p99 target (≤ 20 ms at half load) applies to. */
const P99_TARGET_QUERIES: ReadonlySet<string> = new Set(['q1', 'q3', 'q8']);

/** The targets of the issue against each run; `null` figures are misses. */
export function checkOverheadTargets(data: OverheadReportData): OverheadTargetCheck[] {
  const checks: OverheadTargetCheck[] = [];
  for (const { result: o } of data.runs) {
    const where = `${o.query.toUpperCase()}, ${o.workers === 0 ? 'embedded' : `${o.workers} workers`}`;
    const ratioCheck = (mode: 'exactly-once' | 'exactly-once-full', target: number): void => {
      const f = o.modes[mode];
      const ratio = f?.ratio ?? null;
      checks.push({
        figure: `${where}: \`${mode}\` ÷ \`none\``,
        target: `≥ ${target.toFixed(2)}`,
        measured: f ? `${fmt(ratio, 3)} (rounds ${fmt(f.ratioMin, 3)} – ${fmt(f.ratioMax, 3)})` : 'n/a',
        met: ratio !== null && !Number.isNaN(ratio) && ratio >= target,
      });
    };
    ratioCheck('exactly-once', 0.95);
    ratioCheck('exactly-once-full', 0.9);
    // The latency target names Q1, Q3 and Q8 only: Q12's output waits for processing-time windows to close.
    if (!P99_TARGET_QUERIES.has(o.query)) continue;
    const p99 = o.modes['exactly-once']?.p99Ms ?? null;
    checks.push({
      figure: `${where}: p99 latency, \`exactly-once\` at ${fmt(o.latencyRate)} events/s (half of \`none\`'s maximum)`,
      target: '≤ 20 ms',
      measured: p99 === null ? 'n/a' : `${fmt(p99, 1)} ms`,
      met: p99 !== null && p99 <= 20,
    });
  }
  return checks;
}

/** The modes of one `bench overhead` invocation (markdown lines): events/s, ratio with its spread, latency, each mode's peak RSS. */
export function overheadModesTable(o: OverheadResult): string[] {
  const rows = ['| Mode | events/s (median) | ÷ `none`: median (min – max over rounds) | p50 | p99 | peak RSS (own process) |', '| --- | --- | --- | --- | --- | --- |'];
  for (const m of OVERHEAD_MODES) {
    const f = o.modes[m.name];
    if (!f) continue;
    const ratio = m.name === 'none' ? '1' : `${fmt(f.ratio, 3)} (${fmt(f.ratioMin, 3)} – ${fmt(f.ratioMax, 3)})`;
    const rss = (f as { peakRssMB?: number }).peakRssMB;
    rows.push(`| \`${m.name}\` | ${fmt(f.eventsPerSec)} | ${ratio} | ${fmt(f.p50Ms, 1)} ms | ${fmt(f.p99Ms, 1)} ms | ${rss === undefined ? 'n/a' : `${fmt(rss)} MB`} |`);
  }
  if (o.embeddedNone) rows.push(`| \`none\` embedded (same rounds) | ${fmt(o.embeddedNone.eventsPerSec)} | workers \`none\` ÷ this: ${fmt(o.embeddedNoneRatio, 3)} (${fmt(o.embeddedNoneRatioMin, 3)} – ${fmt(o.embeddedNoneRatioMax, 3)}) | | | |`);
  return rows;
}

/** The section (markdown lines), or none without results. */
export function renderOverheadSection(data: OverheadReportData | null): string[] {
  if (!data || data.runs.length === 0) return [];
  const checks = checkOverheadTargets(data);
  const out = [
    '## Failure-free overhead against its targets',
    '',
    `Each table is one \`bench overhead\` invocation (raw JSON in \`${data.dir}/\`): every mode runs once per round, interleaved, each round sampling at least ten checkpoint intervals after a warm-up; a ratio is mode ÷ \`none\` of the same round, median with the lowest and highest round. Latency runs at half of \`none\`'s maximum, each mode in a process of its own (whose peak RSS is the mode's). A figure that could not be measured counts as missed.`,
    '',
    ...targetTable(checks),
    '',
  ];
  for (const { file, command, result: o } of data.runs) {
    out.push(`### ${o.query.toUpperCase()}, ${o.workers === 0 ? 'embedded' : `${o.workers} workers`} (\`${file}\`)`, '', `\`${command}\`: ${o.rounds ?? 'n/a'} rounds, ${fmt(o.seconds)} s per mode, checkpoint every ${fmt(o.checkpointIntervalMs)} ms`, '', ...overheadModesTable(o), '');
  }
  if (data.notes) out.push(data.notes, '');
  return out;
}
