/**
 * Keyed state as operators see it. Every accessor reads and writes the entry of the *current key*:
 * the key of the record being processed, or of the timer firing.
 *
 * Keys are numbers or strings. Values must be encodable with msgpackr (plain objects, arrays, Maps,
 * numbers, strings, booleans, null, Uint8Array, bigint, Date). Treat values you read as read-only and
 * call `update` / `put` / `add` to change state: a snapshot captures only entries written through
 * these calls since the last checkpoint.
 */

/** A state key. */
export type StateKey = number | string;

/** One value per key. */
export interface ValueState<T> {
  /** The value for the current key, or undefined. */
  value(): T | undefined;
  /** Sets the value for the current key. */
  update(value: T): void;
  /** Removes the value for the current key. */
  clear(): void;
}

/** A map per key. */
export interface MapState<K extends StateKey, V> {
  /** The entry for `key` in the current key's map. */
  get(key: K): V | undefined;
  /** Whether the current key's map has `key`. */
  has(key: K): boolean;
  /** Sets an entry of the current key's map. */
  put(key: K, value: V): void;
  /** Removes an entry of the current key's map. */
  remove(key: K): void;
  /** Entries of the current key's map, in insertion order. */
  entries(): IterableIterator<[K, V]>;
  /** Keys of the current key's map. */
  keys(): IterableIterator<K>;
  /** Number of entries in the current key's map. */
  size(): number;
  /** Removes the current key's map entirely. */
  clear(): void;
}

/** A list per key. */
export interface ListState<T> {
  /** The current key's list (empty if none). Do not modify it; use `add` or `update`. */
  get(): readonly T[];
  /** Appends to the current key's list. */
  add(value: T): void;
  /** Replaces the current key's list. */
  update(values: readonly T[]): void;
  /** Removes the current key's list. */
  clear(): void;
}

/** Access to keyed state from an operator. */
export interface KeyedStateStore {
  /** A value state; the same name always returns the same state. */
  value<T>(name: string): ValueState<T>;
  /** A map state. */
  map<K extends StateKey, V>(name: string): MapState<K, V>;
  /** A list state. */
  list<T>(name: string): ListState<T>;
}
