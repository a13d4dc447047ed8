/**
 * A streaming frame reader: socket chunks of any size in, whole checked frames out.
 *
 * Pull-style: {@link FrameReader.push} hands over a chunk, {@link FrameReader.next} returns frames until
 * it returns `undefined`. A frame that lies wholly inside a chunk is decoded in place (no copy); only a
 * frame that straddles chunks is copied, once, into a reused buffer. So each byte is copied at most once
 * and a steady stream allocates no buffers. The length field is checked against `maxFrameSize` as soon as
 * its four bytes are in, before anything of the frame is buffered.
 *
 * The first corruption is sticky: every later call throws the same {@link FrameCorruptionError}.
 */
import { GrowableBytes } from '../../../determinants/bytes.js';
import { FrameCorruptionError } from './errors.js';
import { decodeFrame } from './frame-decode.js';
import { DEFAULT_MAX_FRAME_SIZE, MIN_FRAME_BYTES, getU32, type Frame } from './frame.js';

/** Options of a {@link FrameReader}. */
export interface FrameReaderOptions {
  /** Largest frame accepted, in bytes (default 64 MiB). A longer length field is corruption. */
  maxFrameSize?: number;
}

const EMPTY = new Uint8Array(0);

/** Reads frames from a stream of chunks. */
export class FrameReader {
  /** Largest frame accepted; may be raised after the handshake. */
  maxFrameSize: number;
  /** Stream offset of the next frame's first byte (bytes consumed so far). */
  offset = 0;
  /** Frames returned so far. */
  frames = 0;
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  /** The start of a frame that straddles chunks. */
  private readonly partial = new GrowableBytes(256);
  private failure: FrameCorruptionError | null = null;

  constructor(options: FrameReaderOptions = {}) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  /**
   * Hands over the next chunk. The reader keeps a reference to it (socket chunks are never reused by
   * Node); call {@link next} until it returns `undefined` before the next push. Bytes left unread from an
   * earlier chunk are kept, in order.
   */
  push(chunk: Uint8Array): void {
    if (this.failure !== null) throw this.failure;
    const rest = this.chunk.length - this.pos;
    if (rest > 0) {
      // Frames were left unread (the handshake stops after its last frame). The partial buffer is empty
      // here: it only fills when the chunk is used up. Joining costs a copy, on this rare path only.
      const joined = new Uint8Array(rest + chunk.length);
      joined.set(this.chunk.subarray(this.pos));
      joined.set(chunk, rest);
      chunk = joined;
    }
    this.chunk = chunk;
    this.pos = 0;
  }

  /**
   * Declares the end of the stream: throws a {@link FrameCorruptionError} if it ended inside a frame
   * (a torn frame), and does nothing otherwise.
   */
  finish(): void {
    if (this.failure !== null) throw this.failure;
    const torn = this.buffered;
    if (torn > 0) {
      // What a peer that died (or closed) while writing leaves: not damage in transit, but refused alike (I7).
      this.failure = new FrameCorruptionError(
        `stream ended inside a frame: ${torn} bytes of an incomplete frame, dropped (the peer closed or died while writing it)`,
        this.offset,
        { torn },
      );
      throw this.failure;
    }
  }

  /**
   * The next complete frame, or `undefined` when the bytes received so far end inside a frame. Byte views
   * in the frame are valid until the next call to `next` or `push`.
   */
  next(): Frame | undefined {
    if (this.failure !== null) throw this.failure;
    try {
      return this.partial.length > 0 ? this.completePartial() : this.fromChunk();
    } catch (error) {
      if (error instanceof FrameCorruptionError) this.failure = error;
      throw error;
    }
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.partial.length + this.chunk.length - this.pos;
  }

  /** Whether a corruption was detected (the reader then refuses everything). */
  get failed(): boolean {
    return this.failure !== null;
  }

  private fromChunk(): Frame | undefined {
    const chunk = this.chunk;
    const pos = this.pos;
    const available = chunk.length - pos;
    if (available === 0) return undefined;
    if (available < 4) {
      this.stash();
      return undefined;
    }
    const length = getU32(chunk, pos);
    this.checkLength(length);
    if (available < length) {
      this.stash(length);
      return undefined;
    }
    const frame = decodeFrame(chunk, pos, pos + length, this.offset);
    this.pos = pos + length;
    this.offset += length;
    this.frames++;
    return frame;
  }

  private completePartial(): Frame | undefined {
    const partial = this.partial;
    if (partial.length < 4) {
      this.take(4 - partial.length);
      if (partial.length < 4) return undefined;
      const declared = getU32(partial.buf, 0);
      this.checkLength(declared);
      partial.ensure(declared - partial.length);
    }
    const length = getU32(partial.buf, 0);
    this.take(length - partial.length);
    if (partial.length < length) return undefined;
    partial.length = 0;
    const frame = decodeFrame(partial.buf, 0, length, this.offset);
    this.offset += length;
    this.frames++;
    return frame;
  }

  /**
   * Moves the unread rest of the chunk (the start of one frame) into the empty partial buffer, reserving
   * `frameLength` bytes when the length is known (it was checked against `maxFrameSize` first).
   */
  private stash(frameLength = 0): void {
    if (frameLength > 0) this.partial.ensure(frameLength);
    this.partial.append(this.chunk.subarray(this.pos));
    this.pos = this.chunk.length;
  }

  /** Copies up to `wanted` bytes of the chunk into the partial buffer. */
  private take(wanted: number): void {
    const n = Math.min(wanted, this.chunk.length - this.pos);
    if (n <= 0) return;
    this.partial.append(this.chunk.subarray(this.pos, this.pos + n));
    this.pos += n;
  }

  private checkLength(length: number): void {
    if (length < MIN_FRAME_BYTES) throw new FrameCorruptionError(`length field says ${length} bytes: expected at least ${MIN_FRAME_BYTES}`, this.offset, { length });
    if (length > this.maxFrameSize) {
      throw new FrameCorruptionError(`length field says ${length} bytes: expected at most ${this.maxFrameSize} (maxFrameSize)`, this.offset, { length, maxFrameSize: this.maxFrameSize });
    }
  }
}
