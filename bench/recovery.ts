/**
 * `causalflow bench recovery`: what a failure costs, seen from the sink. One query runs at a fixed input
 * rate (half of its measured maximum unless `--rate`), tasks are killed after a warm-up of several
 * checkpoints, and the run goes on long enough to see the job recover. The same run is made for each
 * recovery mode; every run is then checked by the exactly-once verifier (an oracle replay of its final
 * determinant traces), which gives `duplicates` and `lost`.
 *
 * Failure patterns (`--failures`):
 * - `single`: one task of the deepest stateful operator;
 * - `multiple`: three connected tasks, `killSpacingMs` apart;
 * - `concurrent`: the same three tasks at once, with a sharing depth that covers them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, type JobEvent, type RecoveryMode } from '../lib/index.js';
import { CollectSink } from '../lib/connectors/collect.js';
import { buildPlan, type PhysicalPlan } from '../lib/runtime/plan.js';
import { recoveryFigures } from '../lib/runtime/recovery-metrics.js';
import type { TimelineSlot } from '../lib/runtime/metrics.js';
import { compareOutputs, outputOf, type Comparison } from '../lib/verify/compare.js';
import { BENCH_EVENT_RATE, measureRun, round } from './harness.js';
import { nexmarkSource } from './nexmark/source.js';
import { QUERIES, type QueryId } from './nexmark/queries.js';

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
  /** Run time before the first kill (default 4000: several checkpoints). */
  warmupMs?: number;
  /** Run time after the last kill (default 6000). */
  afterMs?: number;
  /** Between kills of `multiple` (default 5000). */
  killSpacingMs?: number;
  /** The job, when not the plain query (sweeps). */
  build?: BenchJobBuilder;
  /** Check each run against an oracle replay (default true); without, `duplicates` and `lost` are null. */
  verify?: boolean;
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
  /** From the (first) kill until sink latency is back within 10% of before and stays there 1 s; with several kills, the longest. */
  recoveryMs: number | null;
  /** The same with normal widened to the latency range before the kill (its 95th percentile); see `recoveryFigures`. */
  settledMs: number | null;
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
  /** Median p50 latency before the kill (ms). */
  baselineLatencyMs: number | null;
  /** Longest output gap before the kill (ms): windowed queries show output in bursts anyway. */
  baselineGapMs: number | null;
  /** Per kill: from the failure to the replacement(s) live, or to the end of the rollback (ms). */
  takeoverMs: number[];
  /** Per kill, the same figures as above. */
  perKill: { killAt: number; recoveryMs: number | null; settledMs: number | null; outputGapMs: number | null; peakLatencyMs: number | null }[];
  recoveries: number;
  escalations: number;
  /** Records the sink showed. */
  records: number;
  /** Determinant bytes per input event (exactly-once), from the retained traces. */
  determinantBytesPerEvent: number | null;
  timeline: TimelinePoint[];
  marks: TimelineMark[];
}

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
  modes: Partial<Record<RecoveryMode, RecoveryModeFigures>>;
}

/** The plain query into a collecting sink. */
export function queryBuilder(query: QueryId, parallelism: number): BenchJobBuilder {
  return ({ directory, mode, dsd, checkpointIntervalMs, rate, maxEvents, retain }) => {
    const job = new Job({
      name: `bench-recovery-${query}`,
      parallelism,
      directory,
      recovery: { mode, checkpointIntervalMs, dsd },
      retainDeterminants: retain,
    });
    const events = job.source(nexmarkSource({ partitions: parallelism, eventRate: BENCH_EVENT_RATE, rate, maxEvents }), { watermarks: {} });
    const sink = QUERIES[query].build(events).collect({ name: 'bench-sink' });
    return { job, sink: sink as CollectSink<unknown> };
  };
}

/** Maximum throughput of the query in mode none (events/s), measured over a short run. */
export async function measureMaxRate(query: QueryId, parallelism: number, checkpointIntervalMs: number): Promise<number> {
  const figures = await measureRun({ query, mode: 'none', parallelism, checkpointIntervalMs, warmupMs: 1000, measureMs: 2000 });
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
  const warmupMs = options.warmupMs ?? 4000;
  const afterMs = options.afterMs ?? 6000;
  const spacing = options.killSpacingMs ?? 5000;
  const build = options.build ?? queryBuilder(options.query, options.parallelism);
  let maxRate: number | null = null;
  let rate = options.rate;
  if (rate === undefined) {
    progress(`measuring the maximum rate of ${options.query}`);
    maxRate = await measureMaxRate(options.query, options.parallelism, options.checkpointIntervalMs);
    rate = Math.max(1000, Math.round(maxRate / 2));
  }
  const scratch = mkdtempSync(join(tmpdir(), 'causalflow-bench-recovery-'));
  try {
    const count = options.failures === 'single' ? 1 : 3;
    const planned = build({ directory: join(scratch, 'plan'), mode: 'none', dsd: 0, checkpointIntervalMs: options.checkpointIntervalMs, rate, maxEvents: 1, retain: false });
    const killed = killTargets(planned.job.plan(), count);
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
      modes: {},
    };
    for (const mode of modes) {
      progress(`${mode}: running ${(runMs / 1000).toFixed(0)} s at ${rate} events/s, killing ${killed.join(', ')}`);
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
  progress: (message: string) => void;
}

async function runOneMode(spec: OneModeSpec): Promise<RecoveryModeFigures> {
  const jobOptions = { mode: spec.mode, dsd: spec.dsd, checkpointIntervalMs: spec.checkpointIntervalMs, rate: spec.rate, maxEvents: spec.maxEvents, retain: spec.verify };
  const { job, sink } = spec.build({ ...jobOptions, directory: join(spec.directory, 'run') });
  const handle = await job.start({ faults: spec.killed.map((task, i) => ({ task, afterMs: spec.killAtMs[i]! })) });
  const outcome = await handle.done;
  const executor = handle.executor;
  const slots = executor.timeline.slotsSoFar();
  const outputTimes = executor.outputTimes.toArray();
  const traces = spec.verify ? executor.traces() : new Map<number, { epoch: number; bytes: Uint8Array }[]>();

  // duplicates and lost as `compareOutputs` counts them, records as identities (their JSON); an oracle
  // that cannot follow the trace leaves both null: the check could not run, a violation.
  let check: Comparison | null = null;
  if (spec.verify) {
    spec.progress(`${spec.mode}: checking the output against an oracle replay`);
    const oracleBuild = spec.build({ ...jobOptions, directory: join(spec.directory, 'oracle') });
    let oracleOutput: unknown[][] | null = null;
    try {
      const oracle = await oracleBuild.job.replay(traces);
      await oracle.done;
      oracleOutput = outputOf(oracleBuild.sink);
    } catch {
      oracleOutput = null;
    }
    check = compareOutputs(outputOf(sink), oracleOutput);
  }

  const killTimes = failureTimes(outcome.events, spec.killAtMs);
  const perKill = killTimes.map((killAt, i) => {
    const until = killTimes[i + 1] ?? Infinity;
    const f = recoveryFigures(
      slots.filter((s) => s.t < until),
      outputTimes.filter((t) => t < until),
      { killAt, warmupMs: 1000 },
    );
    return {
      killAt: round(killAt),
      recoveryMs: f.recoveryMs === null ? null : round(f.recoveryMs),
      settledMs: f.settledMs === null ? null : round(f.settledMs),
      outputGapMs: f.outputGapMs === null ? null : round(f.outputGapMs), peakLatencyMs: f.peakLatencyMs, baseline: f.baselineLatencyMs, baselineGap: f.baselineGapMs };
  });
  const worst = (pick: (k: (typeof perKill)[number]) => number | null): number | null => {
    const values = perKill.map(pick);
    return values.some((v) => v === null) ? null : Math.max(...(values as number[]));
  };
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
    baselineLatencyMs: perKill[0]?.baseline ?? null,
    baselineGapMs: perKill[0]?.baselineGap == null ? null : round(perKill[0].baselineGap),
    takeoverMs: takeovers(outcome.events),
    perKill: perKill.map(({ baseline: _baseline, baselineGap: _gap, ...k }) => k),
    recoveries: outcome.recoveries,
    escalations: outcome.escalations,
    records: sink.size,
    determinantBytesPerEvent: spec.verify && spec.mode === 'exactly-once' && outcome.recordsIn > 0 ? round(traceBytes / outcome.recordsIn) : null,
    timeline: timelineOf(slots),
    marks: outcome.events
      .filter((e) => ['task-failed', 'standby-activated', 'live', 'rollback-started', 'rollback-finished', 'escalated'].includes(e.type))
      .map((e) => ({ t: round(e.t), type: e.type, ...('task' in e ? { task: e.task } : {}) })),
  };
}

/**
 * When each group of kills actually happened (failure events less than 50 ms apart are one group, as
 * kills scheduled for one moment are), falling back to the distinct scheduled times.
 */
export function failureTimes(events: readonly JobEvent[], scheduled: readonly number[]): number[] {
  const group = (times: readonly number[]): number[] => {
    const distinct: number[] = [];
    for (const t of [...times].sort((a, b) => a - b)) if (distinct.length === 0 || t - distinct[distinct.length - 1]! > 50) distinct.push(t);
    return distinct;
  };
  const failed = group(events.filter((e) => e.type === 'task-failed').map((e) => e.t));
  const planned = group(scheduled);
  return failed.length === planned.length ? failed : planned;
}

/** Per failure: until every replacement is live (local) or the rollback finished (global). */
function takeovers(events: readonly JobEvent[]): number[] {
  const out: number[] = [];
  let failedAt: number | null = null;
  for (const e of events) {
    if (e.type === 'task-failed' && failedAt === null) failedAt = e.t;
    if (failedAt !== null && (e.type === 'recovery-finished' || e.type === 'rollback-finished')) {
      out.push(round(e.t - failedAt));
      failedAt = null;
    }
  }
  return out;
}

function timelineOf(slots: readonly TimelineSlot[]): TimelinePoint[] {
  return slots.map((s) => ({ t: s.t, inRate: s.input * 10, outRate: s.output * 10, p50: s.p50, p99: s.p99 }));
}
