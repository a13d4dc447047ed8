/**
 * Keyed state backends. Both keep, per state, the keys written since the last snapshot, so that a
 * snapshot carries only what changed (an incremental snapshot, I9). A snapshot that is later aborted
 * hands its keys back, so the next snapshot covers them again. The heap backend's tables
 * (`heap-tables.ts`) stamp each entry with the epoch of its last write instead of keeping a set of keys.
 *
 * - {@link HeapStateBackend} (`heap-backend.ts`): every entry in memory.
 * - {@link LmdbStateBackend} (`lmdb-backend.ts`): entries in an lmdb database, with the entries written since the last
 *   checkpoint cached in memory (they are the next snapshot anyway), for state larger than memory.
 */
import type { KeyedStateStore, StateKey } from './api.js';

export { HeapStateBackend } from './heap-backend.js';
export { LmdbStateBackend } from './lmdb-backend.js';

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
