/**
 * The determinant envelope: the bytes attached to an outgoing batch, carrying for each log the slice
 * its consumer has not received yet.
 *
 * Layout (all varints unsigned LEB128):
 *
 * ```
 * u8   version (ENVELOPE_VERSION)
 * u16  slice count, little-endian
 * per slice:
 *   varint taskId   varint epoch   varint offset   varint length   u8 hops
 *   length bytes
 * u64  xxhash64 of every byte before it, little-endian
 * ```
 */
import { ByteReader, GrowableBytes, MAX_VARINT_BYTES, readU64, writeU64, writeVarint } from './bytes.js';
import { checksum64 } from './checksum.js';
import { LogCorruptionError, UnsupportedVersionError } from './errors.js';

/** Format version written in the first byte of every envelope. */
export const ENVELOPE_VERSION = 1;
const HEADER_BYTES = 3;
const CHECKSUM_BYTES = 8;
const MAX_SLICES = 0xffff;

/** One slice of an envelope. */
export interface EnvelopeSlice {
  /** Task whose log this is. */
  taskId: number;
  /** Epoch the bytes belong to. */
  epoch: number;
  /** Offset of the first byte within the epoch. */
  offset: number;
  /** Hops the bytes have travelled on arrival: 1 for the producer's own log. */
  hops: number;
  /** The log bytes. */
  bytes: Uint8Array;
}

/** Receives the slices of an envelope as {@link readEnvelope} walks it; `bytes` is a view, valid during the call. */
export type SliceVisitor = (taskId: number, epoch: number, offset: number, hops: number, bytes: Uint8Array) => void;

/**
 * Writes one envelope into a {@link GrowableBytes}, after whatever it already holds. Reusable:
 * `begin`, any number of `slice`, then `finish`.
 */
export class EnvelopeWriter {
  private out: GrowableBytes | null = null;
  private start = 0;
  private count = 0;

  /** Starts an envelope at `out.length`. */
  begin(out: GrowableBytes): void {
    this.out = out;
    this.start = out.length;
    this.count = 0;
    out.ensure(HEADER_BYTES);
    out.buf[out.length] = ENVELOPE_VERSION;
    out.length += HEADER_BYTES;
  }

  /** Adds a slice of `bytes[from, to)` of a log. */
  slice(taskId: number, epoch: number, offset: number, hops: number, bytes: Uint8Array, from = 0, to = bytes.length): void {
    const out = this.out!;
    if (this.count === MAX_SLICES) throw new RangeError(`an envelope holds at most ${MAX_SLICES} slices`);
    const length = to - from;
    out.ensure(4 * MAX_VARINT_BYTES + 1 + length);
    const buf = out.buf;
    let pos = writeVarint(buf, out.length, taskId);
    pos = writeVarint(buf, pos, epoch);
    pos = writeVarint(buf, pos, offset);
    pos = writeVarint(buf, pos, length);
    buf[pos++] = hops;
    if (length > 0) buf.set(from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to), pos);
    out.length = pos + length;
    this.count++;
  }

  /** Number of slices written since `begin`. */
  get slices(): number {
    return this.count;
  }

  /**
   * Seals the envelope; returns its total length. With no slices, writes nothing and returns 0.
   *
   * `checksum: false` writes eight zero bytes where the checksum goes, for an envelope whose bytes never
   * leave the process on their own: one a batch carries to a task of the same process, or inside a frame
   * that is checksummed as a whole. Such an envelope must be read with `verify: false`; one that is
   * persisted or sent by itself keeps its checksum (I7).
   */
  finish(checksum = true): number {
    const out = this.out!;
    this.out = null;
    if (this.count === 0) {
      out.length = this.start;
      return 0;
    }
    out.buf[this.start + 1] = this.count & 0xff;
    out.buf[this.start + 2] = this.count >>> 8;
    out.ensure(CHECKSUM_BYTES);
    if (checksum) out.length = writeU64(out.buf, out.length, checksum64(out.buf.subarray(this.start, out.length)));
    else {
      out.buf.fill(0, out.length, out.length + CHECKSUM_BYTES);
      out.length += CHECKSUM_BYTES;
    }
    return out.length - this.start;
  }
}

/** Slice metadata of the envelope being read: taskId, epoch, offset, start, length, hops per slice. */
const FIELDS = 6;
let sliceTable = new Int32Array(64 * FIELDS);
/** Slice header fields are kept in 31 bits so that they stay small integers on the hot path. */
const MAX_FIELD = 0x7fffffff;
let reading = false;
const scratchReader = new ByteReader(new Uint8Array(0));

/**
 * Verifies an envelope (length, version, checksum) and hands each slice to `visit`.
 * Throws {@link LogCorruptionError} or {@link UnsupportedVersionError}; nothing is visited then.
 * Returns the number of slices.
 *
 * `verify: false` skips the checksum only (every length is still checked), for bytes that never left the
 * process or arrived inside a frame whose own checksum was verified (see {@link EnvelopeWriter.finish}).
 */
export function readEnvelope(envelope: Uint8Array, visit: SliceVisitor, verify = true): number {
  const total = envelope.length;
  if (total < HEADER_BYTES + CHECKSUM_BYTES) throw new LogCorruptionError(`envelope of ${total} bytes is shorter than its header and checksum`, 0);
  if (envelope[0] !== ENVELOPE_VERSION) throw new UnsupportedVersionError('determinant envelope', envelope[0]!, ENVELOPE_VERSION);
  const bodyEnd = total - CHECKSUM_BYTES;
  if (verify && checksum64(envelope.subarray(0, bodyEnd)) !== readU64(envelope, bodyEnd)) throw new LogCorruptionError('envelope checksum mismatch', 0);
  const count = envelope[1]! | (envelope[2]! << 8);
  // Validate every length before any slice is handed out: a bad envelope is all or nothing.
  // The table is shared; a visitor that reads another envelope gets a private one.
  const nested = reading;
  const table = nested ? new Int32Array(count * FIELDS) : count * FIELDS > sliceTable.length ? (sliceTable = new Int32Array(count * FIELDS * 2)) : sliceTable;
  const reader = nested ? new ByteReader(envelope, HEADER_BYTES, bodyEnd) : scratchReader;
  if (!nested) reader.reset(envelope, HEADER_BYTES, bodyEnd);
  for (let i = 0, t = 0; i < count; i++, t += FIELDS) {
    const taskId = reader.varint();
    const epoch = reader.varint();
    const offset = reader.varint();
    const length = reader.varint();
    table[t + 5] = reader.u8();
    if (taskId > MAX_FIELD || epoch > MAX_FIELD || offset > MAX_FIELD) reader.fail('slice header field out of range');
    if (length > reader.end - reader.pos) reader.fail(`slice of ${length} bytes overruns the envelope`);
    table[t] = taskId;
    table[t + 1] = epoch;
    table[t + 2] = offset;
    table[t + 3] = reader.pos;
    table[t + 4] = length;
    reader.pos += length;
    reader.markGood();
  }
  if (reader.remaining !== 0) reader.fail(`${reader.remaining} trailing bytes after ${count} slices`);
  reading = true;
  try {
    for (let i = 0, t = 0; i < count; i++, t += FIELDS) {
      const start = table[t + 3]!;
      visit(table[t]!, table[t + 1]!, table[t + 2]!, table[t + 5]!, envelope.subarray(start, start + table[t + 4]!));
    }
  } finally {
    reading = nested;
  }
  return count;
}

/** Decodes an envelope into slice objects (copies the bytes; for tools and tests). */
export function decodeEnvelope(envelope: Uint8Array): EnvelopeSlice[] {
  const slices: EnvelopeSlice[] = [];
  readEnvelope(envelope, (taskId, epoch, offset, hops, bytes) => slices.push({ taskId, epoch, offset, hops, bytes: bytes.slice() }));
  return slices;
}

/** Encodes slices into a new envelope (allocates; for tools and tests). Returns an empty array for no slices. */
export function encodeEnvelope(slices: readonly EnvelopeSlice[]): Uint8Array {
  const out = new GrowableBytes(64);
  const writer = new EnvelopeWriter();
  writer.begin(out);
  for (const s of slices) writer.slice(s.taskId, s.epoch, s.offset, s.hops, s.bytes);
  writer.finish();
  return out.view().slice();
}
