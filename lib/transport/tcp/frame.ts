/**
 * The frame layout of the TCP transport, the typed frames, and the encoder.
 *
 * Every frame is: total length (u32, the whole frame including this field and the checksum), frame type
 * (u8), a type-specific header, a payload, and an xxhash64 (seed 0) of every byte before it. All integers
 * are little-endian. `docs/transport.md` has the layout of every type byte by byte.
 *
 * The encoder appends frames to a caller's {@link GrowableBytes}, so a connection batches many frames
 * into one socket write and the steady state allocates nothing but msgpackr's output per data batch.
 */
import { Packr } from 'msgpackr';
import { GrowableBytes, writeU64 } from '../../../determinants/bytes.js';
import { checksum64 } from '../../../determinants/checksum.js';
import { InvalidArgumentError } from '../../../determinants/errors.js';
import { ElementType, type Batch } from '../batch.js';

/** Frame types. Append-only: a number is never reused. 0 is never a valid type. */
export const FrameType = {
  /** A {@link Batch} on a channel: records, or one control element. */
  Data: 1,
  /** The consumer of a channel grants the producer more data batches. */
  Credit: 2,
  /** An opaque payload for the RPC layer. */
  Control: 3,
  /** Handshake 1, client to server: protocol version, client nonce, client id. */
  Hello: 4,
  /** Handshake 2, server to client: protocol version, server nonce, server id. */
  Challenge: 5,
  /** Handshake 3, client to server: the client's HMAC proof. */
  Response: 6,
  /** Handshake 4, server to client: accepted, with the server's HMAC proof. */
  Welcome: 7,
  /** Handshake refused, either way: a reason code and a short message. Never carries secret material. */
  Refuse: 8,
  /** Liveness signal; any frame counts as one, this one is sent when there is nothing else to send. */
  Heartbeat: 9,
} as const;
/** One of {@link FrameType}. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Name of a frame type, for messages. */
export function frameTypeName(type: number): string {
  return ['?', 'DATA', 'CREDIT', 'CONTROL', 'HELLO', 'CHALLENGE', 'RESPONSE', 'WELCOME', 'REFUSE', 'HEARTBEAT'][type] ?? `type ${type}`;
}

/** Bytes before the header: total length (4) and type (1). */
export const PREFIX_BYTES = 5;
/** Bytes of the trailing checksum. */
export const CHECKSUM_BYTES = 8;
/** The shortest possible frame: prefix and checksum, no header. */
export const MIN_FRAME_BYTES = PREFIX_BYTES + CHECKSUM_BYTES;
/** Bytes of the DATA header after the prefix, up to the envelope. */
export const DATA_HEADER_BYTES = 45;
/** Total size of a CREDIT frame. */
export const CREDIT_FRAME_BYTES = PREFIX_BYTES + 13 + CHECKSUM_BYTES;
/** Bytes of a handshake nonce (CHALLENGE and HELLO). */
export const NONCE_BYTES = 32;
/** Bytes of an HMAC-SHA256 proof (RESPONSE and WELCOME). */
export const PROOF_BYTES = 32;
/** Longest worker id, in UTF-8 bytes. */
export const MAX_ID_BYTES = 255;
/** Default largest frame a reader accepts (64 MiB). */
export const DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024;

/** Flags of a CREDIT frame. */
export const CreditFlags = {
  /** The consumer replays recorded determinants: a replaying producer may exceed the credit. */
  ConsumerReplaying: 1,
  /** The consumer end was closed: the producer drops what it sends (it lives on in its in-flight log). */
  Closed: 2,
} as const;

/** Reason codes of a REFUSE frame. */
export const RefuseReason = {
  /** Authentication failed. */
  Auth: 1,
  /** Protocol version mismatch. */
  Version: 2,
  /** Unexpected frame or bytes. */
  Protocol: 3,
  /** Wrong peer id. */
  Peer: 4,
  /** Handshake timed out. */
  Timeout: 5,
} as const;

/** A decoded DATA frame. Its byte views point into the reader's buffer: valid until the reader's next call. */
export interface DataFrame {
  /** {@link FrameType.Data}. */
  type: typeof FrameType.Data;
  /** Channel index in the job's physical plan. */
  channel: number;
  /** Channel incarnation: a new one each time recovery rewires the channel. */
  incarnation: number;
  /** What the batch carries. */
  elementType: ElementType;
  /** Sequence number of the first element (I8). */
  seq: number;
  /** Records in the batch (0 for a control element). */
  count: number;
  /** Barrier: checkpoint id. Watermark: timestamp. */
  value: number;
  /** Ingest time of the oldest input behind the batch (producer's job clock, ms). */
  ingestTime: number;
  /** Determinant envelope bytes (empty when the batch carries none). */
  envelope: Uint8Array;
  /** The records, as one msgpackr-encoded array (empty for a control element). */
  records: Uint8Array;
  /** `count` little-endian f64 event timestamps. */
  timestamps: Uint8Array;
}

/** A decoded CREDIT frame. */
export interface CreditFrame {
  /** {@link FrameType.Credit}. */
  type: typeof FrameType.Credit;
  /** Channel index. */
  channel: number;
  /** Channel incarnation the credit is for. */
  incarnation: number;
  /** Data batches granted (0 when the frame only carries flags). */
  granted: number;
  /** {@link CreditFlags} bits. */
  flags: number;
}

/** A decoded CONTROL frame. */
export interface ControlFrame {
  /** {@link FrameType.Control}. */
  type: typeof FrameType.Control;
  /** The opaque payload (a view; copy it to keep it). */
  payload: Uint8Array;
}

/** A decoded HELLO or CHALLENGE frame. */
export interface GreetingFrame {
  /** {@link FrameType.Hello} or {@link FrameType.Challenge}. */
  type: typeof FrameType.Hello | typeof FrameType.Challenge;
  /** Protocol version the sender speaks. */
  version: number;
  /** The sender's random nonce. */
  nonce: Uint8Array;
  /** The sender's worker id. */
  id: string;
}

/** A decoded RESPONSE or WELCOME frame. */
export interface ProofFrame {
  /** {@link FrameType.Response} or {@link FrameType.Welcome}. */
  type: typeof FrameType.Response | typeof FrameType.Welcome;
  /** HMAC-SHA256 proof of the shared secret. */
  proof: Uint8Array;
}

/** A decoded REFUSE frame. */
export interface RefuseFrame {
  /** {@link FrameType.Refuse}. */
  type: typeof FrameType.Refuse;
  /** One of {@link RefuseReason}. */
  reason: number;
  /** A short human-readable reason. */
  message: string;
}

/** A decoded HEARTBEAT frame. */
export interface HeartbeatFrame {
  /** {@link FrameType.Heartbeat}. */
  type: typeof FrameType.Heartbeat;
  /** The sender's heartbeat counter (for logs only). */
  sequence: number;
}

/** Any decoded frame; switch on `type`. */
export type Frame = DataFrame | CreditFrame | ControlFrame | GreetingFrame | ProofFrame | RefuseFrame | HeartbeatFrame;

const f64Scratch = new Float64Array(1);
const f64Bytes = new Uint8Array(f64Scratch.buffer);
/** Whether this platform stores typed arrays little-endian (timestamps are then copied as bytes). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes a little-endian u32. */
export function putU32(buf: Uint8Array, pos: number, value: number): void {
  buf[pos] = value;
  buf[pos + 1] = value >>> 8;
  buf[pos + 2] = value >>> 16;
  buf[pos + 3] = value >>> 24;
}

/** Reads a little-endian u32. */
export function getU32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16)) + buf[pos + 3]! * 0x1000000;
}

/** Writes a little-endian f64. */
export function putF64(buf: Uint8Array, pos: number, value: number): void {
  f64Scratch[0] = value;
  if (LITTLE_ENDIAN) buf.set(f64Bytes, pos);
  else for (let i = 0; i < 8; i++) buf[pos + i] = f64Bytes[7 - i]!;
}

/** Reads a little-endian f64. */
export function getF64(buf: Uint8Array, pos: number): number {
  for (let i = 0; i < 8; i++) f64Bytes[LITTLE_ENDIAN ? i : 7 - i] = buf[pos + i]!;
  return f64Scratch[0]!;
}

const utf8 = new TextEncoder();

/**
 * Encodes frames by appending them to a {@link GrowableBytes}. One encoder per connection: it owns a
 * msgpackr `Packr` (records, `useRecords: true`, no shared structures, so every frame decodes on its own).
 * Each method returns the encoded frame's length.
 */
export class FrameEncoder {
  private readonly packr = new Packr({ useRecords: true, moreTypes: true });

  /** Appends a DATA frame carrying `batch` on channel `channel`, incarnation `incarnation`. */
  data(out: GrowableBytes, channel: number, incarnation: number, batch: Batch): number {
    const count = batch.type === ElementType.Data ? batch.count : 0;
    if (!Number.isSafeInteger(batch.seq) || batch.seq < 0) throw new InvalidArgumentError('batch.seq', 'a non-negative safe integer', batch.seq);
    if (channel >>> 0 !== channel) throw new InvalidArgumentError('channel', 'an integer in 0..2^32-1', channel);
    if (incarnation >>> 0 !== incarnation) throw new InvalidArgumentError('incarnation', 'an integer in 0..2^32-1', incarnation);
    let packed: Uint8Array | null = null;
    if (count > 0) {
      // One pack per batch; a slice only when the batch is not full (the stale tail must not be sent).
      const records = count === batch.records.length ? batch.records : batch.records.slice(0, count);
      packed = this.packr.pack(records);
    }
    const envelopeLength = batch.envelopeLength;
    const recordsLength = packed === null ? 0 : packed.length;
    const total = PREFIX_BYTES + DATA_HEADER_BYTES + envelopeLength + recordsLength + count * 8 + CHECKSUM_BYTES;
    const start = begin(out, total, FrameType.Data);
    const buf = out.buf;
    let pos = start + PREFIX_BYTES;
    putU32(buf, pos, channel);
    putU32(buf, pos + 4, incarnation);
    buf[pos + 8] = batch.type;
    putU32(buf, pos + 9, batch.seq % 0x100000000);
    putU32(buf, pos + 13, Math.floor(batch.seq / 0x100000000));
    putU32(buf, pos + 17, count);
    putF64(buf, pos + 21, batch.value);
    putF64(buf, pos + 29, batch.ingestTime);
    putU32(buf, pos + 37, envelopeLength);
    putU32(buf, pos + 41, recordsLength);
    pos += DATA_HEADER_BYTES;
    if (envelopeLength > 0) {
      buf.set(batch.envelope.view(0, envelopeLength), pos);
      pos += envelopeLength;
    }
    if (packed !== null) {
      buf.set(packed, pos);
      pos += recordsLength;
    }
    if (count > 0) {
      const ts = batch.timestamps;
      if (LITTLE_ENDIAN) buf.set(new Uint8Array(ts.buffer, ts.byteOffset, count * 8), pos);
      else for (let i = 0; i < count; i++) putF64(buf, pos + i * 8, ts[i]!);
    }
    return seal(out, start, total);
  }

  /** Appends a CREDIT frame. */
  credit(out: GrowableBytes, channel: number, incarnation: number, granted: number, flags = 0): number {
    const start = begin(out, CREDIT_FRAME_BYTES, FrameType.Credit);
    const buf = out.buf;
    putU32(buf, start + 5, channel);
    putU32(buf, start + 9, incarnation);
    putU32(buf, start + 13, granted);
    buf[start + 17] = flags;
    return seal(out, start, CREDIT_FRAME_BYTES);
  }

  /** Appends a CONTROL frame around `payload`. */
  control(out: GrowableBytes, payload: Uint8Array): number {
    const total = PREFIX_BYTES + payload.length + CHECKSUM_BYTES;
    const start = begin(out, total, FrameType.Control);
    out.buf.set(payload, start + PREFIX_BYTES);
    return seal(out, start, total);
  }

  /** Appends a HELLO or CHALLENGE frame. */
  greeting(out: GrowableBytes, type: GreetingFrame['type'], version: number, nonce: Uint8Array, id: string): number {
    const idBytes = utf8.encode(id);
    if (idBytes.length > MAX_ID_BYTES) throw new InvalidArgumentError('id', `at most ${MAX_ID_BYTES} UTF-8 bytes`, id);
    if (nonce.length !== NONCE_BYTES) throw new InvalidArgumentError('nonce', `${NONCE_BYTES} bytes`, nonce.length);
    const total = PREFIX_BYTES + 2 + NONCE_BYTES + 1 + idBytes.length + CHECKSUM_BYTES;
    const start = begin(out, total, type);
    const buf = out.buf;
    buf[start + 5] = version & 0xff;
    buf[start + 6] = version >>> 8;
    buf.set(nonce, start + 7);
    buf[start + 7 + NONCE_BYTES] = idBytes.length;
    buf.set(idBytes, start + 8 + NONCE_BYTES);
    return seal(out, start, total);
  }

  /** Appends a RESPONSE or WELCOME frame. */
  proof(out: GrowableBytes, type: ProofFrame['type'], proof: Uint8Array): number {
    if (proof.length !== PROOF_BYTES) throw new InvalidArgumentError('proof', `${PROOF_BYTES} bytes`, proof.length);
    const total = PREFIX_BYTES + PROOF_BYTES + CHECKSUM_BYTES;
    const start = begin(out, total, type);
    out.buf.set(proof, start + PREFIX_BYTES);
    return seal(out, start, total);
  }

  /** Appends a REFUSE frame. */
  refuse(out: GrowableBytes, reason: number, message: string): number {
    const text = utf8.encode(message.slice(0, 200));
    const total = PREFIX_BYTES + 1 + text.length + CHECKSUM_BYTES;
    const start = begin(out, total, FrameType.Refuse);
    out.buf[start + 5] = reason;
    out.buf.set(text, start + 6);
    return seal(out, start, total);
  }

  /** Appends a HEARTBEAT frame. */
  heartbeat(out: GrowableBytes, sequence: number): number {
    const total = PREFIX_BYTES + 4 + CHECKSUM_BYTES;
    const start = begin(out, total, FrameType.Heartbeat);
    putU32(out.buf, start + 5, sequence >>> 0);
    return seal(out, start, total);
  }
}

/** Reserves `total` bytes at the end of `out` and writes the prefix; returns the frame's start. */
function begin(out: GrowableBytes, total: number, type: FrameType): number {
  if (total > 0xffffffff) throw new InvalidArgumentError('frame length', 'at most 2^32 - 1 bytes', total);
  out.ensure(total);
  const start = out.length;
  putU32(out.buf, start, total);
  out.buf[start + 4] = type;
  return start;
}

/** Writes the checksum of the frame at `start` and commits it to `out`. */
function seal(out: GrowableBytes, start: number, total: number): number {
  const end = start + total - CHECKSUM_BYTES;
  writeU64(out.buf, end, checksum64(out.buf.subarray(start, end)));
  out.length = start + total;
  return total;
}
