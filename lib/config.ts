/**
 * Job configuration: every field validated, every default documented. A bad value raises
 * {@link ConfigError} naming the field.
 */
import { ConfigError } from './errors.js';
import type { Sink } from './connectors/sink.js';

/** What an in-flight log may keep of a complete chunk (`inflightRetention`; `lib/inflight/retention.ts` implements them). */
export const INFLIGHT_RETENTIONS = ['references', 'encoded'] as const;

/** One of {@link INFLIGHT_RETENTIONS}. */
export type InflightRetention = (typeof INFLIGHT_RETENTIONS)[number];

/** How a job recovers from the failure of a task. */
export type RecoveryMode = 'none' | 'global-rollback' | 'at-least-once' | 'exactly-once';

/** The fields of {@link RecoveryOptions}. */
const RECOVERY_KEYS = ['mode', 'checkpointIntervalMs', 'standbys', 'dsd', 'onEscalation'];

/** All recovery modes. */
export const RECOVERY_MODES: readonly RecoveryMode[] = ['none', 'global-rollback', 'at-least-once', 'exactly-once'];

/** Recovery settings. */
export interface RecoveryOptions {
  /** Recovery mode (default `none`). */
  mode?: RecoveryMode;
  /** Milliseconds between checkpoints (default 1000). Ignored in mode `none`. */
  checkpointIntervalMs?: number;
  /** Standby tasks per task (default 1 in local-recovery modes; `global-rollback` and `none` use none). */
  standbys?: number;
  /**
   * Determinant sharing depth for `exactly-once`: how many hops downstream each task's determinants travel.
   * 1, 2, … or -1 for full sharing; `'auto'` picks the smallest depth that covers every failure the
   * placement can produce (one task, or one worker process with all its tasks), up to full sharing.
   * Default 1. (0 would ship nothing, which is `at-least-once`: ask for that mode instead.)
   */
  dsd?: number | 'auto';
  /**
   * What an `exactly-once` job does when recovery has to escalate to a global rollback (determinants were
   * lost, I16) and the rollback would regenerate output that sinks already showed:
   * - `'fail'` (default): the job stops with {@link ExactlyOnceLostError} rather than break exactly-once;
   * - `'rollback'`: it rolls back and goes on; those sinks show every record since the checkpoint at least
   *   once, some twice, and the job's result says so (`guarantee`).
   * An escalation that touches no shown output rolls back in either case: it keeps exactly-once.
   */
  onEscalation?: 'fail' | 'rollback';
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

/** Where a metrics or dashboard endpoint listens. */
export interface EndpointConfig {
  /** Port (0: any free one). */
  port: number;
  /** Address to bind (default 127.0.0.1): binding anything else must be asked for here. */
  host?: string;
}

/** The endpoints of a job, validated. */
export interface ResolvedEndpoints {
  readonly metrics: Required<EndpointConfig> | null;
  readonly dashboard: Required<EndpointConfig> | null;
  readonly token: string | null;
  readonly afterEnd: 'close' | 'keep';
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
  /**
   * Data batches a channel between two worker processes has in flight before its producer waits (default 32).
   * Larger than `channelCapacity`: credit crosses a socket, and comes back only between the consumer's slices.
   */
  remoteChannelCapacity?: number;
  /** Records a task's in-flight logs keep in memory before spilling to lmdb (default 2,000,000). */
  inflightMaxRecords?: number;
  /**
   * What an in-flight log keeps of a complete chunk of 4,096 records (default `'references'`): the records
   * themselves, encoded only if they spill; or `'encoded'`, msgpackr bytes made at once, for records too
   * large to keep a checkpoint interval's worth on the heap.
   */
  inflightRetention?: InflightRetention;
  /** Operator error handling. */
  errors?: ErrorPolicy;
  /** Encode every batch on its way through a channel, as a network would (tests; default false). */
  serializeChannels?: boolean;
  /**
   * Milliseconds without any progress, while tasks hold queued input, a barrier or a replay, after which
   * the job counts as stalled: a `stalled` event says what every task waits for, and the job fails with
   * `JobStalledError` (default 30,000; 0 turns the detector off).
   */
  stallTimeoutMs?: number;
  /**
   * Serve Prometheus metrics at `/metrics` while the job runs (see `docs/metrics.md`): a port (0: any free
   * one), or `{ port, host }`. Bound to 127.0.0.1 unless `host` says otherwise; every request needs the
   * endpoint token (`handle.endpoints.token`).
   */
  metrics?: number | EndpointConfig;
  /** Serve the live dashboard (it serves `/metrics` too): `true` (any free port), a port, or `{ port, host }`. Same binding and token rules. */
  dashboard?: boolean | number | EndpointConfig;
  /** The token the metrics and dashboard endpoints require (at least 16 characters; default: a new random one per run). */
  endpointToken?: string;
  /** When the job ends, the endpoints `'close'` (default) or `'keep'` serving until `handle.closeEndpoints()`. */
  endpointsAfterEnd?: 'close' | 'keep';
  /**
   * Keep every determinant of the run, never truncating (the verifier's oracle replays whole traces).
   * Test and verification only: memory grows with the run. Default false.
   */
  retainDeterminants?: boolean;
  /**
   * Run the tasks in this many worker processes on this host (default 0: every task in this process, the
   * embedded runtime). The launching process becomes the coordinator; each worker loads the job's module
   * and rebuilds the graph. A number, or {@link WorkerOptions} for the module and the failure detector.
   */
  workers?: number | WorkerOptions;
  /**
   * Continue from the latest completed checkpoint in `directory` instead of starting afresh (the
   * coordinator died; `causalflow run --resume`). Default false: a new run clears the checkpoint store.
   */
  resume?: boolean;
}

/** Worker processes of a job. */
export interface WorkerOptions {
  /** Number of worker processes (1 to 64). */
  count: number;
  /**
   * The module each worker loads to build the job: a path or file URL of a `.ts` or `.js` file. Default:
   * the file that called `new Job(...)`. Its export `export` is the job, a function building it from `args`,
   * or an object with such a `build` function; or the module builds and starts the job at its top level.
   */
  module?: string;
  /** The export that builds the job (default `default`). */
  export?: string;
  /** JSON-serialisable arguments given to the export when it is a function (default none). */
  args?: unknown;
  /** A worker that sends nothing for this long is declared hung and killed (ms, default 2000). */
  heartbeatTimeoutMs?: number;
  /** Interval of heartbeats on idle control connections (ms, default a quarter of the timeout, at most 100). */
  heartbeatIntervalMs?: number;
  /** Address the coordinator's and the workers' servers bind to (default 127.0.0.1). */
  bindHost?: string;
  /** Address peers dial (default: the bound one). */
  advertisedHost?: string;
  /** Milliseconds a worker may take to start, load the module and connect (default 30,000). */
  startTimeoutMs?: number;
  /**
   * The job's shared secret (32 bytes as 64 hex digits or base64): every connection between the
   * coordinator and the workers, and between workers, proves it (HMAC challenge, never sent). Default: a
   * new random secret per run, handed to the workers in their environment.
   */
  secret?: string;
  /**
   * Once a lost worker's new process is up, the tasks first placed on it move back there from the survivors
   * that took them over, so that the job runs on every process again (default false: they stay where
   * their recovery put them, and the new process holds standbys). A move is a controlled failure of those
   * tasks, recovered like any other by their standbys on the new process, right after a checkpoint those
   * standbys hold (I31).
   */
  rebalance?: boolean;
}

/** Worker options after validation. */
export interface ResolvedWorkerOptions {
  readonly count: number;
  /** Module path or URL, or null: the coordinator infers it. */
  readonly module: string | null;
  readonly export: string;
  readonly args: unknown;
  readonly heartbeatTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly bindHost: string;
  readonly advertisedHost: string | null;
  readonly startTimeoutMs: number;
  /** The shared secret, or null: a random one per run. */
  readonly secret: string | null;
  /** Whether tasks move back to a respawned worker. */
  readonly rebalance: boolean;
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
  readonly remoteChannelCapacity: number;
  readonly inflightMaxRecords: number;
  readonly inflightRetention: InflightRetention;
  readonly errors: { policy: 'fail' | 'dead-letter'; deadLetter: Sink<DeadLetter> | null };
  readonly serializeChannels: boolean;
  readonly retainDeterminants: boolean;
  readonly stallTimeoutMs: number;
  /** Worker processes, or null for the embedded runtime. */
  readonly workers: ResolvedWorkerOptions | null;
  readonly resume: boolean;
  /** Metrics and dashboard endpoints. */
  readonly endpoints: ResolvedEndpoints;
}

/** Validates options and fills defaults. */
export function resolveJobOptions(options: JobOptions = {}): ResolvedJobOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', 'an object', options);
  const known = ['name', 'parallelism', 'recovery', 'stateBackend', 'directory', 'batchSize', 'channelCapacity', 'remoteChannelCapacity', 'inflightMaxRecords', 'inflightRetention', 'errors', 'serializeChannels', 'retainDeterminants', 'stallTimeoutMs', 'workers', 'resume', 'metrics', 'dashboard', 'endpointToken', 'endpointsAfterEnd'];
  for (const key of Object.keys(options)) if (!known.includes(key)) throw new ConfigError(key, `one of the options ${known.join(', ')}`, key);
  const name = options.name ?? 'job';
  if (typeof name !== 'string' || !/^[\w.-]{1,100}$/.test(name)) throw new ConfigError('name', 'letters, digits, "-", "_" or "." (1-100 characters)', name);
  const parallelism = integer('parallelism', options.parallelism ?? 1, 1, 4096);
  const recovery = options.recovery ?? {};
  if (typeof recovery !== 'object' || recovery === null) throw new ConfigError('recovery', 'an object', recovery);
  for (const key of Object.keys(recovery)) {
    if (!RECOVERY_KEYS.includes(key)) throw new ConfigError(`recovery.${key}`, `one of ${RECOVERY_KEYS.join(', ')}`, key);
  }
  const mode = recovery.mode ?? 'none';
  if (!RECOVERY_MODES.includes(mode)) throw new ConfigError('recovery.mode', RECOVERY_MODES.map((m) => `"${m}"`).join(', '), mode);
  const checkpointIntervalMs = number('recovery.checkpointIntervalMs', recovery.checkpointIntervalMs ?? 1000, 10, 24 * 3600 * 1000);
  const localRecovery = mode === 'at-least-once' || mode === 'exactly-once';
  if (!localRecovery && recovery.standbys !== undefined && recovery.standbys !== 0) {
    throw new ConfigError('recovery.standbys', `0 in mode "${mode}", which never uses a standby (standbys serve "exactly-once" and "at-least-once")`, recovery.standbys);
  }
  const standbys = integer('recovery.standbys', recovery.standbys ?? (localRecovery ? 1 : 0), 0, 8);
  const dsd = recovery.dsd === 'auto' ? 'auto' : integer('recovery.dsd', recovery.dsd ?? 1, -1, 1000);
  if (mode === 'exactly-once' && dsd === 0) {
    throw new ConfigError('recovery.dsd', 'a sharing depth of 1 or more, -1 (full) or "auto" for "exactly-once" (a depth of 0 ships no determinant: that is mode "at-least-once")', 0);
  }
  const onEscalation = recovery.onEscalation ?? 'fail';
  if (onEscalation !== 'fail' && onEscalation !== 'rollback') throw new ConfigError('recovery.onEscalation', '"fail" or "rollback"', onEscalation);
  const stateBackend = options.stateBackend ?? 'heap';
  if (stateBackend !== 'heap' && stateBackend !== 'lmdb') throw new ConfigError('stateBackend', '"heap" or "lmdb"', stateBackend);
  const inflightRetention = options.inflightRetention ?? 'references';
  if (!INFLIGHT_RETENTIONS.includes(inflightRetention)) throw new ConfigError('inflightRetention', INFLIGHT_RETENTIONS.map((r) => JSON.stringify(r)).join(' or '), inflightRetention);
  const directory = options.directory ?? `.causalflow/jobs/${name}`;
  if (typeof directory !== 'string' || directory.length === 0) throw new ConfigError('directory', 'a directory path', directory);
  const errors = options.errors ?? {};
  const policy = errors.policy ?? 'fail';
  if (policy !== 'fail' && policy !== 'dead-letter') throw new ConfigError('errors.policy', '"fail" or "dead-letter"', policy);
  if (policy === 'dead-letter' && !errors.deadLetter) throw new ConfigError('errors.deadLetter', 'a sink for failed records (policy is dead-letter)', undefined);
  return {
    name,
    parallelism,
    recovery: { mode, checkpointIntervalMs, standbys, dsd, onEscalation },
    stateBackend,
    directory,
    batchSize: integer('batchSize', options.batchSize ?? 256, 1, 1 << 16),
    channelCapacity: integer('channelCapacity', options.channelCapacity ?? 8, 1, 1 << 16),
    remoteChannelCapacity: integer('remoteChannelCapacity', options.remoteChannelCapacity ?? 32, 1, 1 << 16),
    inflightMaxRecords: integer('inflightMaxRecords', options.inflightMaxRecords ?? 2_000_000, 1024, Number.MAX_SAFE_INTEGER),
    inflightRetention,
    errors: { policy, deadLetter: errors.deadLetter ?? null },
    serializeChannels: options.serializeChannels ?? false,
    retainDeterminants: options.retainDeterminants ?? false,
    stallTimeoutMs: integer('stallTimeoutMs', options.stallTimeoutMs ?? 30_000, 0, 24 * 3600 * 1000),
    workers: resolveWorkers(options.workers, errors.deadLetter ?? null),
    resume: boolean('resume', options.resume ?? false),
    endpoints: resolveEndpoints(options),
  };
}

function resolveEndpoints(options: JobOptions): ResolvedEndpoints {
  const endpoint = (field: string, value: number | EndpointConfig | boolean | undefined): Required<EndpointConfig> | null => {
    if (value === undefined || value === false) return null;
    if (value === true) return { port: 0, host: '127.0.0.1' };
    const o = typeof value === 'number' ? { port: value } : value;
    if (o === null || typeof o !== 'object') throw new ConfigError(field, 'a port, or { port, host }', value);
    for (const key of Object.keys(o)) if (key !== 'port' && key !== 'host') throw new ConfigError(`${field}.${key}`, 'port or host', key);
    const host = o.host ?? '127.0.0.1';
    if (typeof host !== 'string' || host.length === 0) throw new ConfigError(`${field}.host`, 'an address to bind', host);
    return { port: integer(`${field}.port`, o.port, 0, 65535), host };
  };
  const token = options.endpointToken ?? null;
  if (token !== null && (typeof token !== 'string' || token.length < 16)) throw new ConfigError('endpointToken', 'a string of at least 16 characters', '(hidden)');
  const afterEnd = options.endpointsAfterEnd ?? 'close';
  if (afterEnd !== 'close' && afterEnd !== 'keep') throw new ConfigError('endpointsAfterEnd', '"close" or "keep"', afterEnd);
  return { metrics: endpoint('metrics', options.metrics), dashboard: endpoint('dashboard', options.dashboard), token, afterEnd };
}

const WORKER_KEYS = ['count', 'module', 'export', 'args', 'heartbeatTimeoutMs', 'heartbeatIntervalMs', 'bindHost', 'advertisedHost', 'startTimeoutMs', 'secret', 'rebalance'];

function resolveWorkers(workers: JobOptions['workers'], deadLetter: Sink<DeadLetter> | null): ResolvedWorkerOptions | null {
  if (workers === undefined || workers === 0) return null;
  const o: WorkerOptions = typeof workers === 'number' ? { count: workers } : workers;
  if (o === null || typeof o !== 'object') throw new ConfigError('workers', 'a number of worker processes, or { count, module, … }', workers);
  for (const key of Object.keys(o)) if (!WORKER_KEYS.includes(key)) throw new ConfigError(`workers.${key}`, `one of ${WORKER_KEYS.join(', ')}`, key);
  const count = integer('workers.count', o.count, 0, 64);
  if (count === 0) return null;
  if (o.module !== undefined && (typeof o.module !== 'string' || o.module.length === 0)) throw new ConfigError('workers.module', 'a path or file URL of the job module', o.module);
  const exportName = o.export ?? 'default';
  if (typeof exportName !== 'string' || exportName.length === 0) throw new ConfigError('workers.export', 'the name of an export of the job module', exportName);
  if (o.args !== undefined) {
    try {
      JSON.stringify(o.args);
    } catch {
      throw new ConfigError('workers.args', 'JSON-serialisable arguments', o.args);
    }
  }
  const heartbeatTimeoutMs = integer('workers.heartbeatTimeoutMs', o.heartbeatTimeoutMs ?? 2000, 50, 600_000);
  const heartbeatIntervalMs = integer('workers.heartbeatIntervalMs', o.heartbeatIntervalMs ?? Math.min(100, Math.floor(heartbeatTimeoutMs / 4)), 5, heartbeatTimeoutMs);
  for (const field of ['bindHost', 'advertisedHost'] as const) {
    if (o[field] !== undefined && (typeof o[field] !== 'string' || o[field].length === 0)) throw new ConfigError(`workers.${field}`, 'a host name or address', o[field]);
  }
  if (deadLetter?.location === 'coordinator') {
    throw new ConfigError('errors.deadLetter', 'a sink worker processes can write themselves (a file sink; an in-memory collect sink lives in one process)', deadLetter.name);
  }
  return {
    count,
    module: o.module ?? null,
    export: exportName,
    args: o.args ?? null,
    heartbeatTimeoutMs,
    heartbeatIntervalMs,
    bindHost: o.bindHost ?? '127.0.0.1',
    advertisedHost: o.advertisedHost ?? null,
    startTimeoutMs: integer('workers.startTimeoutMs', o.startTimeoutMs ?? 30_000, 1000, 600_000),
    secret: secretOf(o.secret),
    rebalance: boolean('workers.rebalance', o.rebalance ?? false),
  };
}

/** A shared secret: 32 bytes, as 64 hex digits or base64 (the value is never echoed in errors). */
function secretOf(secret: unknown): string | null {
  if (secret === undefined) return null;
  const ok = typeof secret === 'string' && (/^[0-9a-fA-F]{64}$/.test(secret) || (/^[A-Za-z0-9+/]{43}=?$/.test(secret) && Buffer.from(secret, 'base64').length === 32));
  if (!ok) throw new ConfigError('workers.secret', '32 bytes as 64 hex digits or base64', typeof secret === 'string' ? `a string of ${secret.length} characters` : typeof secret);
  return secret;
}

function boolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(field, 'true or false', value);
  return value;
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ConfigError(field, `an integer from ${min} to ${max}`, value);
  return value;
}

function number(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new ConfigError(field, `a number from ${min} to ${max}`, value);
  return value;
}
