/**
 * The coordinator of one job: it owns the plan and the placement of tasks on workers, drives checkpoints
 * (and keeps the checkpoint store), hears what workers report, injects faults, and hands failures to the
 * recovery strategy, which acts on the job through the {@link JobControl} this class implements. In the
 * embedded runtime its one worker lives in this process (`WorkerHost`); with workers, each is a process
 * reached over its control connection, and nothing here changes but the links.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedJobOptions } from '../config.js';
import { longestCopy, ReplicaStore, type EpochSegment } from '../../determinants/replica.js';
import { CausalflowError, JobFailedError, JobStalledError, TaskKilledError, WorkerLostError } from '../errors.js';
import type { JobControl, ReplacementSpec } from './job-control.js';
import type { RecoveryStrategy } from './strategy.js';
import { CheckpointStore } from '../state/checkpoint-store.js';
import { decodeSnapshot, encodeSnapshot } from '../state/snapshot.js';
import { monotonicClock } from '../util/clock.js';
import { CheckpointCoordinator } from './coordinator.js';
import { taintedTasks, type ShownSinceCheckpoint } from './escalation.js';
import type { JobEvent, JobEventDetails, JobEventType, TaskWait } from './events.js';
import { EXACTLY_ONCE, degraded, type Guarantee } from './guarantee.js';
import type { TaskMemoryFigures } from './memory-figures.js';
import { Histogram, OutputTimes, Timeline } from './metrics.js';
import { buildPlan, type LogicalNode, type PhysicalPlan } from './plan.js';
import { FaultInjector, type FaultTargets, type KillSchedule } from './fault-injector.js';
import type { DetectedBy, FleetEndpoints, WorkerFleet } from './fleet.js';
import { planFingerprint } from './plan-fingerprint.js';
import type { Placement } from './placement.js';
import { Scheduler } from './scheduler.js';
import type { Sink } from '../connectors/sink.js';
import { deployAll, resume, rollBack } from './rollback.js';
import type { Standby } from './standby.js';
import { StallDetector } from './stall-detector.js';
import type { Task } from './task.js';
import type { FailureReport, ReplacementReport, RoundSpec, SinkProgress, WorkerCommands, WorkerReports } from './worker-api.js';
import { WorkerHost } from './worker-host.js';
import { LocalTransport } from '../transport/transport.js';
import { channelOptions } from './channel-options.js';

export type { JobEvent } from './events.js';
export type { KillSchedule } from './fault-injector.js';

/** An operator failure repeating this often with no checkpoint in between fails the job (a poison record). */
const MAX_REPEATED_FAILURES = 3;

/** Worker processes of a job, and where its tasks and standbys start. */
export interface ClusterRun {
  fleet: WorkerFleet;
  placement: Placement;
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

/** The coordinator's view of a task. */
type TaskState = 'running' | 'finished' | 'dead';

/** Runs one job. */
export class Executor implements WorkerReports {
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
  /** Resolves when every task finished (and sinks committed); rejects when the job fails. */
  readonly done: Promise<JobResult>;

  private readonly log: JobEvent[] = [];
  /** When the job clock started: when the tasks started running (deploying them takes a while). */
  private startedAt = monotonicClock();
  /** The workers, by index; null where one is gone. */
  private readonly links: (WorkerCommands | null)[];
  /** The embedded runtime's one worker (tests and tools read it); null with worker processes. */
  private readonly localHost: WorkerHost | null;
  /** Runs the coordinator's tickers (checkpoint intervals, stall checks) and deadlines (scheduled kills). */
  private readonly ticks: Scheduler;
  private readonly faults: FaultInjector;
  /** Lost workers being brought back, by index. */
  private readonly respawning = new Map<number, Promise<void>>();
  private placement: number[];
  private readonly standbyHomes = new Map<number, number>();
  private readonly incarnations: number[];
  private readonly taskState: TaskState[];
  private coordinator: CheckpointCoordinator | null = null;
  private checkpointStore: CheckpointStore | null = null;
  private readonly control: JobControl;
  private recordsIn = 0;
  private recordsOut = 0;
  private recoveries = 0;
  private finishedTasks = 0;
  private recovering: Promise<void> | null = null;
  private settled = false;
  private resolveDone!: (result: JobResult) => void;
  private rejectDone!: (error: unknown) => void;
  private lastFailure: { signature: string; checkpoint: number; count: number } | null = null;
  private pendingFailures: { taskId: number; cause: unknown }[] = [];
  private escalations = 0;
  /** Failures noticed in one instant form a group, recovered together (numbered from 1). */
  private failureGroups = 0;
  /** What the job has kept of its exactly-once promise so far. */
  private guarantee: Guarantee = EXACTLY_ONCE;
  private finalTraces: Map<number, EpochSegment[]> | null = null;
  /** This run's identity (`SinkContext.runId`), kept in the job directory for a resumed run. */
  private runId = '';

  constructor(
    readonly nodes: readonly LogicalNode[],
    readonly options: ResolvedJobOptions,
    readonly strategy: RecoveryStrategy,
    /** Verification only: every task replays this trace from the job's start (the oracle). */
    private readonly replayTraces: ReadonlyMap<number, EpochSegment[]> | null = null,
    /** Worker processes, or null for the embedded runtime. */
    private readonly cluster: ClusterRun | null = null,
  ) {
    this.plan = buildPlan(nodes);
    this.done = new Promise<JobResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A rejection nobody awaits yet must not crash the process; `done` still rejects for whoever awaits it.
    this.done.catch(() => {});
    this.incarnations = this.plan.channels.map(() => 0);
    this.taskState = this.plan.tasks.map(() => 'running');
    if (cluster) {
      this.localHost = null;
      this.links = new Array<WorkerCommands | null>(cluster.fleet.size).fill(null);
      this.placement = [...cluster.placement.tasks];
      if (strategy.features.standbys > 0) cluster.placement.standbys.forEach((worker, taskId) => this.standbyHomes.set(taskId, worker));
      this.ticks = new Scheduler(() => this.clock());
    } else {
      this.localHost = new WorkerHost({
        index: 0,
        nodes,
        plan: this.plan,
        options,
        features: strategy.features,
        reports: this,
        transport: new LocalTransport(0, (channel) => channelOptions(nodes, this.plan, options, channel)),
        clock: () => this.clock(),
        directory: join(options.directory, 'worker-0'),
      });
      this.links = [this.localHost];
      this.placement = this.plan.tasks.map(() => 0);
      if (strategy.features.standbys > 0) for (const task of this.plan.tasks) this.standbyHomes.set(task.id, 0);
      this.ticks = this.localHost.scheduler;
    }
    this.faults = new FaultInjector({
      plan: this.plan,
      nodes,
      workerProcesses: cluster ? cluster.fleet.size : 0,
      clock: () => this.clock(),
      deadline: (at, action) => this.ticks.addDeadline(at, action),
      event: (type, details) => this.event(type, details),
      ended: () => this.settled,
      killNow: (targets) => this.killNow(targets),
      armKill: (taskId, records) => this.links[this.placement[taskId]!]?.armKill(taskId, records),
    });
    this.control = this.controlOf();
  }

  /** This run's identity (known once the job started). */
  get jobRunId(): string {
    return this.runId;
  }

  /** Worker processes of the job (0: the embedded runtime). */
  get workerCount(): number {
    return this.cluster ? this.cluster.fleet.size : 0;
  }

  /** Process ids of the worker processes, by index (null where none runs; empty for the embedded runtime). */
  workerPids(): (number | null)[] {
    return this.cluster ? this.cluster.fleet.pids() : [];
  }

  /** With worker processes: where the coordinator's and the workers' servers listen (null for the embedded runtime). */
  fleetEndpoints(): FleetEndpoints | null {
    return this.cluster ? this.cluster.fleet.endpoints() : null;
  }

  /** Task id → worker index, as placed now. */
  currentPlacement(): readonly number[] {
    return this.placement;
  }

  /** Milliseconds since the job started (the job clock). */
  clock(): number {
    return monotonicClock() - this.startedAt;
  }

  /** Prepares storage, deploys the tasks, schedules `faults` and starts running. */
  async start(faults: readonly ({ task: string | number | readonly (string | number)[] } & KillSchedule)[] = []): Promise<void> {
    const { directory } = this.options;
    mkdirSync(directory, { recursive: true });
    if (this.strategy.features.checkpoints) {
      this.checkpointStore = CheckpointStore.open({ path: join(directory, 'checkpoints') });
      // A new run starts from scratch; checkpoints of an earlier run of this directory do not apply.
      if (!this.options.resume) await this.checkpointStore.clear();
      this.coordinator = new CheckpointCoordinator(
        this.checkpointStore,
        {
          taskIds: () => this.plan.tasks.map((t) => t.id),
          triggerSources: (id) => this.broadcast((link) => link.triggerSources(id)),
          triggered: (id) => this.event('checkpoint-triggered', { id }),
          acknowledged: (id, bytes) => this.event('checkpoint-acknowledged', { id, bytes }),
          completed: (id, frames) => this.checkpointCompleted(id, frames),
          aborted: (id) => {
            this.broadcast((link) => link.checkpointAborted(id));
            this.event('checkpoint-aborted', { id });
          },
        },
        this.options.recovery.checkpointIntervalMs,
        () => this.clock(),
      );
      this.coordinator.onError = (error) => this.failJob(error);
      this.ticks.addTicker((now) => this.coordinator!.tick(now));
    }
    if (this.options.stallTimeoutMs > 0) this.watchForStalls();
    this.runId = runIdentity(directory, this.options.resume);
    if (this.cluster) await this.startWorkers(this.cluster.fleet);
    const resumedFrom = this.options.resume && this.checkpointStore && this.checkpointStore.latest >= 0 ? this.checkpointStore.latest : null;
    if (resumedFrom !== null) await resume(this.rollbackHost(), this.sinkDeterminants(Math.max(0, resumedFrom)));
    else await deployAll(this.rollbackHost(), null, new Map(), new Map(), new Set(), this.replayTraces, true);
    // The job clock starts now, as the tasks start: paced sources, checkpoint intervals and faults given in
    // ms all count from here, however long deploying took.
    this.startedAt = monotonicClock();
    this.coordinator?.restartInterval();
    this.event('started', {
      tasks: this.plan.tasks.length,
      mode: this.strategy.mode,
      dsd: this.strategy.features.causal && this.strategy.mode === 'exactly-once' ? this.strategy.features.causal.dsd : null,
      workers: this.workerCount,
      ...(resumedFrom !== null ? { resumedFrom } : {}),
    });
    // Faults are armed before the first activation, so that "after N records" counts from the start; faults
    // given the same `afterMs` die in the same instant.
    this.faults.schedule(faults);
    const origin = performance.timeOrigin + this.startedAt;
    this.broadcast((link) => link.run(origin));
    if (!this.localHost) void this.ticks.start();
  }

  /** Starts the worker processes; their reports come here, their deaths to {@link workerLost}. */
  private async startWorkers(fleet: WorkerFleet): Promise<void> {
    const coordinatorSinks = new Map<number, Sink<unknown>>();
    for (const node of this.nodes) if (node.sink && node.sinkConnector?.location === 'coordinator') coordinatorSinks.set(node.id, node.sinkConnector);
    const links = await fleet.start({
      reports: this,
      lost: (worker, detectedBy, detectionMs) => this.workerLost(worker, detectedBy, detectionMs),
      options: this.options,
      features: this.strategy.features,
      fingerprint: planFingerprint(this.plan),
      coordinatorSinks,
      clockOrigin: () => performance.timeOrigin + this.startedAt,
      transportWarning: (warning) => this.event('transport-warning', warning),
    });
    links.forEach((link, i) => (this.links[i] = link));
  }

  /** Stops the job now (Ctrl-C): tasks stop where they are; nothing more becomes visible. */
  async stop(reason = 'stopped'): Promise<JobResult> {
    if (!this.settled) {
      this.settled = true;
      await this.collectTraces();
      for (const link of this.links) await link?.stopTasks();
      this.event('stopped', { reason });
      await this.closeStores();
      this.resolveDone(this.result());
    }
    return this.done;
  }

  /**
   * Kills tasks (by id, name, or `<operator>[<subtask>]`; with worker processes also `worker-N`) now, or on
   * a schedule. Several given together die in one instant: they fail as one group and are recovered
   * together, truly concurrently. `afterRecords` counts each task's own input, so it takes one task. With
   * worker processes a kill is a SIGKILL of the process holding the task.
   */
  kill(tasks: string | number | readonly (string | number)[], when: KillSchedule = {}): void {
    this.faults.kill(tasks, when);
  }

  /** Kills `targets` in one go: one failure group, one recovery. */
  private killNow(targets: FaultTargets): void {
    if (this.settled) return;
    const byWorker = new Map<number, number[]>();
    for (const id of targets.tasks) {
      const worker = this.placement[id]!;
      if (!byWorker.has(worker)) byWorker.set(worker, []);
      byWorker.get(worker)!.push(id);
    }
    if (this.cluster) {
      // A task whose worker is already gone is being recovered; a worker being respawned is not there yet.
      const workers = new Set([...byWorker.keys(), ...targets.workers].filter((w) => this.links[w] !== null));
      for (const worker of workers) {
        const name = (id: number): string => this.plan.tasks[id]!.name;
        this.event('worker-killed', {
          worker,
          tasks: this.placement.flatMap((w, id) => (w === worker && this.taskState[id] !== 'dead' ? [name(id)] : [])),
          standbys: [...this.standbyHomes].flatMap(([id, w]) => (w === worker ? [name(id)] : [])),
        });
      }
      this.expectDeaths([...workers].filter((w) => this.links[w] !== null));
      for (const worker of workers) this.cluster.fleet.kill(worker);
      return;
    }
    for (const [worker, ids] of byWorker) this.links[worker]?.killTasks(ids);
  }

  /** Live figures. */
  progress(): JobProgress {
    const stats = this.coordinator?.stats;
    const nan = (v: number): number | null => (Number.isNaN(v) ? null : Math.round(v * 1000) / 1000);
    let late = 0;
    let deadLetters = 0;
    const inflightSpill = { chunks: 0, bytes: 0, chunksReadBack: 0 };
    for (const link of this.links) {
      if (!link) continue;
      const figures = link.figures();
      late += figures.late;
      deadLetters += figures.deadLetters;
      inflightSpill.chunks += figures.inflightSpill.chunks;
      inflightSpill.bytes += figures.inflightSpill.bytes;
      inflightSpill.chunksReadBack += figures.inflightSpill.chunksReadBack;
    }
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
      lateRecordsDropped: late,
      deadLetters,
      escalations: this.escalations,
      inflightSpill,
      tasksFinished: this.finishedTasks,
      tasks: this.plan.tasks.length,
    };
  }

  /** Every event so far. */
  eventLog(): readonly JobEvent[] {
    return this.log;
  }

  /** The live task with id `taskId`, in the embedded runtime (tests and tools). */
  taskById(taskId: number): Task | undefined {
    return this.localHost?.tasks.get(taskId);
  }

  /** Per task: determinant log and replica bytes, keyed-state size and its standby's (benchmarks). */
  async memoryFigures(withState = true): Promise<TaskMemoryFigures[]> {
    const all: TaskMemoryFigures[] = [];
    for (const link of this.links) if (link) all.push(...(await link.memoryFigures(withState)));
    return all;
  }

  /** Every task's whole determinant trace (verification: needs `retainDeterminants`). */
  traces(): Map<number, EpochSegment[]> {
    if (this.finalTraces) return this.finalTraces;
    const traces = new Map<number, EpochSegment[]>();
    for (const task of this.localHost?.tasks.values() ?? []) if (task.recorder.keepsLog) traces.set(task.taskId, task.recorder.ownSegments(0));
    return traces;
  }

  /** Standbys of a task in the embedded runtime (tests and tools). */
  standbysOf(taskId: number): readonly Standby[] {
    return this.localHost?.standbysOf(taskId) ?? [];
  }

  /** What the job has kept of its exactly-once promise so far. */
  get keptGuarantee(): Guarantee {
    return this.guarantee;
  }

  // ------------------------------------------------------------------ events and the end

  /** Records an event and tells listeners. */
  event<K extends JobEventType>(type: K, details: JobEventDetails[K]): void {
    const event = { t: Math.round(this.clock() * 1000) / 1000, type, ...details } as JobEvent;
    this.log.push(event);
    this.events.emit('event', event);
  }

  /** Fails the job for good. */
  failJob(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    const failure = error instanceof CausalflowError ? error : new JobFailedError(`job failed: ${error instanceof Error ? error.message : String(error)}`, error);
    this.event('failed', { error: failure.message, code: failure.code });
    void (async () => {
      for (const link of this.links) await link?.stopTasks().catch(() => {});
      await this.closeStores();
    })().finally(() => this.rejectDone(failure));
  }

  private checkAllFinished(): void {
    if (this.finishedTasks < this.plan.tasks.length || this.settled) return;
    this.settled = true;
    void (async () => {
      for (const link of this.links) await link?.finish();
      this.event('finished', {});
      await this.collectTraces();
      await this.closeStores();
    })().then(
      () => this.resolveDone(this.result()),
      (error) => this.rejectDone(error),
    );
  }

  /** With retained determinants, the final traces, read before the workers close (verification). */
  private async collectTraces(): Promise<void> {
    if (!this.strategy.features.causal?.retainAll) return;
    const traces = new Map<number, EpochSegment[]>();
    for (const link of this.links) if (link) for (const [id, trace] of await link.traces()) traces.set(id, trace);
    this.finalTraces = traces;
  }

  private result(): JobResult {
    return { ...this.progress(), guarantee: this.guarantee, events: [...this.log] };
  }

  private async closeStores(): Promise<void> {
    if (this.cluster) this.ticks.stop();
    await this.coordinator?.settle();
    await this.checkpointStore?.close();
    for (const link of this.links) await link?.close();
    if (this.cluster) await this.cluster.fleet.close();
  }

  private watchForStalls(): void {
    const detector = new StallDetector(
      {
        progress: () => {
          let moved = this.recordsIn + this.recordsOut + this.finishedTasks + this.recoveries + (this.coordinator?.stats.completed ?? 0);
          for (const link of this.links) if (link) moved += link.figures().elementsIn;
          return moved;
        },
        holdsWork: () => this.links.some((link) => link !== null && link.figures().holdsWork),
      },
      this.options.stallTimeoutMs,
    );
    this.ticks.addTicker((now) => {
      const idleMs = detector.check(now);
      if (idleMs !== null) void this.stalled(idleMs);
    });
  }

  /** The job made no progress while holding work: report what every task waits for, and fail. */
  private async stalled(idleMs: number): Promise<void> {
    const waiting: TaskWait[] = [];
    for (const link of this.links) if (link) waiting.push(...(await link.waits()));
    this.event('stalled', { idleMs, waiting });
    const lines = waiting.filter((w) => w.status === 'running').map((w) => `  ${w.task}: ${w.waitingFor}`);
    this.failJob(new JobStalledError(`the job made no progress for ${Math.round(idleMs)} ms while its tasks held work; what each waits for:\n${lines.join('\n')}`, waiting));
  }

  // ------------------------------------------------------------------ WorkerReports

  /** {@inheritDoc WorkerReports.acknowledge} */
  acknowledge(_worker: number, taskId: number, checkpointId: number, frame: Uint8Array): void {
    // Worker processes may still acknowledge while the job ends: the store is closing, nothing completes.
    if (this.settled) return;
    this.coordinator?.acknowledge(taskId, checkpointId, frame);
  }

  /** {@inheritDoc WorkerReports.taskFinished} */
  taskFinished(_worker: number, taskId: number, finalSnapshot: Uint8Array): void {
    if (this.settled || this.taskState[taskId] !== 'running') return;
    this.taskState[taskId] = 'finished';
    this.finishedTasks++;
    this.coordinator?.taskFinished(taskId, decodeSnapshot(finalSnapshot));
    this.event('task-finished', { task: this.plan.tasks[taskId]!.name });
    this.checkAllFinished();
  }

  /** {@inheritDoc WorkerReports.tasksFailed} */
  tasksFailed(_worker: number, failures: FailureReport[]): void {
    for (const failure of failures) this.taskDied(failure.taskId, failure.cause ?? new TaskKilledError(this.plan.tasks[failure.taskId]!.name));
  }

  /** {@inheritDoc WorkerReports.logEnded} */
  logEnded(_worker: number, taskId: number, regenerated: number[], sinks: SinkProgress[], records: number): void {
    if (this.settled) return;
    // A worker process may replay a short log to its end before the round's answer is read here: the
    // strategy hears of a replacement's log end only after it learned of the replacement.
    if (this.inRound.has(taskId)) {
      this.earlyLogEnds.push(() => this.logEnded(_worker, taskId, regenerated, sinks, records));
      return;
    }
    this.strategy.logEnded?.(this.control, taskId, regenerated, sinks, records);
  }

  /** Tasks being replaced by a round that has not returned yet. */
  private readonly inRound = new Set<number>();
  /** Log ends reported by replacements of a round that has not returned yet. */
  private earlyLogEnds: (() => void)[] = [];

  /** {@inheritDoc WorkerReports.sinkOutput} */
  sinkOutput(_worker: number, at: number, count: number, latency: number): void {
    this.recordsOut += count;
    this.outputTimes.record(at);
    this.latency.record(latency, count);
    this.timeline.output(at, count, latency);
  }

  /** {@inheritDoc WorkerReports.sourceInput} */
  sourceInput(_worker: number, at: number, count: number): void {
    this.recordsIn += count;
    this.timeline.input(at, count);
  }

  /** {@inheritDoc WorkerReports.taskEvent} */
  taskEvent(_worker: number, event: { type: 'timers-cancelled'; task: string; intervals: number }): void {
    this.event(event.type, { task: event.task, intervals: event.intervals });
  }

  private checkpointCompleted(checkpointId: number, frames: ReadonlyMap<number, Uint8Array>): void {
    this.broadcast((link) => link.checkpointCompleted(checkpointId));
    // Standbys get their task's snapshot of the completed checkpoint, as bytes (no shared objects).
    for (const [taskId, frame] of frames) {
      const home = this.standbyHomes.get(taskId);
      if (home !== undefined) this.links[home]?.applyStandby(taskId, frame);
    }
    const stats = this.coordinator!.stats;
    this.event('checkpoint', { id: checkpointId, durationMs: Math.round(stats.lastDurationMs * 1000) / 1000, bytes: stats.lastCompletedBytes });
  }

  private broadcast(fn: (link: WorkerCommands) => void): void {
    for (const link of this.links) if (link) fn(link);
  }

  // ------------------------------------------------------------------ worker processes

  /** Workers killed together whose deaths are still being noticed: their tasks fail as one group. */
  private dyingTogether: { workers: Set<number>; noticed: { worker: number; detectedBy: DetectedBy; detectionMs: number | null }[]; timer: NodeJS.Timeout } | null = null;

  /**
   * Worker `worker` is gone: every task on it failed, in one group with the other workers killed in the
   * same instant (their sockets close a moment apart); standbys it held are placed anew; a new process
   * takes its place.
   */
  private workerLost(worker: number, detectedBy: DetectedBy, detectionMs: number | null): void {
    if (!this.links[worker]) return;
    this.links[worker] = null;
    if (this.settled) return;
    const group = this.dyingTogether;
    if (group && group.workers.has(worker)) {
      group.noticed.push({ worker, detectedBy, detectionMs });
      if (group.noticed.length === group.workers.size) this.failDeadWorkers();
      return;
    }
    this.failWorkerTasks(worker, detectedBy, detectionMs);
    this.respawnWhenRecovered(worker);
  }

  /** Expects the deaths of `workers` (killed in one instant) and fails their tasks together. */
  private expectDeaths(workers: readonly number[]): void {
    if (workers.length < 2) return;
    if (this.dyingTogether) this.failDeadWorkers();
    // A SIGKILLed process's socket closes within milliseconds; a group never waits longer than this.
    const timer = setTimeout(() => this.failDeadWorkers(), 500);
    this.dyingTogether = { workers: new Set(workers), noticed: [], timer };
  }

  private failDeadWorkers(): void {
    const group = this.dyingTogether;
    if (!group) return;
    this.dyingTogether = null;
    clearTimeout(group.timer);
    for (const lost of group.noticed) this.failWorkerTasks(lost.worker, lost.detectedBy, lost.detectionMs);
    for (const lost of group.noticed) this.respawnWhenRecovered(lost.worker);
  }

  private failWorkerTasks(worker: number, detectedBy: DetectedBy, detectionMs: number | null): void {
    if (this.settled) return;
    const tasks = this.placement.flatMap((w, id) => (w === worker && this.taskState[id] !== 'dead' ? [id] : []));
    this.event('worker-lost', { worker, detectedBy, detectionMs, tasks: tasks.map((id) => this.plan.tasks[id]!.name) });
    for (const id of tasks) this.taskDied(id, new WorkerLostError(worker, detectedBy), { worker, detectedBy, detectionMs });
    // Standbys the worker held for tasks that live on: new ones, from the checkpoint store, elsewhere.
    for (const [taskId, home] of this.standbyHomes) {
      if (home === worker && this.placement[taskId] !== worker && this.taskState[taskId] !== 'dead') this.addStandby(taskId);
    }
  }

  /**
   * Brings a lost worker back once the recovery of its tasks is over: starting a process (and compiling
   * the job module) costs a core for a second or two, which the replays need more. With no worker left
   * alive, at once: the replacements need somewhere to run.
   */
  private respawnWhenRecovered(worker: number): void {
    if (this.links.every((link) => link === null)) {
      this.respawn(worker);
      return;
    }
    // The recovery ends when its replacements are live (or the rollback is done); a safety timer bounds it.
    const ends = new Set(['recovery-finished', 'rollback-finished', 'finished', 'failed', 'stopped']);
    const onEvent = (event: JobEvent): void => {
      if (!ends.has(event.type)) return;
      clearTimeout(timer);
      this.events.off('event', onEvent);
      this.respawn(worker);
    };
    const timer = setTimeout(() => onEvent({ t: 0, type: 'recovery-finished' } as JobEvent), 10_000);
    this.events.on('event', onEvent);
  }

  /** Brings lost worker `worker` back as a new process (it holds nothing until placement gives it some). */
  private respawn(worker: number): void {
    if (this.settled || this.respawning.has(worker) || !this.cluster) return;
    const started = this.clock();
    const fleet = this.cluster.fleet;
    // A process may die while it starts (killed, or the machine is short of memory): try again, a few times.
    const attempt = async (tries: number): Promise<WorkerCommands> => {
      try {
        return await fleet.respawn(worker);
      } catch (error) {
        if (tries <= 1 || this.settled) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
        return attempt(tries - 1);
      }
    };
    const done = attempt(3).then(
      (link) => {
        this.respawning.delete(worker);
        if (this.settled) return;
        this.links[worker] = link;
        link.run(performance.timeOrigin + this.startedAt);
        this.event('worker-respawned', { worker, ms: Math.round((this.clock() - started) * 1000) / 1000 });
        // Standbys that had to share their task's worker (no other was alive) move to the new one.
        for (const [taskId, home] of this.standbyHomes) if (home === this.placement[taskId] && this.taskState[taskId] !== 'dead') this.addStandby(taskId);
      },
      (error: unknown) => {
        this.respawning.delete(worker);
        this.failJob(error);
      },
    );
    this.respawning.set(worker, done);
  }

  /** Waits until some worker is alive (every one died: their replacements wait for new processes). */
  private async someWorkerAlive(): Promise<void> {
    while (!this.settled && this.links.every((link) => link === null) && this.respawning.size > 0) await Promise.race(this.respawning.values());
  }

  /** Tasks placed on lost workers go to the least loaded live ones, as do standbys there (a global rollback). */
  private async placeLostTasks(): Promise<void> {
    await this.someWorkerAlive();
    const live = this.links.flatMap((link, i) => (link ? [i] : []));
    if (live.length === 0) return;
    const load = new Map(live.map((w) => [w, this.placement.filter((p) => p === w).length]));
    this.placement = this.placement.map((worker) => {
      if (this.links[worker]) return worker;
      const target = live.reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
      load.set(target, load.get(target)! + 1);
      return target;
    });
    for (const [taskId, home] of this.standbyHomes) {
      if (this.links[home] && home !== this.placement[taskId]) continue;
      const others = live.filter((w) => w !== this.placement[taskId]);
      this.standbyHomes.set(taskId, others.length > 0 ? others[taskId % others.length]! : this.placement[taskId]!);
    }
  }

  // ------------------------------------------------------------------ failures

  private taskDied(taskId: number, cause: unknown, detection: { worker: number; detectedBy: DetectedBy; detectionMs: number | null } | null = null): void {
    if (this.settled || this.taskState[taskId] === 'dead') return;
    if (!(cause instanceof CausalflowError)) {
      this.failJob(new JobFailedError(`internal error in task ${this.plan.tasks[taskId]!.name}: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`, cause));
      return;
    }
    if (this.repeatsWithoutProgress(cause)) {
      this.failJob(
        new JobFailedError(`the same failure happened ${MAX_REPEATED_FAILURES} times in a row without a checkpoint completing in between, so retrying cannot help: ${cause.message}`, cause),
      );
      return;
    }
    if (this.taskState[taskId] === 'finished') this.finishedTasks--;
    this.taskState[taskId] = 'dead';
    if (this.pendingFailures.length === 0) this.failureGroups++;
    this.event('task-failed', { task: this.plan.tasks[taskId]!.name, cause: cause.message, group: this.failureGroups, ...(detection ?? {}) });
    if (this.recovering && this.strategy.mode === 'global-rollback') return;
    this.recoveries++;
    // Failures noticed in one go are recovered together, so that adjacent replacements are wired to each other.
    this.pendingFailures.push({ taskId, cause });
    if (this.pendingFailures.length === 1) queueMicrotask(() => this.recoverPending());
  }

  private recoverPending(): void {
    const batch = this.pendingFailures;
    this.pendingFailures = [];
    if (batch.length === 0 || this.settled) return;
    const cause = batch.find((f) => !(f.cause instanceof TaskKilledError))?.cause ?? batch[0]!.cause;
    const recovery: Promise<void> = this.strategy
      .recover(
        this.control,
        batch.map((f) => f.taskId),
        cause,
      )
      .then(
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
    // By code: a failure in a worker process arrives as a RemoteTaskError carrying the operator's code.
    if (!(cause instanceof CausalflowError) || cause.code !== 'OPERATOR_FAILED') return false;
    const signature = cause.message;
    const latest = this.coordinator?.stats.latest ?? 0;
    if (this.lastFailure && this.lastFailure.signature === signature && this.lastFailure.checkpoint === latest) {
      this.lastFailure.count++;
    } else {
      this.lastFailure = { signature, checkpoint: latest, count: 1 };
    }
    return this.lastFailure.count >= MAX_REPEATED_FAILURES;
  }

  // ------------------------------------------------------------------ JobControl

  private rollbackHost(): import('./rollback.js').RollbackHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the host reads state this class replaces
    const executor = this;
    return {
      plan: this.plan,
      get store() {
        return executor.checkpointStore!;
      },
      get coordinator() {
        return executor.coordinator!;
      },
      links: this.links,
      get placement() {
        return executor.placement;
      },
      standbyHome: (taskId) => this.standbyHomes.get(taskId) ?? null,
      incarnations: this.incarnations,
      get runId() {
        return executor.runId;
      },
      onEscalation: this.options.recovery.onEscalation,
      retainAll: this.strategy.features.causal?.retainAll ?? false,
      recordsDeterminants: this.strategy.features.causal !== null,
      shownSinceCheckpoint: (tainted) => this.shownSinceCheckpoint(tainted),
      historyOf: (taskId, beforeEpoch) => this.historyOf(taskId, beforeEpoch),
      getGuarantee: () => this.guarantee,
      setGuarantee: (guarantee) => {
        this.guarantee = guarantee;
      },
      event: (type, details) => this.event(type, details),
      failJob: (error) => this.failJob(error),
      clock: () => this.clock(),
      restarted: () => {
        this.finishedTasks = 0;
        this.taskState.fill('running');
      },
      ...(this.cluster ? { placeLostTasks: () => this.placeLostTasks() } : {}),
    };
  }

  private controlOf(): JobControl {
    const causal = this.strategy.features.causal;
    return {
      plan: this.plan,
      causal: causal !== null && causal.dsd !== 0,
      retainAll: causal?.retainAll ?? false,
      clock: () => this.clock(),
      event: (type, details) => this.event(type, details),
      failJob: (error) => this.failJob(error),
      pauseCheckpoints: async () => {
        this.coordinator!.pause();
        this.coordinator!.abortPending();
        await this.coordinator!.settle();
      },
      resumeCheckpoints: () => this.coordinator!.resume(),
      latestCheckpoint: () => (this.checkpointStore ? this.checkpointStore.latest : -1),
      isDead: (taskId) => this.taskState[taskId] === 'dead',
      sinkDeterminants: (fromEpoch) => this.sinkDeterminants(fromEpoch),
      collectCopies: (taskIds, fromEpoch) => this.collectCopies(taskIds, fromEpoch),
      historyOf: (taskId, beforeEpoch) => this.historyOf(taskId, beforeEpoch),
      replace: (specs) => this.replace(specs),
      incarnationOf: (index) => this.incarnations[index]!,
      holdings: async (index, before) => {
        const consumer = this.plan.channels[index]!.to;
        return (await this.links[this.placement[consumer]!]?.holdings(index, before)) ?? -1;
      },
      goLive: (taskId) => {
        this.taskState[taskId] = 'running';
        this.links[this.placement[taskId]!]?.goLive(taskId);
      },
      addStandby: (taskId) => this.addStandby(taskId),
      rollback: async (reason, lost) => {
        if (lost) this.escalations++;
        await rollBack(this.rollbackHost(), reason, lost);
      },
      regenerated: async (failed, checkpoint) => {
        // Without determinants (at-least-once) a replacement may regenerate different records than those
        // sinks downstream already showed since the checkpoint: exactly-once is not kept there (I23).
        const exposed = await this.shownSinceCheckpoint(taintedTasks(this.plan, failed));
        if (exposed.length === 0) return;
        this.guarantee = degraded(this.guarantee, checkpoint, exposed.map((e) => e.sink), `at-least-once recovery of ${[...failed].map((id) => this.plan.tasks[id]!.name).join(', ')}`);
        this.event('guarantee-degraded', { guarantee: this.guarantee });
      },
    };
  }

  /** One round of local recovery on every worker (see {@link JobControl.replace}). */
  private async replace(specs: readonly ReplacementSpec[]): Promise<ReplacementReport[]> {
    await this.someWorkerAlive();
    const checkpoint = this.checkpointStore ? this.checkpointStore.latest : -1;
    const failed = new Set(specs.map((s) => s.taskId));
    // The placement changes now, before any round is sent: rounds of concurrent recoveries each send the
    // whole placement, and a later one must not undo where an earlier one put its replacements.
    for (const spec of specs) this.placement[spec.taskId] = this.replacementWorker(spec.taskId);
    const placement = [...this.placement];
    // Every channel of a failed task is wired anew.
    const rewired = new Set<number>();
    for (const id of failed) {
      const plan = this.plan.tasks[id]!;
      for (const index of [...plan.inputs, ...plan.outputs.flat()]) rewired.add(index);
    }
    for (const index of rewired) this.incarnations[index]!++;
    // Producers replay what the failed consumer's checkpoint did not consume.
    const replayAfter: { index: number; afterSeq: number }[] = [];
    const snapshots = new Map<number, Uint8Array | null>();
    for (const id of failed) {
      const merged = checkpoint >= 0 ? this.checkpointStore!.restore(id) : null;
      const plan = this.plan.tasks[id]!;
      plan.inputs.forEach((index, i) => replayAfter.push({ index, afterSeq: merged?.inputSeqs[i] ?? -1 }));
      snapshots.set(id, merged ? encodeSnapshot(merged) : null);
    }
    const channels = [...rewired].sort((a, b) => a - b).map((index) => ({ index, incarnation: this.incarnations[index]! }));
    const reports: ReplacementReport[] = [];
    for (const id of failed) this.inRound.add(id);
    // Delivered once the strategy has read this round's reports (its continuation is a microtask).
    const releaseEarlyLogEnds = (): void => {
      for (const id of failed) this.inRound.delete(id);
      const early = this.earlyLogEnds;
      this.earlyLogEnds = [];
      if (early.length > 0) setImmediate(() => early.forEach((deliver) => deliver()));
    };
    try {
      await Promise.all(
      this.links.map(async (link, worker) => {
        if (!link) return;
        const spec: RoundSpec = {
          placement,
          channels,
          replayAfter,
          replacements: specs
            .filter((s) => placement[s.taskId] === worker)
            .sort((a, b) => a.taskId - b.taskId)
            .map((s) => ({ taskId: s.taskId, checkpoint, snapshot: snapshots.get(s.taskId) ?? null, replay: s.replay, history: s.history })),
        };
        reports.push(...(await link.round(spec)));
      }),
      );
    } finally {
      releaseEarlyLogEnds();
    }
    for (const id of failed) this.taskState[id] = 'running';
    // A worker that died during the round took the replacements it was building: they fail anew.
    for (const id of failed) {
      const worker = placement[id]!;
      if (!this.links[worker]) this.taskDied(id, new WorkerLostError(worker, 'died during recovery'));
    }
    return reports.sort((a, b) => a.taskId - b.taskId);
  }

  /** Where a failed task's replacement runs: its standby's worker, else the least loaded live worker. */
  private replacementWorker(taskId: number): number {
    const home = this.standbyHomes.get(taskId);
    if (home !== undefined && this.links[home]) return home;
    const load = this.links.map((link, i) => (link ? this.placement.filter((w) => w === i).length : Infinity));
    return load.indexOf(Math.min(...load));
  }

  /** A new standby for `taskId` from the checkpoint store, on a live worker other than the task's where there is one. */
  private addStandby(taskId: number): void {
    if (this.strategy.features.standbys === 0) return;
    const primary = this.placement[taskId]!;
    const others = this.links.map((link, i) => (link && i !== primary ? i : -1)).filter((i) => i >= 0);
    const home = others.length > 0 ? others[taskId % others.length]! : primary;
    const merged = this.checkpointStore && this.checkpointStore.latest >= 0 ? this.checkpointStore.restore(taskId) : null;
    const previous = this.standbyHomes.get(taskId);
    // One set of standbys per task: those held before (here or elsewhere) make way for the new one.
    if (previous !== undefined) this.links[previous]?.dropStandbys(taskId);
    this.standbyHomes.set(taskId, home);
    this.links[home]?.addStandby(taskId, merged ? encodeSnapshot(merged) : null);
  }

  /** For each task: copies of its log held by live tasks, per worker. */
  private async collectCopies(taskIds: readonly number[], fromEpoch: number): Promise<Map<number, EpochSegment[][]>> {
    const copies = new Map<number, EpochSegment[][]>();
    for (const link of this.links) {
      if (!link) continue;
      for (const [taskId, copy] of await link.replicas(taskIds, fromEpoch)) {
        if (!copies.has(taskId)) copies.set(taskId, []);
        copies.get(taskId)!.push(copy);
      }
    }
    return copies;
  }

  /** A task's trace before `beforeEpoch`: from its own (dead) memory where this process has it, else the longest copy from epoch 0. */
  private async historyOf(taskId: number, beforeEpoch: number): Promise<EpochSegment[]> {
    const own = (await this.links[this.placement[taskId]!]?.ownLogs([taskId], 0, false))?.get(taskId);
    if (own) return own.replay.filter((segment) => segment.epoch < beforeEpoch);
    const copies = (await this.collectCopies([taskId], 0)).get(taskId) ?? [];
    const stored = new ReplicaStore({ dsd: -1 });
    for (const envelope of await this.sinkDeterminants(0)) stored.ingest(envelope);
    const fromSinks = stored.logOf(taskId, 0);
    if (fromSinks.length > 0) copies.push(fromSinks);
    return (copies.length > 0 ? longestCopy(taskId, copies) : []).filter((segment) => segment.epoch < beforeEpoch);
  }

  /** Every sink task, as (vertex, subtask, chain position of the sink, task id). */
  private *sinkTasks(): Generator<{ taskId: number; subtask: number; parallelism: number; chainIndex: number; node: LogicalNode }> {
    for (const vertex of this.plan.vertices) {
      const chainIndex = vertex.nodes.findIndex((id) => this.nodes[id]!.sink);
      if (chainIndex < 0) continue;
      const node = this.nodes[vertex.nodes[chainIndex]!]!;
      for (let s = 0; s < vertex.parallelism; s++) yield { taskId: vertex.firstTask + s, subtask: s, parallelism: vertex.parallelism, chainIndex, node };
    }
  }

  /** Every determinant envelope the job's sink partitions store (a dead sink's partition is opened to read them). */
  private async sinkDeterminants(fromEpoch: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const sink of this.sinkTasks()) {
      const state = this.taskState[sink.taskId] !== 'dead' ? (await this.links[this.placement[sink.taskId]!]?.sinkStates([sink.taskId]))?.get(sink.taskId) : undefined;
      if (state) {
        out.push(...state.determinants);
        continue;
      }
      // No live task holds the partition (it died, or the job resumes): the partition lives on in the
      // external system; open it to read what it stored.
      const partition = sink.node.sinkConnector!.open({ subtask: sink.subtask, parallelism: sink.parallelism, jobDirectory: this.options.directory, restoredEpoch: fromEpoch, runId: this.runId, fresh: false });
      try {
        await partition.ready?.();
        out.push(...(partition.determinants?.() ?? []));
      } finally {
        void partition.close?.();
      }
    }
    return out;
  }

  /** Sink tasks among `tainted` whose partitions show more than the latest checkpoint covers. */
  private async shownSinceCheckpoint(tainted: ReadonlySet<number>): Promise<ShownSinceCheckpoint[]> {
    const exposed: ShownSinceCheckpoint[] = [];
    const latest = this.checkpointStore!.latest;
    for (const sink of this.sinkTasks()) {
      if (!tainted.has(sink.taskId)) continue;
      const restored = latest >= 0 ? this.checkpointStore!.restore(sink.taskId) : null;
      const atCheckpoint = (restored?.operators[sink.chainIndex]?.state as { outputIndex?: number } | undefined)?.outputIndex ?? 0;
      let visible: number;
      const state = this.taskState[sink.taskId] !== 'dead' ? (await this.links[this.placement[sink.taskId]!]?.sinkStates([sink.taskId]))?.get(sink.taskId) : undefined;
      if (state) {
        visible = state.progress.find((p) => p.sink === sink.node.name)?.visible ?? 0;
      } else {
        const partition = sink.node.sinkConnector!.open({ subtask: sink.subtask, parallelism: sink.parallelism, jobDirectory: this.options.directory, restoredEpoch: Math.max(0, latest), runId: this.runId, fresh: false });
        try {
          await partition.ready?.();
          visible = partition.visibleCount();
        } finally {
          void partition.close?.();
        }
      }
      if (visible > atCheckpoint) exposed.push({ taskId: sink.taskId, sink: sink.node.name, visible, atCheckpoint });
    }
    return exposed;
  }
}

/**
 * The identity of this run of the job in `directory`: a new one for a new run, the previous run's for a
 * resumed one (its sinks' records are this run's too), kept in `<directory>/run-id`.
 */
function runIdentity(directory: string, resume: boolean): string {
  const file = join(directory, 'run-id');
  if (resume && existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (/^[\w-]{1,100}$/.test(kept)) return kept;
  }
  const id = randomUUID();
  writeFileSync(file, `${id}\n`);
  return id;
}
