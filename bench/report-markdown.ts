/**
 * `docs/benchmarks.md` from a report's data: every figure in it comes from the data, and every target is
 * checked against it, met or missed, with the figure.
 */
import { OVERHEAD_MODES } from './overhead.js';
import type { ReportData } from './report.js';
import { STARTUP_MS, type RecoveryBenchResult, type RecoveryModeFigures } from './recovery.js';
import { sweepRecoveryMs, type RecoverySweepPoint, type SweepModeFigures } from './sweeps.js';
import { checkWorkerTargets, renderWorkersSection, type WorkerReportData } from './report-workers.js';
import { checkOverheadTargets, renderOverheadSection, type OverheadReportData } from './report-overhead.js';

const fmt = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const ms = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : `${fmt(v, v < 10 ? 1 : 0)} ms`);
/** A recovery time: null is a recovery that never settled, a miss (`../shared/contracts.md`), not a blank. */
const recovered = (v: number | null | undefined): string => (v === null || v === undefined ? 'never settled (**missed**)' : ms(v));
/** A latency figure: null (no output reached the sink) is a miss. */
const latency = (v: number | null | undefined): string => (v === null || v === undefined ? 'not measured (**missed**)' : ms(v));
/** Duplicates or losses: null is a check that could not run, a violation. */
const counted = (v: number | null | undefined): string => (v === null || v === undefined ? '**violation** (not checked)' : fmt(v));
const known = (v: number | null | undefined): v is number => v !== null && v !== undefined && !Number.isNaN(v);

/** A target and whether the report's figures meet it: a figure that could not be measured misses it. */
interface TargetCheck {
  figure: string;
  target: string;
  measured: string;
  met: boolean;
}

function checkTargets(data: ReportData): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const o of data.overhead) {
    const eo = o.ratios['exactly-once'];
    const full = o.ratios['exactly-once-full'];
    const q = o.query.toUpperCase();
    checks.push({ figure: `${q} failure-free throughput, exactly-once (dsd 1) ÷ none`, target: '≥ 0.95', measured: ratioText(o, 'exactly-once'), met: known(eo) && eo >= 0.95 });
    checks.push({ figure: `${q} failure-free throughput, exactly-once-full ÷ none`, target: '≥ 0.90', measured: ratioText(o, 'exactly-once-full'), met: known(full) && full >= 0.9 });
    const p99 = o.modes['exactly-once']?.p99Ms ?? null;
    checks.push({ figure: `${q} p99 latency, exactly-once, at half of the maximum rate`, target: '≤ 20 ms', measured: known(p99) ? ms(p99) : 'not measured', met: known(p99) && p99 <= 20 });
  }
  for (const r of data.recovery) {
    const eo = r.modes['exactly-once'];
    const gr = r.modes['global-rollback'];
    const label = `${r.query.toUpperCase()} ${r.failures}`;
    if (eo && gr) {
      const ratio = eo.recoveryMs !== null && gr.recoveryMs !== null && gr.recoveryMs > 0 ? eo.recoveryMs / gr.recoveryMs : null;
      const both = `${eo.recoveryMs === null ? 'never settled' : ms(eo.recoveryMs)} / ${gr.recoveryMs === null ? 'never settled' : ms(gr.recoveryMs)}`;
      checks.push({
        figure: `${label}: exactly-once recoveryMs ÷ global-rollback`,
        target: '≤ 0.2',
        measured: ratio === null ? both : `${fmt(ratio, 3)} (${both})`,
        met: ratio !== null && ratio <= 0.2,
      });
    }
    if (eo) {
      checks.push({
        figure: `${label}: exactly-once output gap`,
        target: '≤ 100 ms',
        measured: `${known(eo.outputGapMs) ? ms(eo.outputGapMs) : 'not measured'} (longest gap before the kill: ${ms(eo.baselineGapMs)})`,
        met: known(eo.outputGapMs) && eo.outputGapMs <= 100,
      });
      if (r.failures === 'single') {
        checks.push({ figure: `${label}: exactly-once recoveryMs`, target: '≤ 1000 ms', measured: eo.recoveryMs === null ? 'never settled' : ms(eo.recoveryMs), met: known(eo.recoveryMs) && eo.recoveryMs <= 1000 });
      }
    }
    for (const [mode, f] of [
      ['exactly-once', eo],
      ['global-rollback', gr],
    ] as const) {
      if (!f) continue;
      // No oracle (null) is a violation, as is an oracle whose output differs.
      const ok = f.duplicates === 0 && f.lost === 0 && f.oracleIdentical !== false;
      const measured = f.duplicates === null || f.lost === null ? 'not checked: the oracle could not replay (a violation)' : `${fmt(f.duplicates)} / ${fmt(f.lost)}`;
      checks.push({ figure: `${label}: ${mode} duplicates / lost`, target: '0 / 0', measured, met: ok });
    }
    const alo = r.modes['at-least-once'];
    // Results before 2026-12-03 have no reference named: their at-least-once figures came from the oracle.
    if (alo && alo.checkedAgainst !== undefined) {
      const measured = alo.lost === null ? 'not checked: no failure-free run stands for this job (a violation)' : `${fmt(alo.lost)} (against a failure-free run; ${fmt(alo.duplicates)} duplicates, allowed)`;
      checks.push({ figure: `${label}: at-least-once lost`, target: '0 (I35)', measured, met: alo.lost === 0 });
    }
  }
  return checks;
}

/** The mode's paired ratio to `none` with its spread over rounds (results before the spread was kept: the median alone). */
function ratioText(o: ReportData['overhead'][number], mode: keyof typeof o.ratios): string {
  const f = o.modes[mode];
  const ratio = o.ratios[mode];
  if (!known(ratio)) return 'not measured';
  return f && known(f.ratioMin) && known(f.ratioMax) ? `${fmt(ratio, 3)} (rounds ${fmt(f.ratioMin, 3)} – ${fmt(f.ratioMax, 3)})` : fmt(ratio, 3);
}

function recoveryTable(r: RecoveryBenchResult): string {
  const rows = ['| Mode | recoveryMs | band | outputGapMs | peakLatencyMs | takeover | duplicates | lost | oracle |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const [mode, f] of Object.entries(r.modes) as [string, RecoveryModeFigures][]) {
    rows.push(
      `| \`${mode}\` | ${recovered(f.recoveryMs)} | ${ms(f.bandMs)} | ${ms(f.outputGapMs)} | ${ms(f.peakLatencyMs)} | ${takeovers(f).map((t) => ms(t)).join(', ') || 'n/a'} | ${counted(f.duplicates)} | ${counted(f.lost)} | ${
        // at-least-once promises no exactly-once output: differing from the oracle is what it allows, not a violation.
        f.oracleIdentical === null ? 'not checked' : f.oracleIdentical ? 'identical' : mode === 'at-least-once' ? 'differs (allowed)' : '**differs** (violation)'
      }${f.escalations > 0 ? ` (${f.escalations} escalation)` : ''} |`,
    );
  }
  return rows.join('\n');
}

/** Per kill, kill to takeover; results written before `takeoverMs` became one figure kept a list of them (failure to takeover). */
function takeovers(f: RecoveryModeFigures): (number | null)[] {
  const old = f.takeoverMs as unknown;
  return f.perKill.map((k, i) => k.takeoverMs ?? (Array.isArray(old) ? ((old[i] as number | undefined) ?? null) : null));
}

function sweepTable(points: RecoverySweepPoint[], xLabel: string, x: (v: number) => string): string {
  const rows = [
    `| ${xLabel} | global-rollback recoveryMs | exactly-once recoveryMs | global-rollback output gap | exactly-once output gap | exactly-once takeover |`,
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const p of points) {
    const gr = p.modes['global-rollback'];
    const eo = p.modes['exactly-once'];
    rows.push(
      `| ${x(p.x)} | ${sweepCell(gr)} | ${sweepCell(eo)} | ${ms(gr?.outputGapMs)} | ${ms(eo?.outputGapMs)} | ${ms(eo?.takeoverMs)} |`,
    );
  }
  return rows.join('\n');
}

/** For results whose first kill came less than 6 s in: how much of the 5 s band window the start-up left. */
function bandWindowNote(r: RecoveryBenchResult): string {
  const first = Math.min(...r.killAtMs);
  const window = Math.min(5000, first - STARTUP_MS);
  return window < 5000 ? ` (the kill at ${fmt(first / 1000, 1)} s leaves ${fmt(window / 1000, 1)} s after the first second for the band, not 5)` : '';
}

/** A sweep's recovery figure; † marks points taken before the band rule, which show their `settledMs` (see the note under the tables). */
function sweepCell(f: SweepModeFigures | undefined): string {
  if (!f) return 'n/a';
  return `${recovered(sweepRecoveryMs(f))}${f.bandMs === undefined ? ' †' : ''}`;
}

/** Where the time of one exactly-once recovery went, from its events. */
function timeSplit(r: RecoveryBenchResult): string {
  const f = r.modes['exactly-once'];
  if (!f) return '';
  const failed = f.marks.find((m) => m.type === 'task-failed');
  const activated = f.marks.find((m) => m.type === 'standby-activated');
  const live = f.marks.find((m) => m.type === 'live');
  if (!failed || !activated || !live) return '';
  return (
    `failure to standby activated ${ms(activated.t - failed.t)} (detection, pausing checkpoints, collecting the log), ` +
    `activated to live ${ms(live.t - activated.t)} (replaying the epoch), then catch-up until latency settles`
  );
}

/** Renders the report. */
export function renderReport(
  data: ReportData,
  charts: Record<string, string>,
  extra: { stateSweepRate: number; resultsDir: string; workers?: WorkerReportData | null; overhead?: OverheadReportData | null },
): string {
  const m = data.machine;
  const sweepsBeforeBand = [...data.checkpointInterval, ...data.stateSize, ...data.rate].some((p) => Object.values(p.modes).some((f) => f && f.bandMs === undefined));
  const recomputed = data.recovery.some((r) => r.recomputedFromTimeline);
  const out: string[] = [];
  const checks = checkTargets(data);
  out.push(
    '# Benchmarks',
    '',
    `Generated by \`npx causalflow bench report${data.quick ? ' --quick' : ''}\` on ${data.date} in ${data.seconds} s. Raw figures and timelines: ` +
      `\`${extra.resultsDir}/\`. ${data.quick ? '**A quick run**: fewer rounds and points; the full report (`npx causalflow bench report`) takes about 30 minutes.' : ''}`,
    '',
    `**Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}. A shared and noisy virtual machine: compare modes by the ratios one run reports (paired, interleaved runs), not absolute figures across runs. Everything runs embedded, in one process, parallelism 2 (two source tasks and two of every operator, so records cross channels)${extra.workers ? '; the section [Worker processes](#worker-processes) runs the jobs in worker processes' : ''}.`,
    '',
    '## Targets',
    '',
    '| Figure | Target | Measured | |',
    '| --- | --- | --- | --- |',
    ...checks.map((c) => `| ${c.figure} | ${c.target} | ${c.measured} | ${c.met ? 'met' : '**missed**'} |`),
    '',
  );

  out.push(
    '## Failure-free overhead',
    '',
    '`npx causalflow bench overhead --query <q>`: rounds of paired throughput runs (every mode once per round, the source as fast as the job takes it), each measuring at least ten checkpoint intervals after a warm-up of two; then one latency run per mode with the source paced at half of `none`\'s maximum, each in a process of its own whose peak resident memory is the mode\'s `peakRssMB`. `ratio` is the median over rounds of (mode ÷ `none` in the same round), with the lowest and highest round beside it. A `--seconds` that gives rounds of fewer than ten checkpoint intervals is refused. The JSON\'s top-level `peakRssMB` is the largest of the modes\' (it was the whole invocation\'s peak, which the modes run before share); `invocationPeakRssMB` is the benchmark process\'s own.',
    '',
    `![Overhead per query and mode](${charts['overhead.svg']})`,
    '',
    '| Query | Mode | events/s | ratio (rounds min – max) | p50 | p99 | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const o of data.overhead) {
    for (const mode of OVERHEAD_MODES) {
      const f = o.modes[mode.name];
      if (!f) continue;
      const rss = f.peakRssMB === undefined ? 'n/a' : `${fmt(f.peakRssMB)} MB`;
      out.push(`| ${o.query.toUpperCase()} | \`${mode.name}\` | ${fmt(f.eventsPerSec)} | ${mode.name === 'none' ? '1' : ratioText(o, mode.name)} | ${latency(f.p50Ms)} | ${latency(f.p99Ms)} | ${rss} |`);
    }
  }
  const windows = data.overhead.map((o) => (o.roundMs === undefined ? null : `${o.query.toUpperCase()}: ${o.rounds} rounds of ${fmt(o.roundMs / 1000, 1)} s`));
  out.push(
    '',
    windows.every((w) => w !== null)
      ? `Rounds: ${windows.join('; ')}, checkpoints every ${fmt(data.overhead[0]?.checkpointIntervalMs)} ms.`
      : '**These overhead results were taken before the rounds sampled ten checkpoint intervals** (rounds of one interval, and a peak RSS of the whole invocation, not per mode): their ratios say where checkpoints fell as much as what the modes cost. `npx causalflow bench report` takes them again.',
  );
  out.push(
    '',
    'Latency in `global-rollback` is bounded below by the checkpoint interval: its sinks show output only when the checkpoint closing its epoch completes. The local modes show output at once.',
    '',
  );

  out.push(
    '## Recovery',
    '',
    '`npx causalflow bench recovery --query <q> --failures <pattern>`: the query runs at half of its maximum rate, with checkpoints every second; after a warm-up of several checkpoints the task(s) are killed, and the run goes on to show the recovery. Each mode runs the same schedule, and each run is checked by the verifier: its sink output is compared, record by record, with an oracle replay of its final determinant traces (`duplicates`, `lost`, `oracle`). `at-least-once` records no determinants to replay (I35), so it is compared with a failure-free run of the same events instead (`checkedAgainst`): lost records count against it, duplicates are what it allows, and a query whose output depends on the wall clock (Q12) cannot be checked that way, a violation. `recoveryMs` runs from the kill until the median latency of every 100 ms slot is back within the band the job showed in the 5 s before the kill (up to the 95th percentile of those slots\' medians, plus 10%: `band` is its upper edge) and stays there for a second, with at least half the output of an average second of that window; a recovery that never settles before the run ends is missed. The band holds what the job did before the failure, checkpoint blips included, so those blips neither delay nor fake a recovery. `outputGapMs` is the longest interval without sink output after the kill; `takeover` runs from the kill until every replacement is live (local) or the rollback restarted every task (global).',
    '',
  );
  for (const r of data.recovery) {
    out.push(
      `### ${r.query.toUpperCase()}, ${r.failures} failure`,
      '',
      `${r.killed.join(', ')} killed at ${r.killAtMs.map((t) => `${t / 1000} s`).join(', ')}; ${fmt(r.rate)} events/s; exactly-once with dsd ${r.dsd}.` +
        (r.recomputedFromTimeline ? ` Taken before the band rule: \`recoveryMs\` and \`band\` recomputed from the stored timeline${bandWindowNote(r)}.` : ''),
      '',
      recoveryTable(r),
      '',
      `![${r.query} ${r.failures}](${charts[`recovery-${r.query}-${r.failures}.svg`]})`,
      '',
    );
    const split = timeSplit(r);
    if (split) out.push(`Exactly-once: ${split}.`, '');
  }

  out.push(...renderWorkersSection(extra.workers ?? null));
  out.push(...renderOverheadSection(extra.overhead ?? null));

  out.push(
    '## Sweeps',
    '',
    `### Overhead against sharing depth`,
    '',
    `Bids through five keyed stages (key alternating between auction and bidder), throughput relative to \`none\`, paired rounds.`,
    '',
    `![Sharing depth](${charts['sweep-dsd.svg']})`,
    '',
    '| Configuration | events/s | ratio (rounds min – max) |',
    '| --- | --- | --- |',
    ...data.dsd.map((p) => `| ${p.config} | ${fmt(p.eventsPerSec)} | ${fmt(p.ratio, 3)}${known(p.ratioMin) && known(p.ratioMax) ? ` (${fmt(p.ratioMin, 3)} – ${fmt(p.ratioMax, 3)})` : ''} |`),
    '',
    '### Recovery against checkpoint interval',
    '',
    'Q3 at half of its maximum rate, one kill. The charts and tables give `recoveryMs`' +
      (sweepsBeforeBand
        ? '; † marks points taken before the band rule, for which no timeline was kept to recompute it: they show the then `settledMs` (back up to the 95th percentile of the 3 s before the kill, without the 10%), the figure nearest to it.'
        : '.'),
    '',
    `![Checkpoint interval](${charts['sweep-checkpoint-interval.svg']})`,
    '',
    sweepTable(data.checkpointInterval, 'interval', (x) => `${x} ms`),
    '',
    '### Recovery against keyed-state size',
    '',
    `Bids keyed over 1,024 keys per task, each key holding a ballast value (state size ÷ 1,024 bytes) and a counter; ${fmt(extra.stateSweepRate)} events/s. A standby already holds the state; a global rollback reads every task's back from the checkpoint store.`,
    '',
    `![State size](${charts['sweep-state-size.svg']})`,
    '',
    sweepTable(data.stateSize, 'state per task', (x) => `${x} MB`),
    '',
    '### Recovery against input rate',
    '',
    'Q3, one kill, rate as a fraction of the maximum measured in `none`.',
    '',
    `![Input rate](${charts['sweep-rate.svg']})`,
    '',
    sweepTable(data.rate, 'rate', (x) => `${Math.round(x * 100)}%`),
    '',
    '### Determinant bytes per input event',
    '',
    'Every task\'s own log under `exactly-once` (dsd 1), all epochs kept, divided by the events the sources read. Replicas held downstream add a copy per hop of sharing depth.',
    '',
    '| Query | Events | Bytes per event |',
    '| --- | --- | --- |',
    ...data.determinantBytes.map((p) => `| ${p.query.toUpperCase()} | ${fmt(p.events)} | ${fmt(p.bytesPerEvent, 4)} |`),
    '',
  );

  const d = data.determinants;
  out.push(
    '## Determinant log',
    '',
    '`npx causalflow bench determinants` (public `causalflow/determinants` API only).',
    '',
    '| Figure | Target | Measured |',
    '| --- | --- | --- |',
    `| appends/s (mixed workload) | ≥ 30,000,000 | ${fmt(d.appendsPerSec)} |`,
    `| order bytes/record, batched runs of 256 | ≤ 0.02 | ${fmt(d.orderBytesPerRecordBatched, 4)} |`,
    `| order bytes/record, interleaved | ≤ 1.0 | ${fmt(d.orderBytesPerRecordInterleaved, 3)} |`,
    `| ship MB/s (extract + ingest) | ≥ 1,000 | ${fmt(d.shipMBps)} |`,
    `| ship ns per envelope (extract + ingest) at the sizes the runtime ships | | ${
      d.shipNsPerEnvelopeBySize ? d.shipNsPerEnvelopeBySize.map((e) => `${fmt(e.nsPerEnvelope)} ns at ${fmt(e.envelopeBytes, 1)} bytes`).join(', ') : 'not in these results (taken before it was measured)'
    } |`,
    '',
    '`shipMBps` ships kilobyte deltas; the runtime ships envelopes of 20 to 32 bytes (Q1, Q3 and Q8 under `exactly-once`, `bench/envelope-sizes.ts`), where the cost per envelope, not the byte rate, is what a batch pays.',
    '',
  );

  const q3 = data.recovery.find((r) => r.query === 'q3' && r.failures === 'single');
  const q8 = data.recovery.find((r) => r.query === 'q8' && r.failures === 'single');
  const multiple = data.recovery.find((r) => r.failures === 'multiple');
  const concurrent = data.recovery.find((r) => r.failures === 'concurrent');
  const eoRatios = data.overhead.map((o) => o.ratios['exactly-once']).filter((v): v is number => v !== null);
  const fullRatios = data.overhead.map((o) => o.ratios['exactly-once-full']).filter((v): v is number => v !== null);
  const avg = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
  const rec = (r: RecoveryBenchResult | undefined, mode: 'exactly-once' | 'global-rollback') => ms(r?.modes[mode]?.recoveryMs);
  out.push(
    '## Against Clonos',
    '',
    'Clonos\'s figures are from its paper (SIGMOD 2021: Flink 1.7, 150 two-core task managers, checkpoints every 5 s, recovery measured until latency is back within 10% of normal; ours until it is back within the band of the 5 s before the kill). Ours are from this machine: one process, two cores, checkpoints every second, much smaller state. The hardware and scale differ by orders of magnitude; the comparison shows the shape, not a contest.',
    '',
    '| Figure | Clonos | Flink (in the Clonos paper) | causalflow exactly-once | causalflow global-rollback |',
    '| --- | --- | --- | --- | --- |',
    `| Q3 single failure, recovery | about 10 s | 87 – 96 s | ${rec(q3, 'exactly-once')} | ${rec(q3, 'global-rollback')} |`,
    `| Q8 single failure, recovery | 3 – 4 s | 69 – 72 s | ${rec(q8, 'exactly-once')} | ${rec(q8, 'global-rollback')} |`,
    `| Three failures, staggered | 30 s | 108 s | ${rec(multiple, 'exactly-once')} | ${rec(multiple, 'global-rollback')} |`,
    `| Three failures, at once | 37 s | 138 s | ${rec(concurrent, 'exactly-once')} | ${rec(concurrent, 'global-rollback')} |`,
    `| Output stopped after a failure | never | 16 – 25 s | ${ms(q3?.modes['exactly-once']?.outputGapMs)} longest gap (Q3) | ${ms(q3?.modes['global-rollback']?.outputGapMs)} (Q3) |`,
    `| Failure-free throughput vs no fault tolerance, dsd 1 | 0.94 on average | 1 | ${fmt(avg(eoRatios), 3)} on average, ${fmt(eoRatios.length ? Math.min(...eoRatios) : null, 3)} at worst | ${fmt(avg(data.overhead.map((o) => o.ratios['global-rollback']).filter((v): v is number => v !== null)), 3)} on average |`,
    `| Same, full sharing | 0.93 on average, 0.74 at worst | 1 | ${fmt(avg(fullRatios), 3)} on average, ${fmt(fullRatios.length ? Math.min(...fullRatios) : null, 3)} at worst | |`,
    `| Exactly-once output visible | after the checkpoint (transactional sinks) | after the checkpoint | at once (deduplicating sinks) | after the checkpoint |`,
    '',
  );

  const missed = checks.filter((c) => !c.met);
  out.push('## Where we are behind', '');
  if (missed.length === 0) out.push('Every target above was met in this run.', '');
  else {
    out.push('These targets were missed in this run:', '', ...missed.map((c) => `- ${c.figure}: ${c.measured} against ${c.target}.`), '');
  }
  const missedWorkers = extra.workers ? checkWorkerTargets(extra.workers).filter((c) => c.met === false) : [];
  if (missedWorkers.length > 0) {
    out.push('With worker processes these were missed:', '', ...missedWorkers.map((c) => `- ${c.figure}: ${c.measured} against ${c.target}.`), '');
  }
  const missedOverhead = extra.overhead ? checkOverheadTargets(extra.overhead).filter((c) => c.met === false) : [];
  if (missedOverhead.length > 0) {
    out.push('Of the failure-free overhead targets, these were missed:', '', ...missedOverhead.map((c) => `- ${c.figure}: ${c.measured} against ${c.target}.`), '');
  }
  out.push(
    'Why, from timelines and CPU profiles (`node --cpu-prof`) of these runs:',
    '',
    '- **Failure-free throughput.** Everything runs on one event-loop thread. Against `none`, the local modes add checkpoint work on that thread (msgpackr encoding of incremental snapshots, which `global-rollback` pays too; decoding and applying them into the standby), in-flight logs (references kept for an epoch, and the garbage collection of a larger old generation), and for `exactly-once` the envelopes (one xxhash64 per batch at each end). The Nexmark generator takes about half of the CPU in every mode. Ratios move by ±0.1 between invocations on this host.',
    '- **p99 at half of the maximum.** Half of `none`\'s maximum is 55–60% of what `exactly-once` sustains here. Each checkpoint stalls the thread for some tens of milliseconds (snapshot, standby, collection), and the backlog it leaves takes a few 100 ms slots to drain: a latency blip every second, failure or not. At a quarter of the maximum the blips are 2–7 ms.',
    '- **recoveryMs.** It used to need every 100 ms slot of a whole second within 10% (or 1 ms) of a median of about 3 ms, which the checkpoint blips above broke in most seconds, before the kill as after. The revised contract measures it against the band the job showed in the 5 s before the kill (its slots\' p95 plus 10%), so the blips count as normal; a recovery that still never settles is a miss, as the targets show.' +
      (recomputed ? ' Results taken before that had their `recoveryMs` recomputed from their stored timelines.' : ''),
    '- **Q8.** Its output comes in bursts when 10 s event-time windows close (every ~0.56 s of wall time at this rate), with a p50 that differs from burst to burst. The longest output gap before the kill is about as long as after it: a failure adds no gap there, and latency-based figures follow the bursts, not the failure.',
    '- **Concurrent failures of both source tasks** stop all input until the sources replay their polls from the checkpoint (about half a second at this rate), so the output gap is that long.',
    '',
    'What the figures do not show, or show in our favour only because of scale:',
    '',
    '- The embedded runs are one process on two cores: a "failure" kills a task, not a machine, and detection is immediate. With worker processes a kill is a SIGKILL of a process on this host and detection is measured; on a cluster of machines, failure detection over a network and standby placement add time that neither has.',
    '- The state in the Nexmark queries is small (megabytes). Global rollback here restores from a local lmdb file in milliseconds; on a cluster it reads from remote storage. The state-size sweep shows the trend, up to 100 MB per task.',
    '- Throughput ratios move by several percent between invocations on this host; the source (the Nexmark generator) takes about half of the CPU in every mode, which dilutes the overhead of recovery machinery.',
    '- Recovery time is defined on the median latency of each 100 ms slot, as the contract says. With local recovery, the partitions that did not fail keep their latency, which holds the median down; the p99 curves in the charts show the failed partition\'s backlog.',
    '',
  );
  return `${out.join('\n')}\n`;
}
