/**
 * Decoding of single frames, and of a DATA frame's contents into a {@link Batch}.
 *
 * {@link decodeFrame} checks, in this order and before reading anything else: that the window holds at
 * least a minimal frame, that the length field equals the window, and the checksum. Only then does it
 * look at the type and the header, and it checks that the header's lengths add up to the frame. Any
 * failure is a {@link FrameCorruptionError} and nothing of the frame is returned.
 */
import { Unpackr } from 'msgpackr';
import { readU64 } from '../../../determinants/bytes.js';
import { checksum64 } from '../../../determinants/checksum.js';
import { Batch, ElementType } from '../batch.js';
import { FrameCorruptionError } from './errors.js';
import {
  CHECKSUM_BYTES,
  CREDIT_FRAME_BYTES,
  DATA_HEADER_BYTES,
  FrameType,
  LITTLE_ENDIAN,
  MAX_ID_BYTES,
  MIN_FRAME_BYTES,
  NONCE_BYTES,
  PREFIX_BYTES,
  PROOF_BYTES,
  frameTypeName,
  getF64,
  getU32,
  type DataFrame,
  type Frame,
} from './frame.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes the one frame that fills `buf[start, end)`. `offset` is where the frame starts in the stream,
 * for error messages. Byte views in the result point into `buf`.
 */
export function decodeFrame(buf: Uint8Array, start = 0, end = buf.length, offset = start): Frame {
  const size = end - start;
  if (size < MIN_FRAME_BYTES) throw new FrameCorruptionError(`expected at least ${MIN_FRAME_BYTES} bytes, found ${size}`, offset);
  const length = getU32(buf, start);
  if (length !== size) throw new FrameCorruptionError(`length field says ${length} bytes, the frame holds ${size}`, offset, { length });
  const body = end - CHECKSUM_BYTES;
  const expected = checksum64(buf.subarray(start, body));
  const found = readU64(buf, body);
  if (expected !== found) {
    throw new FrameCorruptionError(`checksum mismatch: computed ${hex64(expected)}, frame carries ${hex64(found)}`, offset, { length });
  }
  const type = buf[start + 4]!;
  const p = start + PREFIX_BYTES;
  const headerEnd = (bytes: number): void => {
    if (size !== PREFIX_BYTES + bytes + CHECKSUM_BYTES) {
      throw new FrameCorruptionError(`${frameTypeName(type)} frame of ${size} bytes: expected ${PREFIX_BYTES + bytes + CHECKSUM_BYTES}`, offset, { type });
    }
  };
  switch (type) {
    case FrameType.Data:
      return decodeData(buf, p, body, offset);
    case FrameType.Credit:
      if (size !== CREDIT_FRAME_BYTES) throw new FrameCorruptionError(`CREDIT frame of ${size} bytes: expected ${CREDIT_FRAME_BYTES}`, offset, { type });
      return { type, channel: getU32(buf, p), incarnation: getU32(buf, p + 4), granted: getU32(buf, p + 8), flags: buf[p + 12]! };
    case FrameType.Control:
      return { type, payload: buf.subarray(p, body) };
    case FrameType.Hello:
    case FrameType.Challenge: {
      if (size < PREFIX_BYTES + 3 + NONCE_BYTES + CHECKSUM_BYTES) throw new FrameCorruptionError(`${frameTypeName(type)} frame of ${size} bytes is shorter than its header`, offset, { type });
      const idLength = buf[p + 2 + NONCE_BYTES]!;
      if (idLength > MAX_ID_BYTES) throw new FrameCorruptionError(`id of ${idLength} bytes: expected at most ${MAX_ID_BYTES}`, offset, { type });
      headerEnd(3 + NONCE_BYTES + idLength);
      return {
        type,
        version: buf[p]! | (buf[p + 1]! << 8),
        nonce: buf.subarray(p + 2, p + 2 + NONCE_BYTES),
        id: text(buf, p + 3 + NONCE_BYTES, body, offset),
      };
    }
    case FrameType.Response:
    case FrameType.Welcome:
      headerEnd(PROOF_BYTES);
      return { type, proof: buf.subarray(p, p + PROOF_BYTES) };
    case FrameType.Refuse:
      if (size < PREFIX_BYTES + 1 + CHECKSUM_BYTES) throw new FrameCorruptionError(`REFUSE frame of ${size} bytes is shorter than its header`, offset, { type });
      return { type, reason: buf[p]!, message: text(buf, p + 1, body, offset) };
    case FrameType.Heartbeat:
      headerEnd(4);
      return { type, sequence: getU32(buf, p) };
    default:
      throw new FrameCorruptionError(`unknown frame type ${type}: expected 1-${FrameType.Heartbeat}`, offset, { type });
  }
}

function decodeData(buf: Uint8Array, p: number, body: number, offset: number): DataFrame {
  const available = body - p;
  if (available < DATA_HEADER_BYTES) throw new FrameCorruptionError(`DATA frame body of ${available} bytes is shorter than its ${DATA_HEADER_BYTES}-byte header`, offset);
  const elementType = buf[p + 8]!;
  if (elementType > ElementType.End) throw new FrameCorruptionError(`element type ${elementType}: expected 0-${ElementType.End}`, offset);
  const seqHigh = getU32(buf, p + 13);
  if (seqHigh >= 0x200000) throw new FrameCorruptionError(`sequence number above 2^53 (high word ${seqHigh})`, offset);
  const count = getU32(buf, p + 17);
  if (elementType !== ElementType.Data && count !== 0) throw new FrameCorruptionError(`control element with ${count} records: expected 0`, offset);
  const envelopeLength = getU32(buf, p + 37);
  const recordsLength = getU32(buf, p + 41);
  const expected = DATA_HEADER_BYTES + envelopeLength + recordsLength + count * 8;
  if (expected !== available) {
    throw new FrameCorruptionError(
      `DATA header says ${envelopeLength} envelope + ${recordsLength} record + ${count * 8} timestamp bytes (${expected} with the header), the frame holds ${available}`,
      offset,
    );
  }
  if ((count === 0) !== (recordsLength === 0)) throw new FrameCorruptionError(`${count} records in ${recordsLength} bytes`, offset);
  const envelopeStart = p + DATA_HEADER_BYTES;
  const recordsStart = envelopeStart + envelopeLength;
  const timestampsStart = recordsStart + recordsLength;
  return {
    type: FrameType.Data,
    channel: getU32(buf, p),
    incarnation: getU32(buf, p + 4),
    elementType: elementType as ElementType,
    seq: getU32(buf, p + 9) + seqHigh * 0x100000000,
    count,
    value: getF64(buf, p + 21),
    ingestTime: getF64(buf, p + 29),
    envelope: buf.subarray(envelopeStart, recordsStart),
    records: buf.subarray(recordsStart, timestampsStart),
    timestamps: buf.subarray(timestampsStart, body),
  };
}

/**
 * Fills `batch` from a DATA frame: records (msgpackr), timestamps, envelope and the header fields.
 * `batch` must be cleared and have room for `frame.count` records. A records payload that is no array of
 * `count` values is a {@link FrameCorruptionError} (the batch is then left cleared).
 */
export class BatchDecoder {
  // copyBuffers: decoded binary values must not alias the reader's buffer, which is reused.
  private readonly unpackr = new Unpackr({ useRecords: true, moreTypes: true, copyBuffers: true });

  /** Decodes `frame` into `batch`; `offset` is the frame's stream offset, for errors. */
  fill(frame: DataFrame, batch: Batch, offset = 0): void {
    const count = frame.count;
    if (count > batch.capacity) throw new FrameCorruptionError(`DATA frame of ${count} records: expected at most the batch capacity ${batch.capacity}`, offset);
    if (count > 0) {
      let records: unknown;
      try {
        records = this.unpackr.unpack(frame.records);
      } catch (error) {
        throw new FrameCorruptionError(`records do not decode: ${error instanceof Error ? error.message : String(error)}`, offset, { channel: frame.channel });
      }
      if (!Array.isArray(records) || records.length !== count) {
        throw new FrameCorruptionError(`records: expected an array of ${count}, found ${Array.isArray(records) ? `an array of ${records.length}` : typeof records}`, offset);
      }
      const target = batch.records;
      for (let i = 0; i < count; i++) target[i] = records[i];
      const ts = batch.timestamps;
      if (LITTLE_ENDIAN) new Uint8Array(ts.buffer, ts.byteOffset, count * 8).set(frame.timestamps);
      else for (let i = 0; i < count; i++) ts[i] = getF64(frame.timestamps, i * 8);
    }
    batch.type = frame.elementType;
    batch.count = count;
    batch.seq = frame.seq;
    batch.value = frame.value;
    batch.ingestTime = frame.ingestTime;
    const envelopeLength = frame.envelope.length;
    batch.envelope.length = 0;
    if (envelopeLength > 0) batch.envelope.append(frame.envelope);
    batch.envelopeLength = envelopeLength;
  }
}

function text(buf: Uint8Array, start: number, end: number, offset: number): string {
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw new FrameCorruptionError('text field is not valid UTF-8', offset);
  }
}

function hex64(value: bigint): string {
  return `0x${value.toString(16).padStart(16, '0')}`;
}
