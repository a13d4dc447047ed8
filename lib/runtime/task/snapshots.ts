/**
 * A task's checkpoints: taking its snapshot when the aligner (or a source) says so, completing and
 * restoring it.
 *
 * - **Taking (I5, I9, I10).** Outputs are flushed; every operator's (incremental) state and the channel
 *   positions go into the snapshot; the barrier is forwarded on every output; the in-flight logs and the
 *   recorder start epoch *n* at position 0; the snapshot is acknowledged. A replaying task re-takes
 *   checkpoints that were abandoned when its predecessor failed: they count as aborted at once, so their
 *   state changes go into the next snapshot (I9).
 * - **Held back (I22).** `setTimeout` callbacks registered inside `causal()` are closures, not state: a
 *   task that has such timeouts pending when it would snapshot holds the snapshot, and its input, until
 *   they have run. Which callbacks it waits for depends only on what operators registered, so a replay
 *   waits alike. What cannot be waited out (intervals) is counted in the snapshot, and restoring it fails.
 * - **Completing (I2).** Operators commit, and logs drop the epochs before the completed checkpoint.
 * - **Restoring.** Positions, watermarks, operator state and routing come back from a (merged) snapshot.
 */
import type { OperatorSnapshot, TaskSnapshot } from '../../state/snapshot.js';
import { ElementType } from '../../transport/batch.js';
import { checkNoCapturedTimersLost } from '../captured-timers.js';
import type { Task } from '../task.js';
import type { TaskEnvironment } from './environment.js';

/** Takes, completes and restores a task's checkpoints. */
export class Snapshots {
  /**
   * A checkpoint held back until the captured timeouts pending when it came (handles up to `upTo`) have
   * fired: their callbacks cannot be part of it. Input waits meanwhile.
   */
  private deferred: { id: number; upTo: number } | null = null;
  /** Routing positions of the restored snapshot, applied once the partitioners exist (see `applyRouting`). */
  private restoredRouting: number[] | null = null;

  constructor(
    private readonly task: Task,
    private readonly env: TaskEnvironment,
  ) {}

  /** Whether a checkpoint is held back until pending captured callbacks have run (no input meanwhile). */
  get held(): boolean {
    return this.deferred !== null;
  }

  /** The checkpoint held back, or -1. */
  get heldId(): number {
    return this.deferred === null ? -1 : this.deferred.id;
  }

  /**
   * Snapshots every operator and the channel positions, acknowledges, forwards the barrier and
   * starts epoch `checkpointId` (I5, I10); or holds it back while captured timeouts are pending (I22).
   */
  take(checkpointId: number): void {
    this.task.flushOutputs();
    const captured = this.task.timers.captured;
    const upTo = captured.lastId;
    if (captured.pendingTimeoutsUpTo(upTo) > 0) {
      // Pending callbacks are closures, not state: the snapshot waits until they have run (input waits
      // too, so the snapshot is still the state at the barrier plus what they did). Whether to wait
      // depends only on what the operators registered, so a replay waits exactly alike.
      this.deferred = { id: checkpointId, upTo };
      return;
    }
    this.snapshotNow(checkpointId);
  }

  /** Takes the held-back checkpoint once the callbacks it waits for have run. */
  takeDeferred(): void {
    const deferred = this.deferred;
    if (deferred === null || this.task.timers.captured.pendingTimeoutsUpTo(deferred.upTo) > 0) return;
    this.deferred = null;
    this.snapshotNow(deferred.id);
    for (const input of this.task.inputs) this.task.gate.unblock(input);
    this.env.markRunnable(this.task);
  }

  private snapshotNow(checkpointId: number): void {
    const task = this.task;
    const captured = task.timers.captured;
    const operators: (OperatorSnapshot | null)[] = task.operators.map((op) => op.snapshot(checkpointId));
    const snapshot: TaskSnapshot = {
      checkpointId,
      taskId: task.taskId,
      inputSeqs: task.inputs.map((i) => i.lastSeq),
      outputSeqs: [],
      inputWatermarks: task.inputs.map((i) => i.watermark),
      inputEnded: task.inputs.map((i) => i.ended),
      operators,
      routing: task.rebalancers.map((r) => r.next),
      // Intervals, and timeouts armed while the checkpoint waited: a restore from it fails loudly.
      ...(captured.size > 0 ? { capturedTimers: captured.size } : {}),
    };
    for (const writer of task.allWriters) {
      writer.control(ElementType.Barrier, checkpointId);
      snapshot.outputSeqs.push(writer.seq);
      writer.inflight?.startEpoch(checkpointId);
    }
    task.epoch = checkpointId;
    task.position = 0;
    task.recorder.startEpoch(checkpointId);
    this.env.acknowledge(task, checkpointId, snapshot);
    // Replaying, a task re-takes checkpoints that were abandoned when its predecessor failed: treat them
    // as aborted at once, so their state changes go into the next snapshot (I9).
    if (this.env.checkpointAbandoned(checkpointId)) for (const backend of task.stateBackends.values()) backend.checkpointAborted(checkpointId);
  }

  /** Checkpoint `checkpointId` completed: operators commit, logs drop older epochs (I2). */
  completed(checkpointId: number): void {
    const task = this.task;
    for (const op of task.operators) op.checkpointCompleted(checkpointId);
    for (const backend of task.stateBackends.values()) backend.checkpointCompleted(checkpointId);
    for (const writer of task.allWriters) writer.inflight?.truncateBefore(checkpointId);
    task.recorder.truncateBefore(checkpointId);
  }

  /** Restores positions and operator state from a (merged) snapshot. Call before `open`. */
  restore(snapshot: TaskSnapshot): void {
    const task = this.task;
    checkNoCapturedTimersLost(task.taskName, snapshot.checkpointId, snapshot.capturedTimers);
    task.epoch = snapshot.checkpointId;
    snapshot.inputSeqs.forEach((seq, i) => {
      const input = task.inputs[i]!;
      input.lastSeq = seq;
      input.restoredSeq = seq;
      input.watermark = snapshot.inputWatermarks[i] ?? -Infinity;
      input.ended = snapshot.inputEnded[i] ?? false;
    });
    task.watermark = task.timers.combinedWatermark();
    snapshot.operators.forEach((op, i) => {
      if (op) task.operators[i]!.restore(op);
    });
    this.restoredRouting = snapshot.routing ?? null;
  }

  /** Registers the round-robin partitioners, restoring their positions from the snapshot. */
  applyRouting(rebalancers: { next: number }[]): void {
    rebalancers.forEach((r, i) => {
      if (this.restoredRouting && this.restoredRouting[i] !== undefined) r.next = this.restoredRouting[i]!;
      this.task.rebalancers.push(r);
    });
  }
}
