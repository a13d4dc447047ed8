/**
 * A task: one parallel instance of a vertex. It owns a chain of operators, its input channels and
 * its output writers, and runs as a mailbox loop scheduled cooperatively (see `scheduler.ts`): each
 * activation delivers input batches (or polls its source) until its budget is spent, its outputs run
 * out of credit, or its input is empty.
 *
 * Input delivery follows arrival order across channels. Barriers are aligned: a channel that
 * delivered barrier *n* is blocked until every live input has, then the task snapshots and forwards
 * the barrier (I10). Every element has a per-channel sequence number (I8); with deduplication on,
 * elements at or below the last one consumed are dropped, and a gap is an error.
 */
import type { CausalServices } from '../causal/services.js';
import { OperatorError, TaskKilledError } from '../errors.js';
import { InflightBudget, InflightLog } from '../inflight/log.js';
import type { StateBackend } from '../state/backend.js';
import type { OperatorSnapshot, TaskSnapshot } from '../state/snapshot.js';
import { Batch, ElementType, elementTypeName } from '../transport/batch.js';
import type { LocalChannel } from '../transport/channel.js';
import type { Operator } from './operator.js';
import type { TaskContext } from './task-context.js';
import type { SourceDriver } from './source-driver.js';
import { ChannelWriter, type EnvelopeAttacher, type WriterClock } from './writer.js';
import type { TaskPlan } from './plan.js';
import type { InflightSpillStore } from '../inflight/spill.js';

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
  /** Asks the scheduler to run `task` at job-clock time `jobMs`. */
  wakeAt(task: Task, jobMs: number): void;
  /** The task took its snapshot for `checkpointId`. */
  acknowledge(task: Task, checkpointId: number, snapshot: TaskSnapshot): void;
  /** Every input ended and the task flushed its output. */
  finished(task: Task): void;
  /** Creates the keyed state backend of one operator of `task`. */
  createStateBackend(task: Task, operatorName: string): StateBackend;
  /** Counts records dropped as late. */
  countLate(task: Task, operatorName: string, count: number): void;
  /** Counts records read by sources. */
  countInput(count: number): void;
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

/** A running task. */
export class Task implements TaskContext, WriterClock {
  /** Lifecycle. */
  status: TaskStatus = 'running';
  /** Ingest time of the input being processed (see {@link WriterClock}). */
  ingestTime = 0;
  /** Combined input watermark. */
  watermark = -Infinity;
  /** Elements processed since the current epoch started (a determinant position). */
  position = 0;
  /** The epoch: id of the last checkpoint this task took. */
  epoch = 0;
  /** Input elements delivered in total (for metrics and fault injection). */
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

  private readonly backends = new Map<string, StateBackend>();
  private arrivals = new Int32Array(64);
  private arrivalHead = 0;
  private arrivalCount = 0;
  private alignment: { checkpointId: number; pending: number } | null = null;
  private readonly abortedCheckpoints = new Set<number>();
  private readonly inflightBudget: InflightBudget;
  private nextTimerWall = Infinity;

  constructor(
    /** The plan of this task. */
    readonly plan: TaskPlan,
    /** Parallelism of the task's vertex. */
    readonly parallelism: number,
    operators: Operator[],
    private readonly env: TaskEnvironment,
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

  // ------------------------------------------------------------------ wiring

  /** Adds an input channel (in the plan's order). */
  addInput(channel: LocalChannel, logical: 0 | 1): TaskInput {
    const input = new TaskInput(channel, this.inputs.length, logical);
    this.inputs.push(input);
    this.listen(input);
    return input;
  }

  /** Starts listening for arrivals on an input's (possibly new) channel. */
  listen(input: TaskInput): void {
    const index = input.index;
    input.channel.onReadable = () => this.arrived(index);
  }

  /** Adds a writer for output edge `edge`. `seq` continues a restored sequence. */
  addWriter(edge: number, channel: LocalChannel, seq: number, envelopes: EnvelopeAttacher | null): ChannelWriter {
    const inflight = this.env.features.inflightLog
      ? new InflightLog(this.taskId, channel.id.index, this.epoch, seq, this.inflightBudget, this.env.inflightSpill)
      : null;
    const writer = new ChannelWriter(channel, seq, this, inflight, envelopes);
    channel.onWritable = () => {
      if (this.backpressured) {
        this.backpressured = false;
        this.env.markRunnable(this);
      }
    };
    this.writers[edge]!.push(writer);
    this.allWriters.push(writer);
    return writer;
  }

  /** Restores positions and operator state from a (merged) snapshot. Call before `open`. */
  restore(snapshot: TaskSnapshot): void {
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
  }

  /** Opens every operator. */
  open(): void {
    for (const op of this.operators) op.open();
    this.refreshTimerWakeup();
  }

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
      this.env.wakeAt(this, this.env.clock() + Math.max(0, wallMs - Date.now()));
    }
  }

  /** {@inheritDoc TaskContext.countLate} */
  countLate(operatorName: string, count: number): void {
    this.env.countLate(this, operatorName, count);
  }

  /** Hands an operator's failure on a record to the job's error policy. */
  operatorFailed(operatorName: string, record: unknown, error: unknown): void {
    // Errors of chained operators further down surface through `collect` inside user code: pass them on.
    if (error instanceof TaskKilledError || error instanceof OperatorError) throw error;
    this.env.operatorFailed(this, operatorName, record, error);
  }

  // ------------------------------------------------------------------ running

  /**
   * One activation: processes up to `budget` input elements (or source records). Returns true when
   * the task has more to do right away.
   */
  run(budget: number): boolean {
    if (this.status !== 'running') return false;
    if (this.nextTimerWall < Date.now()) this.fireProcessingTimers(Date.now());
    if (this.source) {
      const more = this.source.run(budget);
      this.flushOutputs();
      return more && this.status === 'running';
    }
    let spent = 0;
    while (spent < budget) {
      if (!this.outputsWritable()) {
        this.backpressured = true;
        break;
      }
      const delivered = this.deliverNext();
      if (delivered < 0) break;
      spent += delivered;
      if (this.status !== 'running') break;
    }
    this.flushOutputs();
    return this.status === 'running' && !this.backpressured && this.arrivalCount > 0 && spent >= budget;
  }

  /** Whether every output channel has credit. */
  outputsWritable(): boolean {
    const writers = this.allWriters;
    for (let i = 0; i < writers.length; i++) if (!writers[i]!.writable()) return false;
    return true;
  }

  /** Sends every partially filled output batch (bounds latency at the end of an activation). */
  flushOutputs(): void {
    if (this.buffering) for (const op of this.operators) op.flush();
    const writers = this.allWriters;
    for (let i = 0; i < writers.length; i++) writers[i]!.flush();
  }

  /** Fires the operators' processing-time timers due at `nowWall`. */
  fireProcessingTimers(nowWall: number): void {
    this.ingestTime = this.env.clock();
    for (const op of this.operators) if (op.nextProcessingTimer() < nowWall) op.onProcessingTime(nowWall);
    this.refreshTimerWakeup();
  }

  /** Recomputes when the earliest processing-time timer is due and asks to be woken then. */
  refreshTimerWakeup(): void {
    let next = Infinity;
    for (const op of this.operators) next = Math.min(next, op.nextProcessingTimer());
    this.nextTimerWall = Infinity;
    // Timers fire once the clock has passed them (see Operator.onProcessingTime).
    if (next < Infinity) this.wakeAt(next + 1);
  }

  /** Delivers the next queued batch; returns the elements it held, or -1 when nothing is queued. */
  private deliverNext(): number {
    while (this.arrivalCount > 0) {
      const index = this.arrivals[this.arrivalHead]!;
      this.arrivalHead = (this.arrivalHead + 1) & (this.arrivals.length - 1);
      this.arrivalCount--;
      const input = this.inputs[index]!;
      if (input.blocked) {
        input.deferred++;
        continue;
      }
      const batch = input.channel.poll();
      if (batch === undefined) continue;
      const size = batch.size;
      this.deliver(input, batch);
      input.channel.release(batch);
      return size;
    }
    return -1;
  }

  /** Processes one batch from `input`. */
  deliver(input: TaskInput, batch: Batch): void {
    let start = 0;
    const expected = input.lastSeq + 1;
    if (batch.seq !== expected) {
      if (batch.seq > expected) {
        throw new Error(`I8 violated: ${this.taskName} input ${input.index} expected seq ${expected}, got ${elementTypeName(batch.type)} at ${batch.seq}`);
      }
      if (!this.env.features.dedup) {
        throw new Error(`I8 violated: ${this.taskName} input ${input.index} got seq ${batch.seq} again (last consumed ${input.lastSeq})`);
      }
      // Already consumed (a replay after recovery): drop what this task has seen.
      if (batch.seqEnd <= expected) return;
      start = expected - batch.seq;
    }
    switch (batch.type) {
      case ElementType.Data:
        this.deliverRecords(input, batch, start);
        break;
      case ElementType.Watermark:
        input.lastSeq = batch.seq;
        this.countElement();
        this.onWatermark(input, batch.value, batch.ingestTime);
        break;
      case ElementType.Barrier:
        input.lastSeq = batch.seq;
        this.countElement();
        this.onBarrier(input, batch.value);
        break;
      case ElementType.End:
        input.lastSeq = batch.seq;
        this.countElement();
        this.onEnd(input);
        break;
    }
  }

  private deliverRecords(input: TaskInput, batch: Batch, start: number): void {
    const head = this.operators[0]!;
    const records = batch.records;
    const timestamps = batch.timestamps;
    let end = batch.count;
    this.ingestTime = batch.ingestTime;
    const killHere = this.killCountdown <= end - start;
    if (killHere) end = start + this.killCountdown;
    let i = start;
    try {
      if (input.logical === 0) {
        for (; i < end; i++) head.processElement(records[i], timestamps[i]!);
      } else {
        for (; i < end; i++) head.processElement2(records[i], timestamps[i]!);
      }
    } finally {
      const done = i - start;
      this.position += done;
      this.elementsIn += done;
      input.lastSeq = batch.seq + i - 1;
      if (this.killCountdown !== NO_KILL) this.killCountdown -= done;
    }
    if (killHere) throw new TaskKilledError(this.taskName);
  }

  private countElement(): void {
    this.position++;
    this.elementsIn++;
    if (this.killCountdown !== NO_KILL && --this.killCountdown <= 0) throw new TaskKilledError(this.taskName);
  }

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
    const operators: (OperatorSnapshot | null)[] = this.operators.map((op) => op.snapshot(checkpointId));
    const snapshot: TaskSnapshot = {
      checkpointId,
      taskId: this.taskId,
      inputSeqs: this.inputs.map((i) => i.lastSeq),
      outputSeqs: [],
      inputWatermarks: this.inputs.map((i) => i.watermark),
      inputEnded: this.inputs.map((i) => i.ended),
      operators,
    };
    for (const writer of this.allWriters) {
      writer.control(ElementType.Barrier, checkpointId);
      snapshot.outputSeqs.push(writer.seq);
      writer.inflight?.startEpoch(checkpointId);
    }
    this.epoch = checkpointId;
    this.position = 0;
    this.env.acknowledge(this, checkpointId, snapshot);
  }

  /** Checkpoint `checkpointId` completed: operators commit, in-flight logs drop older epochs (I2). */
  checkpointCompleted(checkpointId: number): void {
    for (const op of this.operators) op.checkpointCompleted(checkpointId);
    for (const backend of this.backends.values()) backend.checkpointCompleted(checkpointId);
    for (const writer of this.allWriters) writer.inflight?.truncateBefore(checkpointId);
  }

  /** Checkpoint `checkpointId` was abandoned: stop aligning for it; state changes go into the next one. */
  checkpointAborted(checkpointId: number): void {
    this.abortedCheckpoints.add(checkpointId);
    if (this.alignment?.checkpointId === checkpointId) this.cancelAlignment();
    for (const op of this.operators) op.checkpointAborted(checkpointId);
    for (const backend of this.backends.values()) backend.checkpointAborted(checkpointId);
  }

  /** Every input ended: flush operators in chain order, send end of stream, report. */
  finish(): void {
    if (this.status !== 'running') return;
    for (const op of this.operators) op.endInput();
    for (const writer of this.allWriters) writer.control(ElementType.End, 0);
    this.flushOutputs();
    this.status = 'finished';
    this.env.finished(this);
  }

  /** The task dies: everything in its memory is gone (in-flight logs, buffers, state). */
  kill(): void {
    if (this.status === 'dead') return;
    this.status = 'dead';
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
    for (const backend of this.backends.values()) void backend.dispose();
  }

  /** Closes a finished task's operators. */
  close(): void {
    for (const op of this.operators) op.close();
  }

  /** Whether there is queued input to deliver. */
  get hasInput(): boolean {
    return this.arrivalCount > 0;
  }

  /** Wraps an operator failure the policy could not absorb. */
  static wrapFailure(task: Task, operatorName: string, error: unknown): Error {
    if (error instanceof TaskKilledError || error instanceof OperatorError) return error;
    return new OperatorError(operatorName, task.subtask, error);
  }

  private arrived(index: number): void {
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
