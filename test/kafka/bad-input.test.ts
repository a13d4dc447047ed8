import { join } from 'node:path';
import { Job, collectSink, ConfigError, CausalflowError, type DeadLetter } from '../../lib/index.js';
import { freePort } from '../../lib/connectors/kafka/broker.js';
import { kafkaSink } from '../../lib/connectors/kafka/sink.js';
import { kafkaSource } from '../../lib/connectors/kafka/source.js';
import { jobDirectory } from '../helpers/jobs.js';
import { BROKERS, kafkaTest, produce, testClient, uniqueTopic } from './helpers.js';
import test from 'ava';

// Bad input: a topic that does not exist, a broker nobody answers at, records the deserializer
// rejects, and options that cannot work.

kafkaTest('a topic that does not exist is a ConfigError naming it, for the source and the sink, unless autoCreate asks for it', async (t) => {
  const topic = uniqueTopic('missing');
  const source = await t.throwsAsync(kafkaSource({ brokers: BROKERS!, topic }), { instanceOf: ConfigError });
  t.is(source!.field, 'kafkaSource.topic');
  t.true(source!.message.includes(topic), source!.message);
  const sink = await t.throwsAsync(kafkaSink({ brokers: BROKERS!, topic }), { instanceOf: ConfigError });
  t.true(sink!.message.includes(topic), sink!.message);
  const created = await kafkaSink({ brokers: BROKERS!, topic, autoCreate: { partitions: 3 } });
  t.teardown(() => created.close());
  t.is(created.partitions, 3);
  const reader = await kafkaSource({ brokers: BROKERS!, topic });
  t.teardown(() => reader.close());
  t.is(reader.partitions(), 3);
});

test('a broker nobody answers at: kafkaSource and kafkaSink reject with KAFKA_UNREACHABLE after a bounded retry', async (t) => {
  const port = await freePort();
  for (const connect of [() => kafkaSource({ brokers: `127.0.0.1:${port}`, topic: 'anything', connectTimeoutMs: 200 }), () => kafkaSink({ brokers: `127.0.0.1:${port}`, topic: 'anything', connectTimeoutMs: 200 })]) {
    const error = await t.throwsAsync(connect(), { instanceOf: CausalflowError });
    t.is((error as CausalflowError).code, 'KAFKA_UNREACHABLE');
    t.regex(error!.message, new RegExp(`127\\.0\\.0\\.1:${port}.*after 5 attempts`));
  }
});

test('malformed options are ConfigErrors naming the field', async (t) => {
  await t.throwsAsync(kafkaSource({ brokers: 'localhost:9092', topic: 'has spaces' }), { instanceOf: ConfigError, message: /kafkaSource\.topic/ });
  await t.throwsAsync(kafkaSource({ brokers: '', topic: 't' }), { instanceOf: ConfigError, message: /kafkaSource\.brokers/ });
  await t.throwsAsync(kafkaSource({ brokers: 'localhost:9092', topic: 't', start: 'middle' as never }), { instanceOf: ConfigError, message: /kafkaSource\.start/ });
  await t.throwsAsync(kafkaSink({ brokers: 'localhost:9092', topic: 't', delivery: 'maybe' as never }), { instanceOf: ConfigError, message: /kafkaSink\.delivery/ });
});

/** Input with records the JSON deserializer rejects: every 97th of partition 0, and the last of partition 1. */
async function inputWithGarbage(t: Parameters<typeof testClient>[0], perPartition: number): Promise<{ topic: string; rejected: string[] }> {
  const client = await testClient(t);
  const topic = uniqueTopic('garbage');
  await client.createTopic(topic, 2, 1);
  const rejected: string[] = [];
  for (let p = 0; p < 2; p++) {
    const values: string[] = [];
    for (let i = 0; i < perPartition; i++) {
      const bad = (p === 0 && i % 97 === 50) || (p === 1 && i === perPartition - 1);
      if (bad) rejected.push(`${p}@${i}`);
      values.push(bad ? `not json ${i}` : JSON.stringify({ n: i * 2 + p }));
    }
    await produce(client, topic, p, values);
  }
  return { topic, rejected };
}

kafkaTest(
  'records the deserializer rejects go to the dead-letter sink once each, with partition and offset, although the source task is killed and re-reads them',
  async (t) => {
    const { topic, rejected } = await inputWithGarbage(t, 3000);
    const source = await kafkaSource<{ n: number }>({ brokers: BROKERS!, topic, end: 'latest', bufferRecords: 200 });
    t.teardown(() => source.close());
    const letters = collectSink<DeadLetter>('dead');
    const job = new Job({
      parallelism: 2,
      directory: join(jobDirectory(t), 'run'),
      recovery: { mode: 'exactly-once', checkpointIntervalMs: 20 },
      errors: { policy: 'dead-letter', deadLetter: letters },
      batchSize: 64,
    });
    const out = job.source(source, { name: 'in' }).map((r) => r.n, { name: 'value' }).collect({ name: 'out' });
    const result = await job.run({ faults: [{ task: 'in[0]', afterRecords: 1500 }, { task: 'in[1]', afterRecords: 2999 }] });
    t.true(result.recoveries >= 2, `recoveries: ${result.recoveries}`);
    const found = letters.results().map((l) => {
      const record = l.record as { topic: string; partition: number; offset: number; value: Buffer };
      t.is(record.topic, topic);
      t.is(l.operator, 'in');
      t.regex(l.error, new RegExp(`${topic}\\[${record.partition}\\] offset ${record.offset}`));
      t.true(record.value.toString().startsWith('not json'));
      return `${record.partition}@${record.offset}`;
    });
    t.deepEqual(found.sort(), [...rejected].sort(), 'each rejected record once, the trailing one included');
    const values = out.results() as number[];
    t.is(values.length, 6000 - rejected.length);
    t.is(new Set(values).size, values.length, 'accepted records once each');
  },
  { serial: true },
);

kafkaTest('under the fail policy a rejected record fails the job, and the error names its partition and offset', async (t) => {
  const { topic } = await inputWithGarbage(t, 200);
  const source = await kafkaSource<{ n: number }>({ brokers: BROKERS!, topic, end: 'latest' });
  t.teardown(() => source.close());
  const job = new Job({ parallelism: 1, directory: jobDirectory(t), recovery: { mode: 'exactly-once', checkpointIntervalMs: 50 } });
  job.source(source, { name: 'in' }).collect();
  const error = await t.throwsAsync(job.run());
  t.regex(error!.message, new RegExp(`rejected ${topic}\\[0\\] offset 50`));
});

kafkaTest("delivery 'transactional' under local recovery is refused when the job starts, naming the option", async (t) => {
  const client = await testClient(t);
  const input = uniqueTopic('txn-misuse-in');
  const output = uniqueTopic('txn-misuse-out');
  await client.createTopic(input, 1, 1);
  await client.createTopic(output, 1, 1);
  await produce(client, input, 0, ['1', '2']);
  const source = await kafkaSource<number>({ brokers: BROKERS!, topic: input, end: 'latest' });
  const sink = await kafkaSink<number>({ brokers: BROKERS!, topic: output, delivery: 'transactional' });
  t.teardown(() => Promise.all([source.close(), sink.close()]).then(() => {}));
  const job = new Job({ directory: jobDirectory(t), recovery: { mode: 'exactly-once' } });
  job.source(source).sink(sink);
  const error = await t.throwsAsync(job.run(), { instanceOf: CausalflowError });
  t.regex(error!.message, /delivery/);
  t.regex(error!.message, /global-rollback/);
});
