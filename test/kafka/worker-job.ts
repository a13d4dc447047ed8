/**
 * The Kafka scenario job built from JSON arguments, for runs in worker processes: every worker loads
 * this module and builds its own source and sink objects for the same topics.
 */
import { Job, type JobOptions } from '../../lib/index.js';
import type { Sink } from '../../lib/connectors/sink.js';
import { kafkaSink, type KafkaSink, type KafkaSinkOptions } from '../../lib/connectors/kafka/sink.js';
import { kafkaSource, type KafkaSource, type KafkaSourceOptions } from '../../lib/connectors/kafka/source.js';

/** The input records of the scenario jobs. */
export interface Numbered {
  n: number;
  k: number;
}

/**
 * The nondeterministic keyed job of the scenarios: `in` (the Kafka source) → keyBy k → `tag` (a random
 * tag and the clock) → keyBy n mod 3 → `count` (a running count per key, keyed state) → rebalance →
 * `out` (the sink, a task of its own).
 */
export function numbersJob(options: JobOptions, source: KafkaSource<Numbered>, sink: Sink<unknown>): Job {
  const job = new Job(options);
  job
    .source(source, { name: 'in' })
    .keyBy((r) => r.k)
    .process<{ n: number; k: number; tag: number; at: number }>({ processElement: (r, ctx) => ctx.emit({ n: r.n, k: r.k, tag: Math.floor(ctx.random() * 1e6), at: Math.floor(ctx.now()) % 1000 }) }, { name: 'tag' })
    .keyBy((r) => r.n % 3)
    .process<{ n: number; tag: number; at: number; count: number }>(
      {
        processElement: (r, ctx) => {
          const seen = ctx.state.value<number>('seen');
          const count = (seen.value() ?? 0) + 1;
          seen.update(count);
          ctx.emit({ n: r.n, tag: r.tag, at: r.at, count });
        },
      },
      { name: 'count' },
    )
    .rebalance()
    .sink(sink, { name: 'out' });
  return job;
}

/** Arguments of {@link buildKafkaJob} (JSON). */
export interface KafkaJobArgs {
  brokers: string;
  input: string;
  output: string;
  /** End offsets of the input partitions. */
  end: number[];
  options: JobOptions;
  source: Partial<KafkaSourceOptions<Numbered>>;
  sink: Partial<KafkaSinkOptions<unknown>>;
}

/** This module, for `workers.module`. */
export const KAFKA_WORKER_JOB = import.meta.url;

/** Builds the scenario job (`numbersJob`) on its own source and sink. */
export async function buildKafkaJob(args: KafkaJobArgs): Promise<{ job: Job; source: KafkaSource<Numbered>; sink: KafkaSink<unknown> }> {
  const source = await kafkaSource<Numbered>({ brokers: args.brokers, topic: args.input, end: args.end, idleTimeoutMs: Infinity, ...args.source });
  const sink = await kafkaSink<unknown>({ brokers: args.brokers, topic: args.output, ...args.sink });
  return { job: numbersJob(args.options, source, sink), source, sink };
}
