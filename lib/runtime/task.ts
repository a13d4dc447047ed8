/**
 * A task: one parallel instance of a vertex. It owns a chain of operators, its input channels and
 * its output writers, and runs as a mailbox loop scheduled cooperatively (see `scheduler.ts`): each
 * activation delivers input (or polls its source) until its budget is spent, its outputs run out of
 * credit, or its input is empty.
 *
 * This file is the loop, the wiring and the lifecycle. The parts the loop drives live in `task/`, one
 * job each:
 *
 * | Part | Job |
 * | --- | --- |
 * | `task/input-gate.ts` | the mailbox: which input is read next (ORDER), runs, delivery, sequence numbers (I8) |
 * | `task/barrier-aligner.ts` | aligned checkpoints (I10, I13), aborted and stale barriers (I21) |
 * | `task/snapshots.ts` | taking (I5, I9, I22), completing (I2) and restoring checkpoints |
 * | `task/timer-driver.ts` | event time, processing-time timers, captured callbacks, wake-ups |
 * | `task/outputs.ts` | the output writers: credit (I18, I24), in-flight replays to replacement consumers |
 * | `task/replay-driver.ts` | replaying a log: `replaying → awaiting-verdict → live` (I6, I14) |
 * | `task/wait-report.ts` | what the task waits for, for the stall report |
 * | `task/environment.ts` | what the task needs from its worker |
 *
 * Every determinant the runtime decides goes through the task's `recorder` (`causal/recorder.ts`): the
 * causal log under exactly-once, a `LiveClock` (which records nothing, and keeps the cached clock) in
 * the other modes.
 */
import type { CausalServices } from '../causal/services.js';
import { activeScope, type CaptureScope } from '../causal/capture.js';
import { NO_RECORDER, type CausalRecorder } from '../causal/recorder.js';
import { DeterminantMismatchError, OperatorError, RecoveryEscalationError, TaskKilledError } from '../errors.js';
import type { StateBackend } from '../state/backend.js';
import { ElementType } from '../transport/batch.js';
import type { LocalChannel, OutputChannel } from '../transport/channel.js';
import { wallClock } from '../util/clock.js';
import type { Operator } from './operator.js';
import type { TaskPlan } from './plan.js';
import type { SourceDriver } from './source-driver.js';
import type { TaskContext } from './task-context.js';
import type { ChannelWriter, WriterClock } from './writer.js';
import { BarrierAligner } from './task/barrier-aligner.js';
import type { TaskEnvironment, TaskStatus } from './task/environment.js';
import { InputGate, NO_KILL, type TaskInput } from './task/input-gate.js';
import { TaskOutputs } from './task/outputs.js';
import { ReplayDriver } from './task/replay-driver.js';
import { Snapshots } from './task/snapshots.js';
import { TimerDriver } from './task/timer-driver.js';
import { describeWait } from './task/wait-report.js';

export type { TaskEnvironment, TaskFeatures, TaskStatus } from './task/environment.js';
export { TaskInput } from './task/input-gate.js';

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
  private waitingForCredit = false;
  /** Job-clock ms at which the current wait for credit began. */
  private creditWaitSince = 0;
  /** Ms spent waiting for credit in waits that ended (metrics). */
  private creditWaitMs = 0;
  /** Fault injection: kill once this many more elements were processed. */
  killCountdown = NO_KILL;

  /** Whether the task is waiting for output credit. Set and cleared at a wait's edges only, never per record. */
  get backpressured(): boolean {
    return this.waitingForCredit;
  }

  set backpressured(waiting: boolean) {
    if (waiting === this.waitingForCredit) return;
    const now = this.env.clock();
    if (waiting) this.creditWaitSince = now;
    else this.creditWaitMs += now - this.creditWaitSince;
    this.waitingForCredit = waiting;
  }

  /** Ms spent waiting for output credit since the task started, counting a wait still going on at `now`. */
  backpressureMsAt(now: number): number {
    return this.creditWaitMs + (this.waitingForCredit ? now - this.creditWaitSince : 0);
  }

  /** Operators, head first. */
  readonly operators: Operator[];
  /** Input channels (the input gate's). */
  readonly inputs: TaskInput[];
  /** Output writers, per output edge (the outputs'). */
  readonly writers: ChannelWriter[][];
  /** All output writers, flat. */
  readonly allWriters: ChannelWriter[];
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

  /** The mailbox and the delivery of runs. */
  readonly gate: InputGate;
  /** The output writers. */
  readonly outputs: TaskOutputs;
  /** Barrier alignment and aborts. */
  readonly aligner: BarrierAligner;
  /** Taking, completing and restoring checkpoints. */
  readonly snapshots: Snapshots;
  /** Event time, timers, captured callbacks. */
  readonly timers: TimerDriver;
  /** Replaying the log of a failed predecessor. */
  readonly replay: ReplayDriver;

  private readonly backends = new Map<string, StateBackend>();
  private suspended: Promise<void> | null = null;
  /** Set while an operator is getting ready after `open` (see {@link open}); the task waits. */
  private opening: Promise<void> | null = null;

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
    this.gate = new InputGate(this, env);
    this.inputs = this.gate.inputs;
    this.outputs = new TaskOutputs(this, env);
    this.writers = this.outputs.writers;
    this.allWriters = this.outputs.all;
    this.aligner = new BarrierAligner(this, env);
    this.snapshots = new Snapshots(this, env);
    this.timers = new TimerDriver(this, env);
    this.replay = new ReplayDriver(this, env);
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

  /** Whether the task replays recorded determinants (until it goes live, see `task/replay-driver.ts`). */
  get replaying(): boolean {
    return this.replay.replaying;
  }

  /** The task's keyed-state backends, by operator name (measurements). */
  get stateBackends(): ReadonlyMap<string, StateBackend> {
    return this.backends;
  }

  /** Whether an async operator's promise is pending: nothing else runs in the task meanwhile. */
  get isSuspended(): boolean {
    return this.suspended !== null;
  }

  /** Whether an operator is getting ready after `open`. */
  get isOpening(): boolean {
    return this.opening !== null;
  }

  /** Whether the task holds work it cannot do yet: queued input, a barrier being aligned, a replay. */
  get holdsWork(): boolean {
    if (this.status !== 'running') return false;
    return this.gate.hasInput || this.aligner.aligning >= 0 || this.snapshots.held || this.replaying || this.outputs.replaying > 0 || this.inputs.some((i) => i.channel.queued > 0);
  }

  // ------------------------------------------------------------------ wiring

  /** {@inheritDoc InputGate.producerReplaced} */
  producerReplaced(input: TaskInput): void {
    this.gate.producerReplaced(input);
  }

  /** {@inheritDoc InputGate.heldFromBefore} */
  heldFromBefore(input: TaskInput, before: number): number {
    return this.gate.heldFromBefore(input, before);
  }

  /** {@inheritDoc TaskOutputs.replayTo} */
  replayTo(writer: ChannelWriter, channel: OutputChannel, afterSeq: number): void {
    this.outputs.replayTo(writer, channel, afterSeq);
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
    this.timers.refreshWakeup();
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

  // ------------------------------------------------------------------ TaskContext, CaptureScope

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
    this.timers.wakeAt(wallMs);
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

  /** {@inheritDoc CaptureScope.addTimer} */
  addTimer(armedAt: number, delay: number, callback: () => void, interval: boolean): number {
    return this.timers.addTimer(armedAt, delay, callback, interval);
  }

  /** {@inheritDoc CaptureScope.clearTimer} */
  clearTimer(id: number): void {
    this.timers.captured.clear(id);
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
      this.timers.reaskWakeup();
    }
  }

  private activate(budget: number): boolean {
    if (this.status === 'dead' || this.opening !== null) return false;
    if (this.outputs.replaying > 0) this.outputs.pumpReplays();
    if (this.status !== 'running') return false;
    if (this.suspended !== null) {
      // An async operator waits; a sleep it awaits inside causal() must still wake it up.
      this.timers.fireWhileSuspended();
      return false;
    }
    if (this.replay.replaying) return this.replay.run(budget);
    const now = wallClock();
    this.recorder.maybeTickClock(now, this.position);
    this.timers.fireDue(now);
    if (this.snapshots.held) {
      // Input waits until the held-back checkpoint is taken (the timers it waits for wake the task).
      this.flushOutputs();
      return false;
    }
    if (this.source) {
      const more = this.source.run(budget);
      this.flushOutputs();
      return more && this.status === 'running';
    }
    const gate = this.gate;
    let spent = 0;
    while (spent < budget && this.status === 'running' && this.suspended === null) {
      if (gate.runInput === null) {
        if (!this.outputs.writable()) {
          this.backpressured = true;
          break;
        }
        if (!gate.startLiveRun()) break;
      }
      const delivered = gate.continueRun();
      if (delivered < 0) break;
      spent += delivered;
    }
    this.flushOutputs();
    return this.status === 'running' && this.suspended === null && !this.backpressured && gate.hasInput && spent >= budget;
  }

  /** {@inheritDoc TaskOutputs.flush} */
  flushOutputs(): void {
    this.outputs.flush();
  }

  /** An async operator returned a promise: nothing else runs in this task until it settles. */
  suspend(promise: Promise<void>): void {
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

  /** Checks that a recorded event happens at the same position as it did (a cheap divergence detector, I6). */
  checkPosition(recorded: number, what: string): void {
    if (recorded !== this.position) {
      throw new DeterminantMismatchError(`${what} at position ${recorded}`, `${what} at position ${this.position}`, -1, this.epoch, `task ${this.taskName}`);
    }
  }

  /** The replayed log ran out (possibly mid-record): recovery judges the orphan check now (I14). */
  noteLogEnd(): void {
    this.replay.logEnded();
  }

  // ------------------------------------------------------------------ checkpoints and lifecycle

  /** {@inheritDoc Snapshots.completed} */
  checkpointCompleted(checkpointId: number): void {
    this.snapshots.completed(checkpointId);
  }

  /** {@inheritDoc BarrierAligner.checkpointAborted} */
  checkpointAborted(checkpointId: number): void {
    this.aligner.checkpointAborted(checkpointId);
  }

  /** Every input ended: flush operators in chain order, send end of stream, report. */
  finish(): void {
    if (this.status !== 'running') return;
    const timers = this.timers;
    if (timers.captured.pendingTimeouts > 0) {
      // As in Node, pending timeouts still run: the task finishes once they have.
      timers.finishing = true;
      return;
    }
    timers.finishing = false;
    const intervals = timers.captured.cancelIntervals();
    if (intervals > 0) this.env.timersCancelled(this, intervals);
    for (const op of this.operators) op.endInput();
    for (const writer of this.allWriters) writer.control(ElementType.End, 0);
    this.flushOutputs();
    this.status = 'finished';
    // It reads nothing more: ends that a replaced producer feeds (output it regenerates, all received
    // already) are closed, so that the producer drops it rather than wait for credit no one returns.
    for (const input of this.inputs) {
      for (let end: LocalChannel | null = input.channel; end !== null; end = end.successor) if (!end.isClosed) end.close();
    }
    this.env.finished(this);
  }

  /** The task dies: everything in its memory is gone (in-flight logs, buffers, state, causal log). */
  kill(): void {
    if (this.status === 'dead') return;
    this.status = 'dead';
    this.suspended = null;
    this.opening = null;
    this.outputs.discard();
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

  /** What the task waits for, in words, for the stall report (see `task/wait-report.ts`). */
  describeWait(nameOf: (taskId: number) => string): string {
    return describeWait(this, nameOf);
  }

  /** Wraps an operator failure the policy could not absorb. */
  static wrapFailure(task: Task, operatorName: string, error: unknown): Error {
    if (error instanceof TaskKilledError || error instanceof OperatorError) return error;
    return new OperatorError(operatorName, task.subtask, error);
  }
}
