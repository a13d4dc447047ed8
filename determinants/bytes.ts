/**
 * Varint encoding and a bounds-checked byte reader.
 *
 * Varints are unsigned LEB128 over the safe-integer range (up to 2^53 - 1); signed values go
 * through zigzag first. Writers take the buffer and a position and return the new position, so
 * hot paths keep both in locals and never allocate. The reader checks every byte against the end
 * of its window and reports a torn input as {@link LogCorruptionError} with the last good offset.
 */
import { LogCorruptionError } from './errors.js';

/** Largest number of bytes one varint takes (2^53 needs 8; one spare for safety). */
export const MAX_VARINT_BYTES = 9;

/** Writes `value` (a non-negative safe integer) at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  // Above 2^31 the bitwise operators would wrap, so divide instead; dividing by 128 is exact here.
  while (value > 0x7fffffff) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}

/** Number of bytes {@link writeVarint} uses for `value`. */
export function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Maps a signed safe integer to an unsigned one so that small magnitudes stay small. */
export function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** Inverse of {@link zigzag}. */
export function unzigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}

const u64Scratch = new BigUint64Array(1);
const u64Bytes = new Uint8Array(u64Scratch.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes a 64-bit unsigned little-endian integer given as a bigint. */
export function writeU64(buf: Uint8Array, pos: number, value: bigint): number {
  u64Scratch[0] = value;
  if (littleEndian) buf.set(u64Bytes, pos);
  else for (let i = 0; i < 8; i++) buf[pos + i] = u64Bytes[7 - i]!;
  return pos + 8;
}

/** Reads a 64-bit unsigned little-endian integer as a bigint. */
export function readU64(buf: Uint8Array, pos: number): bigint {
  for (let i = 0; i < 8; i++) u64Bytes[littleEndian ? i : 7 - i] = buf[pos + i]!;
  return u64Scratch[0]!;
}

/**
 * A cursor over a window of a byte array. Every read checks the window's end; a read past it throws
 * {@link LogCorruptionError} carrying `lastGood`, the position after the last complete item the
 * caller marked with {@link ByteReader.markGood}.
 */
export class ByteReader {
  /** The bytes being read. */
  buf: Uint8Array;
  /** Next byte to read. */
  pos: number;
  /** End of the readable window (exclusive). */
  end: number;
  /** Position after the last complete item, reported on corruption. */
  lastGood: number;
  /** Added to offsets in error messages, so they refer to the enclosing file or envelope. */
  baseOffset: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length, baseOffset = 0) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.lastGood = start;
    this.baseOffset = baseOffset;
  }

  /** Points the reader at a new window without allocating. */
  reset(buf: Uint8Array, start = 0, end = buf.length, baseOffset = 0): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.lastGood = start;
    this.baseOffset = baseOffset;
  }

  /** Bytes left in the window. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Records that everything before the current position is a complete item. */
  markGood(): void {
    this.lastGood = this.pos;
  }

  /** Throws a corruption error at the current item. */
  fail(what: string): never {
    throw new LogCorruptionError(what, this.baseOffset + this.lastGood, { at: this.baseOffset + this.pos });
  }

  /** Reads one byte. */
  u8(): number {
    if (this.pos >= this.end) this.fail('truncated input: expected 1 more byte');
    return this.buf[this.pos++]!;
  }

  /** Reads an unsigned varint. */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    if (pos >= end) this.fail('truncated varint');
    let byte = buf[pos++]!;
    if (byte < 0x80) {
      this.pos = pos;
      return byte;
    }
    let value = byte & 0x7f;
    let scale = 128;
    for (let i = 1; i < MAX_VARINT_BYTES; i++) {
      if (pos >= end) {
        this.pos = pos;
        this.fail('truncated varint');
      }
      byte = buf[pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        this.pos = pos;
        if (value > Number.MAX_SAFE_INTEGER) this.fail('varint exceeds the safe-integer range');
        return value;
      }
      scale *= 128;
    }
    this.pos = pos;
    return this.fail('varint longer than 9 bytes');
  }

  /** Reads a zigzag-encoded signed varint. */
  svarint(): number {
    return unzigzag(this.varint());
  }

  /** Returns a view of the next `length` bytes (no copy). */
  bytes(length: number): Uint8Array {
    if (length > this.end - this.pos) this.fail(`truncated input: expected ${length} bytes, ${this.end - this.pos} left`);
    const view = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }

  /** Reads a 64-bit little-endian unsigned integer. */
  u64(): bigint {
    if (this.end - this.pos < 8) this.fail('truncated input: expected an 8-byte checksum');
    const value = readU64(this.buf, this.pos);
    this.pos += 8;
    return value;
  }
}

/** A byte array that grows by doubling; `length` bytes of it are in use. */
export class GrowableBytes {
  /** Backing storage; replaced when it grows. Bytes past `length` are unspecified. */
  buf: Uint8Array;
  /** Bytes in use. */
  length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Makes room for `extra` more bytes past `length`. */
  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let capacity = this.buf.length * 2;
    while (capacity < need) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** Appends bytes. */
  append(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Forgets the contents, keeping the capacity for reuse. */
  clear(): void {
    this.length = 0;
  }

  /** A view of the bytes in use (valid until the next growth). */
  view(start = 0, end = this.length): Uint8Array {
    return this.buf.subarray(start, end);
  }
}

/**
 * Keeps the buffers of truncated epochs for the next epochs, so a steady stream of checkpoints does not
 * allocate (and zero-fill) fresh arrays every epoch. Holds at most `maxBuffers` buffers.
 */
export class BufferPool {
  private readonly free: GrowableBytes[] = [];

  constructor(private readonly maxBuffers = 4) {}

  /** A cleared buffer: a recycled one if available, else a new one of `initialCapacity`. */
  take(initialCapacity: number): GrowableBytes {
    const recycled = this.free.pop();
    if (recycled) {
      recycled.clear();
      return recycled;
    }
    return new GrowableBytes(initialCapacity);
  }

  /** Returns a buffer nobody reads any more. */
  give(buffer: GrowableBytes): void {
    if (this.free.length < this.maxBuffers) this.free.push(buffer);
  }
}
