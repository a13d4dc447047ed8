/**
 * The demo's job, Nexmark Q3, built from JSON arguments: the demo builds it here, for its oracle, and in
 * every worker process with `--workers` (each worker loads this module and calls `buildDemoJob`).
 */
import { Job } from '../api/job.js';
import type { CollectSink } from '../connectors/collect.js';
import { nexmarkSource } from '../../bench/nexmark/source.js';
import { QUERIES } from '../../bench/nexmark/queries.js';

/** Arguments of {@link buildDemoJob}. */
export interface DemoJobArgs {
  parallelism: number;
  /** Input rate, events per second. */
  rate: number;
  /** Events in all. */
  maxEvents: number;
  directory: string;
}

/** The module worker processes load. */
export const DEMO_JOB_MODULE = import.meta.url;

/** Builds Nexmark Q3 with exactly-once causal recovery into a collect sink. */
export function buildDemoJob(args: DemoJobArgs): { job: Job; sink: CollectSink<unknown> } {
  const job = new Job({
    name: 'demo-q3',
    parallelism: args.parallelism,
    directory: args.directory,
    recovery: { mode: 'exactly-once', checkpointIntervalMs: 1000, dsd: 1 },
    retainDeterminants: true,
  });
  const events = job.source(nexmarkSource({ partitions: args.parallelism, rate: args.rate, maxEvents: args.maxEvents, eventRate: 100_000 }), { watermarks: {} });
  const sink = QUERIES.q3.build(events).collect({ name: 'results' });
  return { job, sink };
}
