/**
 * The tables of the heap backend: one per state, in two implementations chosen once per backend.
 *
 * - {@link TrackedHeapTable}, for a backend that checkpoints snapshot: each entry carries the epoch (the
 *   span between two snapshots) of its last write, and a key joins the list of the next snapshot the first
 *   time it is written in an epoch (the entry itself is listed, so a snapshot reads it without a lookup).
 *   A write to a key already written since the snapshot costs a comparison,
 *   where a set of dirty keys cost a hash insertion per write (the hot path of every keyed operator of a
 *   checkpointing job). A removed entry stays as a tombstone until the snapshot that carries its removal,
 *   so a key removed and written again in one epoch is listed once. An entry created and removed in the
 *   same epoch was in no snapshot and goes at once (timers fired and lists emptied within a checkpoint
 *   interval): the snapshot need not carry its removal, nor a standby apply it.
 * - {@link PlainHeapTable}, for a backend nothing ever snapshots (recovery mode `none`): the values
 *   themselves, in a map, with no bookkeeping at all.
 *
 * A backend's state handles (`backend.ts`) call one implementation only, so their calls stay monomorphic.
 */
import type { StateKey } from './api.js';
import type { StateKind } from './backend.js';

/** One state's entries, as the heap backend's handles read and change them. */
export interface HeapTable {
  /** State name. */
  readonly name: string;
  /** State kind. */
  readonly kind: StateKind;
  /** Number of keys with an entry. */
  readonly size: number;
  /** Whether keys were written since the last snapshot. */
  readonly changed: boolean;
  /** The entry of `key`, or undefined. */
  get(key: StateKey): unknown;
  /** Sets `key`'s entry (undefined removes it). */
  set(key: StateKey, value: unknown): void;
  /** Removes `key`'s entry; false if it had none. */
  delete(key: StateKey): boolean;
  /** Appends `value` to the list entry of `key` (list state), creating it. */
  addToList(key: StateKey, value: unknown): void;
  /** Puts `mapKey → value` into the map entry of `owner` (map state), creating it. */
  putInMap(owner: StateKey, mapKey: unknown, value: unknown): void;
  /** The entry of `key` was changed in place (a map entry lost one of its keys). */
  touched(key: StateKey): void;
  /** Sets an entry as of a checkpoint (restore, standby): no snapshot carries it. */
  restore(key: StateKey, value: unknown): void;
  /** Removes an entry as of a checkpoint (restore, standby): no snapshot carries it. */
  forget(key: StateKey): void;
  /**
   * Appends the keys written since the last snapshot to `keys` and their entries to `values`, or to
   * `removed` if they have none, and starts a new epoch. Returns what it took, for {@link handBack}.
   */
  take(keys: StateKey[], values: unknown[], removed: StateKey[]): readonly unknown[];
  /** What an aborted snapshot took (`take`'s result): the next snapshot carries those keys again, as they are then (I9). */
  handBack(taken: readonly unknown[]): void;
  /** Every key with an entry. */
  keys(): IterableIterator<StateKey>;
}

/**
 * An entry of a {@link TrackedHeapTable}: its key, its value (undefined: a tombstone), the epoch of its last
 * write, and the epoch in which it was created (then no earlier snapshot can hold it). The table lists the
 * entries written in an epoch, not their keys, so that a snapshot reads them without a lookup per key.
 */
class TrackedEntry {
  constructor(
    readonly key: StateKey,
    public value: unknown,
    public epoch: number,
    public born: number,
  ) {}
}

/** Epoch of entries no snapshot has to carry (restored, or applied to a standby), or that one may hold. */
const UNTRACKED = -1;
/** Epoch of an entry a snapshot has carried. */
const TAKEN = -2;
/** Epoch of an entry dropped from its table (created and removed in one epoch): a snapshot skips it. */
const DROPPED = -3;

const NOTHING_TAKEN: readonly unknown[] = Object.freeze([]);

/** A table whose writes the next snapshot carries (see the module comment). */
export class TrackedHeapTable implements HeapTable {
  private readonly data = new Map<StateKey, TrackedEntry>();
  /** Entries first written or removed in the current epoch, each once (and entries dropped since). */
  private written: TrackedEntry[] = [];
  /** The current epoch: the number of snapshots taken. */
  private epoch = 0;
  /** Entries that hold a value (tombstones excluded). */
  private live = 0;

  constructor(
    readonly name: string,
    readonly kind: StateKind,
  ) {}

  get size(): number {
    return this.live;
  }

  get changed(): boolean {
    return this.written.length > 0;
  }

  get(key: StateKey): unknown {
    return this.data.get(key)?.value;
  }

  set(key: StateKey, value: unknown): void {
    if (value === undefined) {
      this.delete(key);
      return;
    }
    const entry = this.write(key);
    if (entry.value === undefined) this.live++;
    entry.value = value;
  }

  delete(key: StateKey): boolean {
    const entry = this.data.get(key);
    if (entry === undefined || entry.value === undefined) return false;
    this.live--;
    // Created since the last snapshot: no snapshot holds it, so none has to carry its removal. It is
    // listed already (a creation lists it); the snapshot skips it.
    if (entry.born === this.epoch) {
      entry.epoch = DROPPED;
      this.data.delete(key);
      return true;
    }
    entry.value = undefined;
    this.mark(entry);
    return true;
  }

  addToList(key: StateKey, value: unknown): void {
    const entry = this.write(key);
    if (entry.value === undefined) {
      entry.value = [value];
      this.live++;
    } else (entry.value as unknown[]).push(value);
  }

  putInMap(owner: StateKey, mapKey: unknown, value: unknown): void {
    const entry = this.write(owner);
    if (entry.value === undefined) {
      entry.value = new Map([[mapKey, value]]);
      this.live++;
    } else (entry.value as Map<unknown, unknown>).set(mapKey, value);
  }

  touched(key: StateKey): void {
    const entry = this.data.get(key);
    if (entry !== undefined) this.mark(entry);
  }

  restore(key: StateKey, value: unknown): void {
    const entry = this.data.get(key);
    if (entry === undefined) {
      this.data.set(key, new TrackedEntry(key, value, UNTRACKED, UNTRACKED));
      this.live++;
      return;
    }
    if (entry.value === undefined) this.live++;
    entry.value = value;
  }

  forget(key: StateKey): void {
    const entry = this.data.get(key);
    if (entry === undefined) return;
    if (entry.value !== undefined) this.live--;
    this.data.delete(key);
  }

  take(keys: StateKey[], values: unknown[], removed: StateKey[]): readonly unknown[] {
    const taken = this.written;
    if (taken.length === 0) return NOTHING_TAKEN;
    const epoch = this.epoch;
    for (let i = 0; i < taken.length; i++) {
      const entry = taken[i]!;
      // Dropped: created and removed since the last snapshot.
      if (entry.epoch !== epoch) continue;
      entry.epoch = TAKEN;
      if (entry.value === undefined) {
        // The removal is in this snapshot now: the tombstone has done its job.
        removed.push(entry.key);
        this.data.delete(entry.key);
      } else {
        keys.push(entry.key);
        values.push(entry.value);
      }
    }
    this.written = [];
    this.epoch++;
    return taken;
  }

  handBack(taken: readonly unknown[]): void {
    for (const { key } of taken as readonly TrackedEntry[]) {
      const entry = this.data.get(key);
      // Removed, and the removal left with the aborted snapshot: a tombstone carries it again.
      if (entry === undefined) {
        const tombstone = new TrackedEntry(key, undefined, this.epoch, UNTRACKED);
        this.data.set(key, tombstone);
        this.written.push(tombstone);
        continue;
      }
      // The aborted snapshot may have carried its creation: a removal now must be carried too.
      entry.born = UNTRACKED;
      this.mark(entry);
    }
  }

  *keys(): IterableIterator<StateKey> {
    for (const [key, entry] of this.data) if (entry.value !== undefined) yield key;
  }

  /** The entry of `key` (a new tombstone if it had none), marked as written in this epoch. */
  private write(key: StateKey): TrackedEntry {
    let entry = this.data.get(key);
    if (entry === undefined) {
      entry = new TrackedEntry(key, undefined, this.epoch, this.epoch);
      this.data.set(key, entry);
      this.written.push(entry);
    } else this.mark(entry);
    return entry;
  }

  private mark(entry: TrackedEntry): void {
    if (entry.epoch === this.epoch) return;
    entry.epoch = this.epoch;
    this.written.push(entry);
  }
}

/** A table nothing snapshots: values in a map, nothing else (see the module comment). */
export class PlainHeapTable implements HeapTable {
  private readonly data = new Map<StateKey, unknown>();

  constructor(
    readonly name: string,
    readonly kind: StateKind,
  ) {}

  get size(): number {
    return this.data.size;
  }

  get changed(): boolean {
    return false;
  }

  get(key: StateKey): unknown {
    return this.data.get(key);
  }

  set(key: StateKey, value: unknown): void {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, value);
  }

  delete(key: StateKey): boolean {
    return this.data.delete(key);
  }

  addToList(key: StateKey, value: unknown): void {
    const list = this.data.get(key) as unknown[] | undefined;
    if (list) list.push(value);
    else this.data.set(key, [value]);
  }

  putInMap(owner: StateKey, mapKey: unknown, value: unknown): void {
    const map = this.data.get(owner) as Map<unknown, unknown> | undefined;
    if (map) map.set(mapKey, value);
    else this.data.set(owner, new Map([[mapKey, value]]));
  }

  touched(): void {}

  restore(key: StateKey, value: unknown): void {
    this.data.set(key, value);
  }

  forget(key: StateKey): void {
    this.data.delete(key);
  }

  take(): readonly unknown[] {
    return NOTHING_TAKEN;
  }

  handBack(): void {}

  keys(): IterableIterator<StateKey> {
    return this.data.keys();
  }
}
