/**
 * Persisted segments and the log file format.
 *
 * A segment is a checksummed slice of one epoch of one task's log, as written to disk:
 *
 * ```
 * 'C' 'F' 'S' 'G'   magic
 * u8                SEGMENT_VERSION
 * varint taskId   varint epoch   varint offset   varint length
 * length bytes
 * u64               xxhash64 of every byte before it, little-endian
 * ```
 *
 * A log file is a header (`'C' 'F' 'D' 'L'`, u8 LOG_FILE_VERSION) followed by segments back to back.
 */
import { ByteReader, GrowableBytes, MAX_VARINT_BYTES, writeU64, writeVarint } from './bytes.js';
import { checksum64 } from './checksum.js';
import { LogCorruptionError, UnsupportedVersionError } from './errors.js';
import type { EpochSegment } from './replica.js';

/** Format version of persisted segments. */
export const SEGMENT_VERSION = 1;
/** Format version of log files. */
export const LOG_FILE_VERSION = 1;
const SEGMENT_MAGIC = [0x43, 0x46, 0x53, 0x47]; // "CFSG"
const FILE_MAGIC = [0x43, 0x46, 0x44, 0x4c]; // "CFDL"
/** Bytes of the log file header. */
export const LOG_FILE_HEADER_BYTES = 5;

/** A decoded segment. */
export interface PersistedSegment {
  /** Task whose log this is. */
  taskId: number;
  /** Epoch of the bytes. */
  epoch: number;
  /** Offset of the first byte within the epoch. */
  offset: number;
  /** The log bytes. */
  bytes: Uint8Array;
}

/** Appends one encoded segment to `out`. */
export function writeSegment(out: GrowableBytes, taskId: number, epoch: number, offset: number, bytes: Uint8Array): void {
  const start = out.length;
  out.ensure(5 + 4 * MAX_VARINT_BYTES + bytes.length + 8);
  const buf = out.buf;
  let pos = start;
  for (const b of SEGMENT_MAGIC) buf[pos++] = b;
  buf[pos++] = SEGMENT_VERSION;
  pos = writeVarint(buf, pos, taskId);
  pos = writeVarint(buf, pos, epoch);
  pos = writeVarint(buf, pos, offset);
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  pos += bytes.length;
  out.length = writeU64(buf, pos, checksum64(buf.subarray(start, pos)));
}

/** Encodes one segment into a new array. */
export function encodeSegment(taskId: number, epoch: number, offset: number, bytes: Uint8Array): Uint8Array {
  const out = new GrowableBytes(bytes.length + 48);
  writeSegment(out, taskId, epoch, offset, bytes);
  return out.view().slice();
}

/**
 * Reads the segment at `reader.pos`, verifying magic, version, lengths and checksum. Leaves the
 * reader after it. Throws {@link LogCorruptionError} (with the offset of the segment's start as the
 * last good offset) or {@link UnsupportedVersionError}.
 */
export function readSegment(reader: ByteReader): PersistedSegment {
  reader.markGood();
  const start = reader.pos;
  for (const b of SEGMENT_MAGIC) if (reader.u8() !== b) reader.fail('bad segment magic');
  const version = reader.u8();
  if (version !== SEGMENT_VERSION) throw new UnsupportedVersionError('determinant segment', version, SEGMENT_VERSION);
  const taskId = reader.varint();
  const epoch = reader.varint();
  const offset = reader.varint();
  const length = reader.varint();
  const bytes = reader.bytes(length);
  const end = reader.pos;
  const sum = reader.u64();
  if (checksum64(reader.buf.subarray(start, end)) !== sum) reader.fail(`segment checksum mismatch (task ${taskId}, epoch ${epoch}, offset ${offset})`);
  reader.markGood();
  return { taskId, epoch, offset, bytes };
}

/** Decodes one stand-alone encoded segment. */
export function decodeSegment(encoded: Uint8Array): PersistedSegment {
  const reader = new ByteReader(encoded);
  const segment = readSegment(reader);
  if (reader.remaining !== 0) reader.fail(`${reader.remaining} trailing bytes after a segment`);
  return segment;
}

/** Encodes a whole log file from segments. */
export function encodeLogFile(segments: readonly PersistedSegment[]): Uint8Array {
  const out = new GrowableBytes(256);
  out.ensure(LOG_FILE_HEADER_BYTES);
  for (let i = 0; i < 4; i++) out.buf[i] = FILE_MAGIC[i]!;
  out.buf[4] = LOG_FILE_VERSION;
  out.length = LOG_FILE_HEADER_BYTES;
  for (const s of segments) writeSegment(out, s.taskId, s.epoch, s.offset, s.bytes);
  return out.view().slice();
}

/** Whether `bytes` start like a log file. */
export function isLogFile(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && FILE_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Decodes a log file. A torn or corrupt segment throws {@link LogCorruptionError} whose
 * `lastGoodOffset` is the file offset after the last intact segment.
 */
export function decodeLogFile(file: Uint8Array): PersistedSegment[] {
  const reader = new ByteReader(file);
  for (const b of FILE_MAGIC) if (reader.u8() !== b) reader.fail('not a causalflow log file (bad magic)');
  const version = reader.u8();
  if (version !== LOG_FILE_VERSION) throw new UnsupportedVersionError('determinant log file', version, LOG_FILE_VERSION);
  const segments: PersistedSegment[] = [];
  while (reader.remaining > 0) segments.push(readSegment(reader));
  return segments;
}

/**
 * Joins segments of one task into whole epochs, checking that each epoch's segments are contiguous
 * from offset 0. Throws {@link LogCorruptionError} on a hole or overlap.
 */
export function joinSegments(segments: readonly PersistedSegment[]): EpochSegment[] {
  const byEpoch = new Map<number, GrowableBytes>();
  for (const s of segments) {
    let epoch = byEpoch.get(s.epoch);
    if (!epoch) {
      epoch = new GrowableBytes(s.bytes.length + 16);
      byEpoch.set(s.epoch, epoch);
    }
    if (s.offset !== epoch.length) {
      throw new LogCorruptionError(`task ${s.taskId} epoch ${s.epoch}: segment at offset ${s.offset}, expected ${epoch.length}`, epoch.length);
    }
    epoch.append(s.bytes);
  }
  return [...byEpoch.entries()].sort((a, b) => a[0] - b[0]).map(([epoch, bytes]) => ({ epoch, bytes: bytes.view().slice() }));
}
