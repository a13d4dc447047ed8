import { Job, tumbling, type JobOptions } from '../../lib/index.js';
import { kafkaSource, type KafkaSource } from '../../lib/connectors/kafka/source.js';
import { assertExactlyOnce, runScenario } from '../helpers/causal.js';
import { jobDirectory } from '../helpers/jobs.js';
import { BROKERS, kafkaTest, produce, testClient, uniqueTopic, writeNumbers, type Numbered } from './helpers.js';
import { inspectLog } from '../../determinants/index.js';

// The Kafka source: bounded reads, partitions with gaps in their offsets, idle partitions, and the
// consumer-group offsets it commits for lag tools.

kafkaTest('a bounded source reads every partition up to the end offsets taken when it was created; an empty partition ends at once', async (t) => {
  const client = await testClient(t);
  const topic = uniqueTopic('bounded');
  await client.createTopic(topic, 3, 1);
  await writeNumbers(client, topic, 2, 1500);
  const source = await kafkaSource<Numbered>({ brokers: BROKERS!, topic, end: 'latest' });
  t.teardown(() => source.close());
  t.deepEqual(source.endOffsets, [1500, 1500, 0]);
  // Written after the source fixed its end: not read.
  await produce(client, topic, 0, [JSON.stringify({ n: -1, k: 0 })]);
  const job = new Job({ parallelism: 3, directory: jobDirectory(t) });
  const out = job.source(source, { name: 'in' }).map((r) => r.n).collect();
  const result = await job.run();
  t.is(result.tasksFinished, result.tasks);
  t.deepEqual((out.results() as number[]).sort((a, b) => a - b), Array.from({ length: 3000 }, (_, i) => i));
});

/** Writes `count` records per partition through transactions of 50, aborting every third: offsets with markers and aborted records. */
async function writeTransactionally(topic: string, partitions: number, count: number): Promise<number[][]> {
  const { createKafkaClient } = await import('../../lib/connectors/kafka/client.js');
  const client = createKafkaClient({ brokers: [BROKERS!], clientId: 'causalflow-test-txn' });
  await client.connect();
  const producer = await client.transactionalProducer(`${topic}-writer`, 30_000);
  const committed: number[][] = Array.from({ length: partitions }, () => []);
  try {
    let n = 0;
    for (let round = 0; n < count * partitions; round++) {
      await producer.begin();
      const batch: { p: number; n: number }[] = [];
      for (let i = 0; i < 50; i++) for (let p = 0; p < partitions; p++) batch.push({ p, n: n++ });
      for (let p = 0; p < partitions; p++) {
        await producer.send(topic, p, batch.filter((r) => r.p === p).map((r) => ({ key: null, value: JSON.stringify({ n: r.n, k: r.n % 7 }), headers: {} })));
      }
      if (round % 3 === 2) await producer.abort();
      else {
        await producer.commit();
        for (const r of batch) committed[r.p]!.push(r.n);
      }
    }
  } finally {
    await producer.close();
    await client.close();
  }
  return committed;
}

kafkaTest(
  'a topic written by transactions, some aborted: the source skips markers and aborted records, and a killed source task re-reads exactly its records (I6)',
  async (t) => {
    const client = await testClient(t);
    const topic = uniqueTopic('txn-input');
    await client.createTopic(topic, 2, 1);
    const committed = await writeTransactionally(topic, 2, 3000);
    const ends = await client.listOffsets(topic, 'latest', 'read_committed');
    t.true(ends[0]! > committed[0]!.length, 'the offsets have gaps');
    const sources: KafkaSource<Numbered>[] = [];
    for (let i = 0; i < 2; i++) sources.push(await kafkaSource<Numbered>({ brokers: BROKERS!, topic, end: 'latest', bufferRecords: 300, groupId: null }));
    t.teardown(() => Promise.all(sources.map((s) => s.close())).then(() => {}));
    let built = 0;
    const run = await runScenario(
      t,
      (options: JobOptions) => {
        const job = new Job(options);
        const sink = job
          .source(sources[built++]!, { name: 'in' })
          .keyBy((r) => r.k)
          .process<{ n: number; r: number }>({ processElement: (r, ctx) => ctx.emit({ n: r.n, r: Math.floor(ctx.random() * 100) }) }, { name: 'tag' })
          .collect({ name: 'out' });
        return { job, sink };
      },
      { faults: [{ task: 'in[0]', afterRecords: 1000 }, { task: 'in[1]', afterRecords: 1200 }], job: { batchSize: 64 } },
    );
    assertExactlyOnce(t, run, 2);
    const read = run.output.flat().map((line) => (JSON.parse(line) as { n: number }).n);
    t.deepEqual(read.sort((a, b) => a - b), committed.flat().sort((a, b) => a - b), 'exactly the committed records');
  },
  { serial: true },
);

kafkaTest('a partition that stays quiet is declared idle and stops holding back the watermark, so event-time windows fire; the decision is a recorded empty poll', async (t) => {
  const client = await testClient(t);
  const topic = uniqueTopic('idle');
  await client.createTopic(topic, 2, 1);
  // Partition 1 never gets a record; partition 0 carries event times 0…1999 ms.
  await produce(client, topic, 0, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ at: i })));
  const source = await kafkaSource<{ at: number }>({ brokers: BROKERS!, topic, idleTimeoutMs: 200 });
  t.teardown(() => source.close());
  const job = new Job({ parallelism: 1, directory: jobDirectory(t), recovery: { mode: 'exactly-once', checkpointIntervalMs: 50 }, retainDeterminants: true });
  const windows = job
    .source(source, { name: 'in', watermarks: { timestamp: (r) => r.at } })
    .keyBy(() => 0)
    .window(tumbling(500))
    .aggregate({ create: () => 0, add: (n: number) => n + 1, result: (n: number) => n }, (_key, window, count) => ({ end: window.end, count }))
    .collect({ name: 'out' });
  const handle = await job.start();
  // The first three windows close once partition 1 is idle (the last one waits for records after it).
  while (windows.size < 3) await new Promise((resolve) => setTimeout(resolve, 50));
  const traces = handle.traces();
  await handle.stop('test over');
  t.deepEqual(windows.results().slice(0, 3), [
    { end: 500, count: 500 },
    { end: 1000, count: 500 },
    { end: 1500, count: 500 },
  ]);
  const polls = [...traces].flatMap(([taskId, segments]) => inspectLog(taskId, segments)).map((e) => e.determinant as { kind: string; partition?: number; count?: number });
  t.true(polls.some((d) => d.kind === 'SOURCE_POLL' && d.partition === 1 && d.count === 0), 'an empty poll of partition 1 marks it idle');
});

kafkaTest('completed checkpoints commit the offsets they stored to the consumer group, for lag tools; a new source can start from them', async (t) => {
  const client = await testClient(t);
  const topic = uniqueTopic('group');
  await client.createTopic(topic, 2, 1);
  const groupId = `${topic}-group`;
  const writing = writeNumbers(client, topic, 2, 3000, { batch: 150, everyMs: 20 });
  const source = await kafkaSource<Numbered>({ brokers: BROKERS!, topic, end: [3000, 3000], groupId });
  t.teardown(() => source.close());
  const job = new Job({ parallelism: 2, directory: jobDirectory(t), recovery: { mode: 'exactly-once', checkpointIntervalMs: 50 } });
  job.source(source, { name: 'in' }).collect();
  const handle = await job.start();
  await writing;
  const result = await handle.done;
  t.true(result.checkpoints > 0);
  let committed: (number | null)[] = [];
  for (let i = 0; i < 50; i++) {
    committed = await client.committedOffsets(groupId, topic, 2);
    if (committed.every((o) => o !== null && o > 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const offset of committed) t.true(offset !== null && offset > 0 && offset <= 3000, `committed ${offset}`);
  const resumed = await kafkaSource<Numbered>({ brokers: BROKERS!, topic, start: 'committed', groupId });
  t.teardown(() => resumed.close());
  t.deepEqual(resumed.startOffsets, committed);
});
