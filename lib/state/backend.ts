/**
 * Keyed state backends. Both keep, per state, the keys written since the last snapshot, so that a
 * snapshot carries only what changed (an incremental snapshot, I9). A snapshot that is later aborted
 * hands its keys back, so the next snapshot covers them again. The heap backend's tables
 * (`heap-tables.ts`) stamp each entry with the epoch of its last write instead of keeping a set of keys.
 *
 * - {@link HeapStateBackend}: every entry in memory.
 * - {@link LmdbStateBackend}: entries in an lmdb database, with the entries written since the last
 *   checkpoint cached in memory (they are the next snapshot anyway), for state larger than memory.
 */
import type { Database, RootDatabase } from 'lmdb';
import { ConfigError } from '../errors.js';
import type { KeyedStateStore, ListState, MapState, StateKey, ValueState } from './api.js';
import { PlainHeapTable, TrackedHeapTable, type HeapTable } from './heap-tables.js';

/** The three kinds of keyed state. */
export type StateKind = 'value' | 'map' | 'list';

/** The change of one state since the previous snapshot. */
export interface StateDelta {
  /** State name. */
  name: string;
  /** State kind. */
  kind: StateKind;
  /** Keys whose entry was written, with the entry (for map state a `Map`, for list state an array). */
  keys: StateKey[];
  /** The entries, index-aligned with `keys`. */
  values: unknown[];
  /** Keys whose entry was removed. */
  removed: StateKey[];
}

/** The change of a whole backend since the previous snapshot. */
export type KeyedDelta = StateDelta[];

/** What a keyed operator needs from a backend. */
export interface StateBackend extends KeyedStateStore {
  /** Key of the record or timer being processed; accessors read and write its entries. */
  currentKey: StateKey;
  /** The changes since the previous snapshot, for checkpoint `checkpointId`. */
  snapshot(checkpointId: number): KeyedDelta;
  /** Checkpoint `checkpointId` completed: its changes need not be carried any more. */
  checkpointCompleted(checkpointId: number): void;
  /** Checkpoint `checkpointId` was aborted: its changes go into the next snapshot again. */
  checkpointAborted(checkpointId: number): void;
  /** Applies deltas in order (restore from a checkpoint, or a standby catching up). Marks nothing dirty. */
  apply(delta: KeyedDelta): void;
  /** Every key that has an entry in state `name`. */
  keysOf(name: string): IterableIterator<StateKey>;
  /** The entry of `key` in state `name`, regardless of the current key. */
  entryOf(name: string, key: StateKey): unknown;
  /** Number of keys with an entry in state `name`. */
  sizeOf(name: string): number;
  /** Names of the states this backend holds. */
  stateNames(): string[];
  /** Releases resources. */
  dispose(): Promise<void>;
}

/** A value-state handle over one heap table (one object per state name, no closures per call). */
class HeapValueState<T> implements ValueState<T> {
  constructor(
    private readonly backend: HeapStateBackend,
    private readonly table: HeapTable,
  ) {}

  value(): T | undefined {
    return this.table.get(this.backend.currentKey) as T | undefined;
  }

  update(value: T): void {
    this.table.set(this.backend.currentKey, value);
  }

  clear(): void {
    this.table.delete(this.backend.currentKey);
  }
}

const EMPTY_MAP: ReadonlyMap<any, any> = new Map();

/** A map-state handle over one heap table. */
class HeapMapState<K extends StateKey, V> implements MapState<K, V> {
  constructor(
    private readonly backend: HeapStateBackend,
    private readonly table: HeapTable,
  ) {}

  private current(): ReadonlyMap<K, V> {
    return (this.table.get(this.backend.currentKey) as Map<K, V> | undefined) ?? EMPTY_MAP;
  }

  get(key: K): V | undefined {
    return this.current().get(key);
  }

  has(key: K): boolean {
    return this.current().has(key);
  }

  put(key: K, value: V): void {
    this.table.putInMap(this.backend.currentKey, key, value);
  }

  remove(key: K): void {
    const owner = this.backend.currentKey;
    const map = this.table.get(owner) as Map<K, V> | undefined;
    if (!map || !map.delete(key)) return;
    if (map.size === 0) this.table.delete(owner);
    else this.table.touched(owner);
  }

  entries(): IterableIterator<[K, V]> {
    return this.current().entries() as IterableIterator<[K, V]>;
  }

  keys(): IterableIterator<K> {
    return this.current().keys() as IterableIterator<K>;
  }

  size(): number {
    return this.current().size;
  }

  clear(): void {
    this.table.delete(this.backend.currentKey);
  }
}

const EMPTY_LIST: readonly never[] = Object.freeze([]);

/** A list-state handle over one heap table. */
class HeapListState<T> implements ListState<T> {
  constructor(
    private readonly backend: HeapStateBackend,
    private readonly table: HeapTable,
  ) {}

  get(): readonly T[] {
    return (this.table.get(this.backend.currentKey) as T[] | undefined) ?? EMPTY_LIST;
  }

  add(value: T): void {
    this.table.addToList(this.backend.currentKey, value);
  }

  update(values: readonly T[]): void {
    const key = this.backend.currentKey;
    if (values.length === 0) this.table.delete(key);
    else this.table.set(key, values.slice());
  }

  clear(): void {
    this.table.delete(this.backend.currentKey);
  }
}

/**
 * What each snapshot took out of the tables' change tracking (`T`: the keys, or a table's own record of
 * them), until its checkpoint completes: an aborted checkpoint hands it back, so that the next snapshot
 * carries those keys again (I9).
 */
class UnconfirmedSnapshots<T> {
  private readonly taken = new Map<number, Map<string, T>>();

  /**
   * Snapshot `checkpointId` took `keys` (by state name): the collections the tables replaced with new ones,
   * so taking a snapshot copies no key.
   */
  record(checkpointId: number, keys: Map<string, T>): void {
    this.taken.set(checkpointId, keys);
  }

  /** Checkpoint `checkpointId` completed: it and older ones need nothing handed back. */
  completed(checkpointId: number): void {
    for (const id of this.taken.keys()) if (id <= checkpointId) this.taken.delete(id);
  }

  /** Checkpoint `checkpointId` was aborted: what it took, by state name, goes to `handBack`. */
  aborted(checkpointId: number, handBack: (name: string, taken: T) => void): void {
    const taken = this.taken.get(checkpointId);
    if (!taken) return;
    this.taken.delete(checkpointId);
    for (const [name, keys] of taken) handBack(name, keys);
  }
}

/** State entirely in memory. */
export class HeapStateBackend implements StateBackend {
  currentKey: StateKey = 0;

  /** @param trackChanges false when no checkpoint will ever snapshot this backend (recovery mode `none`). */
  constructor(private readonly trackChanges = true) {}

  private readonly tables = new Map<string, HeapTable>();
  /** State handles by name: asking for a state is a map lookup, with no allocation. */
  private readonly handles = new Map<string, ValueState<any> | MapState<any, any> | ListState<any>>();
  /** What snapshots not yet completed took, by checkpoint id, so an abort can hand it back. */
  private readonly unconfirmed = new UnconfirmedSnapshots<readonly unknown[]>();

  value<T>(name: string): ValueState<T> {
    let handle = this.handles.get(name);
    if (!handle) {
      handle = new HeapValueState<T>(this, this.table(name, 'value'));
      this.handles.set(name, handle);
    } else if (!(handle instanceof HeapValueState)) {
      this.table(name, 'value');
    }
    return handle as ValueState<T>;
  }

  map<K extends StateKey, V>(name: string): MapState<K, V> {
    let handle = this.handles.get(name);
    if (!handle) {
      handle = new HeapMapState<K, V>(this, this.table(name, 'map'));
      this.handles.set(name, handle);
    } else if (!(handle instanceof HeapMapState)) {
      this.table(name, 'map');
    }
    return handle as MapState<K, V>;
  }

  list<T>(name: string): ListState<T> {
    let handle = this.handles.get(name);
    if (!handle) {
      handle = new HeapListState<T>(this, this.table(name, 'list'));
      this.handles.set(name, handle);
    } else if (!(handle instanceof HeapListState)) {
      this.table(name, 'list');
    }
    return handle as ListState<T>;
  }

  snapshot(checkpointId: number): KeyedDelta {
    const delta: KeyedDelta = [];
    const taken = new Map<string, readonly unknown[]>();
    for (const table of this.tables.values()) {
      if (!table.changed) continue;
      const keys: StateKey[] = [];
      const values: unknown[] = [];
      const removed: StateKey[] = [];
      taken.set(table.name, table.take(keys, values, removed));
      // Only entries created and dropped since the last snapshot: nothing to carry.
      if (keys.length > 0 || removed.length > 0) delta.push({ name: table.name, kind: table.kind, keys, values, removed });
    }
    this.unconfirmed.record(checkpointId, taken);
    return delta;
  }

  checkpointCompleted(checkpointId: number): void {
    this.unconfirmed.completed(checkpointId);
  }

  checkpointAborted(checkpointId: number): void {
    this.unconfirmed.aborted(checkpointId, (name, keys) => this.tables.get(name)!.handBack(keys));
  }

  apply(delta: KeyedDelta): void {
    for (const change of delta) {
      const table = this.table(change.name, change.kind);
      for (let i = 0; i < change.keys.length; i++) table.restore(change.keys[i]!, change.values[i]);
      for (const key of change.removed) table.forget(key);
    }
  }

  keysOf(name: string): IterableIterator<StateKey> {
    const table = this.tables.get(name);
    return table ? table.keys() : [][Symbol.iterator]();
  }

  entryOf(name: string, key: StateKey): unknown {
    return this.tables.get(name)?.get(key);
  }

  stateNames(): string[] {
    return [...this.tables.keys()];
  }

  sizeOf(name: string): number {
    return this.tables.get(name)?.size ?? 0;
  }

  async dispose(): Promise<void> {
    this.tables.clear();
  }

  private table(name: string, kind: StateKind): HeapTable {
    let table = this.tables.get(name);
    if (!table) {
      table = this.trackChanges ? new TrackedHeapTable(name, kind) : new PlainHeapTable(name, kind);
      this.tables.set(name, table);
    } else if (table.kind !== kind) {
      throw new ConfigError(`state "${name}"`, `a ${table.kind} state (its first declaration)`, `a ${kind} state`);
    }
    return table;
  }
}

interface LmdbTable {
  readonly name: string;
  readonly kind: StateKind;
  /** Keys written since the last snapshot. */
  dirty: Set<StateKey>;
  readonly index: number;
  /** Entries written since the last flush; `undefined` marks a removal. */
  readonly pending: Map<StateKey, unknown>;
}

/**
 * State in lmdb. Entries written since the last snapshot stay in memory until the snapshot flushes
 * them in one transaction; reads look there first. Memory holds at most the entries written in one
 * checkpoint interval (or `maxPending`, after which they are flushed early).
 */
export class LmdbStateBackend implements StateBackend {
  currentKey: StateKey = 0;
  private readonly tables = new Map<string, LmdbTable>();
  private readonly unconfirmed = new UnconfirmedSnapshots<ReadonlySet<StateKey>>();
  private readonly db: Database<unknown, [number, StateKey]>;
  private pendingCount = 0;

  /**
   * @param root lmdb environment owned by the caller.
   * @param dbName sub-database for this backend (one per task and operator).
   * @param maxPending entries cached before an early flush (default 100,000).
   */
  constructor(
    root: RootDatabase,
    dbName: string,
    private readonly maxPending = 100_000,
  ) {
    this.db = root.openDB<unknown, [number, StateKey]>({ name: dbName });
    this.db.clearSync();
  }

  value<T>(name: string): ValueState<T> {
    const table = this.table(name, 'value');
    return {
      value: () => this.read(table, this.currentKey) as T | undefined,
      update: (value: T) => this.write(table, this.currentKey, value),
      clear: () => this.write(table, this.currentKey, undefined),
    };
  }

  map<K extends StateKey, V>(name: string): MapState<K, V> {
    const table = this.table(name, 'map');
    const current = (): Map<K, V> => (this.read(table, this.currentKey) as Map<K, V> | undefined) ?? new Map();
    return {
      get: (key) => current().get(key),
      has: (key) => current().has(key),
      put: (key, value) => {
        const map = this.ownCopy(table, current());
        map.set(key, value);
        this.write(table, this.currentKey, map);
      },
      remove: (key) => {
        const map = this.ownCopy(table, current());
        if (!map.delete(key)) return;
        this.write(table, this.currentKey, map.size === 0 ? undefined : map);
      },
      entries: () => current().entries(),
      keys: () => current().keys(),
      size: () => current().size,
      clear: () => this.write(table, this.currentKey, undefined),
    };
  }

  list<T>(name: string): ListState<T> {
    const table = this.table(name, 'list');
    return {
      get: () => (this.read(table, this.currentKey) as T[] | undefined) ?? [],
      add: (value) => {
        const list = (this.read(table, this.currentKey) as T[] | undefined) ?? [];
        const next = table.pending.has(this.currentKey) ? list : list.slice();
        next.push(value);
        this.write(table, this.currentKey, next);
      },
      update: (values) => this.write(table, this.currentKey, values.length === 0 ? undefined : values.slice()),
      clear: () => this.write(table, this.currentKey, undefined),
    };
  }

  snapshot(checkpointId: number): KeyedDelta {
    const delta: KeyedDelta = [];
    const taken = new Map<string, ReadonlySet<StateKey>>();
    for (const table of this.tables.values()) {
      if (table.dirty.size === 0) continue;
      const keys: StateKey[] = [];
      const values: unknown[] = [];
      const removed: StateKey[] = [];
      for (const key of table.dirty) {
        const value = this.read(table, key);
        if (value === undefined) removed.push(key);
        else {
          keys.push(key);
          values.push(value);
        }
      }
      taken.set(table.name, table.dirty);
      table.dirty = new Set();
      delta.push({ name: table.name, kind: table.kind, keys, values, removed });
    }
    this.flush();
    this.unconfirmed.record(checkpointId, taken);
    return delta;
  }

  checkpointCompleted(checkpointId: number): void {
    this.unconfirmed.completed(checkpointId);
  }

  checkpointAborted(checkpointId: number): void {
    this.unconfirmed.aborted(checkpointId, (name, keys) => {
      const table = this.tables.get(name)!;
      for (const key of keys) table.dirty.add(key);
    });
  }

  apply(delta: KeyedDelta): void {
    this.db.transactionSync(() => {
      for (const change of delta) {
        const table = this.table(change.name, change.kind);
        for (let i = 0; i < change.keys.length; i++) this.db.putSync([table.index, change.keys[i]!], change.values[i]);
        for (const key of change.removed) this.db.removeSync([table.index, key]);
      }
    });
  }

  *keysOf(name: string): IterableIterator<StateKey> {
    const table = this.tables.get(name);
    if (!table) return;
    for (const [key, value] of table.pending) if (value !== undefined) yield key;
    for (const key of this.db.getKeys({ start: [table.index], end: [table.index + 1] })) {
      if (!table.pending.has(key[1])) yield key[1];
    }
  }

  entryOf(name: string, key: StateKey): unknown {
    const table = this.tables.get(name);
    return table ? this.read(table, key) : undefined;
  }

  stateNames(): string[] {
    return [...this.tables.keys()];
  }

  sizeOf(name: string): number {
    let n = 0;
    for (const _ of this.keysOf(name)) n++;
    return n;
  }

  async dispose(): Promise<void> {
    this.flush();
    await this.db.drop();
  }

  private read(table: LmdbTable, key: StateKey): unknown {
    if (table.pending.has(key)) return table.pending.get(key);
    return this.db.get([table.index, key]);
  }

  private write(table: LmdbTable, key: StateKey, value: unknown): void {
    if (!table.pending.has(key)) this.pendingCount++;
    table.pending.set(key, value);
    table.dirty.add(key);
    if (this.pendingCount >= this.maxPending) this.flush();
  }

  /** A map read from lmdb is a fresh object; one already pending is ours to change in place. */
  private ownCopy<K, V>(table: LmdbTable, map: Map<K, V>): Map<K, V> {
    return table.pending.has(this.currentKey) ? map : new Map(map);
  }

  private flush(): void {
    if (this.pendingCount === 0) return;
    this.db.transactionSync(() => {
      for (const table of this.tables.values()) {
        for (const [key, value] of table.pending) {
          if (value === undefined) this.db.removeSync([table.index, key]);
          else this.db.putSync([table.index, key], value);
        }
        table.pending.clear();
      }
    });
    this.pendingCount = 0;
  }

  private table(name: string, kind: StateKind): LmdbTable {
    let table = this.tables.get(name);
    if (!table) {
      table = { name, kind, index: this.tables.size, dirty: new Set(), pending: new Map() };
      this.tables.set(name, table);
    } else if (table.kind !== kind) {
      throw new ConfigError(`state "${name}"`, `a ${table.kind} state (its first declaration)`, `a ${kind} state`);
    }
    return table;
  }
}
