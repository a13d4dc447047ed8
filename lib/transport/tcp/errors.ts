/**
 * Typed errors of the TCP transport. Each extends {@link CausalflowError}, carries a stable `code`, a
 * `retriable` flag and the context needed to act on it, and says what was expected and what was found.
 *
 * They live here rather than in `lib/errors.ts` so that the transport layer depends only on
 * `determinants/`; `lib/errors.ts` may re-export them.
 */
import { CausalflowError, type ErrorContext } from '../../../determinants/errors.js';

/**
 * Bytes on a connection failed a frame check: a length out of range, a checksum mismatch, an unknown
 * frame type or a payload that does not match its header. Nothing of the bad frame was decoded. The
 * connection it came from counts as failed.
 */
export class FrameCorruptionError extends CausalflowError {
  /** Offset of the bad frame's first byte in the stream (or in the buffer being decoded). */
  readonly offset: number;

  constructor(what: string, offset: number, context: ErrorContext = {}) {
    super('FRAME_CORRUPT', `corrupt frame at offset ${offset}: ${what}`, { context: { ...context, offset } });
    this.offset = offset;
  }
}

/** A frame to be sent is larger than the connection's maximum frame size; nothing was sent. */
export class FrameTooLargeError extends CausalflowError {
  constructor(bytes: number, maxFrameSize: number, context: ErrorContext = {}) {
    super('FRAME_TOO_LARGE', `frame of ${bytes} bytes: expected at most ${maxFrameSize} (maxFrameSize)`, {
      context: { ...context, bytes, maxFrameSize },
    });
  }
}

/** Why a handshake failed. */
export type HandshakeFailure =
  /** The peer proved no knowledge of the shared secret (or proved it wrongly). */
  | 'auth'
  /** The peer speaks another protocol version. */
  | 'version'
  /** The peer sent something other than the next handshake frame, or bytes that are no frame. */
  | 'protocol'
  /** The peer is not the worker the caller asked for (`expectPeer`). */
  | 'peer'
  /** The handshake did not complete within `handshakeTimeoutMs`. */
  | 'timeout'
  /** The socket closed or failed before the handshake completed. */
  | 'closed';

/** A connection was refused during its handshake, by this side or by the peer. */
export class HandshakeError extends CausalflowError {
  constructor(
    /** Why it failed. */
    readonly reason: HandshakeFailure,
    message: string,
    context: ErrorContext = {},
    cause?: unknown,
  ) {
    super('HANDSHAKE_FAILED', `handshake failed (${reason}): ${message}`, {
      retriable: reason === 'timeout' || reason === 'closed',
      context: { ...context, reason },
      cause,
    });
  }
}

/** The peer sent nothing (no data, no heartbeat) for longer than the heartbeat timeout. */
export class PeerSilentError extends CausalflowError {
  constructor(silentMs: number, timeoutMs: number, context: ErrorContext = {}) {
    super('PEER_SILENT', `expected a frame from the peer at least every ${timeoutMs} ms, found none for ${Math.round(silentMs)} ms`, {
      retriable: true,
      context: { ...context, silentMs: Math.round(silentMs), timeoutMs },
    });
  }
}

/** The connection closed (or failed) while something still needed it, e.g. a pending RPC call. */
export class ConnectionClosedError extends CausalflowError {
  constructor(message: string, context: ErrorContext = {}, cause?: unknown) {
    super('CONNECTION_CLOSED', message, { retriable: true, context, cause });
  }
}

/**
 * A frame passed its checks but breaks the protocol above the codec: an RPC payload of the wrong shape,
 * a channel registered twice, held frames beyond their bound. The connection counts as failed.
 */
export class TransportProtocolError extends CausalflowError {
  constructor(message: string, context: ErrorContext = {}, cause?: unknown) {
    super('TRANSPORT_PROTOCOL', message, { context, cause });
  }
}

/** A remote procedure call failed on the peer. Carries the peer's error code, message and flag. */
export class RemoteError extends CausalflowError {
  constructor(
    /** The method that was called. */
    readonly method: string,
    /** The `code` of the error the handler threw on the peer (`HANDLER_FAILED` for a plain `Error`). */
    readonly remoteCode: string,
    /** The message of that error. */
    readonly remoteMessage: string,
    retriable: boolean,
    context: ErrorContext = {},
  ) {
    super('RPC_REMOTE_ERROR', `${method} failed on the peer: ${remoteCode}: ${remoteMessage}`, {
      retriable,
      context: { ...context, method, remoteCode },
    });
  }
}

/** A remote procedure call got no answer within its timeout. A late answer is ignored. */
export class RpcTimeoutError extends CausalflowError {
  constructor(method: string, timeoutMs: number, context: ErrorContext = {}) {
    super('RPC_TIMEOUT', `${method}: expected an answer within ${timeoutMs} ms, found none`, {
      retriable: true,
      context: { ...context, method, timeoutMs },
    });
  }
}

/** A shared secret of the wrong form. The message never repeats the secret. */
export class InvalidSecretError extends CausalflowError {
  constructor(found: string) {
    super('INVALID_SECRET', `secret: expected 32 bytes (64 hex digits, or base64), found ${found}`, { context: { field: 'secret' } });
  }
}

/** A TCP connection to a peer could not be opened (refused, unreachable, timed out). */
export class ConnectFailedError extends CausalflowError {
  constructor(host: string, port: number, cause: unknown) {
    super('CONNECT_FAILED', `could not connect to ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      retriable: true,
      context: { host, port },
      cause,
    });
  }
}

/** A transport server could not bind its address (in use, not permitted, not local). */
export class ListenFailedError extends CausalflowError {
  constructor(host: string, port: number, cause: unknown) {
    super('LISTEN_FAILED', `could not listen on ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      retriable: true,
      context: { host, port },
      cause,
    });
  }
}
