/**
 * The executor of the embedded runtime: builds tasks and channels from the physical plan, runs them
 * on the scheduler, drives checkpoints, keeps standbys, injects faults, and hands failures to the
 * recovery strategy. One job per executor, all in this process.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open as openLmdb, type RootDatabase } from 'lmdb';
import type { DeadLetter, ResolvedJobOptions } from '../api/config.js';
import { LiveServices } from '../causal/live.js';
import { monotonicClock } from '../util/clock.js';
import { RecordingServices } from '../causal/recording.js';
import { CausalTaskLog } from '../causal/task-log.js';
import type { EpochSegment } from '../../determinants/replica.js';
import { LocalRecovery } from './local-recovery.js';
import { CausalflowError, ConfigError, ExactlyOnceLostError, JobFailedError, JobStalledError, OperatorError, TaskKilledError } from '../errors.js';
import { InflightSpillStore } from '../inflight/spill.js';
import { SinkOperator } from '../operators/sink.js';
import type { RecoveryRuntime, RecoveryStrategy } from '../recovery/strategy.js';
import { HeapStateBackend, LmdbStateBackend, type StateBackend } from '../state/backend.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { decodeSnapshot, encodeSnapshot, type TaskSnapshot } from '../state/snapshot.js';
import { encodedStateBytes, type TaskMemoryFigures } from './memory-figures.js';
import { LocalChannel } from '../transport/channel.js';
import { CheckpointCoordinator } from './coordinator.js';
import { Histogram, OutputTimes, Timeline } from './metrics.js';
import { ChainedOutput, DISCARDING_OUTPUT, FanOutput, type Operator, type Output } from './operator.js';
import { buildPlan, type LogicalNode, type PhysicalPlan, type TaskPlan } from './plan.js';
import { Scheduler } from './scheduler.js';
import { SourceDriver, SourceOperator } from './source-driver.js';
import { Standby } from './standby.js';
import { Task, type TaskEnvironment } from './task.js';
import type { JobEvent, JobEventDetails, JobEventType, TaskWait } from './events.js';
import { StallDetector, type StallProbe } from './stall-detector.js';
import { EXACTLY_ONCE, degraded, type Guarantee } from './guarantee.js';
import { describeExposure, taintedTasks, type ShownSinceCheckpoint } from './escalation.js';

export type { JobEvent } from './events.js';
import { BroadcastPartitioner, ForwardPartitioner, HashPartitioner, RebalancePartitioner, type ChannelWriter } from './writer.js';

/** An operator failure repeating this often with no checkpoint in between fails the job (a poison record). */
const MAX_REPEATED_FAILURES = 3;
/** Data batches a channel into an async operator's task holds (see `newChannel`). */
const ASYNC_INPUT_CAPACITY = 2;

/** When to kill a task (fault injection). */
export interface KillSchedule {
  /** Kill once the job has run this long (ms). */
  afterMs?: number;
  /** Kill once the task has processed this many more input elements (mid-batch if need be). */
  afterRecords?: number;
}

/** What a task that survived an escalation replays of its own log (I16), and its whole trace if retained. */
interface SurvivingLog {
  replay: EpochSegment[];
  history: EpochSegment[] | null;
}

/** Live figures of a running job. */
export interface JobProgress {
  /** Job-clock ms since start. */
  elapsedMs: number;
  /** Records read by sources. */
  recordsIn: number;
  /** Records made visible by sinks. */
  recordsOut: number;
  /** Sink latency percentiles since start (ms), null before any output. */
  latencyP50Ms: number | null;
  /** 99th percentile. */
  latencyP99Ms: number | null;
  /** Checkpoints completed. */
  checkpoints: number;
  /** Latest completed checkpoint id. */
  latestCheckpoint: number;
  /** Duration of the latest checkpoint (ms). */
  lastCheckpointMs: number;
  /** Recoveries so far. */
  recoveries: number;
  /** Records dropped as late by windows. */
  lateRecordsDropped: number;
  /** Records sent to the dead-letter sink. */
  deadLetters: number;
  /** Local recoveries that had to escalate to a global rollback. */
  escalations: number;
  /** In-flight log chunks spilled to disk, and read back by replays. */
  inflightSpill: { chunks: number; bytes: number; chunksReadBack: number };
  /** Tasks finished / total. */
  tasksFinished: number;
  /** Total tasks. */
  tasks: number;
}

/** Result of a job that ran to completion. */
export interface JobResult extends JobProgress {
  /** The guarantee the job kept on its output: exactly-once, or at-least-once since a checkpoint on named sinks. */
  guarantee: Guarantee;
  /** Every event recorded. */
  events: JobEvent[];
}

/** Runs one job. */
export class Executor implements RecoveryRuntime {
  /** Recovery and lifecycle events, as they happen (`event` carries a {@link JobEvent}). */
  readonly events = new EventEmitter();
  /** Sink output and source input per 100 ms. */
  readonly timeline = new Timeline(100);
  /** Sink latency since start. */
  readonly latency = new Histogram();
  /** When sinks made output visible (job clock), to measure output gaps. */
  readonly outputTimes = new OutputTimes();
  /** The plan. */
  readonly plan: PhysicalPlan;

  private readonly log: JobEvent[] = [];
  private readonly scheduler: Scheduler;
  private readonly startedAt = monotonicClock();
  private tasks: Task[] = [];
  private channels: LocalChannel[] = [];
  private readonly standbys = new Map<number, Standby[]>();
  private coordinator: CheckpointCoordinator | null = null;
  private checkpointStore: CheckpointStore | null = null;
  private stateRoot: RootDatabase | null = null;
  private inflightSpill: InflightSpillStore | null = null;
  private recordsIn = 0;
  private recordsOut = 0;
  private late = 0;
  private deadLetters = 0;
  private recoveries = 0;
  private finishedTasks = 0;
  private recovering: Promise<void> | null = null;
  private settled = false;
  /** Scheduled kills by job-clock time: the tasks due at each instant. */
  private readonly killsDue = new Map<number, number[]>();
  private resolveDone!: (result: JobResult) => void;
  private rejectDone!: (error: unknown) => void;
  /** Resolves when every task finished (and sinks committed); rejects when the job fails. */
  readonly done: Promise<JobResult>;
  private backendCounter = 0;
  private lastFailure: { signature: string; checkpoint: number; count: number } | null = null;
  private readonly local: LocalRecovery | null;
  private pendingFailures: { task: Task; cause: unknown }[] = [];
  private escalations = 0;
  /** Failures noticed in one instant form a group, recovered together (numbered from 1). */
  private failureGroups = 0;
  /** What the job has kept of its exactly-once promise so far. */
  private guarantee: Guarantee = EXACTLY_ONCE;

  constructor(
    readonly nodes: readonly LogicalNode[],
    readonly options: ResolvedJobOptions,
    readonly strategy: RecoveryStrategy,
    /** Verification only: every task replays this trace from the job's start (the oracle). */
    private readonly replayTraces: ReadonlyMap<number, EpochSegment[]> | null = null,
  ) {
    this.plan = buildPlan(nodes);
    this.scheduler = new Scheduler(() => this.clock());
    this.scheduler.onTaskError = (task, error) => this.taskFailed(task, error);
    this.done = new Promise<JobResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A rejection nobody awaits yet must not crash the process; `done` still rejects for whoever awaits it.
    this.done.catch(() => {});
    this.local = strategy.features.local ? new LocalRecovery(this.localRecoveryHost()) : null;
  }

  /** Milliseconds since the job started (the job clock). */
  clock(): number {
    return monotonicClock() - this.startedAt;
  }

  /** Prepares storage, builds the tasks, schedules `faults` and starts running. */
  async start(faults: readonly ({ task: string | number | readonly (string | number)[] } & KillSchedule)[] = []): Promise<void> {
    const { directory } = this.options;
    mkdirSync(directory, { recursive: true });
    const features = this.strategy.features;
    if (this.options.stateBackend === 'lmdb' || features.standbys > 0) {
      this.stateRoot = openLmdb({ path: join(directory, 'state'), maxDbs: 10_000 });
    }
    if (features.inflightLog) this.inflightSpill = InflightSpillStore.open(join(directory, 'inflight'));
    if (features.checkpoints) {
      this.checkpointStore = CheckpointStore.open({ path: join(directory, 'checkpoints') });
      // A new run starts from scratch; checkpoints of an earlier run of this directory do not apply.
      await this.checkpointStore.clear();
      this.coordinator = new CheckpointCoordinator(
        this.checkpointStore,
        {
          taskIds: () => this.plan.tasks.map((t) => t.id),
          triggerSources: (id) => this.triggerSources(id),
          triggered: (id) => this.event('checkpoint-triggered', { id }),
          acknowledged: (id, bytes) => this.event('checkpoint-acknowledged', { id, bytes }),
          completed: (id, snapshots) => this.checkpointCompleted(id, snapshots),
          aborted: (id) => this.checkpointAborted(id),
        },
        this.options.recovery.checkpointIntervalMs,
        () => this.clock(),
      );
      this.coordinator.onError = (error) => this.failJob(error);
      this.scheduler.addTicker((now) => this.coordinator!.tick(now));
    }
    if (this.options.stallTimeoutMs > 0) {
      const detector = new StallDetector(this.stallProbe(), this.options.stallTimeoutMs);
      this.scheduler.addTicker((now) => {
        const stall = detector.check(now);
        if (stall) this.stalled(stall.idleMs, stall.waiting);
      });
    }
    this.buildTasks(null);
    this.event('started', { tasks: this.plan.tasks.length, mode: this.strategy.mode, dsd: this.strategy.features.causal && this.strategy.mode === 'exactly-once' ? this.strategy.features.causal.dsd : null });
    // Faults are armed before the first activation, so that "after N records" counts from the start, and
    // from one clock reading, so that faults given the same `afterMs` die in the same instant.
    const armedAt = this.clock();
    for (const fault of faults) {
      if (fault.afterMs !== undefined && fault.afterMs > 0 && fault.afterRecords === undefined) {
        const targets = (Array.isArray(fault.task) ? fault.task : [fault.task]).map((ref) => this.findTaskPlan(ref));
        for (const target of targets) this.event('kill-scheduled', { task: target.name, afterMs: fault.afterMs });
        this.killAt(armedAt + fault.afterMs, targets.map((t) => t.id));
      } else {
        this.kill(fault.task, fault);
      }
    }
    void this.scheduler.start();
  }

  /** Stops the job now (Ctrl-C): tasks stop where they are; nothing more becomes visible. */
  async stop(reason = 'stopped'): Promise<JobResult> {
    if (!this.settled) {
      this.settled = true;
      this.scheduler.stop();
      for (const task of this.tasks) task.kill();
      this.event('stopped', { reason });
      await this.closeStores();
      this.resolveDone(this.result());
    }
    return this.done;
  }

  /**
   * Kills tasks (by id, name, or `<operator>[<subtask>]`) now, or on a schedule. Several tasks given
   * together die in one instant: they fail as one group and are recovered together, truly concurrently.
   * `afterRecords` counts each task's own input, so it takes one task.
   */
  kill(tasks: string | number | readonly (string | number)[], when: KillSchedule = {}): void {
    const targets = (Array.isArray(tasks) ? tasks : [tasks]).map((ref) => this.findTaskPlan(ref));
    if (targets.length === 0) throw new ConfigError('kill.task', 'at least one task', tasks);
    if (when.afterRecords !== undefined) {
      if (targets.length !== 1) throw new ConfigError('kill.afterRecords', 'one task (each task counts its own records; use afterMs to kill several at one moment)', tasks);
      const target = targets[0]!;
      this.tasks[target.id]!.killCountdown = Math.max(1, when.afterRecords);
      this.event('kill-scheduled', { task: target.name, afterRecords: when.afterRecords });
      return;
    }
    const ids = targets.map((t) => t.id);
    if (when.afterMs !== undefined && when.afterMs > 0) {
      for (const target of targets) this.event('kill-scheduled', { task: target.name, afterMs: when.afterMs });
      this.killAt(this.clock() + when.afterMs, ids);
      return;
    }
    this.killGroup(ids);
  }

  /** Kills `taskIds` together at job-clock `at`; faults armed with the same `at` die in the same instant. */
  private killAt(at: number, taskIds: readonly number[]): void {
    const due = this.killsDue.get(at);
    if (due) {
      due.push(...taskIds);
      return;
    }
    const group = [...taskIds];
    this.killsDue.set(at, group);
    this.scheduler.addDeadline(at, () => {
      this.killsDue.delete(at);
      this.killGroup(group);
    });
  }

  /** Kills every task of `taskIds` in one go: one failure group, one recovery. */
  private killGroup(taskIds: readonly number[]): void {
    for (const id of taskIds) {
      const task = this.tasks[id];
      if (task) this.killNow(task);
    }
  }

  /** Live figures. */
  progress(): JobProgress {
    const stats = this.coordinator?.stats;
    const nan = (v: number): number | null => (Number.isNaN(v) ? null : Math.round(v * 1000) / 1000);
    return {
      elapsedMs: this.clock(),
      recordsIn: this.recordsIn,
      recordsOut: this.recordsOut,
      latencyP50Ms: nan(this.latency.quantile(0.5)),
      latencyP99Ms: nan(this.latency.quantile(0.99)),
      checkpoints: stats?.completed ?? 0,
      latestCheckpoint: stats?.latest ?? 0,
      lastCheckpointMs: stats?.lastDurationMs ?? 0,
      recoveries: this.recoveries,
      lateRecordsDropped: this.late,
      deadLetters: this.deadLetters,
      escalations: this.escalations,
      inflightSpill: {
        chunks: this.inflightSpill?.spilledChunks ?? 0,
        bytes: this.inflightSpill?.spilledBytes ?? 0,
        chunksReadBack: this.inflightSpill?.chunksReadBack ?? 0,
      },
      tasksFinished: this.finishedTasks,
      tasks: this.plan.tasks.length,
    };
  }

  /** Every event so far. */
  eventLog(): readonly JobEvent[] {
    return this.log;
  }

  /** The live task with id `taskId` (for tests and tools). */
  taskById(taskId: number): Task | undefined {
    return this.tasks[taskId];
  }

  /** Per task: determinant log and replica bytes, keyed-state size and its standby's (benchmarks). */
  memoryFigures(withState = true): TaskMemoryFigures[] {
    return this.tasks.map((task) => {
      const standby = this.standbys.get(task.taskId)?.[0];
      return {
        task: task.taskName,
        causalBytes: task.causal ? task.causal.log.memoryBytes + task.causal.replicas.memoryBytes : 0,
        // Encoding every entry is slow for big states: only when asked.
        stateBytes: withState ? encodedStateBytes(task.stateBackends.values()) : 0,
        standbyStateBytes: withState && standby ? encodedStateBytes(standby.backends.values()) : null,
      };
    });
  }

  /** Every task's whole determinant trace (verification: needs `retainDeterminants`). */
  traces(): Map<number, EpochSegment[]> {
    const traces = new Map<number, EpochSegment[]>();
    for (const task of this.tasks) if (task.causal) traces.set(task.taskId, task.causal.ownSegments(0));
    return traces;
  }

  /** Standbys of a task (for tests and tools). */
  standbysOf(taskId: number): readonly Standby[] {
    return this.standbys.get(taskId) ?? [];
  }

  // ------------------------------------------------------------------ RecoveryRuntime

  private stallProbe(): StallProbe {
    return {
      progress: () => {
        let moved = this.recordsIn + this.recordsOut + this.finishedTasks + this.recoveries + (this.coordinator?.stats.completed ?? 0);
        for (const task of this.tasks) moved += task.elementsIn;
        return moved;
      },
      holdsWork: () => this.tasks.some((task) => task.holdsWork),
      waits: () => this.tasks.map((task) => ({ task: task.taskName, status: task.status, waitingFor: task.describeWait((id) => this.plan.tasks[id]!.name) })),
    };
  }

  /** The job made no progress while holding work: report what every task waits for, and fail. */
  private stalled(idleMs: number, waiting: TaskWait[]): void {
    this.event('stalled', { idleMs, waiting });
    const lines = waiting.filter((w) => w.status === 'running').map((w) => `  ${w.task}: ${w.waitingFor}`);
    this.failJob(new JobStalledError(`the job made no progress for ${Math.round(idleMs)} ms while its tasks held work; what each waits for:\n${lines.join('\n')}`, waiting));
  }

  /** {@inheritDoc RecoveryRuntime.failJob} */
  failJob(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.scheduler.stop();
    for (const task of this.tasks) task.kill();
    const failure = error instanceof CausalflowError ? error : new JobFailedError(`job failed: ${error instanceof Error ? error.message : String(error)}`, error);
    this.event('failed', { error: failure.message, code: failure.code });
    void this.closeStores().finally(() => this.rejectDone(failure));
  }

  /** {@inheritDoc RecoveryRuntime.event} */
  event<K extends JobEventType>(type: K, details: JobEventDetails[K]): void {
    const event = { t: Math.round(this.clock() * 1000) / 1000, type, ...details } as JobEvent;
    this.log.push(event);
    this.events.emit('event', event);
  }

  /** {@inheritDoc RecoveryRuntime.rollbackToLatestCheckpoint} */
  async rollbackToLatestCheckpoint(reason: string, lost: ReadonlySet<number> | null = null): Promise<void> {
    const started = this.clock();
    const coordinator = this.coordinator!;
    coordinator.pause();
    const aborted = coordinator.abortPending();
    await coordinator.settle();
    const fromEpoch = Math.max(0, this.checkpointStore!.latest);
    const tainted = lost ? taintedTasks(this.plan, lost) : null;
    // Sinks downstream of a lost log that already showed output since the checkpoint: the rollback
    // regenerates it, perhaps differently. Exactly-once is gone there; say so, or fail if asked to.
    const exposed = tainted ? await this.shownSinceCheckpoint(tainted) : [];
    if (exposed.length > 0) {
      // Checkpoint 0 is the start of the job (no checkpoint completed yet).
      const since = Math.max(0, this.checkpointStore!.latest);
      const detail = describeExposure(exposed, this.plan, since);
      if (this.options.recovery.onEscalation === 'fail') {
        coordinator.resume();
        this.failJob(new ExactlyOnceLostError(`${reason}; rolling back would show records again that sinks already showed (${detail})`, [...new Set(exposed.map((e) => e.sink))], since));
        return;
      }
      this.guarantee = degraded(this.guarantee, since, exposed.map((e) => e.sink), `escalation: ${detail}`);
      this.event('guarantee-degraded', { guarantee: this.guarantee });
    }
    const ownLogs = tainted ? this.survivingLogs(tainted, fromEpoch) : null;
    const histories = this.retainedHistories(fromEpoch, ownLogs);
    for (const task of this.tasks) {
      task.kill();
      this.scheduler.forget(task);
    }
    for (const channel of this.channels) channel.close();
    await this.checkpointStore!.discardIncomplete();
    coordinator.resetFinished();
    this.finishedTasks = 0;
    const checkpoint = this.checkpointStore!.latest;
    this.event('rollback-started', {
      reason,
      checkpoint,
      abortedCheckpoint: aborted,
      ...(ownLogs ? { replayingOwnLogs: [...ownLogs.keys()].map((id) => this.plan.tasks[id]!.name) } : {}),
    });
    const restored = this.buildTasks(checkpoint >= 0 ? checkpoint : null, ownLogs, histories, new Set(exposed.map((e) => e.taskId)));
    coordinator.resume();
    this.event('rollback-finished', { checkpoint, tasks: restored, durationMs: this.clock() - started });
  }

  /** Sink tasks among `tainted` whose partitions show more than the latest checkpoint covers. */
  private async shownSinceCheckpoint(tainted: ReadonlySet<number>): Promise<ShownSinceCheckpoint[]> {
    const exposed: ShownSinceCheckpoint[] = [];
    for (const vertex of this.plan.vertices) {
      const chainIndex = vertex.nodes.findIndex((id) => this.nodes[id]!.sink);
      if (chainIndex < 0) continue;
      const node = this.nodes[vertex.nodes[chainIndex]!]!;
      for (let s = 0; s < vertex.parallelism; s++) {
        const taskId = vertex.firstTask + s;
        if (!tainted.has(taskId)) continue;
        const restored = this.checkpointStore!.latest >= 0 ? this.checkpointStore!.restore(taskId) : null;
        const atCheckpoint = (restored?.operators[chainIndex]?.state as { outputIndex?: number } | undefined)?.outputIndex ?? 0;
        const task = this.tasks[taskId]!;
        let visible: number;
        if (task.status !== 'dead') {
          visible = (task.operators[chainIndex] as SinkOperator).sinkPartition.visibleCount();
        } else {
          const partition = node.sinkConnector!.open({ subtask: s, parallelism: vertex.parallelism, jobDirectory: this.options.directory, restoredEpoch: Math.max(0, this.checkpointStore!.latest) });
          try {
            await partition.ready?.();
            visible = partition.visibleCount();
          } finally {
            void partition.close?.();
          }
        }
        if (visible > atCheckpoint) exposed.push({ taskId, sink: node.name, visible, atCheckpoint });
      }
    }
    return exposed;
  }

  /**
   * With retained traces (verification), what each task that does not replay did before the checkpoint it
   * restarts from: its trace goes on from there, so that the final trace is that of one execution.
   */
  private retainedHistories(fromEpoch: number, replaying: ReadonlyMap<number, SurvivingLog> | null): Map<number, EpochSegment[]> | null {
    if (!this.strategy.features.causal?.retainAll) return null;
    const histories = new Map<number, EpochSegment[]>();
    for (const task of this.tasks) {
      if (task.causal === null || replaying?.has(task.taskId)) continue;
      histories.set(task.taskId, task.causal.ownSegments(0).filter((segment) => segment.epoch < fromEpoch));
    }
    return histories;
  }

  /**
   * I16: on escalation, every task that neither lost its determinants nor consumes (transitively) from
   * one that did (the `tainted` tasks) replays its own log from the checkpoint, so that the rolled-back execution repeats
   * theirs: sources re-read the same polls, merges the same order, and sinks deduplicate what they
   * already showed. Only tasks downstream of the lost logs decide anew. Returns their logs by task id.
   */
  private survivingLogs(tainted: ReadonlySet<number>, fromEpoch: number): Map<number, SurvivingLog> {
    const logs = new Map<number, SurvivingLog>();
    for (const task of this.tasks) {
      if (tainted.has(task.taskId) || task.status === 'dead' || task.causal === null || task.causal.replaying) continue;
      const replay = task.causal.ownSegments(fromEpoch);
      // Retained traces (verification) continue the task's whole trace, not just the replayed tail.
      if (replay.length > 0) logs.set(task.taskId, { replay, history: task.causal.retainAll ? task.causal.ownSegments(0) : null });
    }
    return logs;
  }

  /** {@inheritDoc RecoveryRuntime.recoverLocally} */
  async recoverLocally(failed: readonly Task[], cause: unknown): Promise<void> {
    await this.local!.recover(failed, cause);
  }

  private localRecoveryHost(): import('./local-recovery.js').LocalRecoveryHost {
    const o = this.options;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the host reads arrays the executor replaces
    const executor = this;
    return {
      plan: this.plan,
      get tasks() {
        return executor.tasks;
      },
      get channels() {
        return executor.channels;
      },
      causal: this.strategy.features.causal !== null && this.strategy.features.causal.dsd !== 0,
      clock: () => this.clock(),
      event: (type, details) => this.event(type, details),
      newChannel: (index) => {
        const c = this.plan.channels[index]!;
        return this.newChannel(index);
      },
      createTask: (plan, snapshot, backends, replay, history) => this.createTask(plan, snapshot, backends, replay, history),
      retainAll: this.strategy.features.causal?.retainAll ?? false,
      startTask: (task) => this.startTask(task),
      takeStandby: (taskId, checkpoint) => {
        const list = this.standbys.get(taskId) ?? [];
        const index = list.findIndex((s) => s.checkpointId === checkpoint);
        return index < 0 ? null : list.splice(index, 1)[0]!;
      },
      addStandbyFromStore: (taskId) => this.addStandbyFromStore(taskId),
      latestCheckpoint: () => (this.checkpointStore ? this.checkpointStore.latest : -1),
      restoreFromStore: (taskId) => this.checkpointStore!.restore(taskId),
      sinkDeterminants: (fromEpoch) => this.sinkDeterminants(fromEpoch),
      pauseCheckpoints: async () => {
        this.coordinator!.pause();
        this.coordinator!.abortPending();
        await this.coordinator!.settle();
      },
      resumeCheckpoints: () => this.coordinator!.resume(),
      regenerated: async (failed, checkpoint) => {
        // Without determinants (at-least-once) a replacement may regenerate different records than those
        // sinks downstream already showed since the checkpoint: exactly-once is not kept there.
        const exposed = await this.shownSinceCheckpoint(taintedTasks(this.plan, failed));
        if (exposed.length === 0) return;
        this.guarantee = degraded(this.guarantee, checkpoint, exposed.map((e) => e.sink), `at-least-once recovery of ${[...failed].map((id) => this.plan.tasks[id]!.name).join(', ')}`);
        this.event('guarantee-degraded', { guarantee: this.guarantee });
      },
      escalate: async (reason, lost) => {
        this.escalations++;
        await this.rollbackToLatestCheckpoint(`escalation: ${reason}`, lost);
      },
    };
  }

  /** An empty standby for `taskId`; its backends are named `<label>:<task>:<operator>`. */
  private newStandby(taskId: number, label: string): Standby {
    const names = this.tasks[taskId]!.operators.map((op) => op.name);
    return new Standby(taskId, names, (name) => this.newBackend(`${label}:${taskId}:${name}`));
  }

  /** A new standby for `taskId`, holding its state at the latest completed checkpoint (from the store). */
  private addStandbyFromStore(taskId: number): void {
    if (this.strategy.features.standbys === 0) return;
    let list = this.standbys.get(taskId);
    if (!list) {
      list = [];
      this.standbys.set(taskId, list);
    }
    const standby = this.newStandby(taskId, `standby-r${this.backendCounter}`);
    const latest = this.checkpointStore?.latest ?? -1;
    if (latest >= 0) {
      const merged = this.checkpointStore!.restore(taskId);
      if (merged) standby.apply(merged);
    }
    list.push(standby);
  }

  /** Every determinant envelope stored by the job's sink partitions (a sink task's determinants live there). */
  private async sinkDeterminants(fromEpoch: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const task of this.tasks) {
      for (const op of task.operators) {
        if (op instanceof SinkOperator && task.status !== 'dead') {
          const stored = op.sinkPartition.determinants?.();
          if (stored) out.push(...stored);
        }
      }
    }
    for (const vertex of this.plan.vertices) {
      const node = this.nodes[vertex.nodes[vertex.nodes.length - 1]!]!;
      if (!node.sink) continue;
      for (let s = 0; s < vertex.parallelism; s++) {
        const task = this.tasks[vertex.firstTask + s]!;
        if (task.status !== 'dead') continue;
        // The dead sink task's partition lives on in the external system: open it to read what it stored.
        const partition = node.sinkConnector!.open({ subtask: s, parallelism: vertex.parallelism, jobDirectory: this.options.directory, restoredEpoch: fromEpoch });
        try {
          await partition.ready?.();
          const stored = partition.determinants?.();
          if (stored) out.push(...stored);
        } finally {
          void partition.close?.();
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ building

  /**
   * Creates every task and channel. With `checkpoint`, each task is restored from the store;
   * otherwise the job starts from scratch. Returns the number of tasks restored.
   */
  private buildTasks(
    checkpoint: number | null,
    ownLogs: ReadonlyMap<number, SurvivingLog> | null = null,
    histories: ReadonlyMap<number, EpochSegment[]> | null = null,
    showAfterVisible: ReadonlySet<number> = new Set(),
  ): number {
    const o = this.options;
    this.channels = this.plan.channels.map((c) => this.newChannel(c.index));
    let restored = 0;
    this.tasks = this.plan.tasks.map((plan) => {
      const snapshot = checkpoint !== null ? this.checkpointStore!.restore(plan.id) : null;
      if (snapshot) restored++;
      const own = ownLogs?.get(plan.id);
      if (own) return this.createTask(plan, snapshot, null, own.replay, own.history);
      return this.createTask(plan, snapshot, null, this.replayTraces?.get(plan.id) ?? null, histories?.get(plan.id) ?? null);
    });
    // Sinks that showed output the rollback regenerates show the regenerated records after it (at-least-once).
    for (const id of showAfterVisible) for (const op of this.tasks[id]!.operators) if (op instanceof SinkOperator) op.showAfterVisible();
    for (const task of this.tasks) this.startTask(task);
    return restored;
  }

  /**
   * A channel of the plan. Into a task whose head operator is async the credit is smaller: such a task
   * takes its records one promise at a time, and a checkpoint barrier queued behind a full channel would
   * wait for every record ahead of it (aligned checkpoints).
   */
  private newChannel(index: number): LocalChannel {
    const o = this.options;
    const c = this.plan.channels[index]!;
    const consumer = this.plan.tasks[c.to]!;
    const head = this.nodes[this.plan.vertices[consumer.vertex]!.nodes[0]!]!;
    const capacity = head.async === true ? Math.min(o.channelCapacity, ASYNC_INPUT_CAPACITY) : o.channelCapacity;
    return new LocalChannel({ index: c.index, from: c.from, to: c.to }, { capacity, batchSize: o.batchSize, serialize: o.serializeChannels });
  }

  /** Creates one task, restored from `snapshot` or a standby's state. */
  createTask(
    plan: TaskPlan,
    snapshot: TaskSnapshot | null,
    backends: Map<string, StateBackend> | null,
    replay: EpochSegment[] | null = null,
    history: EpochSegment[] | null = null,
  ): Task {
    const vertex = this.plan.vertices[plan.vertex]!;
    const chain: Operator[] = vertex.nodes.map((id) => this.createOperator(this.nodes[id]!, plan.subtask));
    const operators = [...chain];
    let deadLetterSink: SinkOperator | null = null;
    if (this.options.errors.policy === 'dead-letter') {
      deadLetterSink = new SinkOperator(`dead-letters[${plan.id}]`, this.deadLetterRouter(), this.strategy.features.sinkMode, this.options.directory, () => {});
      operators.push(deadLetterSink);
    }
    const env = this.environment(backends);
    const task = new Task(plan, vertex.parallelism, operators, env);
    task.buffering = operators.some((op) => op instanceof SinkOperator);
    task.allowsCalls = this.nodes[vertex.nodes[0]!]!.async === true;
    const causal = this.strategy.features.causal;
    if (causal) {
      task.causal = new CausalTaskLog({
        taskId: plan.id,
        dsd: causal.dsd,
        epoch: snapshot?.checkpointId ?? 0,
        retainAll: causal.retainAll,
        replay,
        history,
        onReplayEnd: () => task.noteLogEnd(),
      });
    }
    task.services = causal ? new RecordingServices(task) : new LiveServices();
    task.failAsync = (error) => this.taskFailed(task, error);
    for (const channelIndex of plan.inputs) task.addInput(this.channels[channelIndex]!, this.plan.channels[channelIndex]!.logicalInput);
    if (snapshot) task.restore(snapshot);
    let seqIndex = 0;
    plan.outputs.forEach((channelIndexes, edge) => {
      for (const channelIndex of channelIndexes) {
        task.addWriter(edge, this.channels[channelIndex]!, snapshot?.outputSeqs[seqIndex] ?? 0, task.causal);
        seqIndex++;
      }
    });
    // Each operator feeds the operators chained into it and the partitioners of its own output edges.
    const rebalancers: RebalancePartitioner[] = [];
    chain.forEach((op, i) => {
      const nodeId = vertex.nodes[i]!;
      const outputs: Output[] = [];
      for (let j = i + 1; j < chain.length; j++) {
        const consumer = this.nodes[vertex.nodes[j]!]!;
        if (consumer.inputs[0]!.from === nodeId) outputs.push(new ChainedOutput(chain[j]!));
      }
      vertex.outputs.forEach((edge, k) => {
        if (edge.edge.from === nodeId) outputs.push(this.edgeOutput(plan, edge.edge, task.writers[k]!, rebalancers));
      });
      op.output = outputs.length === 0 ? DISCARDING_OUTPUT : outputs.length === 1 ? outputs[0]! : new FanOutput(outputs);
    });
    task.applyRouting(rebalancers);
    if (deadLetterSink) deadLetterSink.output = DISCARDING_OUTPUT;
    const head = this.nodes[vertex.nodes[0]!]!;
    if (head.source) {
      task.source = new SourceDriver(
        task,
        chain[0] as SourceOperator,
        head.source.connector,
        { pollSize: this.options.batchSize, watermarks: head.source.watermarks },
        (count) => this.countInput(count),
        () => this.clock(),
        (at) => this.scheduler.wakeAt(task, at),
      );
    }
    if (snapshot?.finished) task.status = 'finished';
    return task;
  }

  /** Opens a created task and lets it run. */
  startTask(task: Task): void {
    if (task.status === 'finished') {
      this.finishedTasks++;
      this.coordinator?.taskFinished(task.taskId, this.finalSnapshot(task));
      this.checkAllFinished();
      return;
    }
    task.open();
    task.source?.open();
    this.scheduler.markRunnable(task);
  }

  private createOperator(node: LogicalNode, subtask: number): Operator {
    if (node.source) return new SourceOperator(node.name);
    if (node.sink) {
      return new SinkOperator(node.name, node.sinkConnector!, this.strategy.features.sinkMode, this.options.directory, (count, ingestTime) =>
        this.sinkOutput(count, ingestTime),
      );
    }
    return node.createOperator!(subtask);
  }

  /** The partitioner of one output edge over its writers. */
  private edgeOutput(plan: TaskPlan, edge: { partitioning: string; keyOf?: (r: any) => unknown }, writers: ChannelWriter[], rebalancers: RebalancePartitioner[]): Output {
    switch (edge.partitioning) {
      case 'forward':
        return new ForwardPartitioner(writers[0]!);
      case 'hash':
        return new HashPartitioner(writers, edge.keyOf!);
      case 'broadcast':
        return new BroadcastPartitioner(writers);
      default: {
        const partitioner = new RebalancePartitioner(writers, plan.subtask);
        rebalancers.push(partitioner);
        return partitioner;
      }
    }
  }

  private environment(backends: Map<string, StateBackend> | null): TaskEnvironment {
    return {
      features: this.strategy.features,
      clock: () => this.clock(),
      markRunnable: (task) => this.scheduler.markRunnable(task),
      resume: (task) => this.scheduler.runNow(task),
      wakeAt: (task, at) => this.scheduler.wakeAt(task, at),
      acknowledge: (task, id, snapshot) => this.coordinator?.acknowledge(task.taskId, id, snapshot),
      checkpointPending: (id) => this.coordinator !== null && this.coordinator.inFlight === id,
      abortedAfter: (epoch) => this.coordinator?.abortedAfter(epoch) ?? [],
      replayFinished: (task) => (this.local ? this.local.replayFinished(task) : true),
      replayLogEnded: (task) => this.local?.logEnded(task),
      finished: (task) => this.taskFinished(task),
      timersCancelled: (task, intervals) => {
        this.event('timers-cancelled', { task: task.taskName, intervals });
        process.emitWarning(`${task.taskName}: ${intervals} setInterval callback(s) registered inside causal() were still active when its input ended; they were stopped`, {
          code: 'CAUSALFLOW_INTERVALS_STOPPED',
        });
      },
      createStateBackend: (task, name) => {
        const ready = backends?.get(name);
        if (ready) return ready;
        return this.newBackend(`${task.taskId}:${name}`);
      },
      countLate: (_task, _name, count) => {
        this.late += count;
      },
      countInput: (count) => this.countInput(count),
      operatorFailed: (task, name, record, error) => this.operatorFailed(task, name, record, error),
      inflightSpill: this.inflightSpill,
      inflightMaxRecords: this.options.inflightMaxRecords,
    };
  }

  private newBackend(id: string): StateBackend {
    if (this.options.stateBackend === 'lmdb') return new LmdbStateBackend(this.stateRoot!, `kv:${id}:${this.backendCounter++}`);
    return new HeapStateBackend(this.strategy.features.checkpoints);
  }

  // ------------------------------------------------------------------ running

  private countInput(count: number): void {
    this.recordsIn += count;
    this.timeline.input(this.clock(), count);
  }

  private sinkOutput(count: number, ingestTime: number): void {
    const now = this.clock();
    const latency = now - ingestTime;
    this.recordsOut += count;
    this.outputTimes.record(now);
    this.latency.record(latency, count);
    this.timeline.output(now, count, latency);
  }

  private operatorFailed(task: Task, operatorName: string, record: unknown, error: unknown): void {
    if (this.options.errors.policy === 'fail') throw Task.wrapFailure(task, operatorName, error);
    const deadLetter = task.operators[task.operators.length - 1] as SinkOperator;
    const letter: DeadLetter = { operator: operatorName, subtask: task.subtask, record, error: error instanceof Error ? error.message : String(error) };
    this.deadLetters++;
    deadLetter.processElement(letter);
  }

  /** The dead-letter sink, with one partition per task (task ids are unique). */
  private deadLetterRouter(): import('../connectors/sink.js').Sink<unknown> {
    const sink = this.options.errors.deadLetter!;
    const total = this.plan.tasks.length;
    return { name: sink.name, open: (context) => sink.open({ ...context, parallelism: total }) };
  }

  private triggerSources(checkpointId: number): void {
    for (const task of this.tasks) {
      if (task.status === 'running' && task.source) {
        task.source.triggerCheckpoint(checkpointId);
        this.scheduler.markRunnable(task);
      }
    }
  }

  private checkpointCompleted(checkpointId: number, frames: ReadonlyMap<number, Uint8Array>): void {
    for (const task of this.tasks) if (task.status !== 'dead') task.checkpointCompleted(checkpointId);
    if (this.strategy.features.standbys > 0) this.feedStandbys(frames);
    const stats = this.coordinator!.stats;
    this.event('checkpoint', { id: checkpointId, durationMs: Math.round(stats.lastDurationMs * 1000) / 1000, bytes: stats.lastCompletedBytes });
  }

  private checkpointAborted(checkpointId: number): void {
    for (const task of this.tasks) if (task.status === 'running') task.checkpointAborted(checkpointId);
    this.event('checkpoint-aborted', { id: checkpointId });
  }

  /** Gives every standby its task's snapshot of the completed checkpoint, decoded from bytes (no shared objects). */
  private feedStandbys(frames: ReadonlyMap<number, Uint8Array>): void {
    for (const [taskId, frame] of frames) {
      let list = this.standbys.get(taskId);
      if (!list) {
        list = [];
        this.standbys.set(taskId, list);
        for (let i = 0; i < this.strategy.features.standbys; i++) list.push(this.newStandby(taskId, `standby${i}`));
      }
      for (const standby of list) standby.apply(decodeSnapshot(frame), frame.length);
    }
  }

  private taskFinished(task: Task): void {
    this.finishedTasks++;
    this.coordinator?.taskFinished(task.taskId, this.finalSnapshot(task));
    this.event('task-finished', { task: task.taskName });
    this.checkAllFinished();
  }

  /** A finished task's state: it stands for the task in every later checkpoint. */
  private finalSnapshot(task: Task): TaskSnapshot {
    const epoch = task.epoch;
    return {
      checkpointId: epoch,
      taskId: task.taskId,
      inputSeqs: task.inputs.map((i) => i.lastSeq),
      outputSeqs: task.allWriters.map((w) => w.seq),
      inputWatermarks: task.inputs.map((i) => i.watermark),
      inputEnded: task.inputs.map(() => true),
      operators: task.operators.map((op) => op.snapshot(epoch)),
      routing: task.rebalancers.map((r) => r.next),
      finished: true,
    };
  }

  private checkAllFinished(): void {
    if (this.finishedTasks < this.plan.tasks.length || this.settled) return;
    this.settled = true;
    this.scheduler.stop();
    // Nothing can roll back once every task finished: transactional sinks commit the rest.
    for (const task of this.tasks) for (const op of task.operators) if (op instanceof SinkOperator) op.finalCommit();
    for (const task of this.tasks) task.close();
    this.event('finished', {});
    void this.closeStores().then(
      () => this.resolveDone(this.result()),
      (error) => this.rejectDone(error),
    );
  }

  private taskFailed(task: Task, error: unknown): void {
    if (this.settled) return;
    if (!(error instanceof CausalflowError)) {
      this.failJob(new JobFailedError(`internal error in task ${task.taskName}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, error));
      return;
    }
    this.killNow(task, error);
  }

  private killNow(task: Task, cause: unknown = new TaskKilledError(task.taskName)): void {
    if (task.status === 'dead' || this.settled) return;
    if (this.tasks[task.taskId] !== task) return;
    if (this.repeatsWithoutProgress(cause)) {
      this.failJob(
        new JobFailedError(
          `the same failure happened ${MAX_REPEATED_FAILURES} times in a row without a checkpoint completing in between, so retrying cannot help: ${(cause as Error).message}`,
          cause,
        ),
      );
      return;
    }
    const wasFinished = task.status === 'finished';
    task.kill();
    this.scheduler.forget(task);
    // The task's own buffers (its input queues) die with it; what it sent is the consumers' now.
    for (const input of task.inputs) input.channel.close();
    this.local?.forget(task.taskId);
    if (wasFinished) this.finishedTasks--;
    if (this.pendingFailures.length === 0) this.failureGroups++;
    this.event('task-failed', { task: task.taskName, cause: cause instanceof Error ? cause.message : String(cause), group: this.failureGroups });
    if (this.recovering && this.strategy.mode === 'global-rollback') return;
    this.recoveries++;
    // Failures noticed in one go are recovered together, so that adjacent replacements are wired to each other.
    this.pendingFailures.push({ task, cause });
    if (this.pendingFailures.length === 1) queueMicrotask(() => this.recoverPending());
  }

  private recoverPending(): void {
    const batch = this.pendingFailures;
    this.pendingFailures = [];
    if (batch.length === 0 || this.settled) return;
    const tasks = batch.map((f) => f.task);
    const cause = batch.find((f) => !(f.cause instanceof TaskKilledError))?.cause ?? batch[0]!.cause;
    const recovery: Promise<void> = this.strategy.recover(this, tasks, cause).then(
      () => {
        if (this.recovering === recovery) this.recovering = null;
      },
      (error: unknown) => this.failJob(error),
    );
    this.recovering = recovery;
  }

  /**
   * Whether `cause` is an operator failure that keeps repeating with no checkpoint completing in
   * between (a poison record): recovery would loop forever on it. Injected kills never count.
   */
  private repeatsWithoutProgress(cause: unknown): boolean {
    if (!(cause instanceof OperatorError)) return false;
    const signature = cause.message;
    const latest = this.coordinator?.stats.latest ?? 0;
    if (this.lastFailure && this.lastFailure.signature === signature && this.lastFailure.checkpoint === latest) {
      this.lastFailure.count++;
    } else {
      this.lastFailure = { signature, checkpoint: latest, count: 1 };
    }
    return this.lastFailure.count >= MAX_REPEATED_FAILURES;
  }

  /** A task by id, by name, or as `<operator>[<subtask>]` for any operator chained into it. */
  private findTaskPlan(ref: string | number): TaskPlan {
    let plan = typeof ref === 'number' ? this.plan.tasks[ref] : this.plan.tasks.find((t) => t.name === ref);
    const match = typeof ref === 'string' && !plan ? /^(.*)\[(\d+)\]$/.exec(ref) : null;
    if (match) {
      const vertex = this.plan.vertices.find((v) => v.nodes.some((id) => this.nodes[id]!.name === match[1]));
      if (vertex) plan = this.plan.tasks[vertex.firstTask + Number(match[2])];
    }
    if (!plan) throw new ConfigError('kill.task', `a task id or name (${this.plan.tasks.map((t) => t.name).join(', ')})`, ref);
    return plan;
  }

  private result(): JobResult {
    return { ...this.progress(), guarantee: this.guarantee, events: [...this.log] };
  }

  /** What the job has kept of its exactly-once promise so far. */
  get keptGuarantee(): Guarantee {
    return this.guarantee;
  }

  private async closeStores(): Promise<void> {
    await this.coordinator?.settle();
    await this.checkpointStore?.close();
    await this.inflightSpill?.close();
    if (this.stateRoot) {
      await this.stateRoot.flushed;
      await this.stateRoot.close();
    }
  }
}
