/**
 * {@link LmdbStateBackend}: keyed state in an lmdb database, for state larger than memory. See
 * `backend.ts` for the contract (I9).
 */
import type { Database, RootDatabase } from 'lmdb';
import { ConfigError } from '../errors.js';
import type { ListState, MapState, StateKey, ValueState } from './api.js';
import type { KeyedDelta, StateBackend, StateKind } from './backend.js';
import { UnconfirmedSnapshots } from './unconfirmed-snapshots.js';

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
