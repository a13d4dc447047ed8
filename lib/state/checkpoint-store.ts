/**
 * Completed checkpoints in lmdb, under the job directory.
 *
 * Snapshots are incremental, so restoring a task needs its chain: the last base and every increment
 * after it. The store records the chain of each task at every completed checkpoint and compacts a
 * chain into a new base once it grows past `compactEvery`, so a restore never reads more than that
 * many snapshots. Only the latest completed checkpoint is ever restored; everything it does not need
 * is deleted.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { StateCorruptionError } from '../errors.js';
import { decodeSnapshot, encodeSnapshot, mergeSnapshots, type TaskSnapshot } from './snapshot.js';

interface StoreMeta {
  /** Latest completed checkpoint, or -1. */
  latest: number;
  /** Per task id: checkpoint ids of its chain, base first. */
  chains: Record<string, number[]>;
}

/** Options of {@link CheckpointStore.open}. */
export interface CheckpointStoreOptions {
  /** Directory of the lmdb environment. */
  path: string;
  /** Chain length that triggers compaction into a new base (default 32). */
  compactEvery?: number;
}

/** Completed checkpoints of one job. */
export class CheckpointStore {
  private readonly snapshots: Database<Uint8Array, [number, number]>;
  private readonly meta: Database<StoreMeta, string>;
  private state: StoreMeta;
  private readonly compactEvery: number;

  private constructor(
    private readonly root: RootDatabase,
    compactEvery: number,
  ) {
    this.snapshots = root.openDB<Uint8Array, [number, number]>({ name: 'snapshots', encoding: 'binary' });
    this.meta = root.openDB<StoreMeta, string>({ name: 'meta' });
    this.state = this.meta.get('meta') ?? { latest: -1, chains: {} };
    this.compactEvery = compactEvery;
  }

  /** Opens (or creates) the store. */
  static open(options: CheckpointStoreOptions): CheckpointStore {
    return new CheckpointStore(open({ path: options.path }), options.compactEvery ?? 32);
  }

  /** Latest completed checkpoint id, or -1 when none completed. */
  get latest(): number {
    return this.state.latest;
  }

  /** Writes a task's snapshot for a checkpoint that has not completed yet. */
  async put(checkpointId: number, frame: Uint8Array, taskId: number): Promise<void> {
    await this.snapshots.put([checkpointId, taskId], frame);
  }

  /**
   * Marks `checkpointId` complete for `taskIds` (all of which put a snapshot), extends each task's
   * chain, compacts long chains and deletes snapshots no chain needs any more.
   */
  async complete(checkpointId: number, taskIds: readonly number[]): Promise<void> {
    const next: StoreMeta = { latest: checkpointId, chains: { ...this.state.chains } };
    const obsolete: [number, number][] = [];
    const compacted: [number, Uint8Array][] = [];
    for (const taskId of taskIds) {
      const chain = [...(next.chains[taskId] ?? []), checkpointId];
      if (chain.length > this.compactEvery) {
        const merged = mergeSnapshots(this.loadChain(taskId, chain));
        compacted.push([taskId, encodeSnapshot({ ...merged, checkpointId })]);
        for (const id of chain.slice(0, -1)) obsolete.push([id, taskId]);
        next.chains[taskId] = [checkpointId];
      } else {
        next.chains[taskId] = chain;
      }
    }
    await this.root.transaction(() => {
      for (const [taskId, frame] of compacted) void this.snapshots.put([checkpointId, taskId], frame);
      void this.meta.put('meta', next);
    });
    this.state = next;
    // Only now, in a transaction of their own: until `state` names the compacted chains, `restore` (a new
    // standby, while this commits) still reads the old ones. A crash in between leaves unreferenced frames.
    if (obsolete.length > 0) {
      await this.root.transaction(() => {
        for (const key of obsolete) void this.snapshots.remove(key);
      });
    }
  }

  /** Deletes the snapshots of a checkpoint that will never complete. */
  async abort(checkpointId: number): Promise<void> {
    await this.root.transaction(() => {
      for (const key of this.snapshots.getKeys({ start: [checkpointId, 0], end: [checkpointId + 1, 0] })) void this.snapshots.remove(key);
    });
  }

  /** Deletes every checkpoint: a new run of the job starts from scratch. */
  async clear(): Promise<void> {
    await this.root.transaction(() => {
      void this.snapshots.clearAsync();
      void this.meta.clearAsync();
    });
    this.state = { latest: -1, chains: {} };
  }

  /** Deletes snapshots of checkpoints newer than the latest completed one (left over by a crash or rollback). */
  async discardIncomplete(): Promise<void> {
    await this.root.transaction(() => {
      for (const key of this.snapshots.getKeys({ start: [this.state.latest + 1, 0] })) void this.snapshots.remove(key);
    });
  }

  /** The merged state of `taskId` at the latest completed checkpoint, or null if it has none. */
  restore(taskId: number): TaskSnapshot | null {
    const chain = this.state.chains[taskId];
    if (!chain || chain.length === 0) return null;
    return mergeSnapshots(this.loadChain(taskId, chain));
  }

  /** Task ids with state at the latest completed checkpoint. */
  taskIds(): number[] {
    return Object.keys(this.state.chains).map(Number);
  }

  /** Waits for pending writes and closes the environment. */
  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }

  private loadChain(taskId: number, chain: readonly number[]): TaskSnapshot[] {
    return chain.map((id) => {
      const frame = this.snapshots.get([id, taskId]);
      if (!frame) throw new StateCorruptionError(`snapshot of task ${taskId} at checkpoint ${id} is missing`, { taskId, checkpointId: id });
      return decodeSnapshot(frame);
    });
  }
}
