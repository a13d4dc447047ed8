/**
 * The standbys one worker hosts: per task, the copies of its state that a replacement on this worker takes
 * over, each caught up from the incremental snapshots that checkpoint completions hand over (I9).
 *
 * Catching up is work of the worker's one thread, so it runs in slices of {@link STANDBY_SLICE_MS} on later
 * turns of the event loop, between the worker's tasks: a completion hands over every task's snapshot at once,
 * and decoding and applying them in one go kept the tasks (and the records queued for them) waiting for all
 * of it (tens of ms for a keyed delta of 100 k entries). A standby read before then applies what is queued
 * first (see `Standby`).
 */
import type { StateBackend } from '../state/backend.js';
import { realSetImmediate } from '../util/clock.js';
import { Standby } from './standby.js';
import { figuresOfStandby, type StandbyFigures } from './task-figures.js';

/** Milliseconds of standby work per event-loop turn (decoding and applying snapshot chunks). */
export const STANDBY_SLICE_MS = 2;

/** What {@link WorkerStandbys} needs of its worker. */
export interface WorkerStandbysOptions {
  /** Standbys per task the job keeps (0: none, and {@link WorkerStandbys.add} does nothing). */
  perTask: number;
  /** Names of the operators whose state a standby of `taskId` holds, in chain order. */
  operatorNames: (taskId: number) => string[];
  /** A new, empty state backend labelled `label`. */
  newBackend: (label: string) => StateBackend;
}

/** The standbys hosted on one worker, by task. */
export class WorkerStandbys {
  private readonly byTask = new Map<number, Standby[]>();
  private workScheduled = false;
  private created = 0;

  constructor(private readonly o: WorkerStandbysOptions) {}

  /**
   * Adds a standby of `taskId`, starting from `snapshot` (the merged state of the latest checkpoint), or
   * empty. The snapshot is applied in slices like a completion's frame: a large state decoded at once stalled
   * this worker's tasks for as long.
   */
  add(taskId: number, snapshot: Uint8Array | null): void {
    if (this.o.perTask === 0) return;
    let list = this.byTask.get(taskId);
    if (!list) {
      list = [];
      this.byTask.set(taskId, list);
    }
    const label = `standby-${this.created++}`;
    const standby = new Standby(taskId, this.o.operatorNames(taskId), (name) => this.o.newBackend(`${label}:${taskId}:${name}`));
    list.push(standby);
    if (snapshot) {
      standby.enqueue(snapshot);
      this.scheduleWork();
    }
  }

  /** Queues a completed checkpoint's frame of `taskId` on each of its standbys, applied in later slices. */
  apply(taskId: number, frame: Uint8Array): void {
    const list = this.byTask.get(taskId);
    if (!list) return;
    for (const standby of list) standby.enqueue(frame);
    this.scheduleWork();
  }

  /** Drops the standbys of `taskId` and frees their state. */
  drop(taskId: number): void {
    const list = this.byTask.get(taskId);
    if (!list) return;
    this.byTask.delete(taskId);
    for (const standby of list) void standby.dispose();
  }

  /** Drops every standby (a deployment brings its own), waiting until their state is freed. */
  async clear(): Promise<void> {
    const lists = [...this.byTask.values()];
    this.byTask.clear();
    for (const list of lists) for (const standby of list) await standby.dispose();
  }

  /** The standbys of `taskId` (tests and tools). */
  of(taskId: number): readonly Standby[] {
    return this.byTask.get(taskId) ?? [];
  }

  /** Whether a standby of `taskId` holds `checkpoint`, the one a replacement sent without a snapshot needs. */
  holds(taskId: number, checkpoint: number): boolean {
    return this.of(taskId).some((standby) => holdsCheckpoint(standby, checkpoint));
  }

  /** Removes and returns a standby of `taskId` holding `checkpoint`, for a replacement to take over; or null. */
  take(taskId: number, checkpoint: number): Standby | null {
    const list = this.byTask.get(taskId) ?? [];
    const index = list.findIndex((standby) => holdsCheckpoint(standby, checkpoint));
    return index < 0 ? null : list.splice(index, 1)[0]!;
  }

  /** Per task of `taskIds` with a standby holding `checkpoint`: the input positions of its snapshot. */
  positions(taskIds: readonly number[], checkpoint: number): Map<number, number[]> {
    const positions = new Map<number, number[]>();
    for (const taskId of taskIds) {
      const snapshot = this.of(taskId).find((standby) => holdsCheckpoint(standby, checkpoint))?.snapshot;
      if (snapshot) positions.set(taskId, snapshot.inputSeqs);
    }
    return positions;
  }

  /** The figures of every standby hosted here. */
  figures(): StandbyFigures[] {
    return [...this.byTask.values()].flatMap((list) => list.map(figuresOfStandby));
  }

  private scheduleWork(): void {
    if (this.workScheduled) return;
    this.workScheduled = true;
    realSetImmediate(() => this.applySlice());
  }

  /** One slice of standby work: queued frames, chunk by chunk, until the slice is used up; then again later. */
  private applySlice(): void {
    this.workScheduled = false;
    const deadline = performance.now() + STANDBY_SLICE_MS;
    for (const list of this.byTask.values()) {
      for (const standby of list) {
        if (!standby.behind) continue;
        try {
          if (!standby.catchUpUntil(deadline)) {
            this.scheduleWork();
            return;
          }
        } catch {
          // A corrupt frame: the standby keeps the error and raises it when it is used (activation).
        }
      }
    }
  }
}

/** Whether `standby` holds `checkpoint`; a standby whose frame was corrupt holds none. */
function holdsCheckpoint(standby: Standby, checkpoint: number): boolean {
  try {
    return standby.checkpointId === checkpoint;
  } catch {
    return false;
  }
}
