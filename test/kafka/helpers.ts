/**
 * Helpers of the Kafka tests: the broker `npm test` started (`CAUSALFLOW_KAFKA_BROKERS`, see
 * `test/with-services.ts`), topics of their own for every test (ava runs files in parallel processes),
 * writing and reading topics, and a scenario runner that runs a Kafka → job → Kafka pipeline with kills,
 * then its oracle replay, and compares what the output topic holds with the oracle's output.
 */
import { join } from 'node:path';
import test, { type ExecutionContext, type ImplementationFn } from 'ava';
import { Job, SeededRandom, collectSink, type FaultSpec, type JobHandle, type JobOptions, type JobResult, type CollectSink } from '../../lib/index.js';
import { createKafkaClient, type FetchedRecord, type IdempotentProducer, type IsolationLevel, type KafkaClient, type OutgoingRecord } from '../../lib/connectors/kafka/client.js';
import { readRange } from '../../lib/connectors/kafka/common.js';
import { readCausalflowHeaders } from '../../lib/connectors/kafka/headers.js';
import { kafkaSink, type KafkaSink, type KafkaSinkOptions } from '../../lib/connectors/kafka/sink.js';
import { kafkaSource, type KafkaSource, type KafkaSourceOptions } from '../../lib/connectors/kafka/source.js';
import type { Sink } from '../../lib/connectors/sink.js';
import { jobDirectory } from '../helpers/jobs.js';
import { buildKafkaJob, KAFKA_WORKER_JOB, numbersJob } from './worker-job.js';

/** The broker the tests use, or null. */
export const BROKERS = process.env.CAUSALFLOW_KAFKA_BROKERS ?? null;
const REQUIRED = process.env.CAUSALFLOW_REQUIRE_TOOLS === '1';
const WHY = process.env.CAUSALFLOW_KAFKA_UNAVAILABLE ?? 'CAUSALFLOW_KAFKA_BROKERS is not set';
const HOW = 'run `npm test` on a machine with java and mvn on the PATH (it starts a broker), or start one with `npx causalflow kafka start` and set CAUSALFLOW_KAFKA_BROKERS to the address it prints';

let noticed = false;

/** Declares a test that needs the broker: skipped without one, unless CAUSALFLOW_REQUIRE_TOOLS=1 makes that a failure. */
export function kafkaTest(title: string, fn: ImplementationFn<[]>, options: { serial?: boolean } = {}): void {
  if (BROKERS !== null) {
    (options.serial ? test.serial : test)(title, fn);
    return;
  }
  if (REQUIRED) {
    test(title, (t) => t.fail(`no Kafka broker (${WHY}); CAUSALFLOW_REQUIRE_TOOLS=1 makes a skipped Kafka test fail. To run it, ${HOW}.`));
    return;
  }
  if (!noticed) {
    noticed = true;
    process.stderr.write(`Kafka tests skipped: ${WHY}. To run them, ${HOW}.\n`);
  }
  test.skip(title, fn);
}

let topicCounter = 0;

/** A topic name no other test (or run) uses. */
export function uniqueTopic(label: string): string {
  return `cf-test-${label}-${process.pid}-${++topicCounter}-${Date.now().toString(36)}`.replace(/[^\w.-]/g, '_');
}

/** A connected client, closed when the test ends. */
export async function testClient(t: ExecutionContext, brokers = BROKERS!): Promise<KafkaClient> {
  const client = createKafkaClient({ brokers: [brokers], clientId: 'causalflow-test' });
  await client.connect();
  t.teardown(() => client.close());
  return client;
}

/** Writes `values` to one partition, in batches, with an idempotent producer. */
export async function produce(client: KafkaClient, topic: string, partition: number, values: readonly (string | Buffer)[], headers: Record<string, string> = {}): Promise<void> {
  const producer = await client.idempotentProducer();
  try {
    for (let i = 0; i < values.length; i += 1000) {
      const batch: OutgoingRecord[] = values.slice(i, i + 1000).map((value) => ({ key: null, value, headers }));
      await producer.send(topic, partition, batch);
    }
  } finally {
    await producer.close();
  }
}

/** Every record of every partition of `topic`, as `isolation` sees it. */
export async function readTopic(client: KafkaClient, topic: string, isolation: IsolationLevel = 'read_uncommitted'): Promise<FetchedRecord[][]> {
  const ends = await client.listOffsets(topic, 'latest', isolation);
  return Promise.all(ends.map((end, partition) => readRange(client, topic, partition, 0, end, isolation)));
}

/** What a sink's run left in its output topic, per subtask, in sequence order. */
export interface RunOutput {
  /** Values (as text) per subtask, in sequence order, each sequence number once. */
  bySubtask: string[][];
  /** Records whose (subtask, sequence number) appeared before. */
  duplicates: number;
  /** Sequence numbers missing below the highest one, over all subtasks. */
  gaps: number;
  /** Records of the run. */
  records: number;
}

/** Groups the records of run `runId` by subtask and sequence number, counting duplicates and gaps. */
export function runOutput(partitions: readonly FetchedRecord[][], runId: string): RunOutput {
  const bySeq: Map<number, string>[] = [];
  let duplicates = 0;
  let records = 0;
  for (const partition of partitions) {
    for (const record of partition) {
      const h = readCausalflowHeaders(record.headers);
      if (h === null || h.run !== runId) continue;
      records++;
      const seqs = (bySeq[h.subtask] ??= new Map());
      if (seqs.has(h.seq)) duplicates++;
      else seqs.set(h.seq, record.value?.toString('utf8') ?? 'null');
    }
  }
  let gaps = 0;
  const bySubtask: string[][] = [];
  for (let s = 0; s < bySeq.length; s++) {
    const seqs = bySeq[s] ?? new Map<number, string>();
    const max = seqs.size === 0 ? -1 : Math.max(...seqs.keys());
    const values: string[] = [];
    for (let i = 0; i <= max; i++) {
      const v = seqs.get(i);
      if (v === undefined) gaps++;
      else values.push(v);
    }
    bySubtask.push(values);
  }
  return { bySubtask, duplicates, gaps, records };
}

export type { Numbered } from './worker-job.js';
export { numbersJob } from './worker-job.js';
import type { Numbered } from './worker-job.js';

/**
 * Writes `perPartition` records `{ n, k }` to each partition (n unique), `batch` at a time, `everyMs`
 * apart. The only writer of a fresh topic, it rides out a broker restart without writing anything twice:
 * after a failed send it asks for the partition's end offset and resends only what is not there.
 */
export async function writeNumbers(client: KafkaClient, topic: string, partitions: number, perPartition: number, pace: { batch: number; everyMs: number } | null = null): Promise<void> {
  let producer: IdempotentProducer | null = null;
  try {
    const batch = pace?.batch ?? 1000;
    for (let from = 0; from < perPartition; from += batch) {
      for (let p = 0; p < partitions; p++) {
        let next = from;
        const to = Math.min(perPartition, from + batch);
        while (next < to) {
          const values: OutgoingRecord[] = [];
          for (let i = next; i < to; i++) {
            const n = i * partitions + p;
            values.push({ key: null, value: JSON.stringify({ n, k: n % 7 }), headers: {} });
          }
          try {
            producer ??= await client.idempotentProducer();
            await producer.send(topic, p, values);
            next = to;
          } catch {
            await producer?.close().catch(() => {});
            producer = null;
            await new Promise((resolve) => setTimeout(resolve, 200));
            next = await client.listOffsets(topic, 'latest', 'read_uncommitted').then((ends) => ends[p]!, () => next);
          }
        }
      }
      if (pace) await new Promise((resolve) => setTimeout(resolve, pace.everyMs));
    }
  } finally {
    await producer?.close();
  }
}

/** A Kafka scenario: input written to a topic, the job run with kills, output read back. */
export interface KafkaScenario {
  /** Seed of the kill moments (printed). */
  seed: number;
  /** Tasks to kill, each at a moment drawn from `killWindowMs`. */
  kill: string[];
  /** Kill moments are drawn uniformly from this range (ms after the start). */
  killWindowMs: [number, number];
  /** Input partitions, and records per partition. */
  partitions: number;
  perPartition: number;
  /** Input pace: the writer sends `batch` records per partition every `everyMs` while the job runs. */
  pace: { batch: number; everyMs: number };
  /** Output topic partitions (default 2). */
  outputPartitions?: number;
  /** Job options on top of the defaults (exactly-once, parallelism 2, checkpoints every 100 ms, traces kept). */
  job?: JobOptions;
  /** Sink options on top of brokers and topic. */
  sink?: Partial<KafkaSinkOptions<unknown>>;
  /** Source options on top of brokers, topic and end. */
  source?: Partial<KafkaSourceOptions<Numbered>>;
  /** Broker (default {@link BROKERS}). */
  brokers?: string;
  /** How the output topic is read back (default read_uncommitted). */
  readIsolation?: IsolationLevel;
  /** Runs while the job runs (a broker restart); awaited before the job's end is awaited. */
  during?: (handle: JobHandle) => Promise<void>;
  /** Run the job in this many worker processes (kills are then SIGKILLs of the processes holding the tasks). */
  workers?: number;
}

/** What a scenario produced. */
export interface KafkaScenarioRun {
  result: JobResult;
  faults: FaultSpec[];
  output: RunOutput;
  /** The oracle's output per sink subtask, as JSON text. */
  oracle: string[][];
  sink: KafkaSink<unknown>;
  /** The output topic, and a client to read it again. */
  outputTopic: string;
  client: KafkaClient;
}

/** Runs a {@link KafkaScenario}: the job with its kills, then the oracle replay of its traces over the same input topic. */
export async function runKafkaScenario(t: ExecutionContext, scenario: KafkaScenario): Promise<KafkaScenarioRun> {
  const brokers = scenario.brokers ?? BROKERS!;
  const client = await testClient(t, brokers);
  const input = uniqueTopic('in');
  const output = uniqueTopic('out');
  await client.createTopic(input, scenario.partitions, 1);
  await client.createTopic(output, scenario.outputPartitions ?? 2, 1);
  const random = new SeededRandom(scenario.seed);
  const faults: FaultSpec[] = scenario.kill.map((task) => ({ task, afterMs: Math.round(scenario.killWindowMs[0] + random.next() * (scenario.killWindowMs[1] - scenario.killWindowMs[0])) }));
  t.log(`seed ${scenario.seed}: kills ${faults.map((f) => `${f.task}@${f.afterMs}ms`).join(', ') || 'none'}`);
  const directory = jobDirectory(t);
  const options: JobOptions = {
    parallelism: 2,
    retainDeterminants: true,
    ...scenario.job,
    recovery: { mode: 'exactly-once', checkpointIntervalMs: 100, ...scenario.job?.recovery },
  };
  const end = Array.from({ length: scenario.partitions }, () => scenario.perPartition);
  const args = { brokers, input, output, end, options: { ...options, directory: join(directory, 'run') }, source: scenario.source ?? {}, sink: scenario.sink ?? {} };
  const { job, source, sink } = await buildKafkaJob(args);
  t.teardown(() => Promise.all([source.close(), sink.close()]).then(() => {}));
  const writing = writeNumbers(client, input, scenario.partitions, scenario.perPartition, scenario.pace);
  const handle = await job.start({ faults, ...(scenario.workers ? { workers: { count: scenario.workers, module: KAFKA_WORKER_JOB, export: 'buildKafkaJob', args } } : {}) });
  let result: JobResult;
  try {
    const during = scenario.during?.(handle);
    await writing;
    await during;
    result = await handle.done;
  } catch (error) {
    // The job's events say which recovery went wrong: a scenario that fails prints them.
    t.log(`events:\n${handle.events().map((e) => JSON.stringify(e)).join('\n')}`);
    await handle.stop('the scenario failed').catch(() => {});
    throw error;
  }
  await sink.flush();
  // The oracle reads the same input topic from its start, and replays the run's final traces.
  const oracleSource = await kafkaSource<Numbered>({ brokers, topic: input, end, idleTimeoutMs: Infinity, ...scenario.source, groupId: null });
  t.teardown(() => oracleSource.close());
  const oracleSink: CollectSink<unknown> = collectSink('oracle');
  const oracleJob = numbersJob({ ...options, directory: join(directory, 'oracle') }, oracleSource, oracleSink);
  await (await oracleJob.replay(handle.traces())).done;
  const oracle: string[][] = [];
  for (let s = 0; s < oracleSink.partitionCount; s++) oracle.push(oracleSink.partition(s).map((r) => JSON.stringify(r)));
  return { result, faults, output: runOutput(await readTopic(client, output, scenario.readIsolation), handle.runId), oracle, sink, outputTopic: output, client };
}
