/**
 * The checkpoint coordinator: triggers checkpoint *n* at the sources every interval, collects every
 * task's snapshot, persists them, and when all are durable marks the checkpoint complete and notifies
 * the tasks (which then commit and truncate, I2). One checkpoint is in flight at a time.
 *
 * A task that finished (all input ended) acknowledges every later checkpoint with its final
 * snapshot: it has nothing left to change.
 */
import type { CheckpointStore } from '../state/checkpoint-store.js';
import { encodeSnapshot, type TaskSnapshot } from '../state/snapshot.js';

/** What the coordinator drives. */
export interface CheckpointParticipants {
  /** Ids of every task of the job. */
  taskIds(): readonly number[];
  /** Asks the source tasks to inject the barrier of `checkpointId`. */
  triggerSources(checkpointId: number): void;
  /** Checkpoint `checkpointId` was triggered (reported before the sources are asked). */
  triggered(checkpointId: number): void;
  /** Every task acknowledged checkpoint `checkpointId` with `bytes` of snapshots; they are being persisted. */
  acknowledged(checkpointId: number, bytes: number): void;
  /**
   * Checkpoint `checkpointId` is durable: notify tasks and standbys. `frames` are the snapshots as
   * encoded when each task took them: the snapshot objects may share state objects the task has changed
   * since, so only the bytes are a faithful copy.
   */
  completed(checkpointId: number, frames: ReadonlyMap<number, Uint8Array>): void;
  /** Checkpoint `checkpointId` was abandoned: notify tasks. */
  aborted(checkpointId: number): void;
}

interface Pending {
  id: number;
  startedAt: number;
  frames: Map<number, Uint8Array>;
  writes: Promise<void>[];
  /** Set once every snapshot arrived: from then on the checkpoint completes even if a task fails. */
  completing: Promise<void> | null;
}

/** Statistics of completed checkpoints. */
export interface CheckpointStats {
  /** Checkpoints completed. */
  completed: number;
  /** Checkpoints aborted. */
  aborted: number;
  /** Id of the latest completed checkpoint, or 0. */
  latest: number;
  /** Duration of the latest completed checkpoint, trigger to durable (ms). */
  lastDurationMs: number;
  /** Bytes of the snapshots of the checkpoint in flight so far. */
  lastBytes: number;
  /** Bytes of the latest completed checkpoint's snapshots. */
  lastCompletedBytes: number;
}

/** Coordinates checkpoints of one job. */
export class CheckpointCoordinator {
  private pending: Pending | null = null;
  private nextTriggerAt: number;
  private lastId: number;
  private paused = 0;
  private readonly finalSnapshots = new Map<number, TaskSnapshot>();
  /** Ids of abandoned checkpoints newer than the latest completed one (older ones concern nobody). */
  private readonly aborted = new Set<number>();
  /**
   * Deletions of abandoned checkpoints' snapshots still under way. `discarded` waits for them: a job that ended
   * right after an abort closed the store under one ("Database is closed", an unhandled rejection).
   */
  private readonly discarding = new Set<Promise<void>>();
  /** Statistics. */
  readonly stats: CheckpointStats = { completed: 0, aborted: 0, latest: 0, lastDurationMs: 0, lastBytes: 0, lastCompletedBytes: 0 };
  /** Called when persisting fails. */
  onError: (error: unknown) => void = (error) => {
    throw error;
  };

  constructor(
    private readonly store: CheckpointStore,
    private readonly participants: CheckpointParticipants,
    private readonly intervalMs: number,
    private readonly clock: () => number,
  ) {
    this.lastId = Math.max(0, store.latest);
    this.stats.latest = Math.max(0, store.latest);
    this.nextTriggerAt = clock() + intervalMs;
  }

  /** Id of the checkpoint in flight, or -1. */
  get inFlight(): number {
    return this.pending?.id ?? -1;
  }

  /** Checkpoints triggered after `epoch` that were abandoned, oldest first (what a task restored at `epoch` may not know). */
  abortedAfter(epoch: number): number[] {
    const out: number[] = [];
    for (const id of this.aborted) if (id > epoch) out.push(id);
    return out.sort((a, b) => a - b);
  }

  /** Called from the scheduler loop: triggers a checkpoint when one is due. */
  tick(now: number): void {
    if (this.paused > 0 || this.pending !== null || now < this.nextTriggerAt) return;
    this.trigger(now);
  }

  /** Starts a checkpoint now. */
  trigger(now = this.clock()): number {
    const id = ++this.lastId;
    this.pending = { id, startedAt: now, frames: new Map(), writes: [], completing: null };
    this.nextTriggerAt = now + this.intervalMs;
    this.stats.lastBytes = 0;
    this.participants.triggered(id);
    for (const [taskId, snapshot] of this.finalSnapshots) this.acknowledge(taskId, id, encodeSnapshot({ ...snapshot, checkpointId: id }));
    this.participants.triggerSources(id);
    return id;
  }

  /** A task's snapshot for `checkpointId`, encoded by its worker when it took it. */
  acknowledge(taskId: number, checkpointId: number, frame: Uint8Array): void {
    const pending = this.pending;
    if (pending === null || pending.id !== checkpointId || pending.frames.has(taskId)) return;
    pending.frames.set(taskId, frame);
    this.stats.lastBytes += frame.length;
    pending.writes.push(this.store.put(checkpointId, frame, taskId));
    if (pending.frames.size === this.participants.taskIds().length) {
      this.participants.acknowledged(checkpointId, this.stats.lastBytes);
      pending.completing = this.finish(pending);
    }
  }

  /** A task finished: its final snapshot stands for it in this and every later checkpoint. */
  taskFinished(taskId: number, finalSnapshot: TaskSnapshot): void {
    this.finalSnapshots.set(taskId, finalSnapshot);
    if (this.pending) this.acknowledge(taskId, this.pending.id, encodeSnapshot({ ...finalSnapshot, checkpointId: this.pending.id }));
  }

  /**
   * Abandons the checkpoint in flight (a task failed) and returns its id, or -1. A checkpoint whose
   * every snapshot already arrived is not abandoned: it is consistent, and completes.
   */
  abortPending(): number {
    const pending = this.pending;
    if (!pending || pending.completing) return -1;
    this.pending = null;
    this.stats.aborted++;
    this.aborted.add(pending.id);
    const discard: Promise<void> = Promise.allSettled(pending.writes)
      .then(() => this.store.abort(pending.id))
      .catch((error: unknown) => this.onError(error))
      .finally(() => this.discarding.delete(discard));
    this.discarding.add(discard);
    this.participants.aborted(pending.id);
    return pending.id;
  }

  /** Stops triggering until `resume` (recovery in progress). Calls nest. */
  pause(): void {
    this.paused++;
  }

  /** The next checkpoint comes one interval from now (the job clock restarted). */
  restartInterval(): void {
    this.nextTriggerAt = this.clock() + this.intervalMs;
  }

  /** Resumes triggering; the next checkpoint comes one interval from now. */
  resume(): void {
    if (this.paused > 0 && --this.paused === 0) this.nextTriggerAt = this.clock() + this.intervalMs;
  }

  /** Forgets final snapshots (a global rollback restarts every task, finished or not). */
  resetFinished(): void {
    this.finalSnapshots.clear();
  }

  /** Waits for the checkpoint in flight, if it is completing, to complete. */
  async settle(): Promise<void> {
    const completing = this.pending?.completing;
    if (completing) await completing;
  }

  /**
   * Waits until the snapshots of every abandoned checkpoint are deleted (before the store closes). A recovery
   * does not wait for this: nothing it reads is among them.
   */
  async discarded(): Promise<void> {
    while (this.discarding.size > 0) await Promise.all(this.discarding);
  }

  private async finish(pending: Pending): Promise<void> {
    try {
      await Promise.all(pending.writes);
      await this.store.complete(pending.id, [...pending.frames.keys()]);
      this.pending = null;
      this.stats.completed++;
      this.stats.latest = pending.id;
      for (const id of this.aborted) if (id < pending.id) this.aborted.delete(id);
      this.stats.lastDurationMs = this.clock() - pending.startedAt;
      this.stats.lastCompletedBytes = this.stats.lastBytes;
      this.participants.completed(pending.id, pending.frames);
    } catch (error) {
      this.onError(error);
    }
  }
}
