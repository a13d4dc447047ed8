/**
 * Durable determinant storage in lmdb: persisted segments (a sink's own log, a task's log kept across
 * restarts) and spilled epochs (a log or replica short of memory).
 *
 * Every value is an encoded segment with its own xxhash64 checksum, so a bit flipped on disk is
 * reported as {@link LogCorruptionError}, never replayed.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { ByteReader } from './bytes.js';
import { LogCorruptionError } from './errors.js';
import type { SpillTarget } from './log.js';
import type { EpochSegment } from './replica.js';
import { encodeSegment, joinSegments, readSegment, type PersistedSegment } from './segment.js';

type SegmentKey = [taskId: number, epoch: number, offset: number];
const END = Number.MAX_SAFE_INTEGER;

/** Options of {@link DeterminantStore.open}. */
export interface DeterminantStoreOptions {
  /** Directory of the lmdb environment (created if missing). */
  path: string;
}

/**
 * Segments of determinant logs in lmdb, keyed by (task, epoch, offset).
 *
 * ```ts
 * const store = DeterminantStore.open({ path: 'job/determinants' });
 * store.append(7, 3, 0, bytes);          // asynchronous, batched by lmdb
 * await store.flushed();
 * const epochs = store.load(7, 3);       // [{ epoch: 3, bytes }]
 * ```
 */
export class DeterminantStore implements SpillTarget {
  /** The lmdb sub-database of persisted segments; use it inside your own transactions via {@link putSegment}. */
  readonly segments: Database<Uint8Array, SegmentKey>;
  private readonly spilled: Database<Uint8Array, SegmentKey>;
  /** Spilled epochs whose asynchronous write has not committed yet; lmdb shows a value only after commit. */
  private readonly spillPending = new Map<string, Uint8Array>();
  private readonly ownsRoot: boolean;

  /** Wraps sub-databases of an lmdb environment the caller opened (to share its transactions). */
  constructor(readonly root: RootDatabase, options: { ownsRoot?: boolean } = {}) {
    this.segments = root.openDB<Uint8Array, SegmentKey>('determinants', { encoding: 'binary' });
    this.spilled = root.openDB<Uint8Array, SegmentKey>('determinants-spilled', { encoding: 'binary' });
    this.ownsRoot = options.ownsRoot ?? false;
  }

  /** Opens (or creates) a store in its own lmdb environment. */
  static open(options: DeterminantStoreOptions): DeterminantStore {
    return new DeterminantStore(open({ path: options.path }), { ownsRoot: true });
  }

  /** Persists bytes at `offset` of `epoch` of `taskId`'s log. Committed asynchronously; see {@link flushed}. */
  append(taskId: number, epoch: number, offset: number, bytes: Uint8Array): Promise<boolean> {
    return this.segments.put([taskId, epoch, offset], encodeSegment(taskId, epoch, offset, bytes));
  }

  /** Queues the same write as {@link append}; call it inside `root.transaction(...)` to commit it with other writes. */
  putSegment(taskId: number, epoch: number, offset: number, bytes: Uint8Array): void {
    void this.segments.put([taskId, epoch, offset], encodeSegment(taskId, epoch, offset, bytes));
  }

  /** Resolves when every write issued so far is committed. */
  flushed(): Promise<boolean> {
    return this.root.flushed;
  }

  /**
   * The persisted log of `taskId` from `fromEpoch` on, epoch by epoch. Every segment is verified and
   * each epoch must be contiguous; otherwise {@link LogCorruptionError}.
   */
  load(taskId: number, fromEpoch = 0): EpochSegment[] {
    const found: PersistedSegment[] = [];
    for (const { key, value } of this.segments.getRange({ start: [taskId, fromEpoch, 0], end: [taskId, END, END] })) {
      found.push(this.verified(key, value));
    }
    return joinSegments(found);
  }

  /** Task ids that have persisted segments. */
  taskIds(): number[] {
    const ids = new Set<number>();
    for (const key of this.segments.getKeys()) ids.add(key[0]);
    return [...ids].sort((a, b) => a - b);
  }

  /** Deletes persisted segments of `taskId` before `epoch` (checkpoint `epoch` completed, I2). */
  truncateBefore(taskId: number, epoch: number): Promise<boolean> {
    return this.segments.transaction(() => {
      for (const key of this.segments.getKeys({ start: [taskId, 0, 0], end: [taskId, epoch, 0] })) void this.segments.remove(key);
      return true;
    });
  }

  // ---------------------------------------------------------------- SpillTarget

  /** {@inheritDoc SpillTarget.writeEpoch} */
  writeEpoch(taskId: number, epoch: number, bytes: Uint8Array): void {
    const encoded = encodeSegment(taskId, epoch, 0, bytes);
    const id = `${taskId}/${epoch}`;
    this.spillPending.set(id, encoded);
    void this.spilled.put([taskId, epoch, 0], encoded).then(() => {
      if (this.spillPending.get(id) === encoded) this.spillPending.delete(id);
    });
  }

  /** {@inheritDoc SpillTarget.readEpoch} */
  readEpoch(taskId: number, epoch: number): Uint8Array {
    const key: SegmentKey = [taskId, epoch, 0];
    const value = this.spillPending.get(`${taskId}/${epoch}`) ?? this.spilled.get(key);
    if (!value) throw new LogCorruptionError(`spilled epoch ${epoch} of task ${taskId} is missing`, 0, { taskId, epoch });
    return this.verified(key, value).bytes;
  }

  /** {@inheritDoc SpillTarget.dropEpoch} */
  dropEpoch(taskId: number, epoch: number): void {
    this.spillPending.delete(`${taskId}/${epoch}`);
    void this.spilled.remove([taskId, epoch, 0]);
  }

  /** Closes the lmdb environment if this store opened it. */
  async close(): Promise<void> {
    await this.root.flushed;
    if (this.ownsRoot) await this.root.close();
  }

  private verified(key: SegmentKey, value: Uint8Array): PersistedSegment {
    const reader = new ByteReader(value);
    const segment = readSegment(reader);
    if (reader.remaining !== 0) reader.fail('trailing bytes after a stored segment');
    if (segment.taskId !== key[0] || segment.epoch !== key[1] || segment.offset !== key[2]) {
      throw new LogCorruptionError(`stored segment at key ${key.join('/')} claims ${segment.taskId}/${segment.epoch}/${segment.offset}`, 0);
    }
    return segment;
  }
}
