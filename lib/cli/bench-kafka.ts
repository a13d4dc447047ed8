/** `causalflow bench kafka`: Nexmark Q1 or Q3 through a real Kafka broker (see `bench/kafka.ts`). */
import type { Command } from 'commander';
import { KAFKA_BENCH_QUERIES, runKafkaBench, type KafkaBenchQuery, type KafkaBenchResult } from '../../bench/kafka.js';
import { oneOf, positiveInteger, positiveNumber } from './args.js';
import { Progress, formatNumber, printJsonResult } from './output.js';

/** Adds `bench kafka` to the `bench` command group. */
export function registerKafkaBench(bench: Command): void {
  bench
    .command('kafka')
    .description('Nexmark through Kafka: events/s, end-to-end latency at half load (exactly-once and transactional sinks), recovery after a kill of the join')
    .option('--query <id>', `query: ${KAFKA_BENCH_QUERIES.join(', ')}`, oneOf(KAFKA_BENCH_QUERIES), 'q3' as KafkaBenchQuery)
    .option('--brokers <host:port>', 'use this broker (default: CAUSALFLOW_KAFKA_BROKERS, else start one, which needs java and mvn)')
    .option('--events <n>', 'events of the maximum-rate run', positiveInteger, 200_000)
    .option('--seconds <s>', 'seconds of each paced run (the first 2 are warm-up)', positiveNumber, 8)
    .option('--parallelism <n>', 'parallelism of source, query and sink, and partitions of the topics', positiveInteger, 2)
    .option('--checkpoint-interval <ms>', 'checkpoint interval in ms', positiveNumber, 1000)
    .option('--rate <events/s>', 'events per second of the paced runs (default: half the maximum, of the job or of the whole pipeline, whichever is less)', positiveNumber)
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .action(async (options: { query: KafkaBenchQuery; brokers?: string; events: number; seconds: number; parallelism: number; checkpointInterval: number; rate?: number; json?: boolean }) => {
      const progress = new Progress();
      const started = Date.now();
      const brokers = options.brokers ?? process.env.CAUSALFLOW_KAFKA_BROKERS;
      const result = await runKafkaBench({
        query: options.query,
        ...(brokers ? { brokers } : {}),
        events: options.events,
        seconds: options.seconds,
        parallelism: options.parallelism,
        checkpointIntervalMs: options.checkpointInterval,
        ...(options.rate !== undefined ? { rate: options.rate } : {}),
        onProgress: (message) => progress.log(`[${Math.round((Date.now() - started) / 1000)}s] ${message}`),
      });
      progress.done();
      (options.json ? process.stderr : process.stdout).write(formatKafkaResult(result));
      if (options.json) printJsonResult(result);
    });
}

/** The result as readable lines. */
export function formatKafkaResult(r: KafkaBenchResult): string {
  const ms = (v: number | null) => (v === null ? 'n/a' : `${v} ms`);
  return [
    `${r.query} through Kafka ${r.kafkaVersion}, parallelism ${r.parallelism}, checkpoint every ${r.checkpointIntervalMs} ms`,
    `maximum rate (exactly-once)        ${r.eventsPerSec === null ? 'n/a' : `${formatNumber(r.eventsPerSec)} events/s`} from a full topic, ` +
      `${r.pipelineEventsPerSec === null ? 'n/a' : `${formatNumber(r.pipelineEventsPerSec)} events/s`} with the writer and a consumer running`,
    `at ${r.rate === null ? 'n/a' : formatNumber(r.rate)} events/s, event to output readable:`,
    `  exactly-once (read_uncommitted)  p50 ${ms(r.exactlyOnce.p50Ms)}, p99 ${ms(r.exactlyOnce.p99Ms)}`,
    `  transactional (read_committed)   p50 ${ms(r.transactional.p50Ms)}, p99 ${ms(r.transactional.p99Ms)}`,
    // No kill, no recovery figure: only a recovery that ran and never settled is a miss; an oracle that could not count, a violation.
    r.exactlyOnce.killed === null
      ? 'no task was killed: no recovery figures'
      : `kill of ${r.exactlyOnce.killed}: recovery ${r.exactlyOnce.recoveryMs === null ? 'never settled (MISSED)' : `${r.exactlyOnce.recoveryMs} ms`} (output gap ${ms(r.exactlyOnce.outputGapMs)}), ` +
        `${r.exactlyOnce.duplicates ?? 'not counted (VIOLATION)'} duplicates, ${r.exactlyOnce.lost ?? 'not counted (VIOLATION)'} lost (oracle)`,
    `peak RSS ${r.peakRssMB} MB`,
    '',
  ].join('\n');
}
