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

/**
 * An `exactly-once` job stopped rather than break its promise: recovery had to escalate to a global
 * rollback (determinants were lost, I16), and the rollback would regenerate output that `sinks` already
 * showed since `checkpoint`. Set `recovery.onEscalation: 'rollback'` to go on at-least-once instead, or
 * raise the sharing depth (`dsd`) so that the failure is recovered locally.
 */
export class ExactlyOnceLostError extends CausalflowError {
  constructor(
    message: string,
    /** Sink operators whose shown output the rollback would regenerate. */
    readonly sinks: string[],
    /** The checkpoint the rollback would restart from. */
    readonly checkpoint: number,
  ) {
    super('EXACTLY_ONCE_LOST', message, { retriable: false, context: { sinks: sinks.join(','), checkpoint } });
  }
}

/**
 * A task would be restored from a checkpoint taken while `setTimeout`/`setInterval` callbacks registered
 * inside `causal()` were pending: callbacks are closures, not state, so the restored task would run
 * without them. Raised instead of losing them silently. Use `ctx.timers` for timers that must survive a
 * failure, and clear intervals when they are no longer needed.
 */
export class CapturedTimerLostError extends CausalflowError {
  constructor(
    readonly task: string,
    readonly checkpointId: number,
    /** Callbacks pending at the checkpoint. */
    readonly pending: number,
  ) {
    super(
      'CAPTURED_TIMER_LOST',
      `${task}: checkpoint ${checkpointId} was taken while ${pending} setTimeout/setInterval callback(s) registered inside causal() were pending (an interval, or a timeout that re-arms itself); ` +
        'a task restored from it would run without them. Use ctx.timers (registerProcessingTime) for timers that must survive failures',
      { retriable: false, context: { task, checkpoint: checkpointId, pending } },
    );
  }
}

/** The job made no progress for its stall timeout while its tasks held work: `waiting` says what each task waited for. */
export class JobStalledError extends CausalflowError {
  constructor(
    message: string,
    /** Per task: what it waited for. */
    readonly waiting: { task: string; status: string; waitingFor: string }[],
  ) {
    super('JOB_STALLED', message, { retriable: false, context: { tasks: waiting.length } });
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 160 ? `${value.slice(0, 160)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A worker process died (SIGKILL, crash, or declared hung): every task it held failed with it. */
export class WorkerLostError extends CausalflowError {
  constructor(
    /** The worker's index. */
    readonly worker: number,
    /** How its death was noticed. */
    readonly detectedBy: string,
  ) {
    super('WORKER_LOST', `worker-${worker} is gone (${detectedBy})`, { retriable: true, context: { worker, detectedBy } });
  }
}

/** A worker process could not start, load the job module, or join the job. */
export class WorkerStartError extends CausalflowError {
  constructor(worker: number, reason: string) {
    super('WORKER_START_FAILED', `worker-${worker} could not join the job: ${reason}`, { context: { worker } });
  }
}

/** A task in a worker process failed; the worker described the error, and this carries its code and message. */
export class RemoteTaskError extends CausalflowError {
  constructor(code: string, message: string, retriable: boolean, context: Record<string, string | number | boolean>) {
    super(code, message, { retriable, context });
  }
}
