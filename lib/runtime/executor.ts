/**
 * The coordinator of one job: it owns the plan and the placement of tasks on workers, hears what workers
 * report (`WorkerReports`), and hands failures to the recovery strategy, which acts on the job through the
 * {@link JobControl} port. In the embedded runtime its one worker lives in this process (`WorkerHost`);
 * with workers, each is a process reached over its control connection, and nothing here changes but the
 * links.
 *
 * This file is the wiring of the parts, the task states, the lifecycle (start, stop, the end) and the
 * workers' reports. The parts live in `executor/`, one job each, and share a {@link JobView} of the job:
 *
 * | Part | Job |
 * | --- | --- |
 * | `checkpoint-controller.ts` | the checkpoint store and coordinator: triggering, acknowledgements, completion and aborts, pause and resume |
 * | `standby-pool.ts` | where each task's standbys are: placement, activation (where a replacement runs), re-placement |
 * | `failure-intake.ts` | task failures: internal errors and poison records fail the job, the rest go to recovery in groups |
 * | `replacement-rounds.ts` | a round of local recovery on every worker, and the log ends held until it returned |
 * | `worker-supervisor.ts` | worker processes: start, kills, losses (alone or as a group), respawns, moving tasks back to a respawned worker (`rebalance`), placing lost tasks anew |
 * | `recovery-queries.ts` | log copies, histories, sink-stored determinants, what sinks showed since the checkpoint |
 * | `recovery-port.ts` | the `JobControl` port and the `RollbackHost`, made of the parts |
 * | `job-metrics.ts` | records in and out, latency, timeline, output times; `JobProgress` |
 * | `stall-watch.ts` | failing a job that holds work without progress, with what each task waits for |
 * | `run-identity.ts` | the run's identity, kept across a resume |
 * | `job-view.ts` | what the parts share: plan, links, placement, task states, clock, events |
 *
 * Fault injection is `fault-injector.ts`; each worker builds its tasks with `task-factory.ts`.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedJobOptions } from '../config.js';
import type { EpochSegment } from '../../determinants/replica.js';
import { CausalflowError, JobFailedError, TaskKilledError } from '../errors.js';
import type { JobControl } from './job-control.js';
import type { RecoveryStrategy } from './strategy.js';
import { monotonicClock } from '../util/clock.js';
import type { JobEvent, JobEventDetails, JobEventType } from './events.js';
import { EXACTLY_ONCE, type Guarantee } from './guarantee.js';
import type { TaskMemoryFigures } from './memory-figures.js';
import type { Histogram, OutputTimes, Timeline } from './metrics.js';
import { buildPlan, type LogicalNode, type PhysicalPlan } from './plan.js';
import { FaultInjector, type FaultTargets, type KillSchedule } from './fault-injector.js';
import type { FleetEndpoints, WorkerFleet } from './fleet.js';
import type { Placement } from './placement.js';
import type { WorkerTaskFigures } from './task-figures.js';
import { Scheduler } from './scheduler.js';
import { deployAll, resume } from './rollback.js';
import type { Standby } from './standby.js';
import type { Task } from './task.js';
import type { FailureReport, SinkProgress, WorkerCommands, WorkerReports } from './worker-api.js';
import { WorkerHost } from './worker-host.js';
import { LocalTransport } from '../transport/transport.js';
import { channelOptions } from './channel-options.js';
import { CheckpointController } from './executor/checkpoint-controller.js';
import { FailureIntake } from './executor/failure-intake.js';
import type { JobView } from './executor/job-view.js';
import { JobMetrics, type JobProgress, type JobResult } from './executor/job-metrics.js';
import { runIdentity } from './executor/run-identity.js';
import { RecoveryQueries } from './executor/recovery-queries.js';
import { jobControlOf, rollbackHostOf, type RecoveryPortHost } from './executor/recovery-port.js';
import { ReplacementRounds } from './executor/replacement-rounds.js';
import { StandbyPool } from './executor/standby-pool.js';
import { watchForStalls } from './executor/stall-watch.js';
import { WorkerSupervisor, type WorkerLoss } from './executor/worker-supervisor.js';

export type { JobEvent } from './events.js';
export type { KillSchedule } from './fault-injector.js';
export type { JobProgress, JobResult } from './executor/job-metrics.js';

/** Worker processes of a job, and where its tasks and standbys start. */
export interface ClusterRun {
  /** The worker processes. */
  fleet: WorkerFleet;
  /** Where tasks and standbys start. */
  placement: Placement;
}

/** The coordinator's view of a task. */
type TaskState = 'running' | 'finished' | 'dead';

/** Runs one job. */
export class Executor implements WorkerReports {
  /** Recovery and lifecycle events, as they happen (`event` carries a {@link JobEvent}). */
  readonly events = new EventEmitter();
  private readonly metrics = new JobMetrics();
  /** Sink output and source input per 100 ms. */
  readonly timeline: Timeline = this.metrics.timeline;
  /** Sink latency since start. */
  readonly latency: Histogram = this.metrics.latency;
  /** When sinks made output visible (job clock), to measure output gaps. */
  readonly outputTimes: OutputTimes = this.metrics.outputTimes;
  /** The plan. */
  readonly plan: PhysicalPlan;
  /** Resolves when every task finished (and sinks committed); rejects when the job fails. */
  readonly done: Promise<JobResult>;

  private readonly log: JobEvent[] = [];
  /** Told of every sink output report (metrics). */
  private sinkListener: ((taskId: number, count: number, latencyMs: number) => void) | null = null;
  /** When the job clock started: when the tasks started running (deploying them takes a while). */
  private startedAt = monotonicClock();
  /** The workers, by index; null where one is gone (the parts share this array). */
  private readonly links: (WorkerCommands | null)[];
  /** The embedded runtime's one worker (tests and tools read it); null with worker processes. */
  private readonly localHost: WorkerHost | null;
  /** Runs the coordinator's tickers (checkpoint intervals, stall checks) and deadlines (scheduled kills). */
  private readonly ticks: Scheduler;
  private readonly faults: FaultInjector;
  /** Task id → worker index (the parts share this array; it changes in place). */
  private readonly placement: number[];
  private readonly incarnations: number[];
  private readonly taskState: TaskState[];
  private readonly checkpoints: CheckpointController;
  /** With retained determinants: each task's own log of the epochs it closed, as its host reported (I32). */
  private readonly closedEpochs = new Map<number, Map<number, Uint8Array>>();
  /**
   * With retained determinants: per task, the highest checkpoint it acknowledged since the job (re)started.
   * Its host reports the epochs it closed before the acknowledgement, on the same ordered connection (I32),
   * so every epoch of its log before that checkpoint is in {@link closedEpochs}.
   */
  private readonly closedThrough = new Map<number, number>();
  private readonly standbys: StandbyPool;
  private readonly workers: WorkerSupervisor;
  private readonly rounds: ReplacementRounds;
  private readonly queries: RecoveryQueries;
  private readonly failures: FailureIntake;
  /** What the parts share of the job. */
  private readonly view: JobView;
  /** What recovery acts on: the parts behind {@link control} and the rollback host. */
  private readonly recoveryPort: RecoveryPortHost;
  /** The port the recovery strategy acts through. */
  private readonly control: JobControl;
  private finishedTasks = 0;
  private settled = false;
  private resolveDone!: (result: JobResult) => void;
  private rejectDone!: (error: unknown) => void;
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
    let standbyHomes: readonly number[];
    if (cluster) {
      this.localHost = null;
      this.links = new Array<WorkerCommands | null>(cluster.fleet.size).fill(null);
      this.placement = [...cluster.placement.tasks];
      standbyHomes = cluster.placement.standbys;
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
      standbyHomes = this.plan.tasks.map(() => 0);
      this.ticks = this.localHost.scheduler;
    }
    this.view = {
      plan: this.plan,
      links: this.links,
      placement: this.placement,
      isDead: (taskId) => this.taskState[taskId] === 'dead',
      ended: () => this.settled,
      clock: () => this.clock(),
      event: (type, details) => this.event(type, details),
      failJob: (error) => this.failJob(error),
    };
    const view = this.view;
    this.checkpoints = new CheckpointController({
      ...view,
      broadcast: (command) => this.broadcast(command),
      standbySnapshots: (frames) => this.standbys.checkpointCompleted(frames),
      addTicker: (ticker) => this.ticks.addTicker(ticker),
    });
    this.standbys = new StandbyPool({ ...view, checkpoints: this.checkpoints }, strategy.features.standbys, standbyHomes);
    this.failures = new FailureIntake({
      ...view,
      mode: strategy.mode,
      checkpoints: this.checkpoints,
      metrics: this.metrics,
      markDead: (taskId) => {
        if (this.taskState[taskId] === 'finished') this.finishedTasks--;
        this.taskState[taskId] = 'dead';
      },
      recover: (taskIds, cause) => this.strategy.recover(this.control, taskIds, cause),
      // The supervisor exists by the time a task can fail.
      movedBack: (taskId) => this.workers.movedBack(taskId),
    });
    const taskDied = (taskId: number, cause: unknown, loss?: WorkerLoss): void => this.failures.taskDied(taskId, cause, loss);
    this.workers = new WorkerSupervisor({
      ...view,
      fleet: cluster?.fleet ?? null,
      standbys: this.standbys,
      events: this.events,
      taskDied,
      clockOrigin: () => performance.timeOrigin + this.startedAt,
      isFinished: (taskId) => this.taskState[taskId] === 'finished',
    });
    this.rounds = new ReplacementRounds({
      ...view,
      incarnations: this.incarnations,
      checkpoints: this.checkpoints,
      standbys: this.standbys,
      someWorkerAlive: () => this.workers.someWorkerAlive(),
      replaced: (taskId) => {
        this.taskState[taskId] = 'running';
      },
      taskDied,
    });
    this.queries = new RecoveryQueries({ ...view, nodes, directory: options.directory, checkpoints: this.checkpoints, incarnations: this.incarnations, runId: () => this.runId, closedEpochs: (taskId) => this.closedEpochs.get(taskId), closedThrough: (taskId) => this.closedThrough.get(taskId) ?? -1 });
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
    this.recoveryPort = {
      ...view,
      features: strategy.features,
      onEscalation: options.recovery.onEscalation,
      incarnations: this.incarnations,
      checkpoints: this.checkpoints,
      standbys: this.standbys,
      rounds: this.rounds,
      queries: this.queries,
      workers: cluster ? this.workers : null,
      metrics: this.metrics,
      runId: () => this.runId,
      guarantee: () => this.guarantee,
      setGuarantee: (guarantee) => {
        this.guarantee = guarantee;
      },
      running: (taskId) => {
        this.taskState[taskId] = 'running';
      },
      restarted: () => {
        // A rollback's tasks report their epochs afresh: until they acknowledge again, histories are collected.
        this.closedThrough.clear();
        this.finishedTasks = 0;
        this.taskState.fill('running');
      },
    };
    this.control = jobControlOf(this.recoveryPort);
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

  /** Every worker's figures of the tasks and standbys it hosts now (metrics, the dashboard). */
  async taskFigures(): Promise<WorkerTaskFigures[]> {
    const all: WorkerTaskFigures[] = [];
    for (const link of this.links) if (link) all.push(await link.taskFigures());
    return all;
  }

  /** Calls `listener` for every sink output report (a flushed batch: its task, record count and latency in ms). */
  onSinkOutput(listener: (taskId: number, count: number, latencyMs: number) => void): void {
    const previous = this.sinkListener;
    this.sinkListener = previous ? (t, c, l) => (previous(t, c, l), listener(t, c, l)) : listener;
  }

  /** Milliseconds since the job started (the job clock). */
  clock(): number {
    return monotonicClock() - this.startedAt;
  }

  /** Prepares storage, deploys the tasks, schedules `faults` and starts running. */
  async start(faults: readonly ({ task: string | number | readonly (string | number)[] } & KillSchedule)[] = []): Promise<void> {
    const { directory } = this.options;
    // A bad fault fails the start before anything runs: no worker process is left behind.
    this.faults.check(faults);
    mkdirSync(directory, { recursive: true });
    if (this.strategy.features.checkpoints) await this.checkpoints.open(directory, this.options.resume, this.options.recovery.checkpointIntervalMs);
    if (this.options.stallTimeoutMs > 0) {
      const stallProbe = { ...this.view, metrics: this.metrics, checkpoints: this.checkpoints, finishedTasks: () => this.finishedTasks, addTicker: (ticker: (now: number) => void) => this.ticks.addTicker(ticker) };
      watchForStalls(stallProbe, this.options.stallTimeoutMs);
    }
    this.runId = runIdentity(directory, this.options.resume);
    if (this.cluster) await this.workers.start(this, this.nodes, this.options, this.strategy.features);
    const resumedFrom = this.options.resume && this.checkpoints.store && this.checkpoints.latest >= 0 ? this.checkpoints.latest : null;
    if (resumedFrom !== null) await resume(rollbackHostOf(this.recoveryPort), this.queries.sinkDeterminants(Math.max(0, resumedFrom)));
    else await deployAll(rollbackHostOf(this.recoveryPort), null, new Map(), new Map(), new Set(), this.replayTraces, true);
    // The job clock starts now, as the tasks start: paced sources, checkpoint intervals and faults given in
    // ms all count from here, however long deploying took.
    this.startedAt = monotonicClock();
    this.checkpoints.restartInterval();
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
      this.workers.kill([...byWorker.keys(), ...targets.workers]);
      return;
    }
    for (const [worker, ids] of byWorker) this.links[worker]?.killTasks(ids);
  }

  /** Live figures. */
  progress(): JobProgress {
    return this.metrics.progress({
      clock: () => this.clock(),
      checkpoints: this.checkpoints.stats,
      links: this.links,
      tasksFinished: this.finishedTasks,
      tasks: this.plan.tasks.length,
    });
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
    await this.checkpoints.close();
    for (const link of this.links) await link?.close();
    if (this.cluster) await this.cluster.fleet.close();
  }

  // ------------------------------------------------------------------ WorkerReports

  /** {@inheritDoc WorkerReports.acknowledge} */
  acknowledge(_worker: number, taskId: number, checkpointId: number, frame: Uint8Array): void {
    // Worker processes may still acknowledge while the job ends: the store is closing, nothing completes.
    if (this.settled) return;
    if (checkpointId > (this.closedThrough.get(taskId) ?? -1)) this.closedThrough.set(taskId, checkpointId);
    this.checkpoints.acknowledge(taskId, checkpointId, frame);
  }

  /** {@inheritDoc WorkerReports.taskFinished} */
  taskFinished(_worker: number, taskId: number, finalSnapshot: Uint8Array): void {
    if (this.settled || this.taskState[taskId] !== 'running') return;
    this.taskState[taskId] = 'finished';
    this.finishedTasks++;
    this.checkpoints.taskFinished(taskId, finalSnapshot);
    this.event('task-finished', { task: this.plan.tasks[taskId]!.name });
    this.checkAllFinished();
  }

  /** {@inheritDoc WorkerReports.tasksFailed} */
  tasksFailed(_worker: number, failures: FailureReport[]): void {
    for (const failure of failures) this.failures.taskDied(failure.taskId, failure.cause ?? new TaskKilledError(this.plan.tasks[failure.taskId]!.name));
  }

  /** {@inheritDoc WorkerReports.logEnded} */
  logEnded(_worker: number, taskId: number, regenerated: number[], sinks: SinkProgress[], records: number): void {
    if (this.settled) return;
    // A worker process may replay a short log to its end before the round's answer is read here: the
    // strategy hears of a replacement's log end only after it learned of the replacement.
    if (this.rounds.isInRound(taskId)) {
      this.rounds.holdLogEnd(() => this.logEnded(_worker, taskId, regenerated, sinks, records));
      return;
    }
    this.strategy.logEnded?.(this.control, taskId, regenerated, sinks, records);
  }

  /** {@inheritDoc WorkerReports.closedEpoch} */
  closedEpoch(_worker: number, taskId: number, epoch: number, bytes: Uint8Array): void {
    let epochs = this.closedEpochs.get(taskId);
    if (!epochs) this.closedEpochs.set(taskId, (epochs = new Map()));
    epochs.set(epoch, bytes);
  }

  /** {@inheritDoc WorkerReports.sinkOutput} */
  sinkOutput(_worker: number, taskId: number, at: number, count: number, latency: number): void {
    this.metrics.sinkOutput(at, count, latency);
    this.sinkListener?.(taskId, count, latency);
  }

  /** {@inheritDoc WorkerReports.sourceInput} */
  sourceInput(_worker: number, at: number, count: number): void {
    this.metrics.sourceInput(at, count);
  }

  /** {@inheritDoc WorkerReports.taskEvent} */
  taskEvent(_worker: number, event: { type: 'timers-cancelled'; task: string; intervals: number }): void {
    this.event(event.type, { task: event.task, intervals: event.intervals });
  }

  private broadcast(command: (link: WorkerCommands) => void): void {
    for (const link of this.links) if (link) command(link);
  }
}
