/**
 * A framed, authenticated connection to one peer, and {@link connect}, its client side.
 *
 * Sending: frames are encoded into a pending buffer and written to the socket once per microtask (or at
 * once past `flushBytes`), so a burst of small frames costs one write. While the socket's `write()`
 * returned false, frames queue in the pending buffer until `drain`: nothing is ever dropped. Written
 * buffers come back to a free list when the socket is done with them.
 *
 * Receiving: chunks go through a {@link FrameReader}; every frame is checked before anyone sees it. The
 * first bad frame fails the connection: it is closed, `error` and `close` carry the typed error, and no
 * later byte is decoded.
 *
 * Liveness: with `heartbeatIntervalMs`, a HEARTBEAT goes out whenever nothing else was sent for that
 * long; with `heartbeatTimeoutMs`, a peer that sent nothing at all for that long fails the connection
 * with a {@link PeerSilentError}. A stopped process (SIGSTOP) keeps its socket open: only this reveals it.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CausalflowError } from '../../../determinants/errors.js';
import { GrowableBytes } from '../../../determinants/bytes.js';
import type { Batch } from '../batch.js';
import { ConnectFailedError, ConnectionClosedError, FrameTooLargeError, HandshakeError, PeerSilentError, TransportProtocolError } from './errors.js';
import { DEFAULT_MAX_FRAME_SIZE, FrameEncoder, FrameType, frameTypeName, type Frame } from './frame.js';
import { FrameReader } from './frame-reader.js';
import { HANDSHAKE_MAX_FRAME_SIZE, clientHandshake, refuse, refusedByPeer, type ClientHandshakeOptions, type HandshakeResult } from './handshake.js';
import { silentLogger, type TransportLogger } from './log.js';

/** Settings of a connection once it is established. */
export interface ConnectionOptions {
  /** Largest frame either way, in bytes (default 64 MiB). */
  maxFrameSize?: number;
  /** Send a HEARTBEAT when nothing else went out for this long (ms; default 0: never). */
  heartbeatIntervalMs?: number;
  /** Fail the connection when nothing came in for this long (ms; default 0: never). */
  heartbeatTimeoutMs?: number;
  /** Pending bytes that trigger a write before the end of the microtask (default 256 KiB). */
  flushBytes?: number;
  /** Where the connection reports what happened (default: nowhere). */
  logger?: TransportLogger;
}

/** Events of a {@link FramedConnection}. */
export interface ConnectionEvents {
  /** A checked, decoded frame (never HEARTBEAT). Byte views in it are valid during the call only. */
  frame: [frame: Frame];
  /** The connection failed; emitted only when someone listens, always followed by `close`. */
  error: [error: CausalflowError];
  /** The connection is closed: `error` is null after a clean close by either side. Emitted once. */
  close: [error: CausalflowError | null];
}

/** Counters of a connection. */
export interface ConnectionStats {
  /** Frames received (heartbeats included). */
  framesIn: number;
  /** Frames sent (heartbeats included). */
  framesOut: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes handed to the socket. */
  bytesOut: number;
  /** Socket writes (each carries every frame pending at the time). */
  writes: number;
  /** Times `write()` returned false and frames waited for `drain`. */
  backpressureWaits: number;
}

type State = 'ready' | 'open' | 'closing' | 'closed';

/** A connection that sends and receives checked frames. Created by {@link connect} or a server. */
export class FramedConnection extends EventEmitter<ConnectionEvents> {
  /** This side's worker id. */
  readonly localId: string;
  /** The peer's authenticated worker id. */
  readonly remoteId: string;
  /** Counters. */
  readonly stats: ConnectionStats = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, writes: 0, backpressureWaits: 0 };
  private state: State = 'ready';
  private failure: CausalflowError | null = null;
  private readonly encoder = new FrameEncoder();
  private pending = new GrowableBytes(16 * 1024);
  private readonly spare: GrowableBytes[] = [];
  private flushQueued = false;
  private blocked = false;
  private readonly maxFrameSize: number;
  private readonly flushBytes: number;
  private readonly heartbeatIntervalMs: number;
  private readonly heartbeatTimeoutMs: number;
  private readonly logger: TransportLogger;
  private timer: NodeJS.Timeout | null = null;
  private lastReceived = 0;
  private lastSent = 0;
  private lastTick = 0;
  private skippedLateTick = false;
  private heartbeats = 0;
  private readonly flushTask = (): void => this.flush();
  private frameOffset = 0;

  /** Wraps a socket whose handshake completed; `reader` holds any bytes that followed the handshake. */
  constructor(
    /** The underlying socket (paused until {@link start}). */
    readonly socket: Socket,
    private readonly reader: FrameReader,
    identity: HandshakeResult,
    options: ConnectionOptions = {},
  ) {
    super();
    this.localId = identity.localId;
    this.remoteId = identity.remoteId;
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.flushBytes = options.flushBytes ?? 256 * 1024;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 0;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 0;
    this.logger = options.logger ?? silentLogger;
    reader.maxFrameSize = this.maxFrameSize;
    socket.pause();
    socket.on('error', (error) => this.fail(new ConnectionClosedError(`socket error on the connection to ${this.remoteId}: ${error.message}`, this.context(), error)));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onClose());
    socket.on('drain', () => {
      this.blocked = false;
      this.flush();
    });
  }

  /**
   * Starts reading: frames left over from the handshake are dispatched first, then the socket's. Attach
   * the `frame` listeners (channel multiplexer, RPC peer) before calling it; nothing is read until then.
   */
  start(): void {
    if (this.state !== 'ready') return;
    this.state = 'open';
    this.lastReceived = this.lastSent = this.lastTick = performance.now();
    this.drain();
    if (this.state !== 'open') return;
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.resume();
    const tick = Math.min(this.heartbeatIntervalMs || Infinity, this.heartbeatTimeoutMs > 0 ? this.heartbeatTimeoutMs / 4 : Infinity);
    if (tick !== Infinity) {
      this.timer = setInterval(() => this.onTick(), Math.max(1, Math.floor(tick)));
      this.timer.unref();
    }
  }

  /** Whether frames can still be sent (started or not yet started, and not closing or closed). */
  get isOpen(): boolean {
    return this.state === 'open' || this.state === 'ready';
  }

  /** The error the connection failed with, or null. */
  get error(): CausalflowError | null {
    return this.failure;
  }

  /** Stream offset of the frame being dispatched (for errors raised while handling it). */
  get currentFrameOffset(): number {
    return this.frameOffset;
  }

  /** Bytes queued and not yet taken by the kernel (pending here plus the socket's own buffer). */
  get bufferedBytes(): number {
    return this.pending.length + this.socket.writableLength;
  }

  /** Sends a DATA frame for `batch`; the batch may be reused as soon as this returns. False when closed. */
  sendData(channel: number, incarnation: number, batch: Batch): boolean {
    if (!this.isOpen) return false;
    this.commit(this.encoder.data(this.pending, channel, incarnation, batch));
    return true;
  }

  /** Sends a CREDIT frame. False when closed. */
  sendCredit(channel: number, incarnation: number, granted: number, flags = 0): boolean {
    if (!this.isOpen) return false;
    this.commit(this.encoder.credit(this.pending, channel, incarnation, granted, flags));
    return true;
  }

  /** Sends a CONTROL frame around `payload` (copied). False when closed. */
  sendControl(payload: Uint8Array): boolean {
    if (!this.isOpen) return false;
    this.commit(this.encoder.control(this.pending, payload));
    return true;
  }

  /** Flushes what is pending and closes the connection cleanly; `close` follows with null. */
  close(): void {
    if (!this.isOpen) return;
    this.state = 'closing';
    this.stopTimer();
    this.flush(true);
    this.socket.end();
  }

  /** Closes at once, dropping what is pending; with an error, the connection counts as failed. */
  destroy(error?: CausalflowError): void {
    if (error !== undefined) this.fail(error);
    else if (this.state !== 'closed') {
      this.state = 'closing';
      this.stopTimer();
      this.socket.destroy();
    }
  }

  private commit(bytes: number): void {
    if (bytes > this.maxFrameSize) {
      this.pending.length -= bytes;
      throw new FrameTooLargeError(bytes, this.maxFrameSize, this.context());
    }
    this.stats.framesOut++;
    if (this.pending.length >= this.flushBytes) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushTask);
    }
  }

  /** Hands the pending frames to the socket unless it asked to wait for `drain` (or `force`, on close). */
  private flush(force = false): void {
    this.flushQueued = false;
    const buffer = this.pending;
    if (buffer.length === 0 || this.socket.destroyed || (this.blocked && !force)) return;
    if (this.state === 'closed') return;
    this.pending = this.spare.pop() ?? new GrowableBytes(Math.min(buffer.buf.length, 1024 * 1024));
    this.pending.length = 0;
    this.stats.writes++;
    this.stats.bytesOut += buffer.length;
    this.lastSent = performance.now();
    const ok = this.socket.write(buffer.view(), () => {
      if (this.spare.length < 4) this.spare.push(buffer);
    });
    if (!ok && !this.blocked) {
      this.blocked = true;
      this.stats.backpressureWaits++;
    }
  }

  private onData(chunk: Buffer): void {
    this.lastReceived = performance.now();
    this.stats.bytesIn += chunk.length;
    try {
      this.reader.push(chunk);
    } catch (error) {
      this.failWith(error);
      return;
    }
    this.drain();
  }

  /** Dispatches every complete frame the reader holds. */
  private drain(): void {
    try {
      while (this.failure === null && this.state !== 'closed') {
        this.frameOffset = this.reader.offset;
        const frame = this.reader.next();
        if (frame === undefined) return;
        this.stats.framesIn++;
        if (frame.type === FrameType.Heartbeat) continue;
        // The server completes its handshake first: a client that then rejects the server's proof says so here.
        if (frame.type === FrameType.Refuse) throw refusedByPeer(frame, this.context());
        if (frame.type !== FrameType.Data && frame.type !== FrameType.Credit && frame.type !== FrameType.Control) {
          throw new TransportProtocolError(`expected DATA, CREDIT, CONTROL or HEARTBEAT after the handshake, found ${frameTypeName(frame.type)}`, this.context());
        }
        this.emit('frame', frame);
      }
    } catch (error) {
      this.failWith(error);
    }
  }

  private failWith(error: unknown): void {
    this.fail(error instanceof CausalflowError ? error : new TransportProtocolError(`a frame handler threw: ${error instanceof Error ? error.message : String(error)}`, this.context(), error));
  }

  private onTick(): void {
    const now = performance.now();
    const tick = now - this.lastTick;
    this.lastTick = now;
    // A tick far behind schedule means this process was stalled (GC, long synchronous work): the peer's
    // frames may be waiting unread in the kernel, and timers run before I/O. Judge on the next tick.
    const late = tick > 2 * Math.max(this.heartbeatIntervalMs, this.heartbeatTimeoutMs / 4) + 20;
    if (late && !this.skippedLateTick) {
      this.skippedLateTick = true;
      return;
    }
    this.skippedLateTick = false;
    if (this.heartbeatTimeoutMs > 0 && now - this.lastReceived > this.heartbeatTimeoutMs) {
      this.fail(new PeerSilentError(now - this.lastReceived, this.heartbeatTimeoutMs, this.context()));
      return;
    }
    if (this.heartbeatIntervalMs > 0 && now - this.lastSent >= this.heartbeatIntervalMs && this.state === 'open') {
      this.commit(this.encoder.heartbeat(this.pending, ++this.heartbeats));
      this.flush();
    }
  }

  private onEnd(): void {
    // Not started: complete frames may still sit in the reader, unread by choice.
    if (this.state === 'ready') return;
    try {
      this.reader.finish();
    } catch (error) {
      this.failWith(error);
    }
  }

  private fail(error: CausalflowError): void {
    if (this.state === 'closed' || this.failure !== null) return;
    this.failure = error;
    this.state = 'closing';
    this.stopTimer();
    // Damaged bytes are an error; a stream cut inside a frame (`torn`: its peer died mid-write) is a warning.
    const damaged = error.code === 'FRAME_CORRUPT' && error.context['torn'] === undefined;
    this.logger({ level: damaged ? 'error' : 'warn', event: 'connection-failed', message: error.message, context: { ...error.context, code: error.code } });
    if (this.listenerCount('error') > 0) this.emit('error', error);
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopTimer();
    this.pending.length = 0;
    this.emit('close', this.failure);
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private context(): Record<string, string> {
    return { localId: this.localId, remoteId: this.remoteId };
  }
}

/** Options of {@link connect}. */
export interface ConnectOptions extends ClientHandshakeOptions, ConnectionOptions {
  /** Server address (default 127.0.0.1). */
  host?: string;
  /** Server port. */
  port: number;
}

/**
 * Opens a connection to a transport server and runs the handshake. Resolves with a connection that is
 * not started yet (see {@link FramedConnection.start}); rejects with {@link ConnectFailedError} or
 * {@link HandshakeError}, after logging the refusal.
 */
export async function connect(options: ConnectOptions): Promise<FramedConnection> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger;
  const socket = netConnect({ host, port: options.port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      socket.destroy();
      reject(new ConnectFailedError(host, options.port, error));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve();
    });
  });
  const reader = new FrameReader({ maxFrameSize: HANDSHAKE_MAX_FRAME_SIZE });
  try {
    const identity = await clientHandshake(socket, reader, options);
    return new FramedConnection(socket, reader, identity, options);
  } catch (error) {
    if (error instanceof HandshakeError) {
      logger({ level: 'warn', event: 'handshake-failed', message: error.message, context: { ...error.context, host, port: options.port } });
      refuse(socket, error);
    } else socket.destroy();
    throw error;
  }
}
