/**
 * {@link HeapStateBackend}: keyed state entirely in memory, in the tables of `heap-tables.ts`, with one
 * handle object per state name (no closure per access). See `backend.ts` for the contract (I9).
 */
import { ConfigError } from '../errors.js';
import type { ListState, MapState, StateKey, ValueState } from './api.js';
import type { KeyedDelta, StateBackend, StateKind } from './backend.js';
import { PlainHeapTable, TrackedHeapTable, type HeapTable } from './heap-tables.js';
import { UnconfirmedSnapshots } from './unconfirmed-snapshots.js';

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
