/**
 * The barrier aligner of a task: when it takes a checkpoint, and which checkpoints it gives up.
 *
 * - **Alignment (I10).** A task with several inputs snapshots checkpoint *n* only once every live input
 *   delivered barrier *n*; an input that delivered it is blocked meanwhile (the input gate defers its
 *   arrivals). An input's end of stream counts as its barrier (I13). A newer barrier while aligning means
 *   the older checkpoint was abandoned upstream: the newer one supersedes it.
 * - **Aborts.** An abandoned checkpoint is recorded (ABORT_CHECKPOINT: it changes alignment, so a replay
 *   must take it at the same place) and applied: alignment on it is cancelled, and operators and state
 *   backends carry its changes into the next snapshot (I9). A task in the middle of a run (an async
 *   operator awaiting) takes it between runs, where drivers belong (I6). A replaying task takes aborts only
 *   where its log recorded them.
 * - **Stale barriers (I21).** A barrier of a checkpoint abandoned before this task heard of it is never
 *   aligned on: the input gate takes the abort first, between runs and recorded, then drops the barrier.
 */
import type { Task } from '../task.js';
import type { TaskEnvironment } from './environment.js';
import type { TaskInput } from './input-gate.js';

/** Aligns a task's barriers and tracks the checkpoints it gave up. */
export class BarrierAligner {
  /** The checkpoint being aligned and how many live inputs have not delivered its barrier, or null. */
  private alignment: { checkpointId: number; pending: number } | null = null;
  private readonly aborted = new Set<number>();
  /** Aborts learned of in the middle of a run, taken when the next run starts. */
  private pendingAborts: number[] = [];

  constructor(
    private readonly task: Task,
    private readonly env: TaskEnvironment,
  ) {}

  /** The checkpoint being aligned, or -1. */
  get aligning(): number {
    return this.alignment === null ? -1 : this.alignment.checkpointId;
  }

  /** Whether the task took the abort of `checkpointId` (recorded, or replayed). */
  hasAborted(checkpointId: number): boolean {
    return this.aborted.has(checkpointId);
  }

  /** `input` delivered the barrier of `checkpointId`: block it, and snapshot once every live input has (I10). */
  onBarrier(input: TaskInput, checkpointId: number): void {
    if (checkpointId <= this.task.epoch || this.aborted.has(checkpointId)) return;

    const alignment = this.alignment;
    if (alignment !== null && checkpointId > alignment.checkpointId) {
      // The checkpoint being aligned was abandoned upstream; the newer one supersedes it.
      this.cancelAlignment();
    }
    if (this.alignment === null) {
      let pending = 0;
      for (const other of this.task.inputs) if (!other.ended) pending++;
      this.alignment = { checkpointId, pending };
    }
    const current = this.alignment!;
    if (checkpointId < current.checkpointId) return;
    input.blocked = true;
    if (--current.pending === 0) this.completeAlignment(checkpointId);
  }

  /** `input` ended: it counts as aligned (I13). */
  inputEnded(input: TaskInput): void {
    if (input.blocked) input.blocked = false;
    else if (this.alignment !== null && --this.alignment.pending === 0) this.completeAlignment(this.alignment.checkpointId);
  }

  private completeAlignment(checkpointId: number): void {
    this.alignment = null;
    this.task.snapshots.take(checkpointId);
    for (const input of this.task.inputs) this.task.gate.unblock(input);
  }

  private cancelAlignment(): void {
    this.alignment = null;
    for (const input of this.task.inputs) this.task.gate.unblock(input);
  }

  /** Whether a barrier for `checkpointId` belongs to a checkpoint abandoned without this task knowing (I21). */
  isStaleBarrier(checkpointId: number): boolean {
    return checkpointId > this.task.epoch && !this.aborted.has(checkpointId) && this.env.checkpointAbandoned(checkpointId);
  }

  /**
   * Checkpoint `checkpointId` was abandoned: recorded (it changes alignment), then applied. A task in
   * the middle of a run (an async operator awaiting) takes it between runs, where drivers belong (I6).
   */
  checkpointAborted(checkpointId: number): void {
    const task = this.task;
    if (task.replaying) return;
    if (task.gate.runInput !== null || task.isSuspended) {
      this.pendingAborts.push(checkpointId);
      return;
    }
    task.recorder.abortCheckpoint(checkpointId, task.position);
    this.applyAbort(checkpointId);
  }

  /** Takes the aborts learned of during the last run (a run is starting). */
  takePendingAborts(): void {
    if (this.pendingAborts.length === 0) return;
    const aborts = this.pendingAborts;
    this.pendingAborts = [];
    for (const id of aborts) this.task.checkpointAborted(id);
  }

  /** Applies an abort: live after recording it, or replayed where the log recorded it. */
  applyAbort(checkpointId: number): void {
    this.aborted.add(checkpointId);
    if (this.alignment?.checkpointId === checkpointId) this.cancelAlignment();
    for (const op of this.task.operators) op.checkpointAborted(checkpointId);
    for (const backend of this.task.stateBackends.values()) backend.checkpointAborted(checkpointId);
  }
}
