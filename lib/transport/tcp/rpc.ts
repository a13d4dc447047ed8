/**
 * Requests, responses and notifications over the CONTROL frames of a connection. The coordinator and the
 * workers speak it on their control connection (JobControl calls, heartbeats of the failure detector
 * ride on the connection's own HEARTBEAT frames).
 *
 * Each CONTROL payload is one msgpackr-encoded object:
 *
 * | Message | Fields |
 * | --- | --- |
 * | request | `{ id, method, params }` (`id` a positive integer, unique per sender) |
 * | notification | `{ method, params }` (no `id`: no answer) |
 * | success | `{ id, result }` |
 * | failure | `{ id, error: { code, message, retriable, context } }` |
 *
 * Either side may call the other. A payload of any other shape breaks the protocol and fails the connection.
 */
import { Packr } from 'msgpackr';
import { CausalflowError, InvalidArgumentError, type ErrorContext } from '../../../determinants/errors.js';
import type { FramedConnection } from './connection.js';
import { ConnectionClosedError, RemoteError, RpcTimeoutError, TransportProtocolError } from './errors.js';
import { FrameType, type Frame } from './frame.js';
import { silentLogger, type TransportLogger } from './log.js';

/** What a handler learns about the call it serves. */
export interface RpcCallContext {
  /** The caller's worker id. */
  peer: string;
  /** The method called. */
  method: string;
  /** True for a notification: the return value is dropped and nobody hears of an error except the log. */
  notification: boolean;
}

/** Serves one method: returns the result (or a promise of it), or throws (a {@link CausalflowError} keeps its code). */
export type RpcHandler = (params: unknown, context: RpcCallContext) => unknown;

/** Options of an {@link RpcPeer}. */
export interface RpcOptions {
  /** Timeout of a call that names none (ms, default 10 000). */
  defaultTimeoutMs?: number;
  /** Where failed notifications and late answers are reported (default: nowhere). */
  logger?: TransportLogger;
}

/** Counters of an {@link RpcPeer}. */
export interface RpcStats {
  /** Calls made. */
  calls: number;
  /** Requests and notifications served. */
  served: number;
  /** Answers that came after their call timed out (ignored). */
  lateAnswers: number;
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: CausalflowError) => void;
  timer: NodeJS.Timeout;
}

interface WireError {
  code: string;
  message: string;
  retriable: boolean;
  context: ErrorContext;
}

// useRecords keeps Maps as Maps (msgpackr decodes maps as objects otherwise); records are defined per message.
const packr = new Packr({ moreTypes: true, copyBuffers: true, useRecords: true });

/** One side of an RPC conversation over a {@link FramedConnection}. */
export class RpcPeer {
  /** Counters. */
  readonly stats: RpcStats = { calls: 0, served: 0, lateAnswers: 0 };
  private readonly handlers = new Map<string, RpcHandler>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly defaultTimeoutMs: number;
  private readonly logger: TransportLogger;

  /** Attaches to `connection` (before it is started, so no frame is missed). */
  constructor(
    /** The connection calls travel on. */
    readonly connection: FramedConnection,
    options: RpcOptions = {},
  ) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
    this.logger = options.logger ?? silentLogger;
    connection.on('frame', (frame: Frame) => {
      if (frame.type === FrameType.Control) this.onMessage(frame.payload);
    });
    connection.on('close', (error) => this.rejectAll(error));
  }

  /** Registers the handler of `method`. Throws if it already has one. */
  handle(method: string, handler: RpcHandler): this {
    if (this.handlers.has(method)) throw new InvalidArgumentError('method', 'a method without a handler', method);
    this.handlers.set(method, handler);
    return this;
  }

  /** Removes the handler of `method`; later calls of it fail with `RPC_UNKNOWN_METHOD`. */
  unhandle(method: string): void {
    this.handlers.delete(method);
  }

  /** Calls `method` on the peer. Rejects with {@link RemoteError}, {@link RpcTimeoutError} or {@link ConnectionClosedError}. */
  call<T = unknown>(method: string, params?: unknown, options: { timeoutMs?: number } = {}): Promise<T> {
    this.stats.calls++;
    if (!this.connection.isOpen) return Promise.reject(this.closedError(method, this.connection.error));
    const id = this.nextId++;
    let payload: Uint8Array;
    try {
      payload = packr.pack({ id, method, params });
    } catch (error) {
      return Promise.reject(new InvalidArgumentError('params', `values msgpackr can encode (${error instanceof Error ? error.message : String(error)})`, params));
    }
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcTimeoutError(method, timeoutMs, { remoteId: this.connection.remoteId }));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject, timer });
      this.connection.sendControl(payload);
    });
  }

  /** Sends a notification: no answer, no error reported back. False when the connection is closed. */
  notify(method: string, params?: unknown): boolean {
    return this.connection.sendControl(packr.pack({ method, params }));
  }

  /** Calls waiting for an answer. */
  get waiting(): number {
    return this.pending.size;
  }

  private onMessage(payload: Uint8Array): void {
    let message: unknown;
    try {
      message = packr.unpack(payload);
    } catch (error) {
      throw new TransportProtocolError(`CONTROL payload does not decode: ${error instanceof Error ? error.message : String(error)}`, { remoteId: this.connection.remoteId }, error);
    }
    if (typeof message !== 'object' || message === null) throw this.malformed(message);
    const m = message as { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    const id = m.id;
    if (typeof m.method === 'string') {
      if (id !== undefined && (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0)) throw this.malformed(message);
      this.serve(m.method, m.params, id);
      return;
    }
    if (typeof id !== 'number') throw this.malformed(message);
    const call = this.pending.get(id);
    if (call === undefined) {
      this.stats.lateAnswers++;
      this.logger({ level: 'debug', event: 'rpc-late-answer', message: `ignored the answer to call #${id}: it timed out`, context: { id, remoteId: this.connection.remoteId } });
      return;
    }
    this.pending.delete(id);
    clearTimeout(call.timer);
    if ('error' in m && m.error !== undefined) {
      const e = m.error as Partial<WireError>;
      call.reject(new RemoteError(call.method, String(e.code ?? 'UNKNOWN'), String(e.message ?? ''), e.retriable === true, { remoteId: this.connection.remoteId }));
    } else call.resolve(m.result);
  }

  private serve(method: string, params: unknown, id: number | undefined): void {
    this.stats.served++;
    const context: RpcCallContext = { peer: this.connection.remoteId, method, notification: id === undefined };
    const handler = this.handlers.get(method);
    const answer = (body: { result: unknown } | { error: WireError }): void => {
      if (id === undefined) {
        if ('error' in body) this.logger({ level: 'warn', event: 'rpc-notification-failed', message: `notification ${method} failed: ${body.error.code}: ${body.error.message}`, context: { method, code: body.error.code } });
        return;
      }
      let payload: Uint8Array;
      try {
        payload = packr.pack({ id, ...body });
      } catch (error) {
        payload = packr.pack({ id, error: toWire(new InvalidArgumentError('result', 'a value msgpackr can encode', error instanceof Error ? error.message : String(error))) });
      }
      this.connection.sendControl(payload);
    };
    if (handler === undefined) {
      answer({ error: { code: 'RPC_UNKNOWN_METHOD', message: `expected one of [${[...this.handlers.keys()].join(', ')}], found ${method}`, retriable: false, context: { method } } });
      return;
    }
    let result: unknown;
    try {
      result = handler(params, context);
    } catch (error) {
      answer({ error: toWire(error) });
      return;
    }
    if (result instanceof Promise) result.then((value: unknown) => answer({ result: value }), (error: unknown) => answer({ error: toWire(error) }));
    else answer({ result });
  }

  private rejectAll(cause: CausalflowError | null): void {
    for (const [id, call] of this.pending) {
      this.pending.delete(id);
      clearTimeout(call.timer);
      call.reject(this.closedError(call.method, cause));
    }
  }

  private closedError(method: string, cause: CausalflowError | null): ConnectionClosedError {
    const why = cause === null ? 'closed' : `failed (${cause.code})`;
    return new ConnectionClosedError(`${method}: expected an answer from ${this.connection.remoteId}, but the connection ${why}`, { method, remoteId: this.connection.remoteId }, cause ?? undefined);
  }

  private malformed(message: unknown): TransportProtocolError {
    const shape = typeof message === 'object' && message !== null ? `an object with keys [${Object.keys(message).join(', ')}]` : typeof message;
    return new TransportProtocolError(`CONTROL payload: expected a request, notification or answer, found ${shape}`, { remoteId: this.connection.remoteId });
  }
}

function toWire(error: unknown): WireError {
  if (error instanceof CausalflowError) return { code: error.code, message: error.message, retriable: error.retriable, context: error.context };
  if (error instanceof Error) return { code: 'HANDLER_FAILED', message: `${error.name}: ${error.message}`, retriable: false, context: {} };
  return { code: 'HANDLER_FAILED', message: String(error), retriable: false, context: {} };
}
