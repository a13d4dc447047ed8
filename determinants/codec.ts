/**
 * Decoding of the epoch byte stream (the encoding side lives in `log.ts`, on the hot path).
 *
 * An epoch's bytes are a sequence of entries, each a tag byte followed by varints (see
 * `docs/determinants.md` for the layout of every kind). Some fields are deltas against the previous
 * entry of the same epoch (clock values, timer timestamps, event positions), so decoding always
 * starts at the first byte of an epoch and walks forward.
 */
import { ByteReader } from './bytes.js';
import { LogCorruptionError } from './errors.js';
import { COMPACT_ORDER_FLAG, Kind, KindRegistry, USER_KIND_MAX, USER_KIND_MIN, kindName } from './kinds.js';

/** A decoded determinant, as shown by `log inspect` and used in tests. Positions are absolute. */
export type Determinant =
  | { kind: 'ORDER'; channel: number; count: number }
  | { kind: 'CLOCK'; millis: number }
  | { kind: 'MONOTONIC_CLOCK'; micros: number }
  | { kind: 'TIMER'; timerId: number; timestamp: number; position: number }
  | { kind: 'RANDOM_SEED'; seed: number }
  | { kind: 'EXTERNAL'; callId: number; payload: Uint8Array }
  | { kind: 'SOURCE_BARRIER'; checkpointId: number; position: number }
  | { kind: 'SOURCE_POLL'; partition: number; count: number }
  | { kind: 'ABORT_CHECKPOINT'; checkpointId: number; position: number }
  | { kind: 'USER'; id: number; name: string; payload: Uint8Array; value?: unknown };

/**
 * Streaming decoder over one epoch's bytes. `next()` decodes one entry into the public fields and
 * allocates nothing (payloads are views into the input).
 */
export class EntryDecoder {
  /** The underlying cursor; `reader.pos` is the offset of the next entry. */
  readonly reader = new ByteReader(new Uint8Array(0));
  /** Tag id of the decoded entry, with the compact order form normalised to {@link Kind.Order}. */
  kind = 0;
  /** Byte offset of the decoded entry within the epoch. */
  offset = 0;
  /** Index of the decoded entry within the epoch (0-based). */
  index = -1;
  /** ORDER: channel. */
  channel = 0;
  /** ORDER, SOURCE_POLL: count. */
  count = 0;
  /** CLOCK: milliseconds; MONOTONIC_CLOCK: microseconds; TIMER: timestamp. */
  time = 0;
  /** TIMER: timer id; EXTERNAL: call id; RANDOM_SEED: seed; user kinds: kind id. */
  id = 0;
  /** TIMER, SOURCE_BARRIER, ABORT_CHECKPOINT: absolute position in the epoch. */
  position = 0;
  /** SOURCE_BARRIER, ABORT_CHECKPOINT: checkpoint id. SOURCE_POLL: partition. */
  checkpointOrPartition = 0;
  /** EXTERNAL and user kinds: payload view. */
  payload: Uint8Array = new Uint8Array(0);

  private prevTime = 0;
  private prevMicros = 0;
  private prevPosition = 0;

  /** Starts decoding an epoch's bytes. `baseOffset` shifts offsets in errors. */
  reset(bytes: Uint8Array, baseOffset = 0): void {
    this.reader.reset(bytes, 0, bytes.length, baseOffset);
    this.prevTime = 0;
    this.prevMicros = 0;
    this.prevPosition = 0;
    this.index = -1;
  }

  /** Whether every byte has been decoded. */
  get done(): boolean {
    return this.reader.pos >= this.reader.end;
  }

  /** Decodes the next entry. Returns false at the end of the bytes. Throws {@link LogCorruptionError} on bad bytes. */
  next(): boolean {
    const r = this.reader;
    if (r.pos >= r.end) return false;
    r.markGood();
    this.offset = r.pos;
    const tag = r.u8();
    if (tag >= COMPACT_ORDER_FLAG) {
      this.kind = Kind.Order;
      this.channel = (tag >> 4) & 0x7;
      this.count = (tag & 0xf) + 1;
    } else {
      this.kind = tag;
      switch (tag) {
        case Kind.Order:
          this.channel = r.varint();
          this.count = r.varint();
          if (this.count === 0) r.fail('ORDER with a count of 0');
          break;
        case Kind.Clock:
          this.time = this.prevTime + r.svarint();
          this.prevTime = this.time;
          break;
        case Kind.MonotonicClock:
          this.time = this.prevMicros + r.svarint();
          this.prevMicros = this.time;
          break;
        case Kind.Timer:
          this.id = r.varint();
          this.time = this.prevTime + r.svarint();
          this.prevTime = this.time;
          this.position = this.prevPosition + r.varint();
          this.prevPosition = this.position;
          break;
        case Kind.RandomSeed:
          this.id = r.varint();
          break;
        case Kind.External:
          this.id = r.varint();
          this.payload = r.bytes(r.varint());
          break;
        case Kind.SourceBarrier:
        case Kind.AbortCheckpoint:
          this.checkpointOrPartition = r.varint();
          this.position = this.prevPosition + r.varint();
          this.prevPosition = this.position;
          break;
        case Kind.SourcePoll:
          this.checkpointOrPartition = r.varint();
          this.count = r.varint();
          break;
        default:
          if (tag >= USER_KIND_MIN && tag <= USER_KIND_MAX) {
            this.id = tag;
            this.payload = r.bytes(r.varint());
          } else {
            r.fail(`unknown determinant tag 0x${tag.toString(16).padStart(2, '0')}`);
          }
      }
    }
    this.index++;
    return true;
  }

  /** Materialises the current entry as a {@link Determinant} (allocates; for tools and tests). */
  toDeterminant(registry?: KindRegistry): Determinant {
    switch (this.kind) {
      case Kind.Order:
        return { kind: 'ORDER', channel: this.channel, count: this.count };
      case Kind.Clock:
        return { kind: 'CLOCK', millis: this.time };
      case Kind.MonotonicClock:
        return { kind: 'MONOTONIC_CLOCK', micros: this.time };
      case Kind.Timer:
        return { kind: 'TIMER', timerId: this.id, timestamp: this.time, position: this.position };
      case Kind.RandomSeed:
        return { kind: 'RANDOM_SEED', seed: this.id };
      case Kind.External:
        return { kind: 'EXTERNAL', callId: this.id, payload: this.payload.slice() };
      case Kind.SourceBarrier:
        return { kind: 'SOURCE_BARRIER', checkpointId: this.checkpointOrPartition, position: this.position };
      case Kind.SourcePoll:
        return { kind: 'SOURCE_POLL', partition: this.checkpointOrPartition, count: this.count };
      case Kind.AbortCheckpoint:
        return { kind: 'ABORT_CHECKPOINT', checkpointId: this.checkpointOrPartition, position: this.position };
      default: {
        const userKind = registry?.get(this.id);
        const payload = this.payload.slice();
        const entry: Determinant = { kind: 'USER', id: this.id, name: kindName(this.id, registry), payload };
        if (userKind) entry.value = userKind.codec.decode(payload);
        return entry;
      }
    }
  }
}

/** Decodes a whole epoch into determinant objects. Throws {@link LogCorruptionError} on bad bytes. */
export function decodeEpoch(bytes: Uint8Array, registry?: KindRegistry): Determinant[] {
  const decoder = new EntryDecoder();
  decoder.reset(bytes);
  const out: Determinant[] = [];
  while (decoder.next()) out.push(decoder.toDeterminant(registry));
  return out;
}

/**
 * Checks that `bytes` decode cleanly as an epoch and returns the offset after the last complete entry.
 * A torn tail yields a smaller value than `bytes.length` instead of an error.
 */
export function validEpochPrefix(bytes: Uint8Array): number {
  const decoder = new EntryDecoder();
  decoder.reset(bytes);
  try {
    while (decoder.next()) {
      /* walk */
    }
    return bytes.length;
  } catch (error) {
    if (error instanceof LogCorruptionError) return error.lastGoodOffset;
    throw error;
  }
}
