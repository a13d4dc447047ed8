/**
 * The checkpoint controller of a job: the one door of the coordinator to its checkpoints. It opens the
 * checkpoint store (cleared for a new run, kept for a resumed one), runs the {@link CheckpointCoordinator}
 * (`coordinator.ts`: triggering every interval, collecting snapshots, completing) on the coordinator's
 * ticks, and wires it to the workers: acknowledgements and final snapshots come in here; completion tells
 * every worker (which commit and truncate, I2) and hands the completed snapshots to the standbys; an abort
 * tells every worker. Recovery pauses triggering, abandoning the checkpoint in flight, and resumes it.
 *
 * A job whose strategy takes no checkpoints never opens the controller: it then holds no store, its latest
 * checkpoint is -1, and acknowledgements are dropped.
 */
import { join } from 'node:path';
import { CheckpointStore } from '../../state/checkpoint-store.js';
import { decodeSnapshot, type TaskSnapshot } from '../../state/snapshot.js';
import { CheckpointCoordinator, type CheckpointStats } from '../coordinator.js';
import type { WorkerCommands } from '../worker-api.js';
import type { JobView } from './job-view.js';

/** What the controller needs from the coordinator besides the {@link JobView}. */
export interface CheckpointControllerHost extends JobView {
  /** Sends a command to every live worker. */
  broadcast(command: (link: WorkerCommands) => void): void;
  /** Checkpoint snapshots of a completed checkpoint, as encoded bytes by task id, for the standbys. */
  standbySnapshots(frames: ReadonlyMap<number, Uint8Array>): void;
  /** Runs `ticker` on every tick of the coordinator's scheduler. */
  addTicker(ticker: (now: number) => void): void;
}

/** Opens, drives and answers for the checkpoints of one job. */
export class CheckpointController {
  private checkpointStore: CheckpointStore | null = null;
  private checkpointCoordinator: CheckpointCoordinator | null = null;

  constructor(private readonly host: CheckpointControllerHost) {}

  /** The checkpoint store, null for a job without checkpoints. */
  get store(): CheckpointStore | null {
    return this.checkpointStore;
  }

  /** The coordinator of checkpoints, null for a job without checkpoints. */
  get coordinator(): CheckpointCoordinator | null {
    return this.checkpointCoordinator;
  }

  /** Statistics of completed checkpoints, null for a job without checkpoints. */
  get stats(): CheckpointStats | null {
    return this.checkpointCoordinator?.stats ?? null;
  }

  /** Id of the latest completed checkpoint in the store, or -1 (none yet, or no checkpoints at all). */
  get latest(): number {
    return this.checkpointStore ? this.checkpointStore.latest : -1;
  }

  /**
   * Opens the store under `directory` and starts coordinating: a checkpoint every `intervalMs`. A new run
   * starts from scratch (checkpoints of an earlier run of this directory do not apply); `resume` keeps them.
   */
  async open(directory: string, resume: boolean, intervalMs: number): Promise<void> {
    const host = this.host;
    const store = CheckpointStore.open({ path: join(directory, 'checkpoints') });
    this.checkpointStore = store;
    if (!resume) await store.clear();
    const coordinator = new CheckpointCoordinator(
      store,
      {
        taskIds: () => host.plan.tasks.map((t) => t.id),
        triggerSources: (id) => host.broadcast((link) => link.triggerSources(id)),
        triggered: (id) => host.event('checkpoint-triggered', { id }),
        acknowledged: (id, bytes) => host.event('checkpoint-acknowledged', { id, bytes }),
        completed: (id, frames) => this.completed(id, frames),
        aborted: (id) => {
          host.broadcast((link) => link.checkpointAborted(id));
          host.event('checkpoint-aborted', { id });
        },
      },
      intervalMs,
      () => host.clock(),
    );
    coordinator.onError = (error) => host.failJob(error);
    this.checkpointCoordinator = coordinator;
    host.addTicker((now) => coordinator.tick(now));
  }

  /** The next checkpoint comes one interval from now (the job clock started). */
  restartInterval(): void {
    this.checkpointCoordinator?.restartInterval();
  }

  /** A task's snapshot for `checkpointId`, encoded by its worker when it took it. */
  acknowledge(taskId: number, checkpointId: number, frame: Uint8Array): void {
    this.checkpointCoordinator?.acknowledge(taskId, checkpointId, frame);
  }

  /** A task finished: its final snapshot stands for it in this and every later checkpoint (I13). */
  taskFinished(taskId: number, finalSnapshot: Uint8Array): void {
    // Decoded only when there are checkpoints to stand in for.
    this.checkpointCoordinator?.taskFinished(taskId, decodeSnapshot(finalSnapshot));
  }

  /** Stops triggering and abandons the checkpoint in flight, once it settled (a recovery starts). */
  async pause(): Promise<void> {
    this.checkpointCoordinator!.pause();
    this.checkpointCoordinator!.abortPending();
    await this.checkpointCoordinator!.settle();
  }

  /** Triggers checkpoints again (a recovery is over); the next one comes one interval from now. */
  resume(): void {
    this.checkpointCoordinator!.resume();
  }

  /** A task's merged snapshot of the latest completed checkpoint, or null when there is none. */
  latestSnapshot(taskId: number): TaskSnapshot | null {
    return this.checkpointStore && this.checkpointStore.latest >= 0 ? this.checkpointStore.restore(taskId) : null;
  }

  /** Waits for a checkpoint that is completing and for abandoned ones to be deleted, then closes the store (the job ends). */
  async close(): Promise<void> {
    await this.checkpointCoordinator?.settle();
    await this.checkpointCoordinator?.discarded();
    await this.checkpointStore?.close();
  }

  private completed(checkpointId: number, frames: ReadonlyMap<number, Uint8Array>): void {
    this.host.broadcast((link) => link.checkpointCompleted(checkpointId));
    // Standbys get their task's snapshot of the completed checkpoint, as bytes (no shared objects).
    this.host.standbySnapshots(frames);
    const stats = this.checkpointCoordinator!.stats;
    this.host.event('checkpoint', { id: checkpointId, durationMs: Math.round(stats.lastDurationMs * 1000) / 1000, bytes: stats.lastCompletedBytes });
  }
}
