/**
 * Typed errors of the determinant log library.
 *
 * Every error carries a stable `code`, a `retriable` flag and the context a caller needs to act on it.
 * Messages say what was expected and what was found. The runtime's own errors (in `lib/errors.ts`)
 * extend {@link CausalflowError} so that one `instanceof` check covers the whole project.
 */

/** Structured context attached to an error: plain, JSON-serialisable values only. */
export type ErrorContext = Record<string, string | number | boolean | null | undefined>;

/** Base class of every error thrown by causalflow. */
export class CausalflowError extends Error {
  /** Stable machine-readable code, e.g. `LOG_CORRUPTION`. */
  readonly code: string;
  /** Whether retrying the same operation may succeed. */
  readonly retriable: boolean;
  /** What the caller needs to act on the error. */
  readonly context: ErrorContext;

  constructor(code: string, message: string, options: { retriable?: boolean; context?: ErrorContext; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }
}

/**
 * Bytes of a log, segment or envelope failed a length check, a checksum or a decode.
 * `lastGoodOffset` is the offset up to which the bytes were valid, so a reader can keep that prefix.
 */
export class LogCorruptionError extends CausalflowError {
  /** Offset (in the bytes being decoded) up to which everything was valid. */
  readonly lastGoodOffset: number;

  constructor(message: string, lastGoodOffset: number, context: ErrorContext = {}) {
    super('LOG_CORRUPTION', `${message} (last good offset ${lastGoodOffset})`, { context: { ...context, lastGoodOffset } });
    this.lastGoodOffset = lastGoodOffset;
  }
}

/** The bytes carry a format version this build cannot read. */
export class UnsupportedVersionError extends CausalflowError {
  constructor(what: string, found: number, supported: number) {
    super('UNSUPPORTED_VERSION', `${what} has format version ${found}; this build reads version ${supported}`, {
      context: { what, found, supported },
    });
  }
}

/**
 * Replay asked for something other than what was recorded, for example a clock read where the log
 * holds a random seed. The recovering task cannot reproduce the failed task's behaviour.
 */
export class DeterminantMismatchError extends CausalflowError {
  constructor(
    readonly recorded: string,
    readonly asked: string,
    readonly index: number,
    readonly epoch: number,
    detail = '',
  ) {
    super('DETERMINANT_MISMATCH', `recorded ${recorded} at #${index} of epoch ${epoch}, operator asked ${asked}${detail ? ` (${detail})` : ''}`, {
      context: { recorded, asked, index, epoch },
    });
  }
}

/** Two copies of the same task's log disagree on bytes they both hold. Copies must be prefixes of each other (I4). */
export class LogDivergenceError extends CausalflowError {
  constructor(taskId: number, epoch: number, offset: number) {
    super('LOG_DIVERGENCE', `two copies of the log of task ${taskId} differ in epoch ${epoch} at byte ${offset}`, {
      context: { taskId, epoch, offset },
    });
  }
}

/** A slice would leave a hole in a replica: it starts past the bytes held so far. */
export class LogGapError extends CausalflowError {
  constructor(taskId: number, epoch: number, held: number, offset: number) {
    super('LOG_GAP', `log of task ${taskId} epoch ${epoch}: holding ${held} bytes, got a slice starting at ${offset}`, {
      context: { taskId, epoch, held, offset },
    });
  }
}

/** An argument to the library was out of range or of the wrong shape. */
export class InvalidArgumentError extends CausalflowError {
  constructor(field: string, expected: string, found: unknown) {
    super('INVALID_ARGUMENT', `${field}: expected ${expected}, found ${describe(found)}`, { context: { field, expected } });
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
