/**
 * The built-in verification jobs as worker processes build them (`causalflow verify --workers N`).
 *
 * A worker process imports this module and calls {@link buildWorkerJob} with the JSON arguments the
 * coordinator gave it: the job's name, its JSON-safe options, and the witness server's address. It builds
 * the very graph the coordinator built, so the plan fingerprints agree. Nothing of the coordinator crosses:
 * the job calls the witness server by its URL, and its `CollectSink` writes through to the coordinator's.
 */
import type { Job } from '../api/job.js';
import type { JobOptions } from '../config.js';
import type { CollectSink } from '../connectors/collect.js';
import { VERIFY_JOBS } from './jobs.js';
import type { ServiceAddress } from './witness/server.js';

/** The file URL of this module: `workers.module` of a built-in job run with workers. */
export const WORKER_JOBS_MODULE: string = import.meta.url;

/** The export of this module worker processes call (`workers.export`). */
export const WORKER_JOBS_EXPORT = 'buildWorkerJob';

/** The arguments of {@link buildWorkerJob} (`workers.args`): JSON only. */
export interface WorkerJobArgs {
  /** A built-in job's name (`VERIFY_JOBS`). */
  job: string;
  /** The run's job options (recovery, sharing depth, directory, …), JSON-safe. */
  options: JobOptions;
  /** Where the job reaches the witness server. */
  service: ServiceAddress;
  /** The pace of its sources (`VerifyJob.build`). */
  pace: number;
}

/** Builds built-in job `args.job` in a worker process, exactly as the coordinator built it. */
export function buildWorkerJob(args: WorkerJobArgs): { job: Job; sink: CollectSink<{ uid: string }> } {
  const spec = VERIFY_JOBS.find((j) => j.name === args.job);
  if (!spec) throw new Error(`no built-in verification job named ${JSON.stringify(args.job)}`);
  return spec.build(args.options, args.service, args.pace);
}

/** `options` if it survives JSON unchanged (worker arguments cross as JSON); throws with the field otherwise. */
export function jsonSafe<T>(what: string, options: T): T {
  const copy = JSON.parse(JSON.stringify(options)) as T;
  const difference = firstDifference(options, copy, what);
  if (difference !== null) throw new Error(`${difference} does not survive JSON, so worker processes cannot be given it`);
  return copy;
}

function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (a === null || typeof a !== 'object') return Object.is(a, b) ? null : path;
  if (b === null || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return path;
  const proto = Object.getPrototypeOf(a) as unknown;
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return path;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`);
    if (found !== null) return found;
  }
  return null;
}
