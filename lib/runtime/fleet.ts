/**
 * The port through which the coordinator runs worker processes (`lib/cluster/` implements it). The
 * coordinator decides what runs where and what to do when a worker dies; the fleet starts processes,
 * carries commands and reports, notices deaths, kills on request and brings workers back.
 */
import type { ResolvedJobOptions } from '../config.js';
import type { Sink } from '../connectors/sink.js';
import type { StrategyFeatures } from './strategy.js';
import type { WorkerCommands, WorkerReports } from './worker-api.js';

/** How a worker's death was noticed. */
export type DetectedBy = 'connection closed' | 'process exit' | 'heartbeat timeout';

/** What the fleet needs from the coordinator. */
export interface FleetSetup {
  /** Where workers' reports go. */
  reports: WorkerReports;
  /** Worker `worker` is gone: detected how, and how long after it was killed when the fleet killed it. */
  lost(worker: number, detectedBy: DetectedBy, detectionMs: number | null): void;
  /** The job's options, as resolved by the coordinator (workers use these, not their own). */
  options: ResolvedJobOptions;
  /** What healthy tasks do, as the coordinator's strategy decided it (the sharing depth resolved). */
  features: StrategyFeatures;
  /** Names and shape of the plan: a worker whose module builds another job is refused. */
  fingerprint: string;
  /** Sinks whose partitions live in the coordinator, by logical node id (workers write through it). */
  coordinatorSinks: ReadonlyMap<number, Sink<unknown>>;
  /** Wall-clock ms (with fractions) at which the job clock reads 0. */
  clockOrigin(): number;
  /** Something on a connection the coordinator should know of: a refused handshake, a corrupt frame. */
  transportWarning(warning: { event: string; message: string; code: string | null }): void;
}

/** Addresses of a fleet's servers. */
export interface FleetEndpoints {
  /** The coordinator's control server (workers connect to it), or null before the start. */
  control: { host: string; port: number } | null;
  /** Each worker's data server, by index (null where none runs). */
  data: ({ host: string; port: number } | null)[];
}

/** Worker processes of one job. */
export interface WorkerFleet {
  /** Number of workers. */
  readonly size: number;
  /** Starts every worker; resolves once each loaded the job and connected to its peers. */
  start(setup: FleetSetup): Promise<WorkerCommands[]>;
  /** Kills worker `worker` with SIGKILL (fault injection); its death is then reported as any other. */
  kill(worker: number): void;
  /** Starts a new process for worker `worker` (it died), connected to its peers. */
  respawn(worker: number): Promise<WorkerCommands>;
  /** Stops every worker. */
  close(): Promise<void>;
  /** Process ids of the live workers, by index (null where none runs). */
  pids(): (number | null)[];
  /** Where the coordinator's control server and each live worker's data server listen. */
  endpoints(): FleetEndpoints;
}
