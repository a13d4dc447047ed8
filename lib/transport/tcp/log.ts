/**
 * The transport's logging hook. The transport never prints; it reports what happened to an injectable
 * callback, so the runtime decides where events go (stderr, the job's event stream, a test's array).
 */
import type { ErrorContext } from '../../../determinants/errors.js';

/** One thing the transport reports. */
export interface TransportLogEvent {
  /** How much it matters: refusals and failed connections are `warn`, a corrupt frame is `error`. */
  level: 'debug' | 'info' | 'warn' | 'error';
  /** Stable event name, e.g. `handshake-refused`, `handshake-failed`, `connection-failed` (its `code` says why: `PEER_SILENT`, `FRAME_CORRUPT`, …). */
  event: string;
  /** One readable line. */
  message: string;
  /** Structured details: addresses, worker ids, error codes. Never secret material. */
  context: ErrorContext;
}

/** Receives the transport's log events. */
export type TransportLogger = (event: TransportLogEvent) => void;

/** A logger that drops everything (the default). */
export const silentLogger: TransportLogger = () => {};
