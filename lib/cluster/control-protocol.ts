/**
 * The control connection between the coordinator and a worker process, beyond the `WorkerCommands`
 * calls themselves: how a worker is launched, how it joins (hello, welcome), where its peers are, and how
 * errors cross the process boundary.
 *
 * | Direction | Message | Params → result |
 * | --- | --- | --- |
 * | worker → coordinator | `hello` (call) | {@link WorkerHello} → {@link WorkerWelcome}; refused (`WORKER_START_FAILED`) if the plan differs |
 * | coordinator → worker | `connectPeers` (call) | `{ peers }` → once connected to every peer |
 * | coordinator → worker | `exit` (notification) | the process exits |
 * | coordinator → worker | every `WorkerCommands` method | see `remote-worker.ts` |
 * | worker → coordinator | every `WorkerReports` method, `figures`, `figures-stream` | see `worker-agent.ts` |
 * | worker → coordinator | `sinkOpen`, `sinkWrite`, … | see `sink-proxy.ts` |
 */
import type { ResolvedJobOptions } from '../config.js';
import { CausalflowError, RemoteTaskError } from '../errors.js';
import type { StrategyFeatures } from '../runtime/strategy.js';

export { planFingerprint } from '../runtime/plan-fingerprint.js';

/** Environment variable carrying a worker's {@link WorkerLaunch} (JSON). */
export const WORKER_ENV = 'CAUSALFLOW_WORKER';
/** Environment variable carrying the job's secret (the worker deletes it from its environment at once). */
export const WORKER_SECRET_ENV = 'CAUSALFLOW_WORKER_SECRET';

/** What a worker process is started with. */
export interface WorkerLaunch {
  index: number;
  /** Incremented each time the worker is respawned. */
  generation: number;
  /** The coordinator's control server. */
  control: { host: string; port: number };
  /** The job module (file URL), its export and the export's arguments. */
  module: string;
  export: string;
  args: unknown;
  bindHost: string;
  advertisedHost: string | null;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** This generation's own directory (lmdb state, spilled logs). */
  directory: string;
}

/** A worker's first call. */
export interface WorkerHello {
  index: number;
  generation: number;
  /** {@link planFingerprint} of the plan the worker built. */
  fingerprint: string;
  /** Where its data server listens. */
  data: { host: string; port: number };
  pid: number;
}

/** The coordinator's answer: what the worker runs with. */
export interface WorkerWelcome {
  /** The job's options as the coordinator resolved them (without sinks: `errors.deadLetter` is null). */
  options: ResolvedJobOptions;
  features: StrategyFeatures;
  /** Wall-clock ms at which the job clock reads 0 (an estimate until `run` sends the real one). */
  clockOrigin: number;
}

/** Where each live worker's data server listens. */
export type PeerTable = { worker: number; host: string; port: number }[];

/** A failure's cause as plain data. */
export interface CauseDescription {
  name: string;
  code: string;
  message: string;
  retriable: boolean;
  context: Record<string, string | number | boolean>;
}

/** A failure's cause as plain data: its error code, message, context and whether a retry may help. */
export function describeCause(cause: unknown): CauseDescription | null {
  if (cause === undefined || cause === null) return null;
  if (cause instanceof CausalflowError) {
    const context: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(cause.context)) if (['string', 'number', 'boolean'].includes(typeof value)) context[key] = value as string | number | boolean;
    return { name: cause.name, code: cause.code, message: cause.message, retriable: cause.retriable, context };
  }
  return { name: cause instanceof Error ? cause.name : 'Error', code: 'INTERNAL', message: cause instanceof Error ? (cause.stack ?? cause.message) : String(cause), retriable: false, context: {} };
}

/**
 * The error a worker described, rebuilt in the coordinator: a typed error with the same code and message
 * (an internal error stays a plain `Error`, which fails the job); null stands for an injected kill.
 */
export function reviveCause(description: CauseDescription | null): unknown {
  if (description === null) return undefined;
  if (description.code === 'INTERNAL') return new Error(description.message);
  return new RemoteTaskError(description.code, description.message, description.retriable, description.context);
}
