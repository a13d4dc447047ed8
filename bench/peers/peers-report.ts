/**
 * What `bench peers` writes: the raw JSON into `bench/results/<date>-peers/<query>.json`, a chart per
 * query into `docs/benchmarks/peers-<query>.svg`, and the side-by-side section of `docs/benchmarks.md`
 * between {@link PEERS_BEGIN} and {@link PEERS_END}, rendered from every query in that results folder.
 * The rest of `docs/benchmarks.md` is left as it is.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../charts.js';
import { PEER_CHECKPOINT_MS, PEER_PARALLELISM, PEER_QUERIES, type PeerFigures, type PeersReport, type StartupLatency } from './peer-results.js';

/** Opens the generated section of `docs/benchmarks.md`. */
export const PEERS_BEGIN = '<!-- peers:begin -->';
/** Closes it. */
export const PEERS_END = '<!-- peers:end -->';
/** Where the section goes when `docs/benchmarks.md` has no markers yet: before this heading, else at the end. */
const INSERT_BEFORE = '## Against Clonos';

/** A target against the peer (the issue's table): causalflow's figure over Flink's, within `limit`. */
interface PeerTarget {
  figure: string;
  field: keyof PeerFigures;
  /** `max`: the ratio must be at most the limit; `min`: at least. */
  bound: 'max' | 'min';
  limit: number;
  /** Queries the target is set for. */
  queries: readonly string[];
}

/** The issue's "Targets against the peer". */
export const PEER_TARGETS: readonly PeerTarget[] = [
  { figure: 'output gap after one kill', field: 'outputGapMs', bound: 'max', limit: 0.1, queries: ['q3', 'q8'] },
  { figure: '`recoveryMs` after one kill', field: 'recoveryMs', bound: 'max', limit: 0.2, queries: PEER_QUERIES },
  { figure: 'exactly-once output visibility, p99', field: 'visibleP99Ms', bound: 'max', limit: 0.05, queries: PEER_QUERIES },
  { figure: 'throughput, `--workers 2` exactly-once ÷ Flink with checkpoints', field: 'maxEventsPerSecCheckpointing', bound: 'min', limit: 0.8, queries: PEER_QUERIES },
];

/** Rows of the side-by-side table: label and field. */
const ROWS: readonly [string, keyof PeerFigures][] = [
  ['max events/s, no checkpoints', 'maxEventsPerSec'],
  ['max events/s, checkpoints every 1 s', 'maxEventsPerSecCheckpointing'],
  ['p99 latency at half load (ms)', 'p99Ms'],
  ['exactly-once visibility p50 (ms)', 'visibleP50Ms'],
  ['exactly-once visibility p99 (ms)', 'visibleP99Ms'],
  ['`recoveryMs` after the kill', 'recoveryMs'],
  ['output gap after the kill (ms)', 'outputGapMs'],
  ['peak latency after the kill (ms)', 'peakLatencyMs'],
  ['duplicates', 'duplicates'],
  ['lost', 'lost'],
];

/** A figure; one that could not be measured is a miss (duplicates or lost not counted: a violation), never "not measured". */
function cell(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'n/a (missed)';
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : String(Math.round(value * 10) / 10);
}

/** The side-by-side table of one query, as plain text (the command's output). */
export function formatPeersTable(report: PeersReport): string {
  const { result } = report;
  const flink = result.systems.flink;
  const causal = result.systems.causalflow;
  const lines = [
    `${result.query} at ${result.rate.toLocaleString('en-US')} events/s (half of the slower maximum with checkpoints); failure runs ${failureRunText(report)}, ` +
      `parallelism ${PEER_PARALLELISM}, checkpoints every ${PEER_CHECKPOINT_MS} ms`,
    `${'figure'.padEnd(40)} ${`Flink ${flink.version}`.padStart(14)} ${'causalflow'.padStart(14)}   ratio`,
  ];
  for (const [label, field] of ROWS) {
    const r = ratio(causal[field], flink[field]);
    lines.push(`${label.replace(/`/g, '').padEnd(40)} ${cell(flink[field]).padStart(14)} ${cell(causal[field]).padStart(14)}   ${r === null ? '' : r}`);
  }
  const roundsText = roundsLine(report);
  if (roundsText) lines.push(roundsText);
  const settled = settledLine(report);
  if (settled) lines.push(settled.replace(/`/g, ''));
  const startup = startupLine(report);
  if (startup) lines.push(startup);
  const fallback = report.flinkRestarts?.default;
  if (fallback) {
    lines.push(
      `Flink with its default restart strategy: recoveryMs ${cell(fallback.recoveryMs)}, output gap ${cell(fallback.outputGapMs)} ms, ` +
        `peak latency ${cell(fallback.peakLatencyMs)} ms, duplicates ${cell(fallback.duplicates)}, lost ${cell(fallback.lost)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The failure runs' events, rate (when slowed) and kill time. */
function failureRunText(report: PeersReport): string {
  const slowed = report.failureRate < report.result.rate ? ` at ${report.failureRate.toLocaleString('en-US')} events/s (slowed to fit the oracle check)` : '';
  return `${report.events.toLocaleString('en-US')} events${slowed}, kill at ${report.killAtMs / 1000} s of ${(report.killAtMs + report.afterMs) / 1000} s`;
}

/** What `recoveryMs` of each is measured against: the latency band of the 5 s before the kill, its median, the output gaps before it. */
function settledLine(report: PeersReport): string | null {
  const flink = report.flinkRestarts?.fastest;
  const causal = report.causalflowRecovery;
  if (!flink || !causal) return null;
  return (
    `\`recoveryMs\` ends when latency is back within the band of the 5 s before the kill, up to: Flink ${cell(flink.bandMs)} ms, ` +
    `causalflow ${cell(causal.bandMs)} ms; median latency before the kill: Flink ${cell(flink.baselineLatencyMs)} ms, causalflow ${cell(causal.baselineLatencyMs)} ms; ` +
    `longest output gap before the kill: Flink ${cell(flink.baselineGapMs)} ms, causalflow ${cell(causal.baselineGapMs)} ms.`
  );
}

function ratio(ours: number | null | undefined, theirs: number | null | undefined): number | null {
  if (ours == null || theirs == null || theirs === 0) return null;
  return Math.round((ours / theirs) * 1000) / 1000;
}

/** Where one invocation's results go: `bench/results/<date>-peers/`. */
export function peersResultsDir(root: string, startedAt: string): string {
  return join(root, 'bench', 'results', `${startedAt.slice(0, 10)}-peers`);
}

/** Writes the results file and the chart of `report`, then renders the section from the whole results folder. */
export async function writePeersReport(root: string, report: PeersReport): Promise<string[]> {
  const dir = peersResultsDir(root, report.startedAt);
  mkdirSync(dir, { recursive: true });
  const resultsFile = join(dir, `${report.result.query}.json`);
  writeFileSync(resultsFile, `${JSON.stringify(report, null, 1)}\n`);
  const chartDir = join(root, 'docs', 'benchmarks');
  mkdirSync(chartDir, { recursive: true });
  const chartFile = join(chartDir, `peers-${report.result.query}.svg`);
  writeFileSync(chartFile, await renderSvg(peersTimelineSpec(report)));
  const reports = PEER_QUERIES.map((q) => join(dir, `${q}.json`))
    .filter((path) => existsSync(path))
    .map((path) => JSON.parse(readFileSync(path, 'utf8')) as PeersReport);
  const docPath = join(root, 'docs', 'benchmarks.md');
  const section = renderPeersSection(reports, `bench/results/${dir.split('/').pop()}`);
  writeFileSync(docPath, spliceSection(existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Benchmarks\n', section));
  return [resultsFile, chartFile, docPath];
}

/** `markdown` with its peers section replaced by `section` (inserted when it has none). */
export function spliceSection(markdown: string, section: string): string {
  const block = `${PEERS_BEGIN}\n${section.trim()}\n${PEERS_END}`;
  const begin = markdown.indexOf(PEERS_BEGIN);
  const end = markdown.indexOf(PEERS_END);
  if (begin >= 0 && end > begin) return markdown.slice(0, begin) + block + markdown.slice(end + PEERS_END.length);
  const at = markdown.indexOf(INSERT_BEFORE);
  if (at >= 0) return `${markdown.slice(0, at)}${block}\n\n${markdown.slice(at)}`;
  return `${markdown.trimEnd()}\n\n${block}\n`;
}

/** Sink output and p99 latency around the kill, Flink (both restarts) and causalflow. */
export function peersTimelineSpec(report: PeersReport): TopLevelSpec {
  const rows: { system: string; t: number; outRate: number; p99: number | null }[] = [];
  for (const [system, timeline] of Object.entries(report.timelines)) {
    const killedAt = report.killedAtMs[system as keyof PeersReport['killedAtMs']] ?? report.killAtMs;
    // Each timeline is drawn from its own kill, so that the three line up at t = 0.
    for (const p of timeline) rows.push({ system, t: (p.t - killedAt) / 1000, outRate: p.outRate, p99: p.p99 });
  }
  const x = { field: 't', type: 'quantitative' as const, title: 'time since the kill (s)' };
  const color = { field: 'system', type: 'nominal' as const, title: null, scale: { domain: ['flink-fastest', 'flink-default', 'causalflow'], range: ['#d62728', '#ff7f0e', '#1f77b4'] } };
  const kill = { data: { values: [{ t: 0 }] }, mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#555' }, encoding: { x: { field: 't', type: 'quantitative' as const } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${report.result.query}: one failure at ${report.result.rate.toLocaleString('en-US')} events/s, Flink ${report.result.systems.flink.version} and causalflow`,
    vconcat: [
      {
        width: 640,
        height: 160,
        layer: [{ data: { values: rows }, mark: { type: 'line', strokeWidth: 1.2, interpolate: 'step-after' }, encoding: { x, y: { field: 'outRate', type: 'quantitative', title: 'records reaching the sink /s' }, color } }, kill],
      },
      {
        width: 640,
        height: 160,
        layer: [
          { data: { values: rows.filter((r) => r.p99 !== null && r.p99 > 0) }, mark: { type: 'line', strokeWidth: 1.2 }, encoding: { x, y: { field: 'p99', type: 'quantitative', title: 'p99 latency (ms, log)', scale: { type: 'log' } }, color } },
          kill,
        ],
      },
    ],
  };
}

/**
 * Each target's verdict for one query: the ratio and met/missed (null figures are misses). The throughput target
 * takes the median of the rounds' paired ratios where the report has rounds, with their range in `spread`.
 */
export function peerTargetVerdicts(report: PeersReport): { figure: string; ratio: number | null; spread: string | null; limit: string; met: boolean }[] {
  const { flink, causalflow } = report.result.systems;
  return PEER_TARGETS.filter((t) => t.queries.includes(report.result.query)).map((t) => {
    const rounds = t.field === 'maxEventsPerSecCheckpointing' ? report.maxRounds : undefined;
    const paired = rounds ? rounds.checkpointsRatio : undefined;
    const r = paired !== undefined ? (paired?.ratio ?? null) : ratio(causalflow[t.field], flink[t.field]);
    const spread = paired && rounds ? `median of ${rounds.rounds} rounds, ${paired.ratioMin}–${paired.ratioMax}` : null;
    const met = r !== null && (t.bound === 'max' ? r <= t.limit : r >= t.limit);
    return { figure: t.figure, ratio: r, spread, limit: `${t.bound === 'max' ? '≤' : '≥'} ${t.limit}`, met };
  });
}

/** The maximum-rate rounds, one line: each system's runs and the paired ratios; null for results with one run of each. */
function roundsLine(report: PeersReport): string | null {
  const rounds = report.maxRounds;
  if (!rounds) return null;
  const runs = (values: readonly (number | null)[]): string => values.map((v) => cell(v)).join(', ');
  const spread = (r: { ratio: number; ratioMin: number; ratioMax: number } | null): string => (r === null ? 'n/a (missed)' : `${r.ratio} (${r.ratioMin}–${r.ratioMax})`);
  return (
    `Maximum rates in ${rounds.rounds} rounds, Flink then causalflow in each (the table shows each system's median): with checkpoints, Flink ${runs(rounds.flink.checkpoints)}, ` +
    `causalflow ${runs(rounds.causalflow.checkpoints)}; without, Flink ${runs(rounds.flink.max)}, causalflow ${runs(rounds.causalflow.max)} events/s. ` +
    `causalflow ÷ Flink in the same round, median (lowest–highest): with checkpoints ${spread(rounds.checkpointsRatio)}, without ${spread(rounds.noCheckpointsRatio)}.`
  );
}

/** Where the paced runs' latency window lies, as the reports say (results before 2026-12-03: from 1 s). */
function pacedWindowText(reports: readonly PeersReport[]): string {
  const starts = [...new Set(reports.map((r) => r.pacedWarmupMs ?? 1000))];
  if (starts.length === 1 && starts[0] === 1000) return 'as long as the time before the kill, from its second second on';
  return `from ${starts.map((ms) => `${ms / 1000} s`).join(' or ')} after its start on, for as long as the time before the kill (the seconds before it, from 1 s on, are shown apart as "Start-up")`;
}

/** The paced runs' start-up seconds, left out of the table's latency figures; null for results without them. */
function startupLine(report: PeersReport): string | null {
  const startup = report.startupLatency;
  if (!startup || report.pacedWarmupMs === undefined) return null;
  const text = (s: StartupLatency | null): string => (s === null ? 'n/a' : `p50 ${cell(s.p50Ms)} ms, p99 ${cell(s.p99Ms)} ms, visibility p99 ${cell(s.visibleP99Ms)} ms`);
  return `Start-up, 1 s to ${report.pacedWarmupMs / 1000} s of the paced runs (not in the table): Flink ${text(startup.flink)}; causalflow ${text(startup.causalflow)}.`;
}

/** The section: method, per query the table, targets and chart, then what makes the comparison unfair. */
export function renderPeersSection(reports: readonly PeersReport[], resultsDir: string): string {
  const out: string[] = [
    '## Against Apache Flink, on this machine',
    '',
    'Written by `npx causalflow bench peers --query <q> --json` (`bench/peers/`); the raw figures and timelines are in ' +
      `\`${resultsDir}/\`. Flink ${reports[0]?.result.systems.flink.version ?? ''} runs in a local MiniCluster (one JVM, parallelism 2, aligned ` +
      'exactly-once checkpoints every second, network buffer timeout 10 ms) from the Maven project `bench/peers/flink/`, on events that a ' +
      'Java port of our generator makes byte for byte the same (checked by `test/bench/peers-generator.test.ts`); causalflow runs ' +
      '`exactly-once` in 2 worker processes. Both are paced at the same rate, half of the slower one\'s maximum with checkpoints, ' +
      'over the same events, and both lose a task at the same second: Flink\'s join subtask 0 (Q1: its map) throws, causalflow\'s ' +
      'worker holding that task is SIGKILLed. Flink restarts with a fixed delay of 0 (its fastest; these are the table\'s figures) ' +
      'and, in a second run, with its default strategy (exponential delay from 1 s).',
    '',
    'Definitions: latency is from the time a paced event was due until its output reached the sink, measured in a failure-free ' +
      `paced run of each system, ${pacedWindowText(reports)}. Visibility is from then until ` +
      'an exactly-once consumer can read the output: for Flink when the checkpoint after it completes (`notifyCheckpointComplete` of ' +
      'a two-phase-commit sink), for causalflow when the sink writes it. `recoveryMs`, output gap and peak latency come from each ' +
      'sink\'s 100 ms timeline through `lib/runtime/recovery-metrics.ts`; for Flink that timeline is records reaching the sink ' +
      '(before the commit), which favours Flink. Duplicates and lost: causalflow\'s against its oracle replay; Flink\'s committed ' +
      'output against the TypeScript query\'s output over the same events (worse of both restart runs).',
    '',
  ];
  for (const report of reports) {
    const { result } = report;
    const { flink, causalflow } = result.systems;
    out.push(`### ${result.query.toUpperCase()}`, '');
    out.push(
      `${result.rate.toLocaleString('en-US')} events/s; failure runs ${failureRunText(report)}, ` +
        `${report.seconds} s measured per maximum-rate run; run ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, ` +
        `load average ${report.loadAverage.map((l) => l.toFixed(1)).join(' → ')} on 2 cores.`,
      '',
    );
    out.push(`| Figure | Flink ${flink.version} | causalflow (exactly-once, ${causalflow.workers} workers) | causalflow ÷ Flink |`, '| --- | --- | --- | --- |');
    for (const [label, field] of ROWS) {
      const r = ratio(causalflow[field], flink[field]);
      out.push(`| ${label} | ${cell(flink[field])} | ${cell(causalflow[field])} | ${r === null ? '' : r} |`);
    }
    const roundsText = roundsLine(report);
    if (roundsText) out.push('', roundsText);
    const settled = settledLine(report);
    if (settled) out.push('', settled);
    const startup = startupLine(report);
    if (startup) out.push('', startup);
    const fallback = report.flinkRestarts?.default;
    if (fallback) {
      out.push(
        '',
        `Flink with its default restart strategy: \`recoveryMs\` ${cell(fallback.recoveryMs)}, output gap ${cell(fallback.outputGapMs)} ms, ` +
          `peak latency ${cell(fallback.peakLatencyMs)} ms, duplicates ${cell(fallback.duplicates)}, lost ${cell(fallback.lost)}. ` +
          `Flink's job start (submission to running sources): ${report.flinkStartupMs.map((ms) => `${cell(ms)} ms`).join(', ')}.`,
      );
    }
    out.push('', '| Target against the peer | Ratio | Target | |', '| --- | --- | --- | --- |');
    for (const v of peerTargetVerdicts(report)) {
      const shown = v.ratio === null ? 'n/a (a figure missing)' : v.spread ? `${v.ratio} (${v.spread})` : String(v.ratio);
      out.push(`| ${v.figure} | ${shown} | ${v.limit} | ${v.met ? 'met' : '**missed**'} |`);
    }
    out.push('', `![${result.query}: sink output and p99 latency around the kill](benchmarks/peers-${result.query}.svg)`, '');
  }
  out.push(
    '### What makes the comparison unfair',
    '',
    'Against Flink:',
    '',
    '- **Its JIT warms up in each JVM.** The maximum-rate runs share one JVM and the failure runs another; the first second of ' +
      'each is left out, but the first run in a JVM still pays for interpreted code and class loading in its first seconds (its ' +
      'p99 before the kill is measured from 1 s on). A Flink cluster that runs for days is warmer.',
    '- **Its paced run follows a warm-up job in the same JVM; causalflow\'s does not.** Each causalflow job starts new worker ' +
      'processes whose code is cold, and in its first seconds at half load it falls behind and then works the backlog off ' +
      '(up to 8 s for Q3 on 2026-12-03). Since then both paced runs measure their p99 and visibility from 5 s on, and show ' +
      'the seconds from 1 s to 5 s apart ("Start-up"), so that the table compares steady states and the start-up is not hidden.',
    '- **A MiniCluster is not a cluster.** Its task manager and job manager share one JVM, one heap and one garbage collector, and ' +
      'its channels between tasks still go through Flink\'s network stack (serialisation, network buffers, credit) although ' +
      'nothing leaves the process. On a real cluster the same stack crosses machines; here it is pure overhead on two cores.',
    '- **Restart is a full restart of the job here.** Q3 and Q8 shuffle by key, so a failed task takes its whole pipelined ' +
      'region, which is the job; Flink\'s region failover only helps Q1, which is embarrassingly parallel. Its default ' +
      'restart strategy waits at least a second before it even starts.',
    '- **Visibility waits for the checkpoint**, by design of a two-phase-commit sink: a record is visible only after the next ' +
      'checkpoint completes, so with a 1 s interval it waits 0.5 s on average plus the checkpoint itself. A shorter interval would ' +
      'lower it and cost throughput.',
    '',
    'Against causalflow:',
    '',
    '- **The generator\'s cost differs.** Both generate the same events, but the JVM\'s JIT-compiled generator is cheaper than ' +
      'V8\'s, and in both systems it runs inside the source task, so the maximum rate partly measures the generator.',
    '- **causalflow\'s kill is harsher.** It SIGKILLs a worker process (the task, its standbys and everything else the process ' +
      'held), while Flink\'s failure is an exception inside a healthy JVM that Flink notices at once.',
    '- **Flink is tuned a little**, as the Flink Nexmark suite runs it: object reuse between chained operators (without it, ' +
      'Flink copies every event through its serialiser for each of the two filters that read the source, and Q3 ran at a ' +
      'quarter of the rate), a 10 ms network buffer timeout instead of 100 ms, and a 100 ms watermark interval. Its recovery ' +
      'figures come from records reaching the sink, not from committed ones, which would look worse.',
    '- **Flink\'s sink measures every record** in the paced and failure runs (its latency, and in the failure runs a hash of ' +
      'its line, under a lock shared by both sink subtasks), which costs it most in Q1, one output per bid; in the maximum-rate ' +
      'runs it only counts, as causalflow\'s discard sink does. Since 2026-12-02 causalflow\'s failure runs compute the same ' +
      'hash, in the record\'s task, and collect only that; before, every record went to the coordinator and was held there.',
    '- **Flink\'s events are one flat POJO** holding the fields of all three kinds, which its POJO serialiser writes (null ' +
      'flags included) on every shuffle of Q3 and Q8; causalflow ships only the fields of the event\'s kind.',
    '- **Both share two cores** with whatever else the machine runs (the load average at the start and end of each invocation ' +
      'is in its results file); the two systems run one after the other, not paired and interleaved, so a change of load ' +
      'between them moves the ratios.',
    '- **In Q3 the kill also silences the half of the job that survives.** Source partition p holds events p, p + 2, …, and ' +
      'every 50th event is a person, so with parallelism 2 every person comes from partition 0, which the killed worker held ' +
      'beside `q3-join[0]`. The join emits an auction only once its seller is known, and sellers are people registered ' +
      'moments before, so `q3-join[1]` on the surviving worker emits nothing until the replacement of partition 0 has ' +
      'regenerated the events from its checkpoint to the kill and goes live: causalflow\'s output gap in Q3 is that ' +
      'regeneration (about 0.7 s of the 1 s gap in one traced run at 1.2 million events/s, 2026-12-02), not the takeover. A ' +
      'kill of the other worker would leave the people flowing. Flink\'s port splits its events the same way, and restarts ' +
      'the whole job anyway.',
    '- **Fast failure runs are shortened.** causalflow\'s oracle check holds every output record of the run and of its replay ' +
      'in memory (in Q1, a hash of each, `bench/record-hash.ts`), so a failure run has at most 40 million events, and Q1, which ' +
      'outputs one record per bid, one per 250 bytes of Node\'s heap limit (25 million at most); the kill and the time after it shrink in ' +
      'proportion, down to 2 s and 3 s, and then the rate of the failure runs is lowered to fit, for both systems alike (the ' +
      'kill time, event count and rate are above each table). A short run before the kill leaves less time for the JIT of ' +
      'either system.',
  );
  return out.join('\n');
}
