import test from 'ava';
import { ElementType, type Batch } from '../../lib/transport/batch.js';
import { ChannelWriter } from '../../lib/runtime/writer.js';
import { ChannelMux, TransportProtocolError, type RemoteInputChannel } from '../../lib/transport/tcp/index.js';
import { closed, pair, sleep, until, type Pair } from './helpers.js';

const channel = (index: number) => ({ index, from: 1, to: 2 });

/** A pair with a multiplexer on each side: `producer` on the client, `consumer` on the server. */
async function muxPair(t: { teardown: (fn: () => Promise<void>) => void }, options: { maxHeldBytes?: number } = {}) {
  const p: Pair = await pair({ start: false });
  t.teardown(p.close);
  const producer = new ChannelMux(p.client, options);
  const consumer = new ChannelMux(p.accepted, options);
  p.client.start();
  p.accepted.start();
  return { p, producer, consumer };
}

function fill(batch: Batch, seq: number, count: number): Batch {
  for (let i = 0; i < count; i++) {
    batch.records[i] = { key: seq + i, word: `w${(seq + i) % 7}`, n: seq + i, f: (seq + i) / 3 };
    batch.timestamps[i] = seq + i;
  }
  batch.count = count;
  batch.seq = seq;
  return batch;
}

/** Drains an input channel: polls every batch, hands it to `see`, releases it. */
function drain(input: RemoteInputChannel, see: (batch: Batch) => void): void {
  for (let batch = input.poll(); batch !== undefined; batch = input.poll()) {
    see(batch);
    input.release(batch);
  }
}

test('a producer starts without credit, gets the consumer capacity when it registers, and stops when it runs out', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const out = producer.output(channel(0), 1);
  t.false(out.writable(), 'no consumer yet: no credit');
  const input = consumer.input(channel(0), 1, { capacity: 4, batchSize: 16 });
  await until(() => out.credit === 4, 'the initial grant');
  let sent = 0;
  while (out.writable()) out.send(fill(out.takeBatch(), sent * 16, 16)), sent++;
  t.is(sent, 4, 'exactly the capacity');
  await until(() => input.queued === 4, 'four batches queued');
  t.false(out.writable());
});

test('credit comes back as consumed batches are released, in groups, and onWritable fires', async (t) => {
  const { producer, consumer, p } = await muxPair(t);
  const out = producer.output(channel(0), 1);
  const input = consumer.input(channel(0), 1, { capacity: 4, batchSize: 16 });
  await until(() => out.credit === 4, 'the initial grant');
  for (let i = 0; i < 4; i++) out.send(fill(out.takeBatch(), i * 16, 16));
  let woken = 0;
  out.onWritable = () => woken++;
  t.false(out.writable());
  await until(() => input.queued === 4, 'four batches queued');
  const creditFramesBefore = p.accepted.stats.framesOut;
  input.release(input.poll()!);
  await sleep(30);
  t.is(out.credit, 0, 'one release is less than a group (half the capacity)');
  t.is(p.accepted.stats.framesOut, creditFramesBefore, 'and sends no CREDIT frame');
  input.release(input.poll()!);
  await until(() => out.credit === 2, 'a group of two credits');
  t.is(woken, 1);
  t.is(p.accepted.stats.framesOut, creditFramesBefore + 1, 'one CREDIT frame for the group');
});

test('control elements pass without credit, in order with the data', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const out = producer.output(channel(0), 1);
  const input = consumer.input(channel(0), 1, { capacity: 1, batchSize: 4 });
  await until(() => out.credit === 1, 'the initial grant');
  out.send(fill(out.takeBatch(), 0, 4));
  t.false(out.writable());
  let seq = 4;
  for (const [type, value] of [[ElementType.Watermark, 100], [ElementType.Barrier, 1], [ElementType.End, 0]] as const) {
    const control = out.takeBatch();
    control.type = type;
    control.value = value;
    control.seq = seq++;
    out.send(control);
  }
  await until(() => input.queued === 4, 'data and three control elements');
  const seen: [number, number, number][] = [];
  drain(input, (b) => seen.push([b.type, b.seq, b.value]));
  t.deepEqual(seen, [
    [ElementType.Data, 0, 0],
    [ElementType.Watermark, 4, 100],
    [ElementType.Barrier, 5, 1],
    [ElementType.End, 6, 0],
  ]);
});

test('I8: 5,000 batches through the real ChannelWriter arrive in order with contiguous sequence numbers and intact records', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const out = producer.output(channel(3), 1, { batchSize: 64 });
  const input = consumer.input(channel(3), 1, { capacity: 8, batchSize: 64 });
  const writer = new ChannelWriter(out, 0, { ingestTime: 5 }, null, null);
  const total = 5000 * 64;
  let next = 0;
  let produced = 0;
  let ok = true;
  let ended = false;
  input.onReadable = () => {
    drain(input, (b) => {
      if (b.type === ElementType.End) {
        ended = true;
        return;
      }
      if (b.seq !== next || b.ingestTime !== 5) ok = false;
      for (let i = 0; i < b.count; i++) {
        const r = b.records[i] as { key: number; word: string };
        if (r.key !== next + i || r.word !== `w${(next + i) % 7}` || b.timestamps[i] !== next + i) ok = false;
      }
      next = b.seqEnd;
    });
  };
  const pump = (): void => {
    while (produced < total && writer.writable()) {
      for (let i = 0; i < 64 * 4 && produced < total; i++, produced++) writer.add({ key: produced, word: `w${produced % 7}` }, produced);
    }
    if (produced === total) {
      writer.flush();
      writer.control(ElementType.End, 0);
    }
  };
  out.onWritable = pump;
  pump();
  await until(() => ended, 'end of stream', 60_000);
  t.true(ok, 'every batch in order, with its records');
  t.is(next, total);
});

test('several channels share one connection; one out of credit does not hold back another', async (t) => {
  const { producer, consumer, p } = await muxPair(t);
  const outs = [0, 1, 2].map((i) => producer.output(channel(i), 1, { batchSize: 8 }));
  const inputs = [0, 1, 2].map((i) => consumer.input(channel(i), 1, { capacity: 2, batchSize: 8 }));
  await until(() => outs.every((o) => o.credit === 2), 'grants on every channel');
  // Channel 0's consumer never reads: its producer stalls. Channels 1 and 2 go on.
  outs[0]!.send(fill(outs[0]!.takeBatch(), 0, 8));
  outs[0]!.send(fill(outs[0]!.takeBatch(), 8, 8));
  t.false(outs[0]!.writable());
  const seqs: number[][] = [[], [], []];
  for (const i of [1, 2]) inputs[i]!.onReadable = () => drain(inputs[i]!, (b) => seqs[i]!.push(b.seq));
  const nextSeq = [0, 0, 0];
  const pump = (): void => {
    for (const i of [1, 2]) {
      while (outs[i]!.writable() && nextSeq[i]! < 200 * 8) {
        outs[i]!.send(fill(outs[i]!.takeBatch(), nextSeq[i]!, 8));
        nextSeq[i]! += 8;
      }
    }
  };
  outs[1]!.onWritable = pump;
  outs[2]!.onWritable = pump;
  pump();
  await until(() => seqs[1]!.length + seqs[2]!.length === 400, '400 batches on channels 1 and 2', 30_000);
  for (const i of [1, 2]) t.deepEqual(seqs[i], Array.from({ length: 200 }, (_, k) => k * 8), `channel ${i} in order`);
  t.is(inputs[0]!.queued, 2, 'channel 0 still holds its two batches');
  t.is(producer.connection, p.client, 'all three on the one connection');
});

test('frames for a channel with no consumer yet are held, then delivered in order when it registers', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const out = producer.output(channel(5), 2, { batchSize: 4 });
  // No credit yet, but control elements go regardless, and a replaying producer may ignore credit.
  const mark = out.takeBatch();
  mark.type = ElementType.Watermark;
  mark.seq = 0;
  mark.value = 42;
  out.send(mark);
  out.send(fill(out.takeBatch(), 1, 4));
  await until(() => consumer.stats.held === 2, 'two held frames');
  t.true(consumer.stats.heldBytes > 0);
  const input = consumer.input(channel(5), 2, { capacity: 4, batchSize: 4 });
  t.is(input.queued, 2, 'delivered at registration');
  t.is(consumer.stats.held, 0);
  t.is(consumer.stats.heldBytes, 0);
  const seen: [number, number][] = [];
  drain(input, (b) => seen.push([b.type, b.seq]));
  t.deepEqual(seen, [
    [ElementType.Watermark, 0],
    [ElementType.Data, 1],
  ]);
});

test('credit granted before the producer registers is kept for it', async (t) => {
  const { p, producer, consumer } = await muxPair(t);
  consumer.input(channel(1), 3, { capacity: 6 });
  // Until the credit frame arrived (a fixed 30 ms pause was once too short on a loaded CI).
  await until(() => p.client.stats.framesIn >= 1, 'the credit frame at the producer');
  const out = producer.output(channel(1), 3);
  t.is(out.credit, 6);
  t.true(out.writable());
});

test('zombies: once a newer incarnation registers, frames of the older one are dropped', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const old = producer.output(channel(0), 1, { batchSize: 4 });
  const oldInput = consumer.input(channel(0), 1, { capacity: 4, batchSize: 4 });
  await until(() => old.credit === 4, 'grant');
  old.send(fill(old.takeBatch(), 0, 4));
  await until(() => oldInput.queued === 1, 'first batch');
  const fresh = consumer.input(channel(0), 2, { capacity: 4, batchSize: 4 });
  old.send(fill(old.takeBatch(), 4, 4)); // the old producer does not know it was replaced
  await until(() => consumer.stats.stale === 1, 'a stale frame dropped');
  t.is(oldInput.queued, 1, 'the old end keeps what it had, gets nothing new');
  t.is(fresh.queued, 0);
  const replacement = producer.output(channel(0), 2, { batchSize: 4 });
  t.true(old.isClosed, 'a newer producer end closes the older one');
  await until(() => replacement.credit === 4, 'the new incarnation has its grant');
  replacement.send(fill(replacement.takeBatch(), 4, 4));
  await until(() => fresh.queued === 1, 'the new incarnation delivers');
  t.throws(() => consumer.input(channel(0), 2), { message: /incarnation: expected above 2/ });
});

test('fence (I34): frames of a failed producer\'s incarnations that arrive after the fence are dropped, held ones too; a newer incarnation passes', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const dead = producer.output(channel(0), 1, { batchSize: 4 });
  const input = consumer.input(channel(0), 1, { capacity: 8, batchSize: 4 });
  await until(() => dead.credit === 8, 'grant');
  dead.send(fill(dead.takeBatch(), 0, 4));
  await until(() => input.queued === 1, 'a batch before the fence');
  // Frames of incarnation 2 on channel 1, whose consumer is not registered yet, are held.
  const early = producer.output(channel(1), 2, { batchSize: 4 });
  early.applyCredit(4, 0);
  early.send(fill(early.takeBatch(), 0, 4));
  await until(() => consumer.stats.held === 1, 'a frame held for channel 1');
  consumer.fence(0, 1);
  consumer.fence(1, 2);
  t.is(consumer.stats.held, 0, 'the held frame of a fenced incarnation is dropped');
  t.is(consumer.stats.fenced, 1);
  dead.send(fill(dead.takeBatch(), 4, 4)); // still on the way when the producer died
  dead.send(fill(dead.takeBatch(), 8, 4));
  await until(() => consumer.stats.fenced === 3, 'two late frames refused');
  t.is(input.queued, 1, 'the consumer keeps what it had before the fence, and nothing after');
  consumer.fence(0, 0);
  const successor = consumer.input(channel(0), 2, { capacity: 4, batchSize: 4 });
  const replacement = producer.output(channel(0), 2, { batchSize: 4 });
  await until(() => replacement.credit === 4, 'the replacement has its grant');
  replacement.send(fill(replacement.takeBatch(), 4, 4));
  await until(() => successor.queued === 1, 'the replacement delivers: a fence never covers a newer incarnation');
  t.is(consumer.stats.fenced, 3, 'an older fence does not lower the newer one');
});

test('the consumer flag consumerReplaying reaches the producer, by assignment or at once', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const out = producer.output(channel(0), 1);
  const input = consumer.input(channel(0), 1, { capacity: 2 });
  await until(() => out.credit === 2, 'grant');
  let woken = 0;
  out.onWritable = () => woken++;
  out.send(fill(out.takeBatch(), 0, 1));
  out.send(fill(out.takeBatch(), 1, 1));
  t.false(out.writable());
  input.setConsumerReplaying(true);
  await until(() => out.consumerReplaying, 'the flag');
  t.is(woken, 1, 'a producer waiting for credit is woken when its consumer starts replaying');
  input.consumerReplaying = false; // as the task does when it goes live
  input.poll();
  await until(() => !out.consumerReplaying, 'the flag cleared with the next poll');
});

test('a closed consumer end frees its producer: writable, and sends are dropped', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const out = producer.output(channel(0), 1);
  const input = consumer.input(channel(0), 1, { capacity: 1 });
  await until(() => out.credit === 1, 'grant');
  out.send(fill(out.takeBatch(), 0, 1));
  let woken = false;
  t.false(out.writable());
  out.onWritable = () => (woken = true);
  input.close();
  await until(() => out.isClosed, 'the producer learns');
  t.true(woken);
  t.true(out.writable());
  out.send(fill(out.takeBatch(), 1, 1));
  t.is(out.stats.dropped, 1);
  await sleep(20);
  t.true(input.isClosed);
  t.is(input.queued, 0);
});

test('when the connection closes, producers stop waiting and drop what they send', async (t) => {
  const { producer, consumer, p } = await muxPair(t);
  const out = producer.output(channel(0), 1);
  consumer.input(channel(0), 1, { capacity: 1 });
  await until(() => out.credit === 1, 'grant');
  out.send(fill(out.takeBatch(), 0, 1));
  t.false(out.writable());
  p.accepted.destroy();
  await closed(p.client);
  t.true(out.isClosed);
  t.true(out.writable());
});

test('a producer with bigger batches than the consumer still delivers whole batches', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const out = producer.output(channel(0), 1, { batchSize: 100 });
  const input = consumer.input(channel(0), 1, { capacity: 2, batchSize: 10 });
  await until(() => out.credit === 2, 'grant');
  out.send(fill(out.takeBatch(), 0, 100));
  await until(() => input.queued === 1, 'the batch');
  const batch = input.poll()!;
  t.is(batch.count, 100);
  t.deepEqual(batch.records[99], { key: 99, word: 'w1', n: 99, f: 33 });
  input.release(batch);
});

test('envelopes travel with their batch, byte for byte', async (t) => {
  const { producer, consumer } = await muxPair(t);
  const out = producer.output(channel(0), 1, { batchSize: 4 });
  const input = consumer.input(channel(0), 1, { capacity: 2, batchSize: 4 });
  await until(() => out.credit === 2, 'grant');
  const batch = fill(out.takeBatch(), 0, 2);
  const envelope = Uint8Array.from({ length: 200 }, (_, i) => (i * 31) & 0xff);
  batch.envelope.append(envelope);
  batch.envelopeLength = envelope.length;
  out.send(batch);
  t.is(batch.envelopeLength, 0, 'sent batches are recycled at once');
  await until(() => input.queued === 1, 'the batch');
  const got = input.poll()!;
  t.deepEqual([...got.envelope.view(0, got.envelopeLength)], [...envelope]);
});

test('frames held beyond maxHeldBytes fail the connection instead of growing without bound', async (t) => {
  const { producer, p } = await muxPair(t, { maxHeldBytes: 2000 });
  const out = producer.output(channel(9), 1, { batchSize: 64 });
  const whenClosed = closed(p.accepted);
  for (let i = 0; i < 10; i++) out.send(fill(out.takeBatch(), i * 64, 64));
  const error = await whenClosed;
  t.true(error instanceof TransportProtocolError);
  t.regex(error!.message, /expected at most 2000 \(maxHeldBytes\)/);
});
