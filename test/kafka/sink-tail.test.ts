import test from 'ava';
import type { SinkContext } from '../../lib/connectors/sink.js';
import { HEADERS, dedupeKafkaRecords, KafkaDeduper, readCausalflowHeaders } from '../../lib/connectors/kafka/headers.js';
import { kafkaSink } from '../../lib/connectors/kafka/sink.js';
import { BROKERS, kafkaTest, readTopic, runOutput, testClient, uniqueTopic } from './helpers.js';

// The tail read of the exactly-once Kafka sink (I12 at the last hop): a sink partition opened again
// reads its Kafka partition backwards from the end, takes the newest record of its own subtask (and
// run) as its frontier, and collects the determinant envelopes stored from the restored epoch on.

const context = (subtask: number, restoredEpoch: number): SinkContext => ({ subtask, parallelism: 2, jobDirectory: '.', restoredEpoch, mode: 'deduplicating' });
const envelope = (label: string): Uint8Array => new TextEncoder().encode(label);
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const records = (from: number, count: number, tag: string) => Array.from({ length: count }, (_, i) => ({ tag, i: from + i }));

kafkaTest('the tail read of an empty topic finds nothing: the next sequence number is 0, and no determinants', async (t) => {
  const client = await testClient(t);
  const topic = uniqueTopic('tail-empty');
  await client.createTopic(topic, 1, 1);
  // A given run id makes even a first open read the tail (as a replacement in another process would).
  const sink = await kafkaSink({ brokers: BROKERS!, topic, runId: 'run-empty' });
  t.teardown(() => sink.close());
  const partition = sink.open(context(0, 3));
  await partition.ready!();
  t.is(partition.visibleCount(), 0);
  t.deepEqual(partition.determinants!(), []);
});

kafkaTest('a topic with records of an earlier run: a new run starts at sequence 0, and a replacement of the earlier run finds that run’s frontier', async (t) => {
  const client = await testClient(t);
  const topic = uniqueTopic('tail-earlier');
  await client.createTopic(topic, 1, 1);
  const earlier = await kafkaSink({ brokers: BROKERS!, topic, runId: 'run-earlier' });
  t.teardown(() => earlier.close());
  const first = earlier.open(context(0, 0));
  await first.ready!();
  first.write(records(0, 10, 'earlier'), 0, envelope('earlier-epoch-0'), 0);
  first.write(records(10, 5, 'earlier'), 10, envelope('earlier-epoch-1'), 1);
  await earlier.flush();

  const fresh = await kafkaSink({ brokers: BROKERS!, topic });
  t.teardown(() => fresh.close());
  const next = fresh.open(context(0, 0));
  await next.ready!();
  t.is(next.visibleCount(), 0, 'records of another run are not this run’s output');
  next.write(records(0, 3, 'fresh'), 0, undefined, 0);
  await fresh.flush();

  const replacement = await kafkaSink({ brokers: BROKERS!, topic, runId: 'run-earlier' });
  t.teardown(() => replacement.close());
  const resumed = replacement.open(context(0, 1));
  await resumed.ready!();
  t.is(resumed.visibleCount(), 15, 'the earlier run’s frontier, past the newer run’s records');
  t.deepEqual(resumed.determinants!().map(text), ['earlier-epoch-1'], 'envelopes from the restored epoch on');

  const all = await readTopic(client, topic);
  t.is(runOutput(all, fresh.runId).records, 3);
  t.is(runOutput(all, 'run-earlier').records, 15);
});

kafkaTest('after a sink failure the replacement resumes at the newest record of its own subtask, with the envelopes from its restored epoch on, and writes on without a gap', async (t) => {
  const client = await testClient(t);
  const topic = uniqueTopic('tail-failure');
  await client.createTopic(topic, 1, 1);
  // Both subtasks write the one partition, interleaved: each must find its own records.
  const sink = await kafkaSink<{ tag: string; i: number }>({ brokers: BROKERS!, topic, partition: () => 0 });
  t.teardown(() => sink.close());
  const a = sink.open(context(0, 0));
  const b = sink.open(context(1, 0));
  await Promise.all([a.ready!(), b.ready!()]);
  a.write(records(0, 5, 'a'), 0, envelope('a-0'), 0);
  b.write(records(0, 7, 'b'), 0, envelope('b-0'), 0);
  a.write(records(5, 5, 'a'), 5, envelope('a-1'), 1);
  a.write(records(10, 5, 'a'), 10, undefined, 1);
  a.write(records(15, 3, 'a'), 15, envelope('a-2'), 2);
  // Subtask 1 writes on long after: subtask 0's newest record lies several scan windows back.
  for (let i = 7; i < 2007; i += 100) b.write(records(i, 100, 'b'), i, undefined, 2);
  a.close?.();
  const replacement = sink.open(context(0, 1));
  await replacement.ready!();
  t.is(replacement.visibleCount(), 18);
  t.deepEqual(replacement.determinants!().map(text), ['a-1', 'a-2'], 'back to the first record of an earlier epoch, not further');
  replacement.write(records(18, 2, 'a'), 18, envelope('a-2b'), 2);
  await sink.flush();
  const output = runOutput(await readTopic(client, topic), sink.runId);
  t.is(output.duplicates, 0);
  t.is(output.gaps, 0);
  t.deepEqual(output.bySubtask[0], records(0, 20, 'a').map((r) => JSON.stringify(r)));
  t.is(output.bySubtask[1]!.length, 2007);
});

kafkaTest('every record carries its run, subtask, sequence number, epoch and task in the cf header; the first record of a write carries its envelope', async (t) => {
  const client = await testClient(t);
  const topic = uniqueTopic('headers');
  await client.createTopic(topic, 2, 1);
  const sink = await kafkaSink<{ i: number }>({ brokers: BROKERS!, topic, name: 'alerts' });
  t.teardown(() => sink.close());
  const partition = sink.open(context(1, 0));
  await partition.ready!();
  partition.write([{ i: 0 }, { i: 1 }], 0, envelope('det'), 4);
  await sink.flush();
  const [, p1] = await readTopic(client, topic);
  const headers = p1!.map((r) => readCausalflowHeaders(r.headers)!);
  t.deepEqual(
    headers.map((h) => [h.run, h.task, h.subtask, h.seq, h.epoch]),
    [
      [sink.runId, 'alerts[1]', 1, 0, 4],
      [sink.runId, 'alerts[1]', 1, 1, 4],
    ],
  );
  t.is(text(headers[0]!.determinants!), 'det');
  t.is(headers[1]!.determinants, null);
  t.deepEqual(p1!.map((r) => r.value!.toString()), ['{"i":0}', '{"i":1}']);
});

test('dedupeKafkaRecords keeps the first copy of each (run, subtask, sequence number), in order, and every record without causalflow headers', (t) => {
  const record = (run: string, subtask: number, seq: number, value: string) => ({
    value,
    headers: { [HEADERS.id]: Buffer.from(`${run}/${subtask}/${seq}/0/out[${subtask}]`) },
  });
  const input = [
    record('r1', 0, 0, 'a'),
    record('r1', 0, 1, 'b'),
    record('r1', 1, 0, 'x'),
    record('r1', 0, 1, 'b again'),
    { value: 'foreign', headers: {} },
    record('r1', 0, 2, 'c'),
    record('r2', 0, 0, 'another run'),
    record('r1', 1, 0, 'x again'),
  ];
  t.deepEqual(
    dedupeKafkaRecords(input).map((r) => r.value),
    ['a', 'b', 'x', 'foreign', 'c', 'another run'],
  );
  const streaming = new KafkaDeduper();
  for (const r of input) streaming.accept(r);
  t.is(streaming.duplicates, 2);
});

kafkaTest('a partition opened only to read (no mode, as recovery reads a dead sink’s determinants) while a replacement of the same subtask writes: both stand, and the writer’s count is untouched', async (t) => {
  const client = await testClient(t);
  const topic = uniqueTopic('tail-reader');
  await client.createTopic(topic, 1, 1);
  const sink = await kafkaSink({ brokers: BROKERS!, topic, runId: 'run-reader' });
  t.teardown(() => sink.close());
  const writer = sink.open(context(0, 0));
  await writer.ready!();
  writer.write(records(0, 20, 'before'), 0, envelope('epoch-0'), 0);
  await sink.flush();
  // The writer keeps handing records over while the reader reads the tail: before the reader left the
  // shared sender alone, its ready() could find records pending and fail ("restarted with … still pending").
  const reader = sink.open({ subtask: 0, parallelism: 2, jobDirectory: '.', restoredEpoch: 0 });
  const readerReady = reader.ready!();
  let next = 20;
  let settled = false;
  void readerReady.finally(() => (settled = true)).catch(() => {});
  while (!settled) {
    writer.write(records(next, 57, 'during'), next, undefined, 0);
    next += 57;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await t.notThrowsAsync(readerReady);
  t.true(reader.visibleCount() >= 20, `the reader sees at least what was handed over before it came (${reader.visibleCount()})`);
  t.deepEqual(reader.determinants!().map(text), ['epoch-0']);
  reader.close!();
  writer.write(records(next, 3, 'after'), next, undefined, 0);
  next += 3;
  await sink.flush();
  t.is(writer.visibleCount(), next);
  const all = await readTopic(client, topic);
  t.is(runOutput(all, 'run-reader').records, next, 'every record once, in order');
});
