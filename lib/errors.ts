/**
 * The runtime's typed errors. Every one extends {@link CausalflowError} (from the determinant
 * library), carries a stable `code`, a `retriable` flag and context, and says what was expected and
 * what was found.
 */
import { CausalflowError } from '../determinants/errors.js';

export {
  CausalflowError,
  LogCorruptionError,
  UnsupportedVersionError,
  DeterminantMismatchError,
  LogDivergenceError,
  LogGapError,
  InvalidArgumentError,
} from '../determinants/errors.js';

/** A job or operator was configured wrongly. `field` names the offending setting, as a path. */
export class ConfigError extends CausalflowError {
  constructor(
    /** Path of the offending field, e.g. `operators[3].parallelism`. */
    readonly field: string,
    expected: string,
    found: unknown,
  ) {
    super('CONFIG', `${field}: expected ${expected}, found ${describe(found)}`, { context: { field, expected } });
  }
}

/** An operator threw while processing a record; the job's error policy decides what happens next. */
export class OperatorError extends CausalflowError {
  constructor(
    readonly operator: string,
    readonly subtask: number,
    cause: unknown,
  ) {
    super('OPERATOR_FAILED', `operator ${operator}[${subtask}] threw: ${cause instanceof Error ? cause.message : String(cause)}`, {
      retriable: true,
      context: { operator, subtask },
      cause,
    });
  }
}

/** The job failed and will not continue. */
export class JobFailedError extends CausalflowError {
  constructor(message: string, cause?: unknown, context: Record<string, string | number | boolean> = {}) {
    super('JOB_FAILED', message, { context, cause });
  }
}

/** A task was killed by fault injection. Never escapes the runtime; recovery handles it. */
export class TaskKilledError extends CausalflowError {
  constructor(readonly taskName: string) {
    super('TASK_KILLED', `task ${taskName} was killed`, { retriable: true, context: { task: taskName } });
  }
}

/** Checkpoint or state bytes failed a length check or checksum. */
export class StateCorruptionError extends CausalflowError {
  constructor(message: string, context: Record<string, string | number> = {}) {
    super('STATE_CORRUPTION', message, { context });
  }
}

/**
 * An external system a connector talks to (a Kafka broker, a toolchain it starts) failed, refused a
 * request, or could not be reached. `code` says which (`KAFKA_UNREACHABLE`, `KAFKA_TOPIC_MISSING`, …);
 * `retriable` says whether trying again may succeed; the context names the system, topic and
 * partition involved.
 */
export class ConnectorError extends CausalflowError {
  constructor(code: string, message: string, options: { retriable?: boolean; context?: Record<string, string | number | boolean | null | undefined>; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** Recovery could not proceed exactly-once and escalated (see `docs/protocol.md`). */
export class RecoveryEscalationError extends CausalflowError {
  constructor(message: string, context: Record<string, string | number> = {}) {
    super('RECOVERY_ESCALATED', message, { retriable: true, context });
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 160 ? `${value.slice(0, 160)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
