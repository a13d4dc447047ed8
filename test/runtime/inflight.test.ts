import test from 'ava';
import fc from 'fast-check';
import { join } from 'node:path';
import { InflightBudget, InflightLog } from '../../lib/inflight/log.js';
import { keepEncodedBytes, keepReferences, type ChunkRetention } from '../../lib/inflight/retention.js';
import { InflightSpillStore } from '../../lib/inflight/spill.js';
import { ChannelWriter } from '../../lib/runtime/writer.js';
import { Batch, ElementType } from '../../lib/transport/batch.js';
import { LocalChannel } from '../../lib/transport/channel.js';
import { jobDirectory } from '../helpers/jobs.js';
import { checkProperty } from '../helpers/property.js';

const RETENTIONS: ChunkRetention[] = [keepReferences, keepEncodedBytes];

/** Appends `count` records numbered from `first`, in batches of 100. */
function appendRecords(log: InflightLog, first: number, count: number): void {
  for (let done = 0; done < count; ) {
    const batch = new Batch(100);
    const n = Math.min(100, count - done);
    for (let i = 0; i < n; i++) {
      batch.records[i] = { n: first + done + i };
      batch.timestamps[i] = first + done + i;
    }
    batch.count = n;
    batch.seq = log.nextSeq;
    batch.ingestTime = first + done;
    log.append(batch);
    done += n;
  }
}

/** Appends `count` records numbered from 0, in batches of 100, and returns the record objects sent. */
function appendKeepingRecords(log: InflightLog, count: number): { n: number }[] {
  const sent: { n: number }[] = [];
  for (let done = 0; done < count; done += 100) {
    const batch = new Batch(100);
    for (let i = 0; i < 100; i++) {
      const record = { n: done + i };
      sent.push(record);
      batch.records[i] = record;
      batch.timestamps[i] = done + i;
    }
    batch.count = 100;
    batch.seq = log.nextSeq;
    log.append(batch);
  }
  return sent;
}

function appendControl(log: InflightLog, type: ElementType, value: number): void {
  const batch = new Batch(1);
  batch.type = type;
  batch.value = value;
  batch.seq = log.nextSeq;
  log.append(batch);
}

/** Replays everything after `afterSeq`, as `[seq, element]` pairs. */
function replay(log: InflightLog, afterSeq: number): [number, string][] {
  const cursor = log.replayAfter(afterSeq);
  const out: [number, string][] = [];
  const batch = new Batch(64);
  while (cursor.fill(batch)) {
    if (batch.type === ElementType.Data) {
      for (let i = 0; i < batch.count; i++) out.push([batch.seq + i, `r${(batch.records[i] as { n: number }).n}@${batch.timestamps[i]}`]);
    } else {
      out.push([batch.seq, `${['', 'barrier', 'watermark', 'end'][batch.type]}${batch.value}`]);
    }
    batch.count = 0;
  }
  return out;
}

for (const retention of RETENTIONS) {
test(`the in-flight log replays every element after a sequence number, with the original numbers (${retention.name})`, (t) => {
  const log = new InflightLog(1, 0, 0, 0, new InflightBudget(1_000_000), null, retention);
  appendRecords(log, 0, 250);
  appendControl(log, ElementType.Barrier, 1);
  log.startEpoch(1);
  appendRecords(log, 250, 5);
  appendControl(log, ElementType.Watermark, 99);
  const all = replay(log, -1);
  t.is(all.length, 257);
  t.deepEqual(all[250], [250, 'barrier1']);
  t.deepEqual(all[256], [256, 'watermark99']);
  const tail = replay(log, 249);
  t.deepEqual(tail[0], [250, 'barrier1']);
  t.deepEqual(tail[1], [251, 'r250@250']);
  t.deepEqual(replay(log, 256), []);
});

test(`I2: completing a checkpoint drops the epochs before it, and replay from a dropped epoch is refused (${retention.name})`, (t) => {
  const log = new InflightLog(1, 0, 0, 0, new InflightBudget(1_000_000), null, retention);
  for (let epoch = 1; epoch <= 3; epoch++) {
    appendRecords(log, log.nextSeq, 5000);
    appendControl(log, ElementType.Barrier, epoch);
    log.startEpoch(epoch);
  }
  appendRecords(log, log.nextSeq, 10);
  const before = log.size;
  log.truncateBefore(2);
  t.true(log.size < before);
  t.true(log.firstSeq <= 10002, 'epoch 2 starts after the second barrier and is kept');
  t.throws(() => log.replayAfter(0), { message: /impossible/ });
  t.is(replay(log, 10001)[0]![0], 10002);
});

test(`past its memory budget the log spills to lmdb, keeps running, and replays spilled elements intact (${retention.name})`, async (t) => {
  const spill = InflightSpillStore.open(join(jobDirectory(t), 'inflight'));
  t.teardown(() => spill.close());
  const budget = new InflightBudget(5000);
  const log = new InflightLog(3, 7, 0, 0, budget, spill, retention);
  appendRecords(log, 0, 12_000);
  appendControl(log, ElementType.Barrier, 1);
  log.startEpoch(1);
  appendRecords(log, 12_000, 12_000);
  t.true(budget.inMemory <= 5000 + 4096, `in memory: ${budget.inMemory}`);
  t.true(spill.spilledBytes > 0);
  const all = replay(log, -1);
  t.is(all.length, 24_001);
  for (let i = 0; i < all.length; i++) t.is(all[i]![0], i);
  t.is(all[11_999]![1], 'r11999@11999');
  t.is(all[12_000]![1], 'barrier1');
  t.is(all[24_000]![1], 'r23999@23999');
  log.truncateBefore(1);
  t.is(replay(log, 12_000).length, 12_000);
});
}

test("inflightRetention 'encoded': a complete chunk is kept as encoded bytes, not references: records changed after they were sent replay as they were sent, with their timestamps and barriers", (t) => {
  const log = new InflightLog(0, 0, 0, 0, new InflightBudget(1_000_000), null, keepEncodedBytes);
  const sent = appendKeepingRecords(log, 5000);
  appendControl(log, ElementType.Barrier, 1);
  log.startEpoch(1);
  appendRecords(log, 5000, 10);
  // A record is immutable once emitted (I11); a buggy operator mutating one must not change what a replay sends.
  for (const record of sent) record.n = -1;
  const replayed = replay(log, -1);
  t.is(replayed.length, 5000 + 1 + 10);
  t.deepEqual(replayed[0], [0, 'r0@0']);
  t.deepEqual(replayed[4999], [4999, 'r4999@4999']);
  t.deepEqual(replayed[5000], [5000, 'barrier1']);
  t.deepEqual(replayed[5010], [5010, 'r5009@5009']);
  // What a replay hands out are copies decoded from the bytes, never the objects that were sent.
  const batch = new Batch(64);
  log.replayAfter(-1).fill(batch);
  t.not(batch.records[0], sent[0]);
});

test("inflightRetention 'references' (the default): a complete chunk keeps the records that were sent, a replay hands out those very objects, and nothing is encoded until a footprint or a spill asks", (t) => {
  const log = new InflightLog(0, 0, 0, 0, new InflightBudget(1_000_000), null);
  const sent = appendKeepingRecords(log, 5000);
  appendControl(log, ElementType.Barrier, 1);
  log.startEpoch(1);
  const batch = new Batch(64);
  const cursor = log.replayAfter(-1);
  cursor.fill(batch);
  t.is(batch.records[0], sent[0], 'the sealed first chunk (4,096 records) still holds the sent object');
  // The footprint counts the referenced records at their encoded size, measured on the newest sealed chunk.
  const footprint = log.footprint();
  t.is(footprint.memoryRecords, 5001);
  t.is(footprint.spilledBytes, 0);
  t.true(footprint.memoryBytes > 5001 * 2 && footprint.memoryBytes < 5001 * 20, `estimated ${footprint.memoryBytes} bytes`);
});

test('in-flight logs under either retention replay the same elements as a model of the log, through appends, epochs, truncations and spills (property)', (t) => {
  const dir = jobDirectory(t);
  const spill = InflightSpillStore.open(join(dir, 'inflight'));
  t.teardown(() => spill.close());
  const step = fc.oneof(
    fc.record({ op: fc.constant('records' as const), count: fc.integer({ min: 1, max: 3000 }) }),
    fc.record({ op: fc.constant('barrier' as const) }),
    fc.record({ op: fc.constant('watermark' as const), value: fc.integer({ min: 0, max: 1000 }) }),
    fc.record({ op: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant('replay' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  );
  let logId = 0;
  checkProperty(
    t,
    fc.property(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1024, max: 20_000 }), (steps, maxRecords) => {
      const logs = RETENTIONS.map((retention) => new InflightLog(logId, logId++, 0, 0, new InflightBudget(maxRecords), spill, retention));
      /** The model: every element with its epoch, as the replay prints it. */
      const model: { epoch: number; text: string }[] = [];
      let epoch = 0;
      let truncatedBefore = 0;
      let counter = 0;
      for (const s of steps) {
        if (s.op === 'records') {
          for (const log of logs) appendRecords(log, counter, s.count);
          for (let i = 0; i < s.count; i++) model.push({ epoch, text: `r${counter + i}@${counter + i}` });
          counter += s.count;
        } else if (s.op === 'barrier') {
          epoch++;
          for (const log of logs) {
            appendControl(log, ElementType.Barrier, epoch);
            log.startEpoch(epoch);
          }
          model.push({ epoch: epoch - 1, text: `barrier${epoch}` });
        } else if (s.op === 'watermark') {
          for (const log of logs) appendControl(log, ElementType.Watermark, s.value);
          model.push({ epoch, text: `watermark${s.value}` });
        } else if (s.op === 'truncate') {
          const before = Math.max(truncatedBefore, epoch - s.back);
          for (const log of logs) log.truncateBefore(before);
          truncatedBefore = before;
        } else {
          const first = model.findIndex((e) => e.epoch >= truncatedBefore);
          const from = first < 0 ? model.length : first + Math.floor(s.at * (model.length - first));
          const expected = model.slice(from).map((e, i): [number, string] => [from + i, e.text]);
          for (const log of logs) {
            if (from < log.firstSeq) return false;
            if (JSON.stringify(replay(log, from - 1)) !== JSON.stringify(expected)) return false;
          }
        }
      }
      for (const log of logs) log.discard();
      return true;
    }),
    60,
  );
});

test('a replacement writing to a live consumer sends only what that consumer has not consumed, and logs everything in flight (I8)', (t) => {
  const channel = new LocalChannel({ index: 0, from: 0, to: 1, incarnation: 1 }, { capacity: 1000, batchSize: 10 });
  const log = new InflightLog(1, 0, 0, 0, new InflightBudget(1_000_000), null, keepReferences);
  const writer = new ChannelWriter(channel, 0, { ingestTime: 0 }, log, null);
  // The live consumer consumed elements 0..24: batches [0, 10) and [10, 20) stay in the log only; [20, 30)
  // straddles and is sent, for the consumer to drop 20..24 by number; the barrier after it is sent too.
  writer.skipThrough = 24;
  for (let n = 0; n < 35; n++) writer.add({ n }, n);
  writer.control(ElementType.Barrier, 7);
  writer.flush();
  const sent: [number, number, number][] = [];
  for (let batch = channel.poll(); batch !== undefined; batch = channel.poll()) {
    sent.push([batch.type, batch.seq, batch.type === ElementType.Data ? batch.count : 1]);
    channel.release(batch);
  }
  t.deepEqual(sent, [
    [ElementType.Data, 20, 10],
    [ElementType.Data, 30, 5],
    [ElementType.Barrier, 35, 1],
  ]);
  // Should the consumer fail next, its replacement gets everything from the log.
  t.is(replay(log, -1).length, 36);
});

test('elements the live consumer consumed are skipped whole, a control element included, and numbering goes on (I8)', (t) => {
  const channel = new LocalChannel({ index: 0, from: 0, to: 1, incarnation: 1 }, { capacity: 1000, batchSize: 10 });
  const writer = new ChannelWriter(channel, 0, { ingestTime: 0 }, new InflightLog(1, 0, 0, 0, new InflightBudget(1_000_000), null, keepReferences), null);
  writer.skipThrough = 10;
  for (let n = 0; n < 10; n++) writer.add({ n }, n);
  writer.control(ElementType.Watermark, 9);
  writer.add({ n: 10 }, 10);
  writer.flush();
  const batch = channel.poll()!;
  t.deepEqual([batch.type, batch.seq, batch.count], [ElementType.Data, 11, 1]);
  t.is(channel.poll(), undefined);
});
