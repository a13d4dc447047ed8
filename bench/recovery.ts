/**
 * `causalflow bench recovery`: what a failure costs, seen from the sink. One query runs at a fixed input
 * rate (half of its measured maximum unless `--rate`), tasks are killed after a warm-up of several
 * checkpoints, and the run goes on long enough to see the job recover. The same run is made for each
 * recovery mode; every run is then checked by the exactly-once verifier (an oracle replay of its final
 * determinant traces), which gives `duplicates` and `lost`.
 *
 * `at-least-once` is checked against a failure-free run of the same events instead: its replacements
 * record no determinants (I35), so a live consumer fed by a regenerated channel took in elements no replay
 * of the traces produces, and the oracle gives up on it. A failure-free run stands for its output only when
 * the query's output depends on its input alone (`deterministic`); otherwise the check cannot run, a
 * violation.
 *
 * Failure patterns (`--failures`):
 * - `single`: one task of the deepest stateful operator;
 * - `multiple`: three connected tasks, `killSpacingMs` apart;
 * - `concurrent`: the same three tasks at once, with a sharing depth that covers them.
 *
 * With `workers` > 0 the job runs in that many worker processes (`buildBenchJob`, its `CollectSink`
 * partitions in this process, the coordinator), and a kill is a SIGKILL of the worker process holding the
 * task, with every other task and standby it held.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Job, RecoveryMode } from '../lib/index.js';
import type { CollectSink } from '../lib/connectors/collect.js';
import type { PhysicalPlan } from '../lib/runtime/plan.js';
import { recoveryFiguresPerKill } from '../lib/runtime/recovery-metrics.js';
import type { TimelineSlot } from '../lib/runtime/metrics.js';
import { compareOutputs, outputOf, type Comparison } from '../lib/verify/compare.js';
import { measureRun, round } from './harness.js';
import { QUERIES, type QueryId } from './nexmark/queries.js';
import { buildBenchJob } from './worker-job.js';
import { compareHashOutputs } from './hash-comparison.js';
import { MARK_TYPES, killsOf, worstOf } from './recovery-events.js';

export { failureTimes } from './recovery-events.js';

/** The start of a run left out of the latency band (ms): sources and JIT warming up. */
export const STARTUP_MS = 1000;

/** Failure patterns. */
export const FAILURE_PATTERNS = ['single', 'multiple', 'concurrent'] as const;
/** A failure pattern. */
export type FailurePattern = (typeof FAILURE_PATTERNS)[number];
/** Modes a recovery benchmark compares. */
export const RECOVERY_BENCH_MODES: readonly RecoveryMode[] = ['global-rollback', 'at-least-once', 'exactly-once'];

/** Builds the benchmarked job into a collecting sink (called once per run, and again for its oracle). */
export type BenchJobBuilder = (options: {
  directory: string;
  mode: RecoveryMode;
  dsd: number;
  checkpointIntervalMs: number;
  rate: number;
  maxEvents: number;
  /** Keep every determinant (for the verifier's oracle). */
  retain: boolean;
  /** Worker processes (0: embedded; the oracle always runs embedded). */
  workers: number;
}) => {
  job: Job;
  sink: CollectSink<unknown>;
};

/** Options of {@link runRecoveryBench}. */
export interface RecoveryBenchOptions {
  /** Query (names the result; `build` overrides the job). */
  query: QueryId;
  failures: FailurePattern;
  /** Events/s; default half of the maximum measured first. */
  rate?: number;
  parallelism: number;
  checkpointIntervalMs: number;
  /** Modes to compare (default {@link RECOVERY_BENCH_MODES}). */
  modes?: readonly RecoveryMode[];
  /** Sharing depth of `exactly-once` (default 1; `concurrent` raises it to cover the failed tasks). */
  dsd?: number;
  /** Run time before the first kill (default 6000: the 1 s start-up, then the 5 s the band is taken over). */
  warmupMs?: number;
  /** Run time after the last kill (default 6000). */
  afterMs?: number;
  /** Between kills of `multiple` (default 5000). */
  killSpacingMs?: number;
  /** The job, when not the plain query (sweeps). */
  build?: BenchJobBuilder;
  /** Check each run against an oracle replay (default true); without, `duplicates` and `lost` are null. */
  verify?: boolean;
  /**
   * Whether the job's output depends only on its input, so that a failure-free run of the same events is the
   * reference `at-least-once` is checked against (default: the query's `deterministic`; false with `build`).
   */
  deterministic?: boolean;
  /** Worker processes (default 0: embedded); a kill SIGKILLs the process holding the task. Not with `build`. */
  workers?: number;
  /** With workers: the killed worker's tasks move back to its new process (`workers.rebalance`; default false). */
  rebalance?: boolean;
  /**
   * The sink collects each record's hash (`bench/record-hash.ts`), computed in the record's task, instead of
   * the record (default false; not with `build`): duplicates and lost count hashes, which stand for records as
   * their JSON does, compared as sorted copies (`bench/hash-comparison.ts`).
   */
  recordHashes?: boolean;
  /** Called with a message before each step. */
  onProgress?: (message: string) => void;
}

/** One 100 ms slot of a run's timeline. */
export interface TimelinePoint {
  /** Slot start, ms since the job started. */
  t: number;
  /** Source input rate in the slot (events/s; re-reads after a rollback count). */
  inRate: number;
  /** Sink output rate in the slot (records/s). */
  outRate: number;
  /** Latency of the records that reached the sink in the slot (ms). */
  p50: number | null;
  p99: number | null;
}

/** A kill or recovery event, for marking timelines. */
export interface TimelineMark {
  t: number;
  type: string;
  task?: string;
}

/** Figures of one mode, as the contract names them, plus what explains them. */
export interface RecoveryModeFigures {
  /**
   * From the (first) kill until every slot's median latency is back within the band of the 5 s before the
   * kill (their p95 plus 10%) and stays there 1 s (`recoveryFigures`); with several kills, the longest;
   * null when it never settled, a miss.
   */
  recoveryMs: number | null;
  /** Deprecated: equal to `recoveryMs` (the wider band it stood for became the rule); kept for readers of old results. */
  settledMs: number | null;
  /** Upper edge of the band of the (first) kill (ms), or null without output before it; absent from results taken before the band rule. */
  bandMs?: number | null;
  /** Longest interval after the kill with no sink output. */
  outputGapMs: number | null;
  /** Highest per-slot p99 latency after the kill. */
  peakLatencyMs: number | null;
  /** Copies of records beyond what the oracle shows (`compareOutputs`, records as identities); null: no oracle. */
  duplicates: number | null;
  /** Oracle records the run does not show (`compareOutputs`); null: no oracle, a violation. */
  lost: number | null;
  /** Whether every sink partition equals the oracle's, record by record. */
  oracleIdentical: boolean | null;
  /**
   * What the output was checked against: the oracle replay of the run's traces, or (at-least-once) a
   * failure-free run of the same events; null when unchecked. Absent from results taken before 2026-12-03.
   */
  checkedAgainst?: CheckReference | null;
  /** Median p50 latency before the kill (ms). */
  baselineLatencyMs: number | null;
  /** Longest output gap before the kill (ms): windowed queries show output in bursts anyway. */
  baselineGapMs: number | null;
  /** From the kill until the failure was detected (ms; the longest over kills): the `worker-lost` event's with workers, 0 embedded. */
  detectionMs: number | null;
  /** From the kill until every replacement is live (local) or every task restarted (global), in ms; the longest over kills. */
  takeoverMs: number | null;
  /** With workers: the longest time a lost worker took to come back as a new process (ms), else null. */
  respawnMs: number | null;
  /** Per kill, the same figures as above. */
  perKill: {
    killAt: number;
    recoveryMs: number | null;
    settledMs: number | null;
    outputGapMs: number | null;
    peakLatencyMs: number | null;
    detectionMs: number | null;
    takeoverMs: number | null;
    /** Worker processes the kill took (empty embedded). */
    workers: number[];
  }[];
  recoveries: number;
  escalations: number;
  /** Records the sink showed. */
  records: number;
  /** Determinant bytes per input event (exactly-once), from the retained traces. */
  determinantBytesPerEvent: number | null;
  timeline: TimelinePoint[];
  marks: TimelineMark[];
}

/** What a run's output is compared with (see the module comment). */
export type CheckReference = 'oracle-replay' | 'failure-free-run';

/** The JSON result, as fixed by `../shared/contracts.md`. */
export interface RecoveryBenchResult {
  bench: 'recovery';
  query: QueryId;
  failures: FailurePattern;
  rate: number;
  /** Maximum rate measured (mode none), or null when `--rate` was given. */
  maxRate: number | null;
  parallelism: number;
  checkpointIntervalMs: number;
  killed: string[];
  killAtMs: number[];
  dsd: number;
  /** Worker processes (0: the embedded runtime). */
  workers: number;
  /** Whether the killed worker's tasks moved back to its new process (`--rebalance`; absent from results before 2026-12-02: no). */
  rebalance?: boolean;
  /** With workers: the worker process that holds each killed task at the start (what a kill SIGKILLs); else []. */
  killedWorkers: number[];
  modes: Partial<Record<RecoveryMode, RecoveryModeFigures>>;
  /**
   * Set by the report on results taken before the band rule: their `recoveryMs` was recomputed from the
   * stored timeline (`report-recompute.ts`). Absent from what the benchmark itself prints.
   */
  recomputedFromTimeline?: true;
}

/**
 * The plain query into a collecting sink ({@link buildBenchJob}, so that worker processes can build it too);
 * with `rebalance`, tasks move back to a lost worker's new process; with `recordHashes`, the sink collects each
 * record's hash (`recordHash`, `bench/record-hash.ts`), computed in its task.
 */
export function queryBuilder(query: QueryId, parallelism: number, how: { rebalance?: boolean; recordHashes?: boolean } = {}): BenchJobBuilder {
  const sink = how.recordHashes ? 'collect-hashes' : 'collect';
  const rebalance = how.rebalance ?? false;
  return ({ directory, mode, dsd, checkpointIntervalMs, rate, maxEvents, retain, workers }) => {
    const built = buildBenchJob({ name: `bench-recovery-${query}`, query, mode, dsd, parallelism, rate, maxEvents, checkpointIntervalMs, directory, sink, retain, workers, rebalance });
    return { job: built.job, sink: built.sink as CollectSink<unknown> };
  };
}

/** Maximum throughput of the query in mode none (events/s), measured over a short run (in `workers` processes). */
export async function measureMaxRate(query: QueryId, parallelism: number, checkpointIntervalMs: number, workers = 0): Promise<number> {
  const figures = await measureRun({ query, mode: 'none', parallelism, checkpointIntervalMs, warmupMs: 1000, measureMs: 2000, workers });
  return figures.eventsPerSec;
}

/**
 * The tasks to kill: the first task of the deepest stateful operator (the last vertex fed by a keyed
 * edge; the last vertex if none is), then, for several failures, the tasks connected to it.
 */
export function killTargets(plan: PhysicalPlan, count: number): string[] {
  const keyed = plan.vertices.filter((v) => v.inputs.some((e) => e.edge.partitioning === 'hash'));
  const deepest = keyed.length > 0 ? keyed[keyed.length - 1]! : plan.vertices[plan.vertices.length - 1]!;
  const chosen: number[] = [deepest.firstTask];
  // Breadth first over channels in both directions: upstream producers first, then consumers.
  for (let i = 0; i < chosen.length && chosen.length < count; i++) {
    const task = plan.tasks[chosen[i]!]!;
    const neighbours = [...task.inputs.map((c) => plan.channels[c]!.from), ...task.outputs.flat().map((c) => plan.channels[c]!.to)];
    for (const id of neighbours) if (!chosen.includes(id) && chosen.length < count) chosen.push(id);
  }
  return chosen.map((id) => plan.tasks[id]!.name);
}

/** Runs the benchmark. */
export async function runRecoveryBench(options: RecoveryBenchOptions): Promise<RecoveryBenchResult> {
  const progress = options.onProgress ?? (() => {});
  const modes = options.modes ?? RECOVERY_BENCH_MODES;
  const warmupMs = options.warmupMs ?? 6000;
  const afterMs = options.afterMs ?? 6000;
  const spacing = options.killSpacingMs ?? 5000;
  const workers = options.workers ?? 0;
  // A custom builder's job is built by closures of this process: worker processes could not rebuild it.
  if (options.build && workers > 0) throw new Error('runRecoveryBench: a custom build runs embedded only (workers: 0)');
  const build = options.build ?? queryBuilder(options.query, options.parallelism, { rebalance: options.rebalance ?? false, recordHashes: options.recordHashes ?? false });
  let maxRate: number | null = null;
  let rate = options.rate;
  if (rate === undefined) {
    progress(`measuring the maximum rate of ${options.query}${workers > 0 ? ` in ${workers} workers` : ''}`);
    maxRate = await measureMaxRate(options.query, options.parallelism, options.checkpointIntervalMs, workers);
    rate = Math.max(1000, Math.round(maxRate / 2));
  }
  const scratch = mkdtempSync(join(tmpdir(), 'causalflow-bench-recovery-'));
  try {
    const count = options.failures === 'single' ? 1 : 3;
    const planned = build({ directory: join(scratch, 'plan'), mode: 'none', dsd: 0, checkpointIntervalMs: options.checkpointIntervalMs, rate, maxEvents: 1, retain: false, workers: 0 });
    const killed = killTargets(planned.job.plan(), count);
    const placement = planned.job.placement(workers);
    const plan = planned.job.plan();
    const killedWorkers = placement ? killed.map((name) => placement.tasks[plan.tasks.find((t) => t.name === name)!.id]!) : [];
    const killAtMs = killed.map((_, i) => (options.failures === 'multiple' ? warmupMs + i * spacing : warmupMs));
    const dsd = options.dsd ?? (options.failures === 'concurrent' ? count : 1);
    const runMs = killAtMs[killAtMs.length - 1]! + afterMs;
    const maxEvents = Math.round((rate * runMs) / 1000);
    const result: RecoveryBenchResult = {
      bench: 'recovery',
      query: options.query,
      failures: options.failures,
      rate,
      maxRate,
      parallelism: options.parallelism,
      checkpointIntervalMs: options.checkpointIntervalMs,
      killed,
      killAtMs,
      dsd,
      workers,
      rebalance: options.rebalance ?? false,
      killedWorkers,
      modes: {},
    };
    for (const mode of modes) {
      const how = workers > 0 ? ` in ${workers} workers, SIGKILLing the worker of ${killed.join(', ')}` : `, killing ${killed.join(', ')}`;
      progress(`${mode}: running ${(runMs / 1000).toFixed(0)} s at ${rate} events/s${how}`);
      const directory = join(scratch, mode);
      result.modes[mode] = await runOneMode({
        build,
        mode,
        dsd,
        checkpointIntervalMs: options.checkpointIntervalMs,
        rate,
        maxEvents,
        killed,
        killAtMs,
        directory,
        verify: options.verify ?? true,
        deterministic: options.deterministic ?? (options.build ? false : QUERIES[options.query].deterministic),
        workers,
        hashes: !options.build && (options.recordHashes ?? false),
        progress,
      });
      rmSync(directory, { recursive: true, force: true });
    }
    return result;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

interface OneModeSpec {
  build: BenchJobBuilder;
  mode: RecoveryMode;
  dsd: number;
  checkpointIntervalMs: number;
  rate: number;
  maxEvents: number;
  killed: string[];
  killAtMs: number[];
  directory: string;
  verify: boolean;
  deterministic: boolean;
  workers: number;
  /** The sink keeps record hashes (`recordHashes`), not records. */
  hashes: boolean;
  progress: (message: string) => void;
}

async function runOneMode(spec: OneModeSpec): Promise<RecoveryModeFigures> {
  const jobOptions = { mode: spec.mode, dsd: spec.dsd, checkpointIntervalMs: spec.checkpointIntervalMs, rate: spec.rate, maxEvents: spec.maxEvents, retain: spec.verify };
  const { job, sink } = spec.build({ ...jobOptions, directory: join(spec.directory, 'run'), workers: spec.workers });
  const handle = await job.start({ faults: spec.killed.map((task, i) => ({ task, afterMs: spec.killAtMs[i]! })) });
  const outcome = await handle.done;
  const executor = handle.executor;
  const slots = executor.timeline.slotsSoFar();
  const outputTimes = executor.outputTimes.toArray();
  const traces = spec.verify ? executor.traces() : new Map<number, { epoch: number; bytes: Uint8Array }[]>();

  // duplicates and lost as `compareOutputs` counts them, records as identities (their JSON); a reference
  // that cannot be had leaves both null: the check could not run, a violation.
  let check: Comparison | null = null;
  let checkedAgainst: CheckReference | null = null;
  if (spec.verify) {
    checkedAgainst = spec.mode === 'at-least-once' ? 'failure-free-run' : 'oracle-replay';
    const reference = checkedAgainst === 'failure-free-run' ? await failureFreeOutput(spec, jobOptions) : await oracleOutput(spec, jobOptions, traces);
    // Hashes compare as sorted copies: a Map of millions of records' JSON would not hold them (`hash-comparison.ts`).
    check = spec.hashes ? compareHashOutputs(outputOf(sink), reference) : compareOutputs(outputOf(sink), reference);
  }

  const kills = killsOf(outcome.events, spec.killAtMs, spec.workers);
  const killTimes = kills.map((k) => k.killAt);
  // The first second is start-up, not the job's normal: left out of every band.
  const figures = recoveryFiguresPerKill(slots, outputTimes, killTimes, { warmupMs: STARTUP_MS });
  const perKill = killTimes.map((killAt, i) => {
    const f = figures[i]!;
    return {
      killAt: round(killAt),
      recoveryMs: f.recoveryMs === null ? null : round(f.recoveryMs),
      settledMs: f.settledMs === null ? null : round(f.settledMs),
      outputGapMs: f.outputGapMs === null ? null : round(f.outputGapMs),
      peakLatencyMs: f.peakLatencyMs,
      detectionMs: kills[i]!.detectionMs,
      takeoverMs: kills[i]!.takeoverMs,
      workers: kills[i]!.workers,
      baseline: f.baselineLatencyMs,
      baselineGap: f.baselineGapMs,
      band: f.bandMs,
    };
  });
  const worst = (pick: (k: (typeof perKill)[number]) => number | null): number | null => worstOf(perKill.map(pick));
  const respawns = outcome.events.flatMap((e) => (e.type === 'worker-respawned' ? [e.ms] : []));
  let traceBytes = 0;
  for (const segments of traces.values()) for (const segment of segments) traceBytes += segment.bytes.length;
  return {
    recoveryMs: worst((k) => k.recoveryMs),
    settledMs: worst((k) => k.settledMs),
    outputGapMs: worst((k) => k.outputGapMs),
    peakLatencyMs: worst((k) => k.peakLatencyMs),
    duplicates: check?.duplicates ?? null,
    lost: check?.lost ?? null,
    oracleIdentical: spec.verify ? (check?.identical ?? false) : null,
    checkedAgainst,
    bandMs: perKill[0]?.band ?? null,
    baselineLatencyMs: perKill[0]?.baseline ?? null,
    baselineGapMs: perKill[0]?.baselineGap == null ? null : round(perKill[0].baselineGap),
    detectionMs: worst((k) => k.detectionMs),
    takeoverMs: worst((k) => k.takeoverMs),
    respawnMs: respawns.length > 0 ? round(Math.max(...respawns)) : null,
    perKill: perKill.map(({ baseline: _baseline, baselineGap: _gap, band: _band, ...k }) => k),
    recoveries: outcome.recoveries,
    escalations: outcome.escalations,
    records: sink.size,
    determinantBytesPerEvent: spec.verify && spec.mode === 'exactly-once' && outcome.recordsIn > 0 ? round(traceBytes / outcome.recordsIn) : null,
    timeline: timelineOf(slots),
    marks: outcome.events
      .filter((e) => MARK_TYPES.has(e.type))
      .map((e) => ({ t: round(e.t), type: e.type, ...('task' in e ? { task: e.task } : {}) })),
  };
}

type JobOptions = Omit<Parameters<BenchJobBuilder>[0], 'directory' | 'workers'>;

/** The output of an oracle replay of the run's traces (embedded), or null when the oracle cannot follow them. */
async function oracleOutput(spec: OneModeSpec, jobOptions: JobOptions, traces: Map<number, { epoch: number; bytes: Uint8Array }[]>): Promise<unknown[][] | null> {
  spec.progress(`${spec.mode}: checking the output against an oracle replay`);
  const oracleBuild = spec.build({ ...jobOptions, directory: join(spec.directory, 'oracle'), workers: 0 });
  try {
    const oracle = await oracleBuild.job.replay(traces);
    await oracle.done;
    return outputOf(oracleBuild.sink);
  } catch {
    return null;
  }
}

/**
 * The output of the same events without a failure (embedded, mode none, at the run's rate), or null when the
 * job's output depends on more than its input: then no run of it stands for another.
 */
async function failureFreeOutput(spec: OneModeSpec, jobOptions: JobOptions): Promise<unknown[][] | null> {
  if (!spec.deterministic) {
    spec.progress(`${spec.mode}: not checked: the job's output depends on more than its input, and no failure-free run stands for it (a violation)`);
    return null;
  }
  spec.progress(`${spec.mode}: checking the output against a failure-free run of the same events`);
  const reference = spec.build({ ...jobOptions, mode: 'none', retain: false, directory: join(spec.directory, 'failure-free'), workers: 0 });
  const handle = await reference.job.start();
  const outcome = await handle.done;
  if (outcome.recoveries > 0 || outcome.escalations > 0) throw new Error(`the failure-free reference run of ${spec.mode} recovered from a failure: it stands for nothing`);
  return outputOf(reference.sink);
}

function timelineOf(slots: readonly TimelineSlot[]): TimelinePoint[] {
  return slots.map((s) => ({ t: s.t, inRate: s.input * 10, outRate: s.output * 10, p50: s.p50, p99: s.p99 }));
}
