/**
 * Task snapshots: what a task hands to its checkpoint, and how a chain of incremental snapshots
 * merges into one.
 *
 * Bytes on disk and in transit are framed: magic `CFSN`, a version byte, the msgpackr payload length
 * as a u32, the payload, and an xxhash64 of everything before it. A frame that fails any check raises
 * {@link StateCorruptionError} (I7).
 */
import { Packr } from 'msgpackr';
import { checksum64 } from '../../determinants/checksum.js';
import { readU64, writeU64 } from '../../determinants/bytes.js';
import { StateCorruptionError } from '../errors.js';
import type { KeyedDelta, StateDelta } from './backend.js';
import type { StateKey } from './api.js';

/** Snapshot format version. */
export const SNAPSHOT_VERSION = 1;
const MAGIC = [0x43, 0x46, 0x53, 0x4e]; // "CFSN"
const HEADER = 9;

/** State of one operator of a chain. */
export interface OperatorSnapshot {
  /** Keyed state changes since the previous snapshot (incremental). */
  keyed?: KeyedDelta;
  /** Operator state (source offsets, sink counters, …); always complete, never incremental. */
  state?: unknown;
}

/** Everything a task needs to resume from a checkpoint. */
export interface TaskSnapshot {
  /** The checkpoint. */
  checkpointId: number;
  /** The task. */
  taskId: number;
  /** Per input channel: the sequence number of the barrier, i.e. the last element consumed (I10). */
  inputSeqs: number[];
  /** Per output channel: the next sequence number to assign. */
  outputSeqs: number[];
  /** Per input channel: the last watermark received. */
  inputWatermarks: number[];
  /** Per input channel: whether it delivered end of stream. */
  inputEnded: boolean[];
  /** Per chain operator, by position in the chain. */
  operators: (OperatorSnapshot | null)[];
  /** Positions of the task's round-robin partitioners, in output order (a replacement must route alike). */
  routing?: number[];
  /** True when keyed deltas are complete state, not changes (a compacted base). */
  base?: boolean;
  /** True for the final snapshot of a task whose every input ended: restored, it stays finished. */
  finished?: boolean;
  /**
   * `setTimeout`/`setInterval` callbacks registered inside `causal()` that were pending when the snapshot
   * was taken (intervals, timeouts armed while it waited): they are not in it, so restoring it fails.
   */
  capturedTimers?: number;
}

const packr = new Packr({ moreTypes: true });

/** Encodes a snapshot into a checksummed frame. */
export function encodeSnapshot(snapshot: TaskSnapshot): Uint8Array {
  const payload = packr.pack(snapshot);
  const out = new Uint8Array(HEADER + payload.length + 8);
  out.set(MAGIC, 0);
  out[4] = SNAPSHOT_VERSION;
  new DataView(out.buffer).setUint32(5, payload.length, true);
  out.set(payload, HEADER);
  writeU64(out, HEADER + payload.length, checksum64(out.subarray(0, HEADER + payload.length)));
  return out;
}

/** Decodes a frame written by {@link encodeSnapshot}, checking length, version and checksum. */
export function decodeSnapshot(frame: Uint8Array): TaskSnapshot {
  if (frame.length < HEADER + 8) throw new StateCorruptionError(`snapshot frame of ${frame.length} bytes is shorter than its header`);
  for (let i = 0; i < 4; i++) if (frame[i] !== MAGIC[i]) throw new StateCorruptionError('snapshot frame has a bad magic');
  if (frame[4] !== SNAPSHOT_VERSION) throw new StateCorruptionError(`snapshot version ${frame[4]}, this build reads ${SNAPSHOT_VERSION}`);
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(5, true);
  if (HEADER + length + 8 !== frame.length) throw new StateCorruptionError(`snapshot frame says ${length} payload bytes, holds ${frame.length - HEADER - 8}`);
  if (checksum64(frame.subarray(0, HEADER + length)) !== readU64(frame, HEADER + length)) throw new StateCorruptionError('snapshot checksum mismatch');
  return packr.unpack(frame.subarray(HEADER, HEADER + length)) as TaskSnapshot;
}

/**
 * Folds a chain of snapshots (oldest first, the first one a base or the first ever) into one base
 * snapshot: keyed entries merged with later writes and removals winning, everything else from the
 * newest snapshot.
 */
export function mergeSnapshots(chain: readonly TaskSnapshot[]): TaskSnapshot {
  if (chain.length === 0) throw new StateCorruptionError('cannot merge an empty snapshot chain');
  const newest = chain[chain.length - 1]!;
  if (chain.length === 1) return { ...newest, base: true };
  const operators = newest.operators.map((op, index) => {
    const merged = new Map<string, { kind: StateDelta['kind']; entries: Map<StateKey, unknown> }>();
    let sawKeyed = false;
    for (const snapshot of chain) {
      const keyed = snapshot.operators[index]?.keyed;
      if (!keyed) continue;
      sawKeyed = true;
      for (const change of keyed) {
        let table = merged.get(change.name);
        if (!table) {
          table = { kind: change.kind, entries: new Map() };
          merged.set(change.name, table);
        }
        for (let i = 0; i < change.keys.length; i++) table.entries.set(change.keys[i]!, change.values[i]);
        for (const key of change.removed) table.entries.delete(key);
      }
    }
    if (!op && !sawKeyed) return null;
    const result: OperatorSnapshot = {};
    if (op?.state !== undefined) result.state = op.state;
    if (sawKeyed) {
      result.keyed = [...merged].map(([name, table]) => ({
        name,
        kind: table.kind,
        keys: [...table.entries.keys()],
        values: [...table.entries.values()],
        removed: [],
      }));
    }
    return result;
  });
  return { ...newest, operators, base: true };
}
