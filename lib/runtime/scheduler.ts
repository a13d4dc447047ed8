/**
 * Cooperative scheduling of every task on the event loop. Tasks that have work sit in a run queue;
 * the scheduler activates them round-robin with a budget of elements each, so that no task starves
 * the others, and yields to the event loop every few milliseconds so that I/O callbacks (lmdb
 * commits, timers, signals) run. With nothing runnable it sleeps until the earliest wake-up.
 */
import type { Task } from './task.js';
import { realClearTimeout, realSetImmediate, realSetTimeout } from '../util/clock.js';

/** Options of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** Elements a task may process per activation (default 2048). */
  budget?: number;
  /** Milliseconds of work between yields to the event loop (default 5). */
  sliceMs?: number;
}

/** Runs tasks cooperatively. */
export class Scheduler {
  private readonly queue: Task[] = [];
  private head = 0;
  private readonly wakeups: { at: number; task: Task }[] = [];
  private running = false;
  private sleeping: { resolve: () => void; timer: NodeJS.Timeout | null } | null = null;
  private readonly budget: number;
  private readonly sliceMs: number;
  /** Hooks run between slices (checkpoint triggers, progress). */
  private readonly tickers: ((now: number) => void)[] = [];
  /**
   * Actions due at a job-clock time (scheduled kills), soonest first. Checked after every activation, not
   * only between slices, and the loop sleeps no longer than the soonest: an action runs within one
   * activation of its time, and every action due at one check runs in that check, in one go.
   */
  private readonly deadlines: { at: number; run: () => void }[] = [];
  /** Called when a task's activation throws. */
  onTaskError: (task: Task, error: unknown) => void = (_task, error) => {
    throw error;
  };
  /** Activations so far (for metrics). */
  activations = 0;

  constructor(
    private readonly clock: () => number,
    options: SchedulerOptions = {},
  ) {
    this.budget = options.budget ?? 2048;
    this.sliceMs = options.sliceMs ?? 5;
  }

  /** Queues a task to run. */
  markRunnable(task: Task): void {
    if (task.queued) return;
    task.queued = true;
    this.queue.push(task);
    this.wake();
  }

  /**
   * Runs `task` now, outside the loop, when called between slices (from a microtask: an async operator's
   * promise settled); queues it otherwise. Saves an async operator a turn of the event loop per record.
   */
  runNow(task: Task): void {
    if (!this.running || this.inSlice) {
      this.markRunnable(task);
      return;
    }
    if (task.queued) return;
    this.inSlice = true;
    let more = false;
    try {
      this.activations++;
      more = task.run(this.budget);
    } catch (error) {
      this.onTaskError(task, error);
    } finally {
      this.inSlice = false;
    }
    if (more) this.markRunnable(task);
  }

  /** Set while a slice (or a {@link runNow} activation) runs. */
  private inSlice = false;

  /** Runs `task` at job-clock time `at` (or soon after). */
  wakeAt(task: Task, at: number): void {
    for (const w of this.wakeups) {
      if (w.task === task) {
        if (at < w.at) w.at = at;
        this.wake();
        return;
      }
    }
    this.wakeups.push({ at, task });
    this.wake();
  }

  /** Runs `action` at job-clock time `at` (see {@link deadlines}); actions of one time run together. */
  addDeadline(at: number, action: () => void): void {
    let i = this.deadlines.length;
    while (i > 0 && this.deadlines[i - 1]!.at > at) i--;
    this.deadlines.splice(i, 0, { at, run: action });
    this.wake();
  }

  private runDeadlines(now: number): void {
    let due = 0;
    while (due < this.deadlines.length && this.deadlines[due]!.at <= now) due++;
    if (due === 0) return;
    for (const deadline of this.deadlines.splice(0, due)) deadline.run();
  }

  /** Adds a hook run between slices with the job-clock time. */
  addTicker(ticker: (now: number) => void): void {
    this.tickers.push(ticker);
  }

  /** Drops a task from the queue and its wake-ups (it died or was replaced). */
  forget(task: Task): void {
    task.queued = false;
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i] === task) this.queue[i] = null as unknown as Task;
    for (let i = this.wakeups.length - 1; i >= 0; i--) if (this.wakeups[i]!.task === task) this.wakeups.splice(i, 1);
  }

  /** Runs until `stop()`. Resolves when stopped. */
  async start(): Promise<void> {
    this.running = true;
    while (this.running) {
      const sliceEnd = this.clock() + this.sliceMs;
      let now = this.clock();
      this.dueWakeups(now);
      this.runDeadlines(now);
      for (const ticker of this.tickers) ticker(now);
      this.inSlice = true;
      while (this.running && this.head < this.queue.length && now < sliceEnd) {
        const task = this.queue[this.head++];
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        if (!task) continue;
        task.queued = false;
        this.activations++;
        let more = false;
        try {
          more = task.run(this.budget);
        } catch (error) {
          this.onTaskError(task, error);
        }
        if (more) this.markRunnable(task);
        now = this.clock();
        if (this.deadlines.length > 0 && this.deadlines[0]!.at <= now) this.runDeadlines(now);
      }
      this.inSlice = false;
      if (!this.running) break;
      if (this.head < this.queue.length) {
        await new Promise<void>((resolve) => realSetImmediate(resolve));
      } else {
        await this.sleepUntilWork();
      }
    }
  }

  /** Stops after the current activation. */
  stop(): void {
    this.running = false;
    this.wake();
  }

  private dueWakeups(now: number): void {
    for (let i = this.wakeups.length - 1; i >= 0; i--) {
      const w = this.wakeups[i]!;
      if (w.at <= now) {
        this.wakeups.splice(i, 1);
        this.markRunnable(w.task);
      }
    }
  }

  private sleepUntilWork(): Promise<void> {
    let soonest = this.deadlines.length > 0 ? this.deadlines[0]!.at : Infinity;
    for (const w of this.wakeups) if (w.at < soonest) soonest = w.at;
    // Tickers (checkpoint intervals, fault schedules) need the loop at least every 10 ms.
    const delay = Math.max(0, Math.min(soonest - this.clock(), 10));
    return new Promise<void>((resolve) => {
      const timer = realSetTimeout(() => this.wake(), delay < 1 ? 0 : delay);
      this.sleeping = { resolve, timer };
    });
  }

  private wake(): void {
    const sleeping = this.sleeping;
    if (!sleeping) return;
    this.sleeping = null;
    if (sleeping.timer) realClearTimeout(sleeping.timer);
    // Resolve on the next macrotask, so that a burst of wake-ups costs one loop iteration.
    realSetImmediate(sleeping.resolve);
  }
}
