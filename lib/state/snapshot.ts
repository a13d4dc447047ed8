/**
 * Task snapshots: what a task hands to its checkpoint, and how a chain of incremental snapshots
 * merges into one.
 *
 * Bytes on disk and in transit are framed: magic `CFSN`, a version byte, the payload length as a u32, the
 * payload, and an xxhash64 of everything before it. A frame that fails any check raises
 * {@link StateCorruptionError} (I7).
 *
 * Payload versions (a reader of version n reads every version before it):
 * - **1**: one msgpackr value, the whole {@link TaskSnapshot}.
 * - **2**: segments, each a u32 length and one msgpackr value. The first is the snapshot with its keyed entries
 *   left out (names, kinds and removed keys stay), with the number of chunks of each keyed change; then the
 *   chunks, `[keys, values]` of at most {@link SNAPSHOT_CHUNK_ENTRIES} entries each, operator by operator and
 *   change by change. A standby applies a frame chunk by chunk ({@link SnapshotFrameReader}), a few at a
 *   time between other work, instead of decoding a large delta in one block of the worker's only thread.
 */
import { Packr } from 'msgpackr';
import { checksum64 } from '../../determinants/checksum.js';
import { readU64, writeU64 } from '../../determinants/bytes.js';
import { StateCorruptionError } from '../errors.js';
import type { KeyedDelta, StateDelta } from './backend.js';
import type { StateKey } from './api.js';

/** Snapshot format version this build writes. */
export const SNAPSHOT_VERSION = 2;
/** Keyed entries per chunk of a version-2 frame: decoding one takes well under a millisecond. */
export const SNAPSHOT_CHUNK_ENTRIES = 512;
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

/** First segment of a version-2 payload. */
interface FrameHead {
  /** The snapshot, keyed changes without their keys and values. */
  snapshot: TaskSnapshot;
  /** Per operator, per keyed change: the number of chunk segments that follow for it. */
  chunks: number[][];
}

/** Encodes a snapshot into a checksummed frame (version {@link SNAPSHOT_VERSION}). */
export function encodeSnapshot(snapshot: TaskSnapshot): Uint8Array {
  const segments: Uint8Array[] = [];
  const chunks: number[][] = [];
  const operators = snapshot.operators.map((op, i) => {
    chunks[i] = [];
    if (!op?.keyed) return op;
    const keyed = op.keyed.map((change) => {
      let n = 0;
      for (let from = 0; from < change.keys.length; from += SNAPSHOT_CHUNK_ENTRIES, n++) {
        const to = Math.min(change.keys.length, from + SNAPSHOT_CHUNK_ENTRIES);
        segments.push(packr.pack([change.keys.slice(from, to), change.values.slice(from, to)]));
      }
      chunks[i]!.push(n);
      return { name: change.name, kind: change.kind, keys: [], values: [], removed: change.removed };
    });
    return { ...op, keyed };
  });
  const head: FrameHead = { snapshot: { ...snapshot, operators }, chunks };
  segments.unshift(packr.pack(head));
  let payloadLength = 0;
  for (const segment of segments) payloadLength += 4 + segment.length;
  const out = new Uint8Array(HEADER + payloadLength + 8);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = SNAPSHOT_VERSION;
  view.setUint32(5, payloadLength, true);
  let at = HEADER;
  for (const segment of segments) {
    view.setUint32(at, segment.length, true);
    out.set(segment, at + 4);
    at += 4 + segment.length;
  }
  writeU64(out, at, checksum64(out.subarray(0, at)));
  return out;
}

/** Decodes a whole frame written by {@link encodeSnapshot} (any version), checking length, version and checksum. */
export function decodeSnapshot(frame: Uint8Array): TaskSnapshot {
  const reader = new SnapshotFrameReader(frame);
  const snapshot = reader.head;
  const operators = snapshot.operators.map((op) => (op?.keyed ? { ...op, keyed: op.keyed.map((c) => ({ ...c, keys: [...c.keys], values: [...c.values] })) } : op));
  for (let item = reader.next(); item !== null; item = reader.next()) {
    const change = operators[item.operator]!.keyed![item.change]!;
    for (let i = 0; i < item.keys.length; i++) {
      change.keys.push(item.keys[i]!);
      change.values.push(item.values[i]);
    }
  }
  return { ...snapshot, operators };
}

/** A chunk of keyed entries of one change, as {@link SnapshotFrameReader.next} yields it. */
export interface SnapshotChunk {
  /** Position of the operator in the chain. */
  operator: number;
  /** Index of the change in the operator's `keyed`. */
  change: number;
  /** Keys written. */
  keys: StateKey[];
  /** Their entries, index-aligned. */
  values: unknown[];
}

/**
 * Reads a frame piece by piece: the constructor checks the frame (length, version, checksum) and decodes the
 * head; {@link next} decodes one chunk of keyed entries at a time. The head's keyed changes carry their names,
 * kinds and removed keys, with the keys and values of a version-1 frame, and none of a version-2 frame (those
 * come from {@link next}). Apply a change's removed keys after its last chunk.
 */
export class SnapshotFrameReader {
  /** The snapshot without the keyed entries still to come from {@link next}. */
  readonly head: TaskSnapshot;
  /** Bytes of the frame. */
  readonly bytes: number;
  private readonly view: DataView;
  private readonly end: number;
  private at: number;
  private readonly pending: { operator: number; change: number; chunks: number }[] = [];

  constructor(private readonly frame: Uint8Array) {
    if (frame.length < HEADER + 8) throw new StateCorruptionError(`snapshot frame of ${frame.length} bytes is shorter than its header`);
    for (let i = 0; i < 4; i++) if (frame[i] !== MAGIC[i]) throw new StateCorruptionError('snapshot frame has a bad magic');
    const version = frame[4]!;
    if (version < 1 || version > SNAPSHOT_VERSION) throw new StateCorruptionError(`snapshot version ${version}, this build reads 1 to ${SNAPSHOT_VERSION}`);
    this.view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const length = this.view.getUint32(5, true);
    if (HEADER + length + 8 !== frame.length) throw new StateCorruptionError(`snapshot frame says ${length} payload bytes, holds ${frame.length - HEADER - 8}`);
    if (checksum64(frame.subarray(0, HEADER + length)) !== readU64(frame, HEADER + length)) throw new StateCorruptionError('snapshot checksum mismatch');
    this.bytes = frame.length;
    this.end = HEADER + length;
    this.at = HEADER;
    if (version === 1) {
      this.head = packr.unpack(frame.subarray(HEADER, this.end)) as TaskSnapshot;
      this.at = this.end;
      return;
    }
    const head = this.segment() as FrameHead;
    this.head = head.snapshot;
    head.chunks.forEach((changes, operator) => changes.forEach((chunks, change) => this.pending.push({ operator, change, chunks })));
  }

  /** The next chunk of keyed entries, or null when the frame is read to its end. */
  next(): SnapshotChunk | null {
    while (this.pending.length > 0 && this.pending[0]!.chunks === 0) this.pending.shift();
    const current = this.pending[0];
    if (!current) {
      if (this.at !== this.end) throw new StateCorruptionError(`snapshot frame has ${this.end - this.at} bytes past its last chunk`);
      return null;
    }
    current.chunks--;
    const [keys, values] = this.segment() as [StateKey[], unknown[]];
    if (!Array.isArray(keys) || !Array.isArray(values) || keys.length !== values.length) throw new StateCorruptionError('snapshot chunk is not [keys, values] of one length');
    return { operator: current.operator, change: current.change, keys, values };
  }

  /** One length-prefixed msgpackr value, its length checked against the payload. */
  private segment(): unknown {
    if (this.at + 4 > this.end) throw new StateCorruptionError('snapshot frame ends inside a segment length');
    const length = this.view.getUint32(this.at, true);
    const from = this.at + 4;
    if (from + length > this.end) throw new StateCorruptionError(`snapshot segment of ${length} bytes runs past the payload`);
    this.at = from + length;
    return packr.unpack(this.frame.subarray(from, this.at));
  }
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
