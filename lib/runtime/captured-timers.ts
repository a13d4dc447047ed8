/**
 * The `setTimeout` / `setInterval` callbacks that operator code registers inside `causal()`: one table per
 * task. The task fires them between deliveries, and also while an async operator is suspended (a sleep
 * awaited inside `processElement` must wake it up), recording each firing as a TIMER determinant.
 *
 * Behaving as Node's timers do:
 * - a callback never runs earlier than asked: it is due `delay` ms after the clock read that armed it
 *   (`ctx.now()`, recorded), plus the millisecond that read may have been into;
 * - callbacks due together run oldest first; an interval is re-armed from its due time.
 *
 * Callbacks are closures and cannot be part of a checkpoint. So a task holds its snapshot back until its
 * pending timeouts have fired (they are usually short), and one that still has callbacks it cannot drain
 * (intervals, self-rearming timeouts) records how many in its snapshot: a task restored from it fails
 * loudly ({@link CapturedTimerLostError}) rather than run without them.
 */
import { CapturedTimerLostError } from '../errors.js';

/** One registered callback. */
interface CapturedTimer {
  /** Wall-clock ms from which it may run. */
  due: number;
  callback: () => void;
  /** Re-arm period (ms) of an interval, 0 for a timeout. */
  interval: number;
}

/** The captured timers of one task. */
export class CapturedTimers {
  private readonly timers = new Map<number, CapturedTimer>();
  private ids = 0;

  /** Registers a callback armed at wall-clock `armedAt` (a whole ms, as `Date.now()`) to run after `delay` ms. */
  add(armedAt: number, delay: number, callback: () => void, interval: boolean): { id: number; due: number } {
    const period = Math.max(1, Number(delay) || 0);
    // The read that armed it may have been up to 1 ms into `armedAt`: one more ms, so never early.
    const due = armedAt + period + 1;
    const id = ++this.ids;
    this.timers.set(id, { due, callback, interval: interval ? period : 0 });
    return { id, due };
  }

  /** Cancels a callback (a no-op for one that already ran). */
  clear(id: number): void {
    this.timers.delete(id);
  }

  /** Callbacks registered. */
  get size(): number {
    return this.timers.size;
  }

  /** Timeouts (not intervals) still to run. */
  get pendingTimeouts(): number {
    return this.pendingTimeoutsUpTo(Number.POSITIVE_INFINITY);
  }

  /** Timeouts still to run among those registered up to handle `id` (see {@link lastId}). */
  pendingTimeoutsUpTo(id: number): number {
    let n = 0;
    for (const [key, timer] of this.timers) if (timer.interval === 0 && key <= id) n++;
    return n;
  }

  /** The handle of the callback registered last (0 before any). */
  get lastId(): number {
    return this.ids;
  }

  /** Intervals registered. */
  get intervals(): number {
    return this.timers.size - this.pendingTimeouts;
  }

  /** Wall-clock ms of the soonest due callback, or Infinity. */
  get nextDue(): number {
    let next = Infinity;
    for (const timer of this.timers.values()) if (timer.due < next) next = timer.due;
    return next;
  }

  /** How many callbacks are due at wall-clock `now`. */
  dueCount(now: number): number {
    let n = 0;
    for (const timer of this.timers.values()) if (timer.due <= now) n++;
    return n;
  }

  /**
   * Takes the callbacks due at `now`, oldest first: timeouts leave the table, intervals are re-armed from
   * their due time. Returns the callbacks to run.
   */
  takeDue(now: number): (() => void)[] {
    const due = [...this.timers.entries()].filter(([, t]) => t.due <= now).sort((a, b) => a[1].due - b[1].due || a[0] - b[0]);
    const callbacks: (() => void)[] = [];
    for (const [id, timer] of due) {
      if (timer.interval > 0) timer.due += timer.interval * Math.max(1, Math.ceil((now - timer.due + 1) / timer.interval));
      else this.timers.delete(id);
      callbacks.push(timer.callback);
    }
    return callbacks;
  }

  /** Stops every interval (the task's input ended); returns how many there were. */
  cancelIntervals(): number {
    let n = 0;
    for (const [id, timer] of this.timers) {
      if (timer.interval > 0) {
        this.timers.delete(id);
        n++;
      }
    }
    return n;
  }
}

/** Fails a restore from a snapshot taken while `pending` callbacks were registered (they are not in it). */
export function checkNoCapturedTimersLost(task: string, checkpointId: number, pending: number | undefined): void {
  if (pending === undefined || pending === 0) return;
  throw new CapturedTimerLostError(task, checkpointId, pending);
}
