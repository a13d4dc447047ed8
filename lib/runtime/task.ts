/**
 * A task: one parallel instance of a vertex. It owns a chain of operators, its input channels and
 * its output writers, and runs as a mailbox loop scheduled cooperatively (see `scheduler.ts`): each
 * activation delivers input (or polls its source) until its budget is spent, its outputs run out of
 * credit, or its input is empty.
 *
 * Input is delivered in *runs*: so many elements from one input channel. Live, a run is a batch, in
 * arrival order across channels, and with causal logging each run is recorded as an ORDER
 * determinant before it is processed. Replaying, runs come from the recorded ORDER entries and may cut
 * batches anywhere, since the batches replayed from in-flight logs are cut differently.
 *
 * Barriers are aligned: a channel that delivered barrier *n* is blocked until every live input has,
 * then the task snapshots and forwards the barrier (I10). Every element has a per-channel sequence
 * number (I8); with deduplication on, elements at or below the last one consumed are dropped, and a
 * gap is an error.
 */
import type { CausalServices } from '../causal/services.js';
import { wallClock } from '../util/clock.js';
import { NO_RECORDER, type CausalRecorder } from '../causal/recorder.js';
import { CAPTURED_TIMER_BASE, CLOCK_TICK_TIMER, OPERATOR_TIMER_BASE } from '../causal/task-log.js';
import { activeScope, runCaptured, runUncaptured, type CaptureScope } from '../causal/capture.js';
import { DeterminantMismatchError, OperatorError, RecoveryEscalationError, TaskKilledError } from '../errors.js';
import { InflightBudget, InflightLog } from '../inflight/log.js';
import type { InflightSpillStore } from '../inflight/spill.js';
import type { StateBackend } from '../state/backend.js';
import type { OperatorSnapshot, TaskSnapshot } from '../state/snapshot.js';
import { Batch, ElementType, elementTypeName } from '../transport/batch.js';
import type { LocalChannel, OutputChannel } from '../transport/channel.js';
import { Kind } from '../../determinants/kinds.js';
import type { Operator } from './operator.js';
import type { TaskPlan } from './plan.js';
import type { SourceDriver } from './source-driver.js';
import type { TaskContext } from './task-context.js';
import { ChannelWriter, type WriterClock } from './writer.js';
import { CapturedTimers, checkNoCapturedTimersLost } from './captured-timers.js';

/** What fault tolerance asks of tasks (decided by the recovery strategy). */
export interface TaskFeatures {
  /** Whether checkpoints are taken. */
  readonly checkpoints: boolean;
  /** Whether output channels keep an in-flight log. */
  readonly inflightLog: boolean;
  /** Whether inputs drop elements already consumed (by sequence number). */
  readonly dedup: boolean;
}

/** What a task needs from the executor. */
export interface TaskEnvironment {
  /** Fault-tolerance features. */
  readonly features: TaskFeatures;
  /** Milliseconds on the job clock. */
  clock(): number;
  /** Asks the scheduler to run `task` soon. */
  markRunnable(task: Task): void;
  /** Runs `task` now if the scheduler is between slices (an async operator's promise settled), else soon. */
  resume(task: Task): void;
  /** Asks the scheduler to run `task` at job-clock time `jobMs`. */
  wakeAt(task: Task, jobMs: number): void;
  /** The task took its snapshot for `checkpointId`. */
  acknowledge(task: Task, checkpointId: number, snapshot: TaskSnapshot): void;
  /** Whether checkpoint `checkpointId` was abandoned (a replaying task may re-take one; a live task may meet its barrier). */
  checkpointAbandoned(checkpointId: number): boolean;
  /** Checkpoints after `epoch` that were abandoned, oldest first. */
  abortedAfter(epoch: number): number[];
  /** Every input ended and the task flushed its output. */
  finished(task: Task): void;
  /** `intervals` setInterval callbacks registered inside `causal()` were still active at the end of input, and were stopped. */
  timersCancelled(task: Task, intervals: number): void;
  /** The task's replayed log ran out, before it decided anything live (see `LocalRecovery.logEnded`). */
  replayLogEnded(task: Task): void;
  /**
   * The task replayed its whole log: may it go live? False means "not yet" (ask again shortly); an
   * orphan throws {@link RecoveryEscalationError}.
   */
  replayFinished(task: Task): boolean;
  /** Creates the keyed state backend of one operator of `task`. */
  createStateBackend(task: Task, operatorName: string): StateBackend;
  /** Counts records dropped as late. */
  countLate(task: Task, operatorName: string, count: number): void;
  /** How to handle a record an operator threw on; returns normally to skip the record. */
  operatorFailed(task: Task, operatorName: string, record: unknown, error: unknown): void;
  /** Where in-flight logs spill; null for no spilling. */
  readonly inflightSpill: InflightSpillStore | null;
  /** Records a task's in-flight logs may hold in memory. */
  readonly inflightMaxRecords: number;
}

/** One input channel as the task tracks it. */
export class TaskInput {
  /** Sequence number of the last element consumed (I8), -1 before any. */
  lastSeq = -1;
  /** Last watermark received. */
  watermark = -Infinity;
  /** Whether end of stream arrived. */
  ended = false;
  /** Blocked while aligning barriers. */
  blocked = false;
  /** Arrivals noticed while blocked, to re-queue on unblock. */
  deferred = 0;
  /** A batch taken from the channel and not fully delivered yet. */
  pending: Batch | null = null;
  /** Index of the next element of `pending` to deliver. */
  pendingOffset = 0;
  /**
   * Per incarnation switched to: the last sequence number consumed from older incarnations at the switch.
   * What a consumer holds from a producer's predecessor stays known after it moved on (I14).
   */
  readonly heldBefore = new Map<number, number>();

  constructor(
    /** The channel. */
    public channel: LocalChannel,
    /** Position among the task's inputs. */
    readonly index: number,
    /** Logical input of the head operator (0 or 1). */
    readonly logical: 0 | 1,
  ) {}
}

/** Lifecycle of a task. */
export type TaskStatus = 'running' | 'finished' | 'dead';

/** Kill a task after it has processed this many more input elements (fault injection). */
const NO_KILL = Number.POSITIVE_INFINITY;
/** How many times the scheduler's budget a replaying task may process per activation. */
const REPLAY_BUDGET_FACTOR = 8;

/** A delivery in progress: `remaining` more elements from `input`. */
interface Run {
  input: TaskInput;
  remaining: number;
}

/** A running task. */
export class Task implements TaskContext, WriterClock, CaptureScope {
  /** Lifecycle. */
  status: TaskStatus = 'running';
  /** Ingest time of the input being processed (see {@link WriterClock}). */
  ingestTime = 0;
  /** Combined input watermark. */
  watermark = -Infinity;
  /** Elements processed (or, in sources, records emitted) since the epoch started: a determinant position. */
  position = 0;
  /** The epoch: id of the last checkpoint this task took. */
  epoch = 0;
  /** Input elements delivered in total (for metrics). */
  elementsIn = 0;
  /** Whether the scheduler has the task queued. */
  queued = false;
  /** Whether the task is waiting for output credit. */
  backpressured = false;
  /** Fault injection: kill once this many more elements were processed. */
  killCountdown = NO_KILL;

  /** Operators, head first. */
  readonly operators: Operator[];
  /** Input channels. */
  readonly inputs: TaskInput[] = [];
  /** Output writers, per output edge. */
  readonly writers: ChannelWriter[][];
  /** All output writers, flat. */
  readonly allWriters: ChannelWriter[] = [];
  /** The source driver, for source tasks. */
  source: SourceDriver | null = null;
  /** Services handed to operators. */
  services!: CausalServices;
  /** Whether some operator buffers output between activations (a sink). */
  buffering = false;
  /** Whether the head operator is async, so that operator code may make external calls. */
  allowsCalls = false;
  /** Round-robin partitioners of the task's outputs, whose positions are part of its snapshot. */
  readonly rebalancers: { next: number }[] = [];

  private readonly backends = new Map<string, StateBackend>();

  /** The task's keyed-state backends, by operator name (measurements). */
  get stateBackends(): ReadonlyMap<string, StateBackend> {
    return this.backends;
  }
  private arrivals = new Int32Array(64);
  private arrivalHead = 0;
  private arrivalCount = 0;
  private alignment: { checkpointId: number; pending: number } | null = null;
  private readonly abortedCheckpoints = new Set<number>();
  private readonly inflightBudget: InflightBudget;
  private nextTimerWall = Infinity;
  private run_: Run | null = null;
  /** `setTimeout`/`setInterval` callbacks registered inside `causal()`. */
  private readonly captured = new CapturedTimers();
  /**
   * A checkpoint held back until the captured timeouts pending when it came (handles up to `upTo`) have
   * fired: their callbacks cannot be part of it. Input waits meanwhile.
   */
  private deferredCheckpoint: { id: number; upTo: number } | null = null;
  /** Every input ended while captured timeouts were pending: the task finishes once they ran. */
  private finishing = false;
  /** Replaying while suspended: when the recorded firing of a captured timer was first waited for (wall ms). */
  private suspendedTimerWait = 0;
  private pendingAborts: number[] = [];
  private suspended: Promise<void> | null = null;
  private replayingWriters = 0;

  constructor(
    /** The plan of this task. */
    readonly plan: TaskPlan,
    /** Parallelism of the task's vertex. */
    readonly parallelism: number,
    operators: Operator[],
    private readonly env: TaskEnvironment,
    /** Where the task's determinants go (and, replaying, come from). */
    readonly recorder: CausalRecorder = NO_RECORDER,
  ) {
    this.operators = operators;
    operators.forEach((op, i) => {
      op.task = this;
      op.chainIndex = i;
    });
    this.writers = plan.outputs.map(() => []);
    this.inflightBudget = new InflightBudget(env.inflightMaxRecords);
  }

  /** Job-wide task id. */
  get taskId(): number {
    return this.plan.id;
  }

  /** Display name. */
  get taskName(): string {
    return this.plan.name;
  }

  /** Subtask index. */
  get subtask(): number {
    return this.plan.subtask;
  }

  /** Whether the task replays recorded determinants. */
  get replaying(): boolean {
    return this.recorder.reader !== null;
  }

  // ------------------------------------------------------------------ wiring

  /** Adds an input channel (in the plan's order). */
  addInput(channel: LocalChannel, logical: 0 | 1): TaskInput {
    const input = new TaskInput(channel, this.inputs.length, logical);
    this.inputs.push(input);
    this.listen(input);
    return input;
  }

  /**
   * Starts listening on an input's channel. Envelopes of batches already queued are ingested now:
   * determinants are taken in on arrival, so that a batch this task holds is always covered (I1).
   */
  listen(input: TaskInput): void {
    const index = input.index;
    const channel = input.channel;
    channel.onReadable = () => this.arrived(index);
    channel.consumerReplaying = this.replaying;
    const recorder = this.recorder;
    channel.forEachQueued((batch) => recorder.ingest(batch));
    for (let i = 0; i < channel.queued; i++) this.pushArrival(index);
  }

  /**
   * The producer of `input` was replaced: once this task has delivered what it already holds from the
   * old channel (its own buffers), it reads the successor channel. Switches at once if nothing is held.
   */
  producerReplaced(input: TaskInput): void {
    if (input.pending === null && input.channel.queued === 0) {
      this.switchToSuccessor(input);
      return;
    }
    // Still draining the old channel: batches of the successor are not delivered yet, but their envelopes
    // are taken in on arrival all the same, so that whatever this task holds is covered by what its replicas
    // hold (I1) — a later recovery of the producer reads them from here.
    const recorder = this.recorder;
    for (let next = input.channel.successor; next !== null; next = next.successor) {
      const successor = next;
      successor.forEachQueued((batch) => recorder.ingest(batch));
      successor.onReadable = () => recorder.ingest(successor.peekLast()!);
    }
    this.env.markRunnable(this);
  }

  private switchToSuccessor(input: TaskInput): boolean {
    const next = input.channel.successor;
    if (next === null) return false;
    input.channel.onReadable = null;
    input.heldBefore.set(next.id.incarnation, input.lastSeq);
    input.channel = next;
    this.listen(input);
    if (input.channel.successor !== null && input.channel.queued === 0) this.switchToSuccessor(input);
    return true;
  }

  /**
   * The last sequence number this task holds on `input` from channel incarnations before `before`: consumed,
   * being delivered, or queued. What it got from a producer's replacement (incarnation `before` or later)
   * does not count: the orphan check compares the replacement with its predecessor (I14).
   */
  heldFromBefore(input: TaskInput, before: number): number {
    if (input.channel.id.incarnation >= before) {
      // Already reading a newer incarnation: what it had consumed when it first switched to `before` or
      // later (consumption only grows, so the smallest such figure).
      let held = Number.POSITIVE_INFINITY;
      for (const [incarnation, seq] of input.heldBefore) if (incarnation >= before && seq < held) held = seq;
      return held === Number.POSITIVE_INFINITY ? input.lastSeq : held;
    }
    let held = input.lastSeq;
    if (input.pending !== null) held = Math.max(held, input.pending.seqEnd - 1);
    for (let channel: LocalChannel | null = input.channel; channel !== null && channel.id.incarnation < before; channel = channel.successor) {
      const end = channel.queuedSeqEnd;
      if (end >= 0) held = Math.max(held, end - 1);
    }
    return held;
  }

  /** Adds a writer for output edge `edge`. `seq` continues a restored sequence. */
  addWriter(edge: number, channel: OutputChannel, seq: number): ChannelWriter {
    const inflight = this.env.features.inflightLog
      ? new InflightLog(this.taskId, channel.id.index, this.epoch, seq, this.inflightBudget, this.env.inflightSpill)
      : null;
    const writer = new ChannelWriter(channel, seq, this, inflight, this.recorder);
    writer.consumerId = this.recorder.addConsumer();
    this.connectWriter(writer);
    this.writers[edge]!.push(writer);
    this.allWriters.push(writer);
    return writer;
  }

  /** Listens for credit on a writer's (possibly new) channel. */
  connectWriter(writer: ChannelWriter): void {
    writer.channel.onWritable = () => {
      if (this.backpressured || writer.replaying) {
        this.backpressured = false;
        this.env.markRunnable(this);
      }
    };
  }

  /**
   * Retargets a writer to a replacement consumer's channel and replays to it, from the in-flight log,
   * everything after `afterSeq` (what the consumer's checkpoint says it consumed).
   */
  replayTo(writer: ChannelWriter, channel: OutputChannel, afterSeq: number): void {
    if (!writer.replaying) this.replayingWriters++;
    writer.replayTo(channel, afterSeq);
    this.recorder.resetConsumer(writer.consumerId);
    this.connectWriter(writer);
    this.env.markRunnable(this);
  }

  /** Restores positions and operator state from a (merged) snapshot. Call before `open`. */
  restore(snapshot: TaskSnapshot): void {
    checkNoCapturedTimersLost(this.taskName, snapshot.checkpointId, snapshot.capturedTimers);
    this.epoch = snapshot.checkpointId;
    snapshot.inputSeqs.forEach((seq, i) => {
      const input = this.inputs[i]!;
      input.lastSeq = seq;
      input.watermark = snapshot.inputWatermarks[i] ?? -Infinity;
      input.ended = snapshot.inputEnded[i] ?? false;
    });
    this.watermark = this.combinedWatermark();
    snapshot.operators.forEach((op, i) => {
      if (op) this.operators[i]!.restore(op);
    });
    this.restoredRouting = snapshot.routing ?? null;
  }

  /** Routing positions of the restored snapshot, applied once the partitioners exist (see `applyRouting`). */
  private restoredRouting: number[] | null = null;

  /** Registers the round-robin partitioners, restoring their positions from the snapshot. */
  applyRouting(rebalancers: { next: number }[]): void {
    rebalancers.forEach((r, i) => {
      if (this.restoredRouting && this.restoredRouting[i] !== undefined) r.next = this.restoredRouting[i]!;
      this.rebalancers.push(r);
    });
  }

  /**
   * Opens every operator. An operator that is not ready at once (a sink partition reading its tail)
   * holds the task back: it processes nothing until every operator is ready, then runs.
   */
  open(): void {
    const waiting: Promise<void>[] = [];
    for (const op of this.operators) {
      op.open();
      const ready = op.whenReady();
      if (ready !== null) waiting.push(ready);
    }
    this.recorder.tickClock(this.position);
    this.refreshTimerWakeup();
    if (waiting.length === 0) return;
    const opening: Promise<void> = Promise.all(waiting).then(
      () => {
        if (this.opening !== opening) return;
        this.opening = null;
        if (this.status === 'running') this.env.markRunnable(this);
      },
      (error: unknown) => {
        if (this.opening !== opening) return;
        this.opening = null;
        if (this.status !== 'dead') this.failAsync(Task.wrapFailure(this, 'open', error));
      },
    );
    this.opening = opening;
  }

  /** Set while an operator is getting ready after `open` (see {@link open}); the task waits. */
  private opening: Promise<void> | null = null;

  // ------------------------------------------------------------------ TaskContext

  /** {@inheritDoc TaskContext.stateBackend} */
  stateBackend(operatorName: string): StateBackend {
    let backend = this.backends.get(operatorName);
    if (!backend) {
      backend = this.env.createStateBackend(this, operatorName);
      this.backends.set(operatorName, backend);
    }
    return backend;
  }

  /** {@inheritDoc TaskContext.wakeAt} */
  wakeAt(wallMs: number): void {
    if (wallMs - 1 < this.nextTimerWall) {
      this.nextTimerWall = wallMs - 1;
      this.env.wakeAt(this, this.env.clock() + Math.max(0, wallMs - wallClock()));
    }
  }

  /** {@inheritDoc TaskContext.countLate} */
  countLate(operatorName: string, count: number): void {
    this.env.countLate(this, operatorName, count);
  }

  /** Hands an operator's failure on a record to the job's error policy. */
  operatorFailed(operatorName: string, record: unknown, error: unknown): void {
    // Runtime failures (kills, replay divergence) and errors of chained operators further down
    // surface through user code: pass them on untouched.
    if (error instanceof TaskKilledError || error instanceof OperatorError || error instanceof DeterminantMismatchError || error instanceof RecoveryEscalationError) {
      throw error;
    }
    this.env.operatorFailed(this, operatorName, record, error);
  }

  // ------------------------------------------------------------------ running

  /**
   * One activation: processes up to `budget` input elements (or source records). Returns true when
   * the task has more to do right away.
   */
  run(budget: number): boolean {
    const previous = activeScope.current;
    activeScope.current = this;
    try {
      return this.activate(budget);
    } finally {
      activeScope.current = previous;
      // The scheduler keeps one wake-up per task, the earliest: a wake-up asked for an earlier reason (a
      // paced source's next poll) replaces the timer's. Ask again for the timer's after every activation.
      if (this.nextTimerWall !== Infinity && this.status === 'running') this.env.wakeAt(this, this.env.clock() + Math.max(0, this.nextTimerWall + 1 - wallClock()));
    }
  }

  private activate(budget: number): boolean {
    if (this.status === 'dead' || this.opening !== null) return false;
    if (this.replayingWriters > 0) this.pumpReplays();
    if (this.status !== 'running') return false;
    if (this.suspended !== null) {
      // An async operator waits; a sleep it awaits inside causal() must still wake it up.
      if (this.captured.size > 0) this.fireCapturedWhileSuspended();
      return false;
    }
    // A replaying task holds up its consumers' view of its partitions: give it a larger share.
    if (this.replaying) return this.runReplay(budget * REPLAY_BUDGET_FACTOR);
    const now = wallClock();
    this.recorder.maybeTickClock(now, this.position);
    if (this.nextTimerWall < now) this.fireProcessingTimers(now);
    if (this.captured.size > 0) this.fireCapturedTimers(now, true);
    if (this.deferredCheckpoint !== null) {
      // Input waits until the held-back checkpoint is taken (the timers it waits for wake the task).
      this.flushOutputs();
      return false;
    }
    if (this.source) {
      const more = this.source.run(budget);
      this.flushOutputs();
      return more && this.status === 'running';
    }
    let spent = 0;
    while (spent < budget && this.status === 'running' && this.suspended === null) {
      if (this.run_ === null) {
        if (!this.outputsWritable()) {
          this.backpressured = true;
          break;
        }
        if (!this.startLiveRun()) break;
      }
      const delivered = this.continueRun();
      if (delivered < 0) break;
      spent += delivered;
    }
    this.flushOutputs();
    return this.status === 'running' && this.suspended === null && !this.backpressured && (this.arrivalCount > 0 || this.run_ !== null) && spent >= budget;
  }

  /** Whether every output channel has credit. */
  outputsWritable(): boolean {
    const writers = this.allWriters;
    const replaying = this.replaying;
    for (let i = 0; i < writers.length; i++) {
      const writer = writers[i]!;
      if (!writer.writable() && !(replaying && writer.channel.consumerReplaying)) return false;
    }
    return true;
  }

  /** Sends every partially filled output batch (bounds latency at the end of an activation). */
  flushOutputs(): void {
    if (this.buffering) for (const op of this.operators) op.flush();
    const writers = this.allWriters;
    for (let i = 0; i < writers.length; i++) writers[i]!.flush();
  }

  /** Fires the operators' processing-time timers due before `nowWall`, recording each firing (live). */
  fireProcessingTimers(nowWall: number): void {
    this.ingestTime = this.env.clock();
    const operators = this.operators;
    for (let i = 0; i < operators.length; i++) {
      const op = operators[i]!;
      if (op.nextProcessingTimer() < nowWall) {
        this.recorder.processingTimer(i, nowWall, this.position);
        op.onProcessingTime(nowWall);
      }
    }
    this.refreshTimerWakeup();
  }

  // ------------------------------------------------------------------ CaptureScope

  /** {@inheritDoc CaptureScope.addTimer} */
  addTimer(armedAt: number, delay: number, callback: () => void, interval: boolean): number {
    const { id, due } = this.captured.add(armedAt, delay, callback, interval);
    // Replaying, a firing is recorded, not waited for: the task looks at its log once the operator has run
    // as far as it can.
    const reader = this.recorder.reader;
    if (reader !== null && !reader.exhausted) this.env.markRunnable(this);
    else this.wakeAt(due);
    return id;
  }

  /** {@inheritDoc CaptureScope.clearTimer} */
  clearTimer(id: number): void {
    this.captured.clear(id);
  }

  /**
   * Runs captured callbacks due at `now`, oldest first, recording the firing (live) as one TIMER
   * determinant; replay calls it at the recorded position with the recorded time and count.
   */
  private fireCapturedTimers(now: number, live: boolean, recordedCount = -1): void {
    const due = this.captured.dueCount(now);
    // The count recorded with the firing detects a replay that would run a different set of callbacks.
    if (recordedCount >= 0 && due !== recordedCount) {
      throw new DeterminantMismatchError(`${recordedCount} setTimeout/setInterval callbacks due at ${now}`, `${due}`, -1, this.epoch, `task ${this.taskName}`);
    }
    if (due === 0) return;
    if (live) this.recorder.capturedTimers(due, now, this.position);
    this.ingestTime = this.env.clock();
    for (const callback of this.captured.takeDue(now)) runCaptured(this, callback);
    this.refreshTimerWakeup();
    if (this.deferredCheckpoint !== null) this.takeDeferredCheckpoint();
    if (this.finishing && this.captured.pendingTimeouts === 0) this.finish();
  }

  /**
   * The task is suspended on an async operator. Live: due callbacks run now (the operator may be awaiting
   * one), recorded at the task's position, which does not move while it is suspended. Replaying: a firing
   * recorded next is run once the operator has registered the callbacks it covers.
   */
  private fireCapturedWhileSuspended(): void {
    const reader = this.recorder.reader;
    if (reader === null || reader.exhausted) {
      // Live, or replaying with the log run out in the middle of this record (the failed task died while
      // its operator was suspended): from here the operator's decisions are live, as the services' are.
      this.fireCapturedTimers(wallClock(), true);
      return;
    }
    if (reader.peek() !== Kind.Timer) return;
    const timerId = reader.peekTimer();
    if (timerId <= CAPTURED_TIMER_BASE) return;
    const count = timerId - CAPTURED_TIMER_BASE;
    if (this.captured.dueCount(reader.timestamp) < count) {
      // The continuation has not registered every callback yet (it may await something else first).
      if (this.suspendedTimerWait === 0) this.suspendedTimerWait = wallClock();
      else if (wallClock() - this.suspendedTimerWait > 1000) this.fireCapturedTimers(reader.timestamp, false, count);
      this.env.wakeAt(this, this.env.clock() + 1);
      return;
    }
    this.suspendedTimerWait = 0;
    reader.nextTimer();
    this.checkPosition(reader.position, 'TIMER');
    this.fireCapturedTimers(reader.timestamp, false, count);
  }

  /** Recomputes when the earliest processing-time timer is due and asks to be woken then. */
  refreshTimerWakeup(): void {
    let next = Infinity;
    next = Math.min(next, this.captured.nextDue - 1);
    for (const op of this.operators) next = Math.min(next, op.nextProcessingTimer());
    this.nextTimerWall = Infinity;
    // Timers fire once the clock has passed them (see Operator.onProcessingTime).
    if (next < Infinity) this.wakeAt(next + 1);
  }

  /** Starts a live run: the next arrived batch, recorded as an ORDER determinant. Returns false when none. */
  private startLiveRun(): boolean {
    if (this.deferredCheckpoint !== null) return false;
    if (this.pendingAborts.length > 0) {
      const aborts = this.pendingAborts;
      this.pendingAborts = [];
      for (const id of aborts) this.checkpointAborted(id);
    }
    while (this.arrivalCount > 0) {
      const index = this.arrivals[this.arrivalHead]!;
      this.arrivalHead = (this.arrivalHead + 1) & (this.arrivals.length - 1);
      this.arrivalCount--;
      const input = this.inputs[index]!;
      if (input.blocked) {
        input.deferred++;
        continue;
      }
      const batch = this.currentBatch(input);
      if (batch === null) continue;
      const remaining = this.skipConsumed(input, batch);
      if (remaining === 0) continue;
      if (batch.type === ElementType.Barrier && this.isStaleBarrier(batch.value)) {
        // The barrier of a checkpoint abandoned before this task heard of it (a replacement whose
        // predecessor died before shipping the abort, or a barrier regenerated by a replaying producer):
        // aligning on it would wait for ever for inputs that never send it. The abort is taken now,
        // between runs and recorded, where a replay takes it too (I6); the barrier is then dropped.
        this.checkpointAborted(batch.value);
      }
      this.recorder.order(index, remaining, this.position);
      this.run_ = { input, remaining };
      return true;
    }
    return false;
  }

  /** Whether a barrier for `checkpointId` belongs to a checkpoint abandoned without this task knowing. */
  private isStaleBarrier(checkpointId: number): boolean {
    return checkpointId > this.epoch && !this.abortedCheckpoints.has(checkpointId) && this.env.checkpointAbandoned(checkpointId);
  }

  /**
   * Delivers elements of the current run. Returns the number delivered, or -1 when it must wait (no
   * batch available yet, or an async operator suspended the task).
   */
  private continueRun(): number {
    const run = this.run_!;
    const input = run.input;
    let delivered = 0;
    while (run.remaining > 0) {
      if (input.ended) {
        // Only a replay can ask for more than an input ever delivers: the recorded run cannot be reproduced.
        throw new DeterminantMismatchError(`ORDER of ${run.remaining} more from input ${input.index}`, `input ${input.index}, which ended`, -1, this.epoch, `task ${this.taskName}`);
      }
      const batch = this.currentBatch(input);
      if (batch === null) return delivered > 0 ? delivered : -1;
      if (this.skipConsumed(input, batch) === 0) continue;
      const offset = input.pendingOffset;
      const available = batch.type === ElementType.Data ? batch.count - offset : 1;
      const take = Math.min(available, run.remaining);
      const done = this.deliver(input, batch, offset, take);
      delivered += done;
      run.remaining -= done;
      if (offset + done === (batch.type === ElementType.Data ? batch.count : 1)) this.releasePending(input);
      else input.pendingOffset = offset + done;
      if (done < take || this.status !== 'running' || this.suspended !== null) {
        if (run.remaining === 0) this.run_ = null;
        return delivered > 0 ? delivered : -1;
      }
    }
    this.run_ = null;
    return delivered;
  }

  /** The batch being delivered from `input`, taking the next from its channel if needed. */
  private currentBatch(input: TaskInput): Batch | null {
    if (input.pending !== null) return input.pending;
    let batch = input.channel.poll();
    while (batch === undefined && input.channel.successor !== null) {
      this.switchToSuccessor(input);
      batch = input.channel.poll();
    }
    if (batch === undefined) return null;
    input.pending = batch;
    input.pendingOffset = 0;
    return batch;
  }

  private releasePending(input: TaskInput): void {
    const batch = input.pending!;
    input.pending = null;
    input.pendingOffset = 0;
    input.channel.release(batch);
    if (input.channel.successor !== null && input.channel.queued === 0) this.switchToSuccessor(input);
  }

  /**
   * Skips elements of `input`'s current batch that were already consumed (I8); returns how many remain.
   * A batch that starts past the next expected element is a gap: an error.
   */
  private skipConsumed(input: TaskInput, batch: Batch): number {
    const next = batch.seq + input.pendingOffset;
    const expected = input.lastSeq + 1;
    const size = batch.type === ElementType.Data ? batch.count : 1;
    if (next !== expected) {
      if (next > expected) {
        throw new Error(`I8 violated: ${this.taskName} input ${input.index} expected seq ${expected}, got ${elementTypeName(batch.type)} at ${next}`);
      }
      if (!this.env.features.dedup) {
        throw new Error(`I8 violated: ${this.taskName} input ${input.index} got seq ${next} again (last consumed ${input.lastSeq})`);
      }
      // Already consumed (a replay after recovery): drop what this task has seen.
      const skip = Math.min(expected - next, size - input.pendingOffset);
      input.pendingOffset += skip;
    }
    const remaining = size - input.pendingOffset;
    if (remaining === 0) this.releasePending(input);
    return remaining;
  }

  /** Delivers `count` elements of `batch` from `offset`; returns how many were processed. */
  private deliver(input: TaskInput, batch: Batch, offset: number, count: number): number {
    switch (batch.type) {
      case ElementType.Data:
        return this.deliverRecords(input, batch, offset, count);
      case ElementType.Watermark:
        input.lastSeq = batch.seq;
        this.countElement();
        this.onWatermark(input, batch.value, batch.ingestTime);
        return 1;
      case ElementType.Barrier:
        input.lastSeq = batch.seq;
        this.countElement();
        this.onBarrier(input, batch.value);
        return 1;
      default:
        input.lastSeq = batch.seq;
        this.countElement();
        this.onEnd(input);
        return 1;
    }
  }

  private deliverRecords(input: TaskInput, batch: Batch, start: number, count: number): number {
    const head = this.operators[0]!;
    const records = batch.records;
    const timestamps = batch.timestamps;
    let end = start + count;
    this.ingestTime = batch.ingestTime;
    const killHere = this.killCountdown <= count;
    if (killHere) end = start + this.killCountdown;
    let i = start;
    let suspendedBy: void | Promise<void> = undefined;
    try {
      if (input.logical === 0) {
        for (; i < end; i++) {
          suspendedBy = head.processElement(records[i], timestamps[i]!);
          if (suspendedBy !== undefined) {
            i++;
            break;
          }
        }
      } else {
        for (; i < end; i++) {
          suspendedBy = head.processElement2(records[i], timestamps[i]!);
          if (suspendedBy !== undefined) {
            i++;
            break;
          }
        }
      }
    } finally {
      const done = i - start;
      this.position += done;
      this.elementsIn += done;
      input.lastSeq = batch.seq + i - 1;
      if (this.killCountdown !== NO_KILL) this.killCountdown -= done;
    }
    if (suspendedBy !== undefined) this.suspend(suspendedBy);
    else if (killHere) throw new TaskKilledError(this.taskName);
    return i - start;
  }

  /** An async operator returned a promise: nothing else runs in this task until it settles. */
  private suspend(promise: Promise<void>): void {
    const settled = promise.then(
      () => {
        if (this.suspended !== settled) return;
        this.suspended = null;
        // Go on at once, in this microtask, rather than wait for the scheduler's next slice: an async
        // operator pays a turn of the event loop per record otherwise, and a checkpoint barrier queued
        // behind its input waits for all of them.
        this.env.resume(this);
      },
      (error: unknown) => {
        if (this.suspended !== settled) return;
        this.suspended = null;
        this.failAsync(error);
      },
    );
    this.suspended = settled;
  }

  /** Reported by the executor when an async operator's promise rejects (the error policy already ran). */
  failAsync: (error: unknown) => void = (error) => {
    throw error;
  };

  private countElement(): void {
    this.position++;
    this.elementsIn++;
    if (this.killCountdown !== NO_KILL && --this.killCountdown <= 0) throw new TaskKilledError(this.taskName);
  }

  // ------------------------------------------------------------------ replay

  /** One activation while replaying: execute recorded drivers in order until the log runs out. */
  private runReplay(budget: number): boolean {
    const reader = this.recorder.reader!;
    let spent = 0;
    while (spent < budget && this.status === 'running' && this.suspended === null && this.recorder.reader !== null) {
      if (this.run_ !== null) {
        const delivered = this.continueRun();
        if (delivered < 0) break;
        spent += delivered;
        continue;
      }
      if (!this.outputsWritable()) {
        this.backpressured = true;
        break;
      }
      const kind = reader.peek();
      switch (kind) {
        case -1:
          if (!this.finishReplay()) {
            this.flushOutputs();
            return false;
          }
          break;
        case Kind.Order: {
          // A held-back checkpoint lets no input in, live or replaying: an ORDER here is a divergence.
          if (this.deferredCheckpoint !== null) reader.fail('ORDER', `the callbacks checkpoint ${this.deferredCheckpoint.id} waits for`);
          const index = reader.nextOrder();
          const input = this.inputs[index];
          if (!input) reader.fail(`ORDER from input ${index}`, `an input of ${this.taskName} (it has ${this.inputs.length})`);
          this.run_ = { input: input!, remaining: reader.count };
          break;
        }
        case Kind.Timer:
          this.replayTimer(reader.nextTimer(), reader.timestamp, reader.position);
          spent++;
          break;
        case Kind.AbortCheckpoint: {
          const checkpointId = reader.nextAbortCheckpoint();
          this.checkPosition(reader.position, 'ABORT_CHECKPOINT');
          this.applyAbort(checkpointId);
          break;
        }
        case Kind.SourcePoll:
        case Kind.SourceBarrier:
          if (kind === Kind.SourcePoll && this.deferredCheckpoint !== null) reader.fail('SOURCE_POLL', `the callbacks checkpoint ${this.deferredCheckpoint.id} waits for`);
          if (!this.source) reader.fail(kind === Kind.SourcePoll ? 'SOURCE_POLL' : 'SOURCE_BARRIER', `a determinant a non-source task records`);
        {
          const emitted = this.source!.replayNext(reader);
          if (emitted < 0) {
            // The recorded records are not readable yet; the source asked to be woken when they are.
            this.flushOutputs();
            return false;
          }
          spent += emitted;
          break;
        }
        default:
          // An answer (clock, random, external) that operator code did not ask for: the replay diverged.
          reader.fail(`a service answer (kind ${kind}) nobody asked for`, 'the next delivery or timer');
      }
    }
    this.flushOutputs();
    if (this.status !== 'running' || this.suspended !== null || this.backpressured) return false;
    // Gone live in this activation: input that arrived while replaying is waiting, and no new arrival
    // may come to wake the task for it.
    if (this.recorder.reader === null) return this.arrivalCount > 0 || this.run_ !== null || this.source !== null;
    return spent >= budget;
  }

  /** Fires a recorded timer at its recorded time (I6). */
  private replayTimer(timerId: number, timestamp: number, position: number): void {
    this.checkPosition(position, 'TIMER');
    if (timerId === CLOCK_TICK_TIMER) {
      this.recorder.replayClockTick(timestamp);
      return;
    }
    if (timerId > CAPTURED_TIMER_BASE) {
      this.fireCapturedTimers(timestamp, false, timerId - CAPTURED_TIMER_BASE);
      return;
    }
    const op = this.operators[timerId - OPERATOR_TIMER_BASE];
    if (!op) this.recorder.reader!.fail(`TIMER of operator ${timerId - OPERATOR_TIMER_BASE}`, `an operator of ${this.taskName}`);
    this.ingestTime = this.env.clock();
    op!.onProcessingTime(timestamp);
  }

  /** Checks that a recorded event happens at the same position as it did (a cheap divergence detector). */
  checkPosition(recorded: number, what: string): void {
    if (recorded !== this.position) {
      throw new DeterminantMismatchError(`${what} at position ${recorded}`, `${what} at position ${this.position}`, -1, this.epoch, `task ${this.taskName}`);
    }
  }

  /** The log ran out: check that going live is safe (no orphans, I14), then record from now on. */
  private finishReplay(): boolean {
    if (!this.env.replayFinished(this)) {
      this.env.wakeAt(this, this.env.clock() + 1);
      return false;
    }
    this.recorder.goLive();
    for (const input of this.inputs) input.channel.consumerReplaying = false;
    // Checkpoints abandoned after the restored one that the log does not record (the predecessor died
    // before shipping the abort): live from here, the task takes each abort now, recorded.
    for (const id of this.env.abortedAfter(this.epoch)) if (!this.abortedCheckpoints.has(id)) this.checkpointAborted(id);
    // Arrivals noticed while replaying were not used: rebuild them from what is queued now.
    this.arrivalCount = 0;
    this.arrivalHead = 0;
    for (const input of this.inputs) {
      const count = (input.pending !== null ? 1 : 0) + input.channel.queued;
      for (let i = 0; i < count; i++) this.pushArrival(input.index);
    }
    this.recorder.tickClock(this.position);
    this.refreshTimerWakeup();
    return true;
  }

  // ------------------------------------------------------------------ watermarks, barriers, end

  private onWatermark(input: TaskInput, value: number, ingestTime: number): void {
    if (value <= input.watermark) return;
    input.watermark = value;
    const combined = this.combinedWatermark();
    if (combined > this.watermark) {
      this.watermark = combined;
      this.ingestTime = ingestTime;
      this.operators[0]!.processWatermark(combined);
    }
  }

  private combinedWatermark(): number {
    let min = Infinity;
    let live = false;
    for (const input of this.inputs) {
      if (input.ended) continue;
      live = true;
      if (input.watermark < min) min = input.watermark;
    }
    return live ? min : this.inputs.length === 0 ? -Infinity : Infinity;
  }

  private onBarrier(input: TaskInput, checkpointId: number): void {
    if (checkpointId <= this.epoch || this.abortedCheckpoints.has(checkpointId)) return;

    const alignment = this.alignment;
    if (alignment !== null && checkpointId > alignment.checkpointId) {
      // The checkpoint being aligned was abandoned upstream; the newer one supersedes it.
      this.cancelAlignment();
    }
    if (this.alignment === null) {
      let pending = 0;
      for (const other of this.inputs) if (!other.ended) pending++;
      this.alignment = { checkpointId, pending };
    }
    const current = this.alignment!;
    if (checkpointId < current.checkpointId) return;
    input.blocked = true;
    if (--current.pending === 0) this.completeAlignment(checkpointId);
  }

  private onEnd(input: TaskInput): void {
    input.ended = true;
    if (input.blocked) input.blocked = false;
    else if (this.alignment !== null && --this.alignment.pending === 0) this.completeAlignment(this.alignment.checkpointId);
    const combined = this.combinedWatermark();
    if (combined > this.watermark && combined !== Infinity) {
      this.watermark = combined;
      this.operators[0]!.processWatermark(combined);
    }
    if (this.inputs.every((i) => i.ended)) this.finish();
  }

  private completeAlignment(checkpointId: number): void {
    this.alignment = null;
    this.takeCheckpoint(checkpointId);
    for (const input of this.inputs) this.unblock(input);
  }

  private cancelAlignment(): void {
    this.alignment = null;
    for (const input of this.inputs) this.unblock(input);
  }

  private unblock(input: TaskInput): void {
    if (!input.blocked) return;
    input.blocked = false;
    for (let i = 0; i < input.deferred; i++) this.pushArrival(input.index);
    input.deferred = 0;
  }

  /**
   * Snapshots every operator and the channel positions, acknowledges, forwards the barrier and
   * starts epoch `checkpointId` (I5, I10). Sources call this when they inject a barrier.
   */
  takeCheckpoint(checkpointId: number): void {
    this.flushOutputs();
    const upTo = this.captured.lastId;
    if (this.captured.pendingTimeoutsUpTo(upTo) > 0) {
      // Pending callbacks are closures, not state: the snapshot waits until they have run (input waits
      // too, so the snapshot is still the state at the barrier plus what they did). Whether to wait
      // depends only on what the operators registered, so a replay waits exactly alike.
      this.deferredCheckpoint = { id: checkpointId, upTo };
      return;
    }
    this.snapshotNow(checkpointId);
  }

  /** Takes the held-back checkpoint once the callbacks it waits for have run. */
  private takeDeferredCheckpoint(): void {
    const deferred = this.deferredCheckpoint;
    if (deferred === null || this.captured.pendingTimeoutsUpTo(deferred.upTo) > 0) return;
    this.deferredCheckpoint = null;
    this.snapshotNow(deferred.id);
    for (const input of this.inputs) this.unblock(input);
    this.env.markRunnable(this);
  }

  private snapshotNow(checkpointId: number): void {
    const operators: (OperatorSnapshot | null)[] = this.operators.map((op) => op.snapshot(checkpointId));
    const snapshot: TaskSnapshot = {
      checkpointId,
      taskId: this.taskId,
      inputSeqs: this.inputs.map((i) => i.lastSeq),
      outputSeqs: [],
      inputWatermarks: this.inputs.map((i) => i.watermark),
      inputEnded: this.inputs.map((i) => i.ended),
      operators,
      routing: this.rebalancers.map((r) => r.next),
      // Intervals, and timeouts armed while the checkpoint waited: a restore from it fails loudly.
      ...(this.captured.size > 0 ? { capturedTimers: this.captured.size } : {}),
    };
    for (const writer of this.allWriters) {
      writer.control(ElementType.Barrier, checkpointId);
      snapshot.outputSeqs.push(writer.seq);
      writer.inflight?.startEpoch(checkpointId);
    }
    this.epoch = checkpointId;
    this.position = 0;
    this.recorder.startEpoch(checkpointId);
    this.env.acknowledge(this, checkpointId, snapshot);
    // Replaying, a task re-takes checkpoints that were abandoned when its predecessor failed: treat them
    // as aborted at once, so their state changes go into the next snapshot (I9).
    if (this.env.checkpointAbandoned(checkpointId)) for (const backend of this.backends.values()) backend.checkpointAborted(checkpointId);
  }

  /** Checkpoint `checkpointId` completed: operators commit, logs drop older epochs (I2). */
  checkpointCompleted(checkpointId: number): void {
    for (const op of this.operators) op.checkpointCompleted(checkpointId);
    for (const backend of this.backends.values()) backend.checkpointCompleted(checkpointId);
    for (const writer of this.allWriters) writer.inflight?.truncateBefore(checkpointId);
    this.recorder.truncateBefore(checkpointId);
  }

  /**
   * Checkpoint `checkpointId` was abandoned: recorded (it changes alignment), then applied. A task in
   * the middle of a run (an async operator awaiting) takes it between runs, where drivers belong (I6).
   */
  checkpointAborted(checkpointId: number): void {
    if (this.replaying) return;
    if (this.run_ !== null || this.suspended !== null) {
      this.pendingAborts.push(checkpointId);
      return;
    }
    this.recorder.abortCheckpoint(checkpointId, this.position);
    this.applyAbort(checkpointId);
  }

  private applyAbort(checkpointId: number): void {
    this.abortedCheckpoints.add(checkpointId);
    if (this.alignment?.checkpointId === checkpointId) this.cancelAlignment();
    for (const op of this.operators) op.checkpointAborted(checkpointId);
    for (const backend of this.backends.values()) backend.checkpointAborted(checkpointId);
  }

  /** Every input ended: flush operators in chain order, send end of stream, report. */
  finish(): void {
    if (this.status !== 'running') return;
    if (this.captured.pendingTimeouts > 0) {
      // As in Node, pending timeouts still run: the task finishes once they have.
      this.finishing = true;
      return;
    }
    this.finishing = false;
    const intervals = this.captured.cancelIntervals();
    if (intervals > 0) this.env.timersCancelled(this, intervals);
    for (const op of this.operators) op.endInput();
    for (const writer of this.allWriters) writer.control(ElementType.End, 0);
    this.flushOutputs();
    this.status = 'finished';
    this.env.finished(this);
  }

  /** The task dies: everything in its memory is gone (in-flight logs, buffers, state, causal log). */
  kill(): void {
    if (this.status === 'dead') return;
    this.status = 'dead';
    this.suspended = null;
    this.opening = null;
    for (const writer of this.allWriters) {
      writer.discardPending();
      writer.inflight?.discard();
    }
    for (const input of this.inputs) input.channel.onReadable = null;
    for (const op of this.operators) {
      try {
        op.close();
      } catch {
        // A dying task's operators may fail to close; nothing depends on it.
      }
    }
  }

  /** Releases the task's state backends (a killed task's, once nothing needs them; or at the end). */
  disposeState(): void {
    for (const backend of this.backends.values()) void backend.dispose();
  }

  /** Closes a finished task's operators. */
  close(): void {
    for (const op of this.operators) op.close();
  }

  /**
   * What the task waits for, in words, for the stall report: `nameOf` names other tasks. Never changes
   * anything; cheap enough for a report, not for a hot path.
   */
  describeWait(nameOf: (taskId: number) => string): string {
    if (this.status !== 'running') return this.status;
    if (this.opening !== null) return 'an operator getting ready (a sink partition reading its tail)';
    if (this.suspended !== null) return "an async operator's promise";
    const reader = this.recorder.reader;
    if (reader !== null) {
      const next = reader.peek();
      if (next === -1) return 'going live: the orphan check waits for a consumer to be replaced (I14)';
      if (this.run_ !== null) return `replaying ORDER: ${this.run_.remaining} more from ${nameOf(this.run_.input.channel.id.from)} (input ${this.run_.input.index}, last seq ${this.run_.input.lastSeq})`;
      return `replaying: next determinant of kind ${next}`;
    }
    const parts: string[] = [];
    if (this.deferredCheckpoint !== null) parts.push(`setTimeout callbacks to run before it takes checkpoint ${this.deferredCheckpoint.id}`);
    if (this.alignment !== null) {
      const waiting = this.inputs.filter((i) => !i.blocked && !i.ended).map((i) => `${nameOf(i.channel.id.from)} (input ${i.index}, last seq ${i.lastSeq})`);
      parts.push(`barrier ${this.alignment.checkpointId} from ${waiting.join(', ') || 'no input (it should have completed)'}`);
    }
    if (this.backpressured) {
      const full = this.allWriters.filter((w) => !w.writable()).map((w) => nameOf(w.channel.id.to));
      parts.push(`credit on its channels to ${full.join(', ') || '(none full: a lost wake-up)'}`);
    }
    if (this.replayingWriters > 0) parts.push(`replaying its in-flight log to ${this.allWriters.filter((w) => w.replaying).map((w) => nameOf(w.channel.id.to)).join(', ')}`);
    if (this.hasInput && !this.queued && parts.length === 0) parts.push('nothing: it has input queued but is not scheduled (a lost wake-up)');
    if (parts.length === 0) {
      const open = this.inputs.filter((i) => !i.ended);
      parts.push(open.length === 0 ? (this.source ? 'its source to have more records' : 'nothing (all inputs ended)') : `input from ${open.map((i) => `${nameOf(i.channel.id.from)} (input ${i.index}, last seq ${i.lastSeq})`).join(', ')}`);
    }
    return parts.join('; ');
  }

  /** Whether the task holds work it cannot do yet: queued input, a barrier being aligned, a replay. */
  get holdsWork(): boolean {
    if (this.status !== 'running') return false;
    return this.hasInput || this.alignment !== null || this.deferredCheckpoint !== null || this.replaying || this.replayingWriters > 0 || this.inputs.some((i) => i.channel.queued > 0);
  }

  /** The replayed log ran out (possibly mid-record): recovery judges the orphan check now (I14). */
  noteLogEnd(): void {
    // The log may run out inside operator code (a service asking the reader): what recovery does next is
    // the runtime's, and must not be captured as the operator's (a clock read of its would be recorded).
    runUncaptured(() => this.env.replayLogEnded(this));
  }

  /** Whether a checkpoint is held back until pending captured callbacks have run (no input meanwhile). */
  get checkpointHeld(): boolean {
    return this.deferredCheckpoint !== null;
  }

  /** Whether there is queued input to deliver. */
  get hasInput(): boolean {
    return this.arrivalCount > 0 || this.run_ !== null;
  }

  /** Wraps an operator failure the policy could not absorb. */
  static wrapFailure(task: Task, operatorName: string, error: unknown): Error {
    if (error instanceof TaskKilledError || error instanceof OperatorError) return error;
    return new OperatorError(operatorName, task.subtask, error);
  }

  /** Replays pending in-flight elements to replacement consumers, as far as their credit allows. */
  private pumpReplays(): void {
    for (const writer of this.allWriters) {
      if (!writer.replaying) continue;
      writer.pump();
      if (!writer.replaying) this.replayingWriters--;
    }
  }

  private arrived(index: number): void {
    this.recorder.ingest(this.inputs[index]!.channel.peekLast()!);
    this.pushArrival(index);
    if (!this.queued && this.status === 'running') this.env.markRunnable(this);
  }

  private pushArrival(index: number): void {
    if (this.arrivalCount === this.arrivals.length) {
      const grown = new Int32Array(this.arrivals.length * 2);
      for (let i = 0; i < this.arrivalCount; i++) grown[i] = this.arrivals[(this.arrivalHead + i) & (this.arrivals.length - 1)]!;
      this.arrivals = grown;
      this.arrivalHead = 0;
    }
    this.arrivals[(this.arrivalHead + this.arrivalCount) & (this.arrivals.length - 1)] = index;
    this.arrivalCount++;
  }
}
