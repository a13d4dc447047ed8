/**
 * A worker: the tasks placed on it (and the standbys of tasks placed elsewhere), its scheduler, its
 * stores, and the ends of its channels. It does what the coordinator asks (`WorkerCommands`) and reports
 * what happens (`WorkerReports`). It never reads another task's memory: everything it learns of the rest
 * of the job arrives as a command.
 *
 * In the embedded runtime the one worker shares the coordinator's process; with `workers: N` each runs in
 * its own process (`lib/cluster/worker.ts`), and only the transport and the control connection differ.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open as openLmdb, type RootDatabase } from 'lmdb';
import type { DeadLetter, ResolvedJobOptions } from '../config.js';
import type { EpochSegment } from '../../determinants/replica.js';
import { CausalflowError, DeterminantMismatchError, JobFailedError, TaskKilledError } from '../errors.js';
import { InflightSpillStore } from '../inflight/spill.js';
import { chunkRetention } from '../inflight/retention.js';
import { SinkOperator } from './sink-operator.js';
import type { StrategyFeatures } from './strategy.js';
import { HeapStateBackend, LmdbStateBackend, type StateBackend } from '../state/backend.js';
import { decodeSnapshot, encodeSnapshot, type TaskSnapshot } from '../state/snapshot.js';
import type { Transport } from '../transport/transport.js';
import type { TaskWait } from './events.js';
import type { TaskMemoryFigures } from './memory-figures.js';
import type { WorkerTaskFigures } from './task-figures.js';
import type { LogicalNode, PhysicalPlan } from './plan.js';
import { Scheduler } from './scheduler.js';
import type { Standby } from './standby.js';
import { WorkerStandbys } from './worker-standbys.js';
import { sinkProgressOf, WorkerQueries } from './worker-queries.js';
import { TaskFactory, type TaskBuild } from './task-factory.js';
import { WorkerRounds } from './worker-rounds.js';
import { ChannelWiring } from './worker-wiring.js';
import { Task, type TaskEnvironment } from './task.js';
import type {
  ChannelFence,
  DeploySpec,
  FailureReport,
  ReplacementReport,
  RoundSpec,
  SinkProgress,
  WorkerCommands,
  WorkerFigures,
  WorkerReports,
} from './worker-api.js';

/** What a worker is built from. */
export interface WorkerHostOptions {
  /** This worker's index. */
  index: number;
  nodes: readonly LogicalNode[];
  plan: PhysicalPlan;
  options: ResolvedJobOptions;
  features: StrategyFeatures;
  /** Where the worker reports to. */
  reports: WorkerReports;
  /** Creates the ends of channels. */
  transport: Transport;
  /** Milliseconds on the job clock. */
  clock: () => number;
  /** Directory of this worker's stores (lmdb state, spilled in-flight logs). */
  directory: string;
  /** The job clock's origin arrived (worker processes set their clock from it). */
  onClockOrigin?: (wallMs: number) => void;
  /**
   * A kill armed by `armKill` came due. Worker processes SIGKILL themselves here, so that a kill "after N
   * records" takes the whole process down at that record; by default the task alone dies.
   */
  onArmedKill?: (taskId: number) => void;
}

/** One worker of a job. */
export class WorkerHost implements WorkerCommands {
  /** The scheduler of this worker's tasks. */
  readonly scheduler: Scheduler;
  /** Hosted tasks, by task id (a dead one stays until replaced). */
  readonly tasks = new Map<number, Task>();
  private readonly standbys: WorkerStandbys;
  private readonly queries: WorkerQueries;
  private readonly factory: TaskFactory;
  private readonly wiring: ChannelWiring;
  private readonly rounds: WorkerRounds;
  private stateRoot: RootDatabase | null = null;
  private inflightSpill: InflightSpillStore | null = null;
  private backendCounter = 0;
  /** Checkpoints abandoned and not yet superseded by a completed one (I21). */
  private readonly aborted = new Set<number>();
  private latestCompleted = -1;
  private recordsIn = 0;
  private late = 0;
  private deadLetters = 0;
  private started = false;
  private storesOpen = false;
  private pendingFailures: FailureReport[] = [];
  /** Per task incarnation: the first epoch whose closing it has not reported yet ({@link reportClosedEpochs}). */
  private readonly closedEpochsFrom = new WeakMap<Task, number>();
  /** Per task, reports waiting for its sinks' output to be durable ({@link afterSinksDurable}). */
  private readonly reportsInFlight = new Map<number, Promise<void>>();
  /** The run sink partitions are told of; fresh only while the first deployment of a new run opens them. */
  private jobRun = { id: '', fresh: false };

  constructor(private readonly o: WorkerHostOptions) {
    this.scheduler = new Scheduler(o.clock);
    this.scheduler.onTaskError = (task, error) => this.taskFailed(task, error);
    this.standbys = new WorkerStandbys({ perTask: o.features.standbys, operatorNames: (taskId) => this.operatorNames(taskId), newBackend: (label) => this.newBackend(label) });
    this.queries = new WorkerQueries({ index: o.index, plan: o.plan, transport: o.transport, tasks: this.tasks, standbys: this.standbys, clock: o.clock });
    this.wiring = new ChannelWiring(o.plan, o.transport, o.index);
    this.factory = new TaskFactory({
      nodes: o.nodes,
      plan: o.plan,
      options: o.options,
      features: o.features,
      environment: (backends) => this.environment(backends),
      inputEnd: (index) => this.wiring.inputEnd(index),
      outputEnd: (index) => this.wiring.outputEnd(index),
      sinkOutput: (taskId, count, ingestTime) => this.o.reports.sinkOutput(this.o.index, taskId, this.o.clock(), count, this.o.clock() - ingestTime),
      countInput: (count) => {
        this.recordsIn += count;
        this.o.reports.sourceInput(this.o.index, this.o.clock(), count);
      },
      clock: o.clock,
      wakeAt: (task, at) => this.scheduler.wakeAt(task, at),
      taskFailed: (task, error) => this.taskFailed(task, error),
      sinkRun: () => ({ jobDirectory: o.options.directory, runId: this.jobRun.id, fresh: this.jobRun.fresh }),
    });
    this.rounds = new WorkerRounds({
      index: o.index,
      plan: o.plan,
      transport: o.transport,
      tasks: this.tasks,
      standbys: this.standbys,
      wiring: this.wiring,
      live: (taskId) => this.hosts(taskId),
      create: (build) => this.createTask(build),
      start: (task) => this.startTask(task),
      markRunnable: (task) => this.scheduler.markRunnable(task),
    });
  }

  /** This worker's index. */
  get index(): number {
    return this.o.index;
  }

  // ------------------------------------------------------------------ lifecycle

  /** {@inheritDoc WorkerCommands.deploy} */
  async deploy(spec: DeploySpec): Promise<void> {
    await this.openStores();
    await this.stopTasks();
    this.wiring.reset(spec.placement, spec.incarnations);
    this.latestCompleted = spec.checkpoint ?? -1;
    this.aborted.clear();
    const created: Task[] = [];
    for (const deploy of spec.tasks) {
      const plan = this.o.plan.tasks[deploy.taskId]!;
      const snapshot = deploy.snapshot ? decodeSnapshot(deploy.snapshot) : null;
      created.push(this.createTask({ plan, snapshot, backends: null, replay: deploy.replay, history: deploy.history }));
    }
    const showAfter = new Set(spec.showAfterVisible);
    // Sinks that showed output the rollback regenerates show the regenerated records after it (I23).
    for (const task of created) if (showAfter.has(task.taskId)) for (const op of task.operators) if (op instanceof SinkOperator) op.showAfterVisible();
    // The standbys of the deployment replace the ones held before (a rollback restores every standby too).
    await this.standbys.clear();
    for (const standby of spec.standbys) for (let i = 0; i < this.o.features.standbys; i++) this.standbys.add(standby.taskId, standby.snapshot);
    this.jobRun = { ...spec.run };
    for (const task of created) this.startTask(task);
    // Whatever opens a partition from now on (a replacement, a rollback) finds this run's records there.
    this.jobRun.fresh = false;
  }

  /** {@inheritDoc WorkerCommands.run} */
  run(clockOrigin?: number): void {
    if (clockOrigin !== undefined) this.o.onClockOrigin?.(clockOrigin);
    if (this.started) return;
    this.started = true;
    void this.scheduler.start();
  }

  /** {@inheritDoc WorkerCommands.stopTasks} */
  async stopTasks(): Promise<void> {
    for (const task of this.tasks.values()) {
      task.kill();
      this.scheduler.forget(task);
      task.disposeState();
    }
    for (const task of this.tasks.values()) for (const input of task.inputs) input.channel.close();
    this.tasks.clear();
    this.rounds.clear();
  }

  /** {@inheritDoc WorkerCommands.finish} */
  async finish(): Promise<void> {
    // Nothing can roll back once every task finished: transactional sinks commit the rest.
    const sinks: SinkOperator[] = [];
    for (const task of this.tasks.values()) for (const op of task.operators) if (op instanceof SinkOperator) sinks.push(op);
    for (const op of sinks) op.finalCommit();
    // The job is done when its output is where it goes (Kafka, files): a worker process may exit next.
    await Promise.all(sinks.map((op) => op.drain()));
    for (const task of this.tasks.values()) task.close();
    this.scheduler.stop();
  }

  /** {@inheritDoc WorkerCommands.close} */
  async close(): Promise<void> {
    this.scheduler.stop();
    for (const task of this.tasks.values()) task.kill();
    await this.o.transport.close();
    // The spill store object stays: its counters are part of the job's final figures.
    await this.inflightSpill?.close();
    if (this.stateRoot) {
      await this.stateRoot.flushed;
      await this.stateRoot.close();
      this.stateRoot = null;
    }
  }

  private async openStores(): Promise<void> {
    if (this.storesOpen) return;
    this.storesOpen = true;
    mkdirSync(this.o.directory, { recursive: true });
    if (this.o.options.stateBackend === 'lmdb' || this.o.features.standbys > 0) {
      this.stateRoot = openLmdb({ path: join(this.o.directory, 'state'), maxDbs: 10_000 });
    }
    if (this.o.features.inflightLog) this.inflightSpill = InflightSpillStore.open(join(this.o.directory, 'inflight'));
  }

  /**
   * Reports a checkpoint acknowledgement only once the output its sinks wrote before the barrier is in
   * the external system (I31): the sink's client may die with the task's process, and a checkpoint that
   * counted records still in a dead producer's buffer would make the replacement skip them. Later
   * reports of the task (`waitForSinks` false) keep their order behind it. A task that died meanwhile
   * acknowledges nothing.
   */
  private afterSinksDurable(task: Task, waitForSinks: boolean, report: () => void): void {
    const previous = this.reportsInFlight.get(task.taskId);
    const sinks = waitForSinks ? task.operators.filter((op): op is SinkOperator => op instanceof SinkOperator && op.sinkPartition.flush !== undefined) : [];
    if (sinks.length === 0 && previous === undefined) {
      report();
      return;
    }
    const next = (previous ?? Promise.resolve())
      .then(() => Promise.all(sinks.map((sink) => sink.drain())))
      .then(() => {
        if (task.status !== 'dead') report();
      })
      .catch((error: unknown) => this.taskFailed(task, error))
      .finally(() => {
        if (this.reportsInFlight.get(task.taskId) === next) this.reportsInFlight.delete(task.taskId);
      });
    this.reportsInFlight.set(task.taskId, next);
  }

  /** With retained determinants: the epochs `task` closed before checkpoint `checkpointId`, once each (I32). */
  private reportClosedEpochs(task: Task, checkpointId: number): void {
    if (!task.recorder.keepsLog || task.recorder.truncates) return;
    const from = this.closedEpochsFrom.get(task) ?? 0;
    if (from >= checkpointId) return;
    for (const segment of task.recorder.ownSegments(from)) {
      if (segment.epoch < checkpointId) this.o.reports.closedEpoch(this.o.index, task.taskId, segment.epoch, segment.bytes);
    }
    this.closedEpochsFrom.set(task, checkpointId);
  }

  /** Builds a task and hosts it here, replacing a dead predecessor of the same id. */
  private createTask(build: TaskBuild): Task {
    const task = this.factory.create(build);
    this.closedEpochsFrom.set(task, build.snapshot?.checkpointId ?? 0);
    this.tasks.set(build.plan.id, task);
    return task;
  }

  private startTask(task: Task): void {
    if (task.status === 'finished') {
      this.o.reports.taskFinished(this.o.index, task.taskId, encodeSnapshot(this.finalSnapshot(task)));
      return;
    }
    task.open();
    task.source?.open();
    this.scheduler.markRunnable(task);
  }

  private hosts(taskId: number): Task | null {
    return this.queries.live(taskId);
  }

  // ------------------------------------------------------------------ local recovery

  /** {@inheritDoc WorkerCommands.round} */
  async round(spec: RoundSpec): Promise<ReplacementReport[]> {
    return this.rounds.round(spec);
  }

  /** {@inheritDoc WorkerCommands.goLive} */
  goLive(taskId: number): void {
    this.rounds.goLive(taskId);
  }

  /** {@inheritDoc WorkerCommands.standbyPositions} */
  async standbyPositions(taskIds: readonly number[], checkpoint: number): Promise<Map<number, number[]>> {
    return this.standbys.positions(taskIds, checkpoint);
  }

  // ------------------------------------------------------------------ checkpoints and standbys

  /** {@inheritDoc WorkerCommands.triggerSources} */
  triggerSources(checkpointId: number): void {
    for (const task of this.tasks.values()) {
      if (task.status === 'running' && task.source) {
        task.source.triggerCheckpoint(checkpointId);
        this.scheduler.markRunnable(task);
      }
    }
  }

  /** {@inheritDoc WorkerCommands.checkpointCompleted} */
  checkpointCompleted(checkpointId: number): void {
    this.latestCompleted = Math.max(this.latestCompleted, checkpointId);
    for (const id of this.aborted) if (id < checkpointId) this.aborted.delete(id);
    for (const task of this.tasks.values()) if (task.status !== 'dead') task.checkpointCompleted(checkpointId);
  }

  /** {@inheritDoc WorkerCommands.checkpointAborted} */
  checkpointAborted(checkpointId: number): void {
    this.aborted.add(checkpointId);
    for (const task of this.tasks.values()) if (task.status === 'running') task.checkpointAborted(checkpointId);
  }

  /** {@inheritDoc WorkerCommands.applyStandby} Applied in slices on later turns (`WorkerStandbys`). */
  applyStandby(taskId: number, frame: Uint8Array): void {
    this.standbys.apply(taskId, frame);
  }

  /** {@inheritDoc WorkerCommands.addStandby} */
  addStandby(taskId: number, snapshot: Uint8Array | null): void {
    this.standbys.add(taskId, snapshot);
  }

  /** {@inheritDoc WorkerCommands.dropStandbys} */
  dropStandbys(taskId: number): void {
    this.standbys.drop(taskId);
  }

  /** Standbys hosted here for a task (tests and tools). */
  standbysOf(taskId: number): readonly Standby[] {
    return this.standbys.of(taskId);
  }

  private operatorNames(taskId: number): string[] {
    const vertex = this.o.plan.vertices[this.o.plan.tasks[taskId]!.vertex]!;
    const names = vertex.nodes.map((id) => this.o.nodes[id]!.name);
    if (this.o.options.errors.policy === 'dead-letter') names.push(`dead-letters[${taskId}]`);
    return names;
  }

  // ------------------------------------------------------------------ failures

  /** {@inheritDoc WorkerCommands.killTasks} */
  killTasks(taskIds: readonly number[]): void {
    for (const id of taskIds) {
      const task = this.tasks.get(id);
      if (task && task.status !== 'dead') this.stopTask(task);
    }
    const failures = taskIds.filter((id) => this.tasks.has(id)).map((taskId) => ({ taskId, cause: undefined as unknown }));
    if (failures.length > 0) this.o.reports.tasksFailed(this.o.index, failures);
  }

  /** {@inheritDoc WorkerCommands.armKill} */
  armKill(taskId: number, records: number): void {
    const task = this.hosts(taskId);
    if (task) task.killCountdown = Math.max(1, records);
  }

  /** A task's activation threw, or its async operator rejected: it dies; the coordinator recovers it. */
  private taskFailed(task: Task, error: unknown): void {
    if (task.status === 'dead' || this.tasks.get(task.taskId) !== task) return;
    if (error instanceof TaskKilledError) this.o.onArmedKill?.(task.taskId);
    if (!(error instanceof CausalflowError)) {
      error = new JobFailedError(`internal error in task ${task.taskName}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, error);
    }
    this.stopTask(task);
    // Failures noticed in one turn of the event loop are reported together.
    this.pendingFailures.push({ taskId: task.taskId, cause: error });
    if (this.pendingFailures.length === 1) {
      queueMicrotask(() => {
        const failures = this.pendingFailures;
        this.pendingFailures = [];
        this.o.reports.tasksFailed(this.o.index, failures);
      });
    }
  }

  /** Kills a task here: everything in its memory is gone; its input queues die with it. */
  private stopTask(task: Task): void {
    task.kill();
    this.scheduler.forget(task);
    for (const input of task.inputs) input.channel.close();
    this.rounds.forget(task.taskId);
  }

  // ------------------------------------------------------------------ queries (WorkerQueries answers them)

  /** {@inheritDoc WorkerCommands.replicas} */
  async replicas(taskIds: readonly number[], fromEpoch: number, fences: readonly ChannelFence[]): Promise<Map<number, EpochSegment[]>> {
    return this.queries.replicas(taskIds, fromEpoch, fences);
  }

  /** {@inheritDoc WorkerCommands.ownLogs} */
  async ownLogs(taskIds: readonly number[] | null, fromEpoch: number, whole: boolean): Promise<Map<number, { replay: EpochSegment[]; history: EpochSegment[] | null }>> {
    return this.queries.ownLogs(taskIds, fromEpoch, whole);
  }

  /** Whether the hosted task `taskId` is dead, replaying, or live (the coordinator's view comes from reports). */
  statusOf(taskId: number): 'dead' | 'replaying' | 'running' | 'finished' | 'absent' {
    return this.queries.statusOf(taskId);
  }

  /** {@inheritDoc WorkerCommands.holdings} */
  async holdings(index: number, before: number): Promise<number> {
    return this.queries.holdings(index, before);
  }

  /** {@inheritDoc WorkerCommands.sinkStates} */
  async sinkStates(taskIds: readonly number[]): Promise<Map<number, { progress: SinkProgress[]; determinants: Uint8Array[] }>> {
    return this.queries.sinkStates(taskIds);
  }

  /** {@inheritDoc WorkerCommands.traces} */
  async traces(): Promise<Map<number, EpochSegment[]>> {
    return this.queries.traces();
  }

  /** {@inheritDoc WorkerCommands.waits} */
  async waits(): Promise<TaskWait[]> {
    return this.queries.waits();
  }

  /** {@inheritDoc WorkerCommands.figures} */
  figures(): WorkerFigures {
    let elementsIn = 0;
    let holdsWork = false;
    for (const task of this.tasks.values()) {
      elementsIn += task.elementsIn;
      if (task.holdsWork) holdsWork = true;
    }
    return {
      recordsIn: this.recordsIn,
      late: this.late,
      deadLetters: this.deadLetters,
      inflightSpill: {
        chunks: this.inflightSpill?.spilledChunks ?? 0,
        bytes: this.inflightSpill?.spilledBytes ?? 0,
        chunksReadBack: this.inflightSpill?.chunksReadBack ?? 0,
      },
      elementsIn,
      holdsWork,
    };
  }

  /** {@inheritDoc WorkerCommands.taskFigures} */
  async taskFigures(): Promise<WorkerTaskFigures> {
    return this.queries.taskFigures();
  }

  /** {@inheritDoc WorkerCommands.memoryFigures} */
  async memoryFigures(withState: boolean): Promise<TaskMemoryFigures[]> {
    return this.queries.memoryFigures(withState);
  }

  // ------------------------------------------------------------------ the tasks' environment

  private environment(backends: Map<string, StateBackend> | null): TaskEnvironment {
    return {
      features: this.o.features,
      clock: this.o.clock,
      markRunnable: (task) => this.scheduler.markRunnable(task),
      resume: (task) => this.scheduler.runNow(task),
      wakeAt: (task, at) => this.scheduler.wakeAt(task, at),
      // Encoded now, while the snapshot's objects still hold the state at the barrier.
      acknowledge: (task, id, snapshot) => {
        this.reportClosedEpochs(task, id);
        const encoded = encodeSnapshot(snapshot);
        this.afterSinksDurable(task, true, () => this.o.reports.acknowledge(this.o.index, task.taskId, id, encoded));
      },
      checkpointAbandoned: (id) => this.aborted.has(id),
      abortedAfter: (epoch) => [...this.aborted].filter((id) => id > epoch).sort((a, b) => a - b),
      replayFinished: (task) => this.rounds.mayGoLive(task),
      replayLogEnded: (task) => {
        if (!this.rounds.awaitsVerdict(task.taskId)) return;
        this.o.reports.logEnded(this.o.index, task.taskId, task.allWriters.map((w) => w.nextSeq - 1), sinkProgressOf(task), task.elementsIn);
      },
      finished: (task) => {
        const encoded = encodeSnapshot(this.finalSnapshot(task));
        this.afterSinksDurable(task, false, () => this.o.reports.taskFinished(this.o.index, task.taskId, encoded));
      },
      timersCancelled: (task, intervals) => {
        this.o.reports.taskEvent(this.o.index, { type: 'timers-cancelled', task: task.taskName, intervals });
        process.emitWarning(`${task.taskName}: ${intervals} setInterval callback(s) registered inside causal() were still active when its input ended; they were stopped`, {
          code: 'CAUSALFLOW_INTERVALS_STOPPED',
        });
      },
      createStateBackend: (task, name) => backends?.get(name) ?? this.newBackend(`${task.taskId}:${name}`),
      countLate: (_task, _name, count) => {
        this.late += count;
      },
      operatorFailed: (task, name, record, error) => this.operatorFailed(task, name, record, error),
      inflightSpill: this.inflightSpill,
      inflightMaxRecords: this.o.options.inflightMaxRecords,
      inflightRetention: chunkRetention(this.o.options.inflightRetention),
    };
  }

  private newBackend(id: string): StateBackend {
    if (this.o.options.stateBackend === 'lmdb') return new LmdbStateBackend(this.stateRoot!, `kv:${id}:${this.backendCounter++}`);
    return new HeapStateBackend(this.o.features.checkpoints);
  }

  private operatorFailed(task: Task, operatorName: string, record: unknown, error: unknown): void {
    if (this.o.options.errors.policy === 'fail') throw Task.wrapFailure(task, operatorName, error);
    const deadLetter = task.operators[task.operators.length - 1] as SinkOperator;
    const letter: DeadLetter = { operator: operatorName, subtask: task.subtask, record, error: error instanceof Error ? error.message : String(error) };
    this.deadLetters++;
    deadLetter.processElement(letter);
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

  /** Fails an operation whose replay cannot go on (not reachable in a consistent run). */
  static mismatch(what: string): never {
    throw new DeterminantMismatchError(what, 'nothing', -1, -1);
  }
}
