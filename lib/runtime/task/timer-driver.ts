/**
 * The timer driver of a task: event time, processing time, and the callbacks `causal()` captures.
 *
 * - **Event time.** The task's watermark is the smallest of its live inputs'; when it advances, the head
 *   operator processes it, which fires the event-time timers of the chain (windows, `onTimer`). Timers of
 *   one timestamp fire in key order (I15, `timers.ts`).
 * - **Processing time.** Operators' processing-time timers fire between deliveries once the wall clock
 *   has passed them; live, each firing is recorded as a TIMER determinant at the task's position, and a
 *   replay fires it at the recorded position with the recorded time (I6).
 * - **Captured callbacks.** `setTimeout`/`setInterval` callbacks registered inside `causal()` run between
 *   deliveries, oldest first, recorded as one TIMER per firing with the number of callbacks, and also
 *   while an async operator is suspended (a sleep it awaits must wake it up). A checkpoint waits for
 *   pending timeouts (I22, see `snapshots.ts`), and so does the end of the task.
 * - **Wake-ups.** The scheduler keeps one wake-up per task; the driver asks for the earliest timer's.
 */
import { CAPTURED_TIMER_BASE, CLOCK_TICK_TIMER, OPERATOR_TIMER_BASE } from '../../causal/task-log.js';
import { runCaptured } from '../../causal/capture.js';
import { DeterminantMismatchError } from '../../errors.js';
import { wallClock } from '../../util/clock.js';
import { Kind } from '../../../determinants/kinds.js';
import { CapturedTimers } from '../captured-timers.js';
import type { Task } from '../task.js';
import type { TaskEnvironment } from './environment.js';
import type { TaskInput } from './input-gate.js';

/** Drives a task's timers and event time. */
export class TimerDriver {
  /** `setTimeout`/`setInterval` callbacks registered inside `causal()`. */
  readonly captured = new CapturedTimers();
  /** Every input ended while captured timeouts were pending: the task finishes once they ran. */
  finishing = false;
  /** Wall-clock ms just before the earliest processing-time timer (Infinity: none asked for). */
  private nextTimerWall = Infinity;
  /** Replaying while suspended: when the recorded firing of a captured timer was first waited for (wall ms). */
  private suspendedTimerWait = 0;

  constructor(
    private readonly task: Task,
    private readonly env: TaskEnvironment,
  ) {}

  // ------------------------------------------------------------------ event time

  /** `input` delivered watermark `value`: advances the task's watermark if the combined one moved. */
  onWatermark(input: TaskInput, value: number, ingestTime: number): void {
    if (value <= input.watermark) return;
    input.watermark = value;
    const task = this.task;
    const combined = this.combinedWatermark();
    if (combined > task.watermark) {
      task.watermark = combined;
      task.ingestTime = ingestTime;
      task.operators[0]!.processWatermark(combined);
    }
  }

  /** An input ended: the others alone hold event time back now. */
  inputEnded(): void {
    const task = this.task;
    const combined = this.combinedWatermark();
    if (combined > task.watermark && combined !== Infinity) {
      task.watermark = combined;
      task.operators[0]!.processWatermark(combined);
    }
  }

  /** The smallest watermark of the live inputs (Infinity once all ended, -Infinity without inputs). */
  combinedWatermark(): number {
    const inputs = this.task.inputs;
    let min = Infinity;
    let live = false;
    for (const input of inputs) {
      if (input.ended) continue;
      live = true;
      if (input.watermark < min) min = input.watermark;
    }
    return live ? min : inputs.length === 0 ? -Infinity : Infinity;
  }

  // ------------------------------------------------------------------ firing live

  /** Live, between deliveries: fires the processing-time timers and captured callbacks due at `now`. */
  fireDue(now: number): void {
    if (this.nextTimerWall < now) this.fireProcessingTimers(now);
    if (this.captured.size > 0) this.fireCaptured(now, true);
  }

  /** Fires the operators' processing-time timers due before `nowWall`, recording each firing (live). */
  private fireProcessingTimers(nowWall: number): void {
    const task = this.task;
    task.ingestTime = this.env.clock();
    const operators = task.operators;
    for (let i = 0; i < operators.length; i++) {
      const op = operators[i]!;
      if (op.nextProcessingTimer() < nowWall) {
        task.recorder.processingTimer(i, nowWall, task.position);
        op.onProcessingTime(nowWall);
      }
    }
    this.refreshWakeup();
  }

  /** {@inheritDoc CaptureScope.addTimer} */
  addTimer(armedAt: number, delay: number, callback: () => void, interval: boolean): number {
    const { id, due } = this.captured.add(armedAt, delay, callback, interval);
    // Replaying, a firing is recorded, not waited for: the task looks at its log once the operator has run
    // as far as it can.
    const reader = this.task.recorder.reader;
    if (reader !== null && !reader.exhausted) this.env.markRunnable(this.task);
    else this.wakeAt(due);
    return id;
  }

  /**
   * Runs captured callbacks due at `now`, oldest first, recording the firing (live) as one TIMER
   * determinant; replay calls it at the recorded position with the recorded time and count.
   */
  private fireCaptured(now: number, live: boolean, recordedCount = -1): void {
    const task = this.task;
    const due = this.captured.dueCount(now);
    // The count recorded with the firing detects a replay that would run a different set of callbacks.
    if (recordedCount >= 0 && due !== recordedCount) {
      throw new DeterminantMismatchError(`${recordedCount} setTimeout/setInterval callbacks due at ${now}`, `${due}`, -1, task.epoch, `task ${task.taskName}`);
    }
    if (due === 0) return;
    if (live) task.recorder.capturedTimers(due, now, task.position);
    task.ingestTime = this.env.clock();
    for (const callback of this.captured.takeDue(now)) runCaptured(task, callback);
    this.refreshWakeup();
    task.snapshots.takeDeferred();
    if (this.finishing && this.captured.pendingTimeouts === 0) task.finish();
  }

  /**
   * The task is suspended on an async operator. Live: due callbacks run now (the operator may be awaiting
   * one), recorded at the task's position, which does not move while it is suspended. Replaying: a firing
   * recorded next is run once the operator has registered the callbacks it covers.
   */
  fireWhileSuspended(): void {
    if (this.captured.size === 0) return;
    const task = this.task;
    const reader = task.recorder.reader;
    if (reader === null || reader.exhausted) {
      // Live, or replaying with the log run out in the middle of this record (the failed task died while
      // its operator was suspended): from here the operator's decisions are live, as the services' are.
      this.fireCaptured(wallClock(), true);
      return;
    }
    if (reader.peek() !== Kind.Timer) return;
    const timerId = reader.peekTimer();
    if (timerId <= CAPTURED_TIMER_BASE) return;
    const count = timerId - CAPTURED_TIMER_BASE;
    if (this.captured.dueCount(reader.timestamp) < count) {
      // The continuation has not registered every callback yet (it may await something else first).
      if (this.suspendedTimerWait === 0) this.suspendedTimerWait = wallClock();
      else if (wallClock() - this.suspendedTimerWait > 1000) this.fireCaptured(reader.timestamp, false, count);
      this.env.wakeAt(task, this.env.clock() + 1);
      return;
    }
    this.suspendedTimerWait = 0;
    reader.nextTimer();
    task.checkPosition(reader.position, 'TIMER');
    this.fireCaptured(reader.timestamp, false, count);
  }

  // ------------------------------------------------------------------ firing recorded timers

  /** Replaying: fires a recorded timer at its recorded time (I6). */
  fireRecorded(timerId: number, timestamp: number, position: number): void {
    const task = this.task;
    task.checkPosition(position, 'TIMER');
    if (timerId === CLOCK_TICK_TIMER) {
      task.recorder.replayClockTick(timestamp);
      return;
    }
    if (timerId > CAPTURED_TIMER_BASE) {
      this.fireCaptured(timestamp, false, timerId - CAPTURED_TIMER_BASE);
      return;
    }
    const op = task.operators[timerId - OPERATOR_TIMER_BASE];
    if (!op) task.recorder.reader!.fail(`TIMER of operator ${timerId - OPERATOR_TIMER_BASE}`, `an operator of ${task.taskName}`);
    task.ingestTime = this.env.clock();
    op!.onProcessingTime(timestamp);
  }

  // ------------------------------------------------------------------ wake-ups

  /** {@inheritDoc TaskContext.wakeAt} */
  wakeAt(wallMs: number): void {
    if (wallMs - 1 < this.nextTimerWall) {
      this.nextTimerWall = wallMs - 1;
      this.env.wakeAt(this.task, this.env.clock() + Math.max(0, wallMs - wallClock()));
    }
  }

  /** Recomputes when the earliest processing-time timer is due and asks to be woken then. */
  refreshWakeup(): void {
    let next = Infinity;
    next = Math.min(next, this.captured.nextDue - 1);
    for (const op of this.task.operators) next = Math.min(next, op.nextProcessingTimer());
    this.nextTimerWall = Infinity;
    // Timers fire once the clock has passed them (see Operator.onProcessingTime).
    if (next < Infinity) this.wakeAt(next + 1);
  }

  /**
   * After every activation: the scheduler keeps one wake-up per task, the earliest, so a wake-up asked for
   * an earlier reason (a paced source's next poll) replaced the timer's. Ask again for the timer's.
   */
  reaskWakeup(): void {
    if (this.nextTimerWall !== Infinity && this.task.status === 'running') this.env.wakeAt(this.task, this.env.clock() + Math.max(0, this.nextTimerWall + 1 - wallClock()));
  }
}
