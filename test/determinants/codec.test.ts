import test from 'ava';
import fc from 'fast-check';
import { DeltaShipper, DeterminantLog, InvalidArgumentError, Kind, KindRegistry, decodeEpoch, type Determinant } from '../../determinants/index.js';
import { appendDeterminant, buildLog, coalesced, epochsArb } from '../helpers/determinants.js';
import { checkProperty } from '../helpers/property.js';

test('every kind round-trips through encode and decode, epoch by epoch', (t) => {
  checkProperty(
    t,
    fc.property(epochsArb, (epochs) => {
      const log = buildLog(3, epochs);
      return log.epochs.every((e, i) => JSON.stringify(decodeEpoch(log.bytesOf(e))) === JSON.stringify(coalesced(epochs[i]!)));
    }),
    300,
  );
});

test('consecutive deliveries from one channel extend one ORDER entry', (t) => {
  const log = new DeterminantLog({ taskId: 1 });
  log.order(2, 10);
  log.order(2, 5);
  log.order(3, 1);
  log.order(3, 1);
  t.deepEqual(decodeEpoch(log.bytesOf(log.epochs[0]!)), [
    { kind: 'ORDER', channel: 2, count: 15 },
    { kind: 'ORDER', channel: 3, count: 2 },
  ]);
});

test('I3: an ORDER entry that was shipped is never extended; the next run starts a new entry', (t) => {
  const log = new DeterminantLog({ taskId: 1 });
  const shipper = new DeltaShipper({ log, dsd: 1 });
  const consumer = shipper.addConsumer();
  log.order(0, 4);
  const shipped = shipper.delta(consumer);
  t.truthy(shipped);
  const before = log.bytesOf(log.epochs[0]!).slice();
  log.order(0, 4);
  const after = log.bytesOf(log.epochs[0]!);
  t.deepEqual(after.subarray(0, before.length), before);
  t.deepEqual(decodeEpoch(after), [
    { kind: 'ORDER', channel: 0, count: 4 },
    { kind: 'ORDER', channel: 0, count: 4 },
  ]);
});

test('any other entry between two runs of one channel stops coalescing', (t) => {
  const log = new DeterminantLog({ taskId: 1 });
  log.order(1, 3);
  log.clock(1000);
  log.order(1, 3);
  t.is(decodeEpoch(log.bytesOf(log.epochs[0]!)).length, 3);
});

test('the compact ORDER form covers channels 0-7 and runs of 1-16; larger ones use the long form', (t) => {
  const sizes: [number, number, number][] = [
    [0, 1, 1],
    [7, 16, 1],
    [8, 1, 3],
    [0, 17, 3],
    [127, 256, 4],
    [200, 1, 4],
  ];
  for (const [channel, count, bytes] of sizes) {
    const log = new DeterminantLog({ taskId: 1 });
    log.order(channel, count);
    t.is(log.currentLength, bytes, `channel ${channel} count ${count}`);
    t.deepEqual(decodeEpoch(log.bytesOf(log.epochs[0]!)), [{ kind: 'ORDER', channel, count }]);
  }
});

test('channels beyond 127 (where Clonos broke) and up to 2^31 encode and decode', (t) => {
  const log = new DeterminantLog({ taskId: 1 });
  for (const channel of [127, 128, 255, 256, 65_535, 2 ** 31]) log.order(channel, 1);
  t.deepEqual(
    decodeEpoch(log.bytesOf(log.epochs[0]!)).map((d) => (d as { channel: number }).channel),
    [127, 128, 255, 256, 65_535, 2 ** 31],
  );
});

test('clock values are varint deltas: a steady clock costs two bytes per read', (t) => {
  const log = new DeterminantLog({ taskId: 1 });
  log.clock(1_763_000_000_000);
  const first = log.currentLength;
  for (let i = 1; i <= 100; i++) log.clock(1_763_000_000_000 + i);
  t.is(log.currentLength - first, 200);
});

test('user kinds registered with a codec round-trip their values', (t) => {
  const registry = new KindRegistry();
  registry.register<{ sensor: string; reading: number }>({
    id: 0x41,
    name: 'SENSOR',
    codec: {
      encode: (v) => new TextEncoder().encode(JSON.stringify(v)),
      decode: (b) => JSON.parse(new TextDecoder().decode(b)),
    },
  });
  const log = new DeterminantLog({ taskId: 1, registry });
  log.user(0x41, { sensor: 'a', reading: 3.5 });
  const [entry] = decodeEpoch(log.bytesOf(log.epochs[0]!), registry) as [Extract<Determinant, { kind: 'USER' }>];
  t.is(entry.name, 'SENSOR');
  t.deepEqual(entry.value, { sensor: 'a', reading: 3.5 });
});

test('bad arguments raise InvalidArgumentError naming the field', (t) => {
  const log = new DeterminantLog({ taskId: 1 });
  t.throws(() => log.order(0, 0), { instanceOf: InvalidArgumentError, message: /order/ });
  t.throws(() => log.clock(1.5), { instanceOf: InvalidArgumentError, message: /clock/ });
  t.throws(() => log.randomSeed(-1), { instanceOf: InvalidArgumentError, message: /randomSeed/ });
  log.timer(1, 100, 10);
  t.throws(() => log.timer(1, 100, 9), { instanceOf: InvalidArgumentError, message: /position/ });
  t.throws(() => log.user(0x41, 1), { instanceOf: InvalidArgumentError, message: /kindId/ });
  t.throws(() => log.startEpoch(0), { instanceOf: InvalidArgumentError, message: /epoch/ });
  t.throws(() => new DeterminantLog({ taskId: -1 }), { instanceOf: InvalidArgumentError, message: /taskId/ });
  const registry = new KindRegistry();
  t.throws(() => registry.register({ id: 0x10, name: 'X', codec: { encode: () => new Uint8Array(), decode: () => 0 } }), { instanceOf: InvalidArgumentError });
});

test('appending a determinant through the helper covers every kind', (t) => {
  const log = new DeterminantLog({ taskId: 1 });
  const all: Determinant[] = [
    { kind: 'ORDER', channel: 1, count: 2 },
    { kind: 'CLOCK', millis: 5 },
    { kind: 'MONOTONIC_CLOCK', micros: 7 },
    { kind: 'TIMER', timerId: 1, timestamp: 6, position: 2 },
    { kind: 'RANDOM_SEED', seed: 9 },
    { kind: 'EXTERNAL', callId: 4, payload: new Uint8Array([1, 2]) },
    { kind: 'SOURCE_BARRIER', checkpointId: 3, position: 2 },
    { kind: 'SOURCE_POLL', partition: 0, count: 10 },
    { kind: 'ABORT_CHECKPOINT', checkpointId: 3, position: 4 },
    { kind: 'USER', id: 0x40, name: 'USER_64', payload: new Uint8Array([3]) },
  ];
  for (const d of all) appendDeterminant(log, d);
  t.deepEqual(decodeEpoch(log.bytesOf(log.epochs[0]!)), all);
  t.is(Object.keys(Kind).length, 9);
});
