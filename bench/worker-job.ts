/**
 * The benchmarked Nexmark job, buildable in a worker process: {@link buildBenchJob} takes JSON arguments
 * only, so that with `--workers N` every worker process builds the same graph as the coordinator from the
 * same arguments (`workers: { module: BENCH_JOB_MODULE, export: 'buildBenchJob', args }`). The embedded
 * benchmarks build their jobs through it too, so both run the same graph.
 */
import { Job, type RecoveryMode } from '../lib/index.js';
import type { InflightRetention, WorkerOptions } from '../lib/config.js';
import { CollectSink } from '../lib/connectors/collect.js';
import { DiscardSink } from '../lib/connectors/discard.js';
import { nexmarkSource } from './nexmark/source.js';
import { QUERIES, type QueryId } from './nexmark/queries.js';
import { recordHash } from './record-hash.js';

/** Event-time rate of the benchmark generator: 10 s windows hold a million events. */
export const BENCH_EVENT_RATE = 100_000;

/** The URL of this module, which worker processes load to build the benchmarked job. */
export const BENCH_JOB_MODULE = import.meta.url;

/** The export of {@link BENCH_JOB_MODULE} that worker processes call. */
export const BENCH_JOB_EXPORT = 'buildBenchJob';

/** Arguments of {@link buildBenchJob}: JSON-serialisable, the same in the coordinator and every worker. */
export interface BenchJobArgs {
  /** Job name (default `bench-<query>-<mode>`). */
  name?: string;
  /** Query. */
  query: QueryId;
  /** Recovery mode. */
  mode: RecoveryMode;
  /** Determinant sharing depth (exactly-once); omitted: the mode's default. */
  dsd?: number;
  /** Parallelism of every operator and of the source. */
  parallelism: number;
  /** Events per second over all source partitions; omitted or null: as fast as the job reads. */
  rate?: number | null;
  /** Events the source holds (omitted: unbounded). */
  maxEvents?: number;
  /** Checkpoint interval (ms). */
  checkpointIntervalMs: number;
  /** Job directory (checkpoints, state). */
  directory: string;
  /**
   * `discard`: a `DiscardSink`, which lives in the process of its task (with workers, in a worker);
   * `collect`: a `CollectSink`, whose partitions live in the coordinator (workers send it a message per batch);
   * `collect-hashes`: the same, of each record's {@link recordHash}, computed in the record's task: Q1 outputs
   * nearly a record per event, more than the coordinator can take as objects, and more than the task can print as
   * JSON to hash it (`bench/record-hash.ts` says what that cost).
   */
  sink: 'discard' | 'collect' | 'collect-hashes';
  /** Keep every determinant of the run (the verifier's oracle replays them). */
  retain?: boolean;
  /** Worker processes (0 or omitted: the embedded runtime). */
  workers?: number;
  /** With workers: tasks move back to a lost worker's new process (`workers.rebalance`, default false). */
  rebalance?: boolean;
  /** Credit of each channel in batches (omitted: the runtime's default). */
  channelCapacity?: number;
  /** What in-flight logs keep of a complete chunk (omitted: the runtime's default, `'references'`). */
  inflightRetention?: InflightRetention;
}

/** The job {@link buildBenchJob} built, and its sink. */
export interface BenchJob {
  job: Job;
  /** The sink named `bench-sink`: a `DiscardSink` or a `CollectSink`, as `args.sink` asked. */
  sink: DiscardSink<unknown> | CollectSink<unknown>;
}

/**
 * Builds the query into the sink `args.sink` asks for. With `args.workers` > 0 the job runs in that many
 * worker processes, each of which loads this module and calls this function with the same `args`.
 */
export function buildBenchJob(args: BenchJobArgs): BenchJob {
  const workers = args.workers ?? 0;
  const job = new Job({
    name: args.name ?? `bench-${args.query}-${args.mode}`,
    parallelism: args.parallelism,
    directory: args.directory,
    recovery: { mode: args.mode, checkpointIntervalMs: args.checkpointIntervalMs, ...(args.dsd !== undefined ? { dsd: args.dsd } : {}) },
    ...(args.retain ? { retainDeterminants: true } : {}),
    ...(args.channelCapacity !== undefined ? { channelCapacity: args.channelCapacity } : {}),
    ...(args.inflightRetention !== undefined ? { inflightRetention: args.inflightRetention } : {}),
    ...(workers > 0 ? { workers: benchWorkers(workers, args) } : {}),
  });
  const events = job.source(
    nexmarkSource({
      partitions: args.parallelism,
      eventRate: BENCH_EVENT_RATE,
      ...(args.rate != null ? { rate: args.rate } : {}),
      ...(args.maxEvents !== undefined ? { maxEvents: args.maxEvents } : {}),
    }),
    { watermarks: {} },
  );
  const stream = QUERIES[args.query].build(events);
  if (args.sink === 'collect-hashes') {
    const hashes = stream.map(recordHash, { name: 'bench-record-hash' });
    return { job, sink: hashes.collect({ name: 'bench-sink' }) as CollectSink<unknown> };
  }
  if (args.sink === 'collect') return { job, sink: stream.collect({ name: 'bench-sink' }) as CollectSink<unknown> };
  const sink = new DiscardSink<unknown>();
  stream.sink(sink, { name: 'bench-sink' });
  return { job, sink };
}

/** The `workers` option that runs the job of `args` in `count` worker processes. */
export function benchWorkers(count: number, args: BenchJobArgs): WorkerOptions {
  return { count, module: BENCH_JOB_MODULE, export: BENCH_JOB_EXPORT, args: { ...args, workers: count }, rebalance: args.rebalance ?? false };
}
