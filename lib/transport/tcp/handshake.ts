/**
 * The connection handshake: mutual challenge and response on a per-job shared secret. The secret never
 * travels; each side proves it knows it with an HMAC-SHA256 over both nonces, both ids and the version.
 *
 * ```
 * client                                       server
 *   HELLO     { version, clientNonce, clientId } →
 *             ← CHALLENGE { version, serverNonce, serverId }
 *   RESPONSE  { HMAC(secret, "client" ‖ transcript) } →     server checks (timingSafeEqual)
 *             ← WELCOME { HMAC(secret, "server" ‖ transcript) }   or REFUSE and close
 * client checks the server's proof (timingSafeEqual), or sends REFUSE and closes
 * ```
 *
 * The transcript is `version (u16) ‖ clientNonce ‖ serverNonce ‖ len ‖ clientId ‖ len ‖ serverId`; the
 * role label keeps a proof of one side from being replayed as the other's. Anything else first, a
 * wrong proof or version, or silence past the timeout is refused with a {@link HandshakeError}.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { GrowableBytes } from '../../../determinants/bytes.js';
import { FrameCorruptionError, HandshakeError, InvalidSecretError, type HandshakeFailure } from './errors.js';
import { FrameEncoder, FrameType, NONCE_BYTES, RefuseReason, frameTypeName, type Frame, type RefuseFrame } from './frame.js';
import type { FrameReader } from './frame-reader.js';

/** Version of the wire protocol; both sides must speak the same. */
export const PROTOCOL_VERSION = 1;
/** Default time a handshake may take (ms). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
/** Largest frame accepted during the handshake: garbage is refused before much is buffered. */
export const HANDSHAKE_MAX_FRAME_SIZE = 1024;

/** A new random secret for a job: 32 bytes as 64 hex digits. */
export function generateSecret(): string {
  return randomBytes(32).toString('hex');
}

/** Parses a shared secret given as 32 bytes, 64 hex digits, or base64 (or base64url) of 32 bytes. */
export function parseSecret(secret: string | Uint8Array): Buffer {
  if (typeof secret !== 'string') {
    if (secret.length !== 32) throw new InvalidSecretError(`${secret.length} bytes`);
    return Buffer.from(secret);
  }
  const text = secret.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length === 32) return bytes;
  }
  throw new InvalidSecretError(`a string of ${text.length} characters that is neither`);
}

/** Settings both sides of a handshake take. */
export interface HandshakeOptions {
  /** This side's worker id (at most 255 UTF-8 bytes), e.g. `worker-2` or `coordinator`. */
  id: string;
  /** The job's shared secret (see {@link parseSecret}). */
  secret: string | Uint8Array;
  /** Time the whole handshake may take (ms, default 5000). */
  handshakeTimeoutMs?: number;
  /** Protocol version to announce (default {@link PROTOCOL_VERSION}; other values only in tests). */
  version?: number;
}

/** Options of the connecting side. */
export interface ClientHandshakeOptions extends HandshakeOptions {
  /** Refuse the server unless its id is this one. */
  expectPeer?: string;
}

/** What a completed handshake established. */
export interface HandshakeResult {
  /** This side's id. */
  localId: string;
  /** The peer's id, authenticated. */
  remoteId: string;
  /** The protocol version in use. */
  version: number;
}

const encoder = new FrameEncoder();
const reasonCodes: Record<Exclude<HandshakeFailure, 'closed'>, number> = {
  auth: RefuseReason.Auth,
  version: RefuseReason.Version,
  protocol: RefuseReason.Protocol,
  peer: RefuseReason.Peer,
  timeout: RefuseReason.Timeout,
};
const reasonNames: Record<number, HandshakeFailure> = Object.fromEntries(Object.entries(reasonCodes).map(([name, code]) => [code, name as HandshakeFailure]));

/** Runs the client side on a connected socket. Resolves once the server proved itself; the socket is then paused. */
export async function clientHandshake(socket: Socket, reader: FrameReader, options: ClientHandshakeOptions): Promise<HandshakeResult> {
  const secret = parseSecret(options.secret);
  const version = options.version ?? PROTOCOL_VERSION;
  const clientNonce = randomBytes(NONCE_BYTES);
  const context = { localId: options.id, remote: `${socket.remoteAddress}:${socket.remotePort}` };
  let serverNonce: Buffer | null = null;
  let serverId = '';
  write(socket, (out) => encoder.greeting(out, FrameType.Hello, version, clientNonce, options.id));
  await exchange(socket, reader, options.handshakeTimeoutMs, context, (frame) => {
    if (serverNonce === null) {
      if (frame.type !== FrameType.Challenge) throw unexpected('CHALLENGE', frame, context);
      if (frame.version !== version) throw new HandshakeError('version', `expected protocol version ${version}, the server speaks ${frame.version}`, { ...context, remoteId: frame.id });
      if (options.expectPeer !== undefined && frame.id !== options.expectPeer) throw new HandshakeError('peer', `expected server ${options.expectPeer}, found ${frame.id}`, { ...context, remoteId: frame.id });
      serverNonce = Buffer.from(frame.nonce);
      serverId = frame.id;
      const proof = prove(secret, 'client', version, clientNonce, serverNonce, options.id, serverId);
      write(socket, (out) => encoder.proof(out, FrameType.Response, proof));
      return false;
    }
    if (frame.type !== FrameType.Welcome) throw unexpected('WELCOME', frame, context);
    const expected = prove(secret, 'server', version, clientNonce, serverNonce, options.id, serverId);
    if (!timingSafeEqual(expected, frame.proof)) throw new HandshakeError('auth', `server ${serverId} failed to prove the shared secret`, { ...context, remoteId: serverId });
    return true;
  });
  return { localId: options.id, remoteId: serverId, version };
}

/** Runs the server side on an accepted socket. Resolves once the client proved itself and WELCOME is sent. */
export async function serverHandshake(socket: Socket, reader: FrameReader, options: HandshakeOptions): Promise<HandshakeResult> {
  const secret = parseSecret(options.secret);
  const version = options.version ?? PROTOCOL_VERSION;
  const serverNonce = randomBytes(NONCE_BYTES);
  const context = { localId: options.id, remote: `${socket.remoteAddress}:${socket.remotePort}` };
  let clientNonce: Buffer | null = null;
  let clientId = '';
  await exchange(socket, reader, options.handshakeTimeoutMs, context, (frame) => {
    if (clientNonce === null) {
      if (frame.type !== FrameType.Hello) throw unexpected('HELLO', frame, context);
      if (frame.version !== version) throw new HandshakeError('version', `expected protocol version ${version}, the client speaks ${frame.version}`, { ...context, remoteId: frame.id });
      clientNonce = Buffer.from(frame.nonce);
      clientId = frame.id;
      write(socket, (out) => encoder.greeting(out, FrameType.Challenge, version, serverNonce, options.id));
      return false;
    }
    if (frame.type !== FrameType.Response) throw unexpected('RESPONSE', frame, context);
    const expected = prove(secret, 'client', version, clientNonce, serverNonce, clientId, options.id);
    if (!timingSafeEqual(expected, frame.proof)) throw new HandshakeError('auth', `client ${clientId} failed to prove the shared secret`, { ...context, remoteId: clientId });
    write(socket, (out) => encoder.proof(out, FrameType.Welcome, prove(secret, 'server', version, clientNonce!, serverNonce, clientId, options.id)));
    return true;
  });
  return { localId: options.id, remoteId: clientId, version };
}

/**
 * Tells the peer why the handshake failed (when the socket is still writable and the failure came from
 * this side), then closes the socket once the REFUSE frame is flushed.
 */
export function refuse(socket: Socket, error: HandshakeError): void {
  if (socket.destroyed) return;
  socket.on('error', ignore);
  const code = error.reason === 'closed' || error.context.refusedByPeer === true ? 0 : reasonCodes[error.reason];
  if (code === 0 || !socket.writable) {
    socket.destroy();
    return;
  }
  const out = new GrowableBytes(256);
  encoder.refuse(out, code, error.reason);
  socket.end(out.view(), () => socket.destroy());
  // A peer that never reads must not hold the socket open.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** HMAC-SHA256 of a side's proof over the handshake transcript. */
function prove(secret: Buffer, role: 'client' | 'server', version: number, clientNonce: Uint8Array, serverNonce: Uint8Array, clientId: string, serverId: string): Buffer {
  const ids = [Buffer.from(clientId, 'utf8'), Buffer.from(serverId, 'utf8')];
  return createHmac('sha256', secret)
    .update(`causalflow-transport/${role}\0`)
    .update(Buffer.from([version & 0xff, version >>> 8]))
    .update(clientNonce)
    .update(serverNonce)
    .update(Buffer.from([ids[0]!.length]))
    .update(ids[0]!)
    .update(Buffer.from([ids[1]!.length]))
    .update(ids[1]!)
    .digest();
}

function ignore(): void {}

function write(socket: Socket, encode: (out: GrowableBytes) => number): void {
  const out = new GrowableBytes(128);
  encode(out);
  socket.write(out.view());
}

/** The {@link HandshakeError} a REFUSE frame from the peer stands for. */
export function refusedByPeer(frame: RefuseFrame, context: Record<string, string>): HandshakeError {
  const reason = reasonNames[frame.reason] ?? 'protocol';
  return new HandshakeError(reason, `refused by the peer (${frame.message})`, { ...context, refusedByPeer: true });
}

function unexpected(expected: string, frame: Frame, context: Record<string, string>): HandshakeError {
  if (frame.type === FrameType.Refuse) return refusedByPeer(frame, context);
  return new HandshakeError('protocol', `expected ${expected}, found ${frameTypeName(frame.type)}`, context);
}

/**
 * Feeds handshake frames to `step` until it returns true. Stops reading at once then (later frames stay
 * in the reader for the connection) and pauses the socket. Fails on a bad frame, close or timeout.
 */
function exchange(socket: Socket, reader: FrameReader, timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS, context: Record<string, string>, step: (frame: Frame) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => fail(new HandshakeError('timeout', `expected the handshake to complete within ${timeoutMs} ms`, context)), timeoutMs);
    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const fail = (error: HandshakeError): void => {
      if (settled) return;
      cleanup();
      // The caller refuses and closes; a socket error meanwhile must not become an uncaught exception.
      socket.on('error', ignore);
      socket.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      try {
        reader.push(chunk);
        for (let frame = reader.next(); frame !== undefined && !settled; frame = reader.next()) {
          if (step(frame)) {
            cleanup();
            socket.pause();
            resolve();
            return;
          }
        }
      } catch (error) {
        if (error instanceof HandshakeError) fail(error);
        else if (error instanceof FrameCorruptionError) fail(new HandshakeError('protocol', `expected a handshake frame, found bytes that are none: ${error.message}`, context, error));
        else fail(new HandshakeError('protocol', error instanceof Error ? error.message : String(error), context, error));
      }
    };
    const onClose = (): void => fail(new HandshakeError('closed', 'the socket closed before the handshake completed', context));
    const onError = (error: Error): void => fail(new HandshakeError('closed', `socket error before the handshake completed: ${error.message}`, context, error));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
    socket.resume();
  });
}
