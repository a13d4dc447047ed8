/**
 * Job configuration: every field validated, every default documented. A bad value raises
 * {@link ConfigError} naming the field.
 */
import { ConfigError } from '../errors.js';
import type { Sink } from '../connectors/sink.js';

/** How a job recovers from the failure of a task. */
export type RecoveryMode = 'none' | 'global-rollback' | 'at-least-once' | 'exactly-once';

/** All recovery modes. */
export const RECOVERY_MODES: readonly RecoveryMode[] = ['none', 'global-rollback', 'at-least-once', 'exactly-once'];

/** Recovery settings. */
export interface RecoveryOptions {
  /** Recovery mode (default `none`). */
  mode?: RecoveryMode;
  /** Milliseconds between checkpoints (default 1000). Ignored in mode `none`. */
  checkpointIntervalMs?: number;
  /** Standby tasks per task (default 1 in local-recovery modes, 0 otherwise). */
  standbys?: number;
  /** Determinant sharing depth for `exactly-once`: 0 none, 1, 2, … or -1 for full sharing (default 1). */
  dsd?: number;
}

/** What happens when an operator throws on a record. */
export interface ErrorPolicy {
  /** `fail` (default): the task fails and recovery takes over. `dead-letter`: the record and its error go to `deadLetter`. */
  policy?: 'fail' | 'dead-letter';
  /** Receives `{ operator, subtask, record, error }` records under the `dead-letter` policy. */
  deadLetter?: Sink<DeadLetter>;
}

/** A record an operator failed on. */
export interface DeadLetter {
  /** Operator that threw. */
  operator: string;
  /** Its subtask. */
  subtask: number;
  /** The record (or a description of the timer) it failed on. */
  record: unknown;
  /** The error message. */
  error: string;
}

/** Options of a {@link Job}. */
export interface JobOptions {
  /** Job name (default `job`); letters, digits, `-`, `_` and `.`. */
  name?: string;
  /** Default parallelism of operators (default 1). */
  parallelism?: number;
  /** Recovery. */
  recovery?: RecoveryOptions;
  /** Keyed state backend: `heap` (default) or `lmdb`. */
  stateBackend?: 'heap' | 'lmdb';
  /** Directory for checkpoints, spilled logs and lmdb state (default `.causalflow/jobs/<name>`). */
  directory?: string;
  /** Records per batch (default 256). */
  batchSize?: number;
  /** Data batches a channel holds before its producer waits (default 8). */
  channelCapacity?: number;
  /** Records a task's in-flight logs keep in memory before spilling to lmdb (default 2,000,000). */
  inflightMaxRecords?: number;
  /** Operator error handling. */
  errors?: ErrorPolicy;
  /** Encode every batch on its way through a channel, as a network would (tests; default false). */
  serializeChannels?: boolean;
  /**
   * Keep every determinant of the run, never truncating (the verifier's oracle replays whole traces).
   * Test and verification only: memory grows with the run. Default false.
   */
  retainDeterminants?: boolean;
}

/** Options after validation, every default filled in. */
export interface ResolvedJobOptions {
  readonly name: string;
  readonly parallelism: number;
  readonly recovery: Required<RecoveryOptions>;
  readonly stateBackend: 'heap' | 'lmdb';
  readonly directory: string;
  readonly batchSize: number;
  readonly channelCapacity: number;
  readonly inflightMaxRecords: number;
  readonly errors: { policy: 'fail' | 'dead-letter'; deadLetter: Sink<DeadLetter> | null };
  readonly serializeChannels: boolean;
  readonly retainDeterminants: boolean;
}

/** Validates options and fills defaults. */
export function resolveJobOptions(options: JobOptions = {}): ResolvedJobOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', 'an object', options);
  const known = ['name', 'parallelism', 'recovery', 'stateBackend', 'directory', 'batchSize', 'channelCapacity', 'inflightMaxRecords', 'errors', 'serializeChannels', 'retainDeterminants'];
  for (const key of Object.keys(options)) if (!known.includes(key)) throw new ConfigError(key, `one of the options ${known.join(', ')}`, key);
  const name = options.name ?? 'job';
  if (typeof name !== 'string' || !/^[\w.-]{1,100}$/.test(name)) throw new ConfigError('name', 'letters, digits, "-", "_" or "." (1-100 characters)', name);
  const parallelism = integer('parallelism', options.parallelism ?? 1, 1, 4096);
  const recovery = options.recovery ?? {};
  if (typeof recovery !== 'object' || recovery === null) throw new ConfigError('recovery', 'an object', recovery);
  for (const key of Object.keys(recovery)) {
    if (!['mode', 'checkpointIntervalMs', 'standbys', 'dsd'].includes(key)) throw new ConfigError(`recovery.${key}`, 'one of mode, checkpointIntervalMs, standbys, dsd', key);
  }
  const mode = recovery.mode ?? 'none';
  if (!RECOVERY_MODES.includes(mode)) throw new ConfigError('recovery.mode', RECOVERY_MODES.map((m) => `"${m}"`).join(', '), mode);
  const checkpointIntervalMs = number('recovery.checkpointIntervalMs', recovery.checkpointIntervalMs ?? 1000, 10, 24 * 3600 * 1000);
  const localRecovery = mode === 'at-least-once' || mode === 'exactly-once';
  const standbys = integer('recovery.standbys', recovery.standbys ?? (localRecovery ? 1 : 0), 0, 8);
  const dsd = integer('recovery.dsd', recovery.dsd ?? 1, -1, 1000);
  const stateBackend = options.stateBackend ?? 'heap';
  if (stateBackend !== 'heap' && stateBackend !== 'lmdb') throw new ConfigError('stateBackend', '"heap" or "lmdb"', stateBackend);
  const directory = options.directory ?? `.causalflow/jobs/${name}`;
  if (typeof directory !== 'string' || directory.length === 0) throw new ConfigError('directory', 'a directory path', directory);
  const errors = options.errors ?? {};
  const policy = errors.policy ?? 'fail';
  if (policy !== 'fail' && policy !== 'dead-letter') throw new ConfigError('errors.policy', '"fail" or "dead-letter"', policy);
  if (policy === 'dead-letter' && !errors.deadLetter) throw new ConfigError('errors.deadLetter', 'a sink for failed records (policy is dead-letter)', undefined);
  return {
    name,
    parallelism,
    recovery: { mode, checkpointIntervalMs, standbys, dsd },
    stateBackend,
    directory,
    batchSize: integer('batchSize', options.batchSize ?? 256, 1, 1 << 16),
    channelCapacity: integer('channelCapacity', options.channelCapacity ?? 8, 1, 1 << 16),
    inflightMaxRecords: integer('inflightMaxRecords', options.inflightMaxRecords ?? 2_000_000, 1024, Number.MAX_SAFE_INTEGER),
    errors: { policy, deadLetter: errors.deadLetter ?? null },
    serializeChannels: options.serializeChannels ?? false,
    retainDeterminants: options.retainDeterminants ?? false,
  };
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(field, `an integer from ${min} to ${max}`, value);
  return value;
}

function number(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new ConfigError(field, `a number from ${min} to ${max}`, value);
  return value;
}
