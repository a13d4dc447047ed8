/**
 * Keyed timers, event-time or processing-time. Each key's pending timestamps live in keyed state (so
 * checkpoints carry them like any other state); an in-memory index of distinct timestamps to keys,
 * rebuilt from state on restore, finds what is due.
 *
 * Timers of one timestamp fire in key order (numbers ascending, then strings): an order that depends
 * on the state only, not on the history that built it. A task restored from a checkpoint rebuilds its
 * index in another order than the one registrations made, and must still fire exactly as the task it
 * replaces would have (I15).
 */
import type { StateKey } from '../state/api.js';
import type { StateBackend } from '../state/backend.js';

/** Min-heap of distinct timestamps. */
class TimestampHeap {
  private items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): number {
    return this.items.length > 0 ? this.items[0]! : Infinity;
  }

  push(value: number): void {
    const items = this.items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      const n = items.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && items[right]! < items[left]! ? right : left;
        if (items[child]! >= last) break;
        items[i] = items[child]!;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

/** The keys (two or more) in canonical order: numbers ascending, then strings in code-unit order. */
function canonicalOrder(keys: Set<StateKey>): Iterable<StateKey> {
  let numeric = true;
  for (const key of keys) {
    if (typeof key !== 'number') {
      numeric = false;
      break;
    }
  }
  if (numeric) return Float64Array.from(keys as Set<number>).sort();
  return [...keys].sort((a, b) => {
    if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
    if (typeof b === 'number') return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/**
 * What the index holds for one timestamp: its one key (most timestamps have one, and a set per timestamp
 * made rebuilding a restored task's index, 100 k timers, take tens of ms of its takeover), its keys, or
 * {@link NO_KEYS} once every timer of it was deleted (the heap still holds the timestamp).
 */
type TimestampKeys = StateKey | Set<StateKey> | typeof NO_KEYS;

/** A timestamp whose timers were all deleted: still in the heap, which drops it when it comes up. */
const NO_KEYS: unique symbol = Symbol('no keys');

/** Timers of one kind (event or processing time) for one operator. */
export class KeyedTimers {
  private readonly heap = new TimestampHeap();
  private readonly index = new Map<number, TimestampKeys>();

  /**
   * @param backend the operator's state backend (its current key is set before each callback)
   * @param stateName keyed list state holding each key's pending timestamps
   */
  constructor(
    private readonly backend: StateBackend,
    private readonly stateName: string,
  ) {}

  /** Rebuilds the index from state (after a restore). */
  rebuild(): void {
    for (const key of this.backend.keysOf(this.stateName)) {
      const pending = this.backend.entryOf(this.stateName, key) as number[];
      for (const ts of pending) this.indexAdd(key, ts);
    }
  }

  /** Earliest pending timestamp, or Infinity. */
  next(): number {
    while (this.heap.size > 0) {
      const ts = this.heap.peek();
      const keys = this.index.get(ts);
      if (keys !== undefined && keys !== NO_KEYS && (!(keys instanceof Set) || keys.size > 0)) return ts;
      this.heap.pop();
      this.index.delete(ts);
    }
    return Infinity;
  }

  /** Registers a timer for the backend's current key. Registering the same timestamp twice is one timer. */
  register(timestamp: number): void {
    const key = this.backend.currentKey;
    if (!this.indexAdd(key, timestamp)) return;
    const list = this.backend.list<number>(this.stateName);
    list.add(timestamp);
  }

  /** Deletes the current key's timer at `timestamp`, if any. */
  delete(timestamp: number): void {
    const key = this.backend.currentKey;
    const keys = this.index.get(timestamp);
    if (keys instanceof Set) {
      if (!keys.delete(key)) return;
    } else if (keys === key) {
      this.index.set(timestamp, NO_KEYS);
    } else {
      return;
    }
    this.removeFromState(timestamp);
  }

  /**
   * Fires every timer due at or before `upTo` (or strictly before it, with `exclusive`), earliest
   * first: sets the backend's current key and calls `fire(key, timestamp)`. Timers registered by
   * callbacks fire too if they are due.
   */
  fireUpTo(upTo: number, fire: (key: StateKey, timestamp: number) => void, exclusive = false): void {
    for (;;) {
      const ts = this.next();
      if (ts > upTo || ts === Infinity || (exclusive && ts === upTo)) return;
      this.heap.pop();
      const keys = this.index.get(ts)!;
      this.index.delete(ts);
      // Most timestamps have one key: fire it without sorting (or allocating) anything.
      if (!(keys instanceof Set)) {
        this.fireOne(keys as StateKey, ts, fire);
        continue;
      }
      if (keys.size === 1) {
        for (const key of keys) this.fireOne(key, ts, fire);
        continue;
      }
      for (const key of canonicalOrder(keys)) this.fireOne(key, ts, fire);
    }
  }

  private fireOne(key: StateKey, ts: number, fire: (key: StateKey, timestamp: number) => void): void {
    this.backend.currentKey = key;
    this.removeFromState(ts);
    fire(key, ts);
  }

  private indexAdd(key: StateKey, timestamp: number): boolean {
    const keys = this.index.get(timestamp);
    if (keys === undefined) {
      this.index.set(timestamp, key);
      this.heap.push(timestamp);
      return true;
    }
    if (keys === NO_KEYS) {
      this.index.set(timestamp, key);
      return true;
    }
    if (keys instanceof Set) {
      if (keys.has(key)) return false;
      keys.add(key);
      return true;
    }
    if (keys === key) return false;
    this.index.set(timestamp, new Set([keys, key]));
    return true;
  }

  private removeFromState(timestamp: number): void {
    const list = this.backend.list<number>(this.stateName);
    const pending = list.get();
    if (pending.length === 1 && pending[0] === timestamp) {
      list.clear();
      return;
    }
    const i = pending.indexOf(timestamp);
    if (i >= 0) list.update(pending.filter((_, j) => j !== i));
  }
}
