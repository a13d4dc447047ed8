/**
 * The standby pool of a job, as the coordinator keeps it: which worker holds the standbys of each task.
 * The standbys themselves live in their worker (`WorkerHost`, `standby.ts`); the pool decides where:
 *
 * - **Placement.** A task's standbys start where the placement put them (with worker processes, on another
 *   worker than the task's where there is one) and receive the task's snapshot of every completed checkpoint.
 * - **Activation.** A failed task's replacement runs on its standby's worker, which activates the standby
 *   (its state is there already); with no live standby, on the least loaded live worker.
 * - **Re-placement.** A task whose standby was activated, or whose standby's worker was lost, gets a new
 *   one from the checkpoint store, on a live worker other than the task's. With no other worker alive it
 *   gets none until the lost worker's replacement process is up (a standby on its task's own worker would die
 *   with it, and building one slowed the recovery under way); a global rollback that placed tasks anew places
 *   their standbys anew (sharing their task's worker if need be, and moved to a respawned one).
 *
 * One set of standbys per task: a new one makes the worker that held the old set drop it.
 */
import { encodeSnapshot } from '../../state/snapshot.js';
import type { CheckpointController } from './checkpoint-controller.js';
import type { JobView } from './job-view.js';

/** What the pool needs from the coordinator besides the {@link JobView}. */
export interface StandbyPoolHost extends JobView {
  /** New standbys start from the latest completed checkpoint. */
  readonly checkpoints: CheckpointController;
}

/** Where the standbys of each task are. */
export class StandbyPool {
  /** Task id → worker holding its standbys (only with standbys). */
  private readonly homes = new Map<number, number>();

  constructor(
    private readonly host: StandbyPoolHost,
    /** Standbys kept per task (0: none, and the pool stays empty). */
    private readonly perTask: number,
    /** Task id → worker of its standbys, as first placed. */
    initialHomes: readonly number[],
  ) {
    if (perTask > 0) initialHomes.forEach((worker, taskId) => this.homes.set(taskId, worker));
  }

  /** The worker holding `taskId`'s standbys, or null. */
  homeOf(taskId: number): number | null {
    return this.homes.get(taskId) ?? null;
  }

  /** Ids of the tasks whose standbys worker `worker` holds. */
  heldBy(worker: number): number[] {
    return [...this.homes].flatMap(([taskId, home]) => (home === worker ? [taskId] : []));
  }

  /** A checkpoint completed: each standby gets its task's snapshot, as bytes (no shared objects). */
  checkpointCompleted(frames: ReadonlyMap<number, Uint8Array>): void {
    for (const [taskId, frame] of frames) {
      const home = this.homes.get(taskId);
      if (home !== undefined) this.host.links[home]?.applyStandby(taskId, frame);
    }
  }

  /** Where a failed task's replacement runs: its standby's worker, else the least loaded live worker. */
  replacementWorker(taskId: number): number {
    const { links, placement } = this.host;
    const home = this.homes.get(taskId);
    if (home !== undefined && links[home]) return home;
    const load = links.map((link, i) => (link ? placement.filter((w) => w === i).length : Infinity));
    return load.indexOf(Math.min(...load));
  }

  /**
   * A new standby for `taskId` from the checkpoint store, on a live worker other than the task's where there
   * is one. With worker processes and no other worker alive, none for now: a standby on its task's own
   * worker dies with it, and building one (merging the checkpoint chain, encoding it, and decoding it in the
   * worker) took the coordinator and the surviving worker 100–250 ms in the middle of a recovery. The task
   * is left without a home, and gets its standby on the lost worker's replacement ({@link workerRespawned}).
   * Embedded, the one worker is the only home there is (I26).
   */
  add(taskId: number): void {
    if (this.perTask === 0) return;
    const { links, placement } = this.host;
    const primary = placement[taskId]!;
    const others = links.map((link, i) => (link && i !== primary ? i : -1)).filter((i) => i >= 0);
    const previous = this.homes.get(taskId);
    // One set of standbys per task: those held before (here or elsewhere) make way for the new one.
    if (previous !== undefined) links[previous]?.dropStandbys(taskId);
    if (others.length === 0 && links.length > 1) {
      this.homes.delete(taskId);
      return;
    }
    const home = others.length > 0 ? others[taskId % others.length]! : primary;
    const merged = this.host.checkpoints.latestSnapshot(taskId);
    this.homes.set(taskId, home);
    links[home]?.addStandby(taskId, merged ? encodeSnapshot(merged) : null);
  }

  /** Worker `worker` was lost: standbys it held for tasks that live on are made anew, elsewhere (see {@link add}). */
  workerLost(worker: number): void {
    const { placement } = this.host;
    for (const [taskId, home] of [...this.homes]) {
      if (home === worker && placement[taskId] !== worker && !this.host.isDead(taskId)) this.add(taskId);
    }
  }

  /**
   * A lost worker is back: tasks left without a standby, and standbys that had to share their task's worker
   * (no other was alive), get one elsewhere.
   */
  workerRespawned(): void {
    if (this.perTask === 0) return;
    const { placement } = this.host;
    placement.forEach((worker, taskId) => {
      if (this.host.isDead(taskId)) return;
      const home = this.homes.get(taskId);
      if (home === undefined || home === worker) this.add(taskId);
    });
  }

  /**
   * The tasks of lost workers were placed on the `live` ones (a global rollback deploys them there):
   * standbys on lost workers, or on their task's own worker, are placed on another live worker.
   */
  placeAnew(live: readonly number[]): void {
    if (this.perTask === 0) return;
    const { links, placement } = this.host;
    placement.forEach((worker, taskId) => {
      const home = this.homes.get(taskId);
      if (home !== undefined && links[home] && home !== worker) return;
      const others = live.filter((w) => w !== worker);
      this.homes.set(taskId, others.length > 0 ? others[taskId % others.length]! : worker);
    });
  }
}
