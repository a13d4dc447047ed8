import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { DeltaShipper, DeterminantLog, DeterminantStore, LogCorruptionError, ReplicaStore, decodeEpoch, encodeSegment } from '../../determinants/index.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'causalflow-store-'));
}

test('segments persisted to lmdb reload as whole epochs after reopening', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new DeterminantLog({ taskId: 2 });
  const store = DeterminantStore.open({ path: dir });
  log.order(0, 5);
  let persisted = 0;
  const persist = async (): Promise<void> => {
    const bytes = log.bytesOf(log.epochs[log.epochs.length - 1]!);
    log.seal();
    await store.append(2, log.epoch, persisted, bytes.slice(persisted));
    persisted = bytes.length;
  };
  await persist();
  log.clock(1_000);
  log.randomSeed(3);
  await persist();
  log.startEpoch(1);
  persisted = 0;
  log.order(1, 2);
  await persist();
  await store.close();

  const reopened = DeterminantStore.open({ path: dir });
  t.deepEqual(reopened.taskIds(), [2]);
  const epochs = reopened.load(2);
  t.deepEqual(epochs.map((e) => e.epoch), [0, 1]);
  t.deepEqual(decodeEpoch(epochs[0]!.bytes), [
    { kind: 'ORDER', channel: 0, count: 5 },
    { kind: 'CLOCK', millis: 1000 },
    { kind: 'RANDOM_SEED', seed: 3 },
  ]);
  t.deepEqual(reopened.load(2, 1).map((e) => e.epoch), [1]);
  await reopened.truncateBefore(2, 1);
  t.deepEqual(reopened.load(2).map((e) => e.epoch), [1]);
  await reopened.close();
});

test('a bit flipped on disk is reported as corruption when loading', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = DeterminantStore.open({ path: dir });
  await store.append(1, 0, 0, new Uint8Array([0x80, 0x81]));
  const bad = encodeSegment(1, 0, 0, new Uint8Array([0x80, 0x81]));
  bad[bad.length - 9]! ^= 0x01;
  await store.segments.put([1, 0, 0], bad);
  t.throws(() => store.load(1), { instanceOf: LogCorruptionError, message: /checksum/ });
  await store.close();
});

test('a hole between persisted segments is reported, not skipped', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = DeterminantStore.open({ path: dir });
  await store.append(1, 0, 0, new Uint8Array([0x80]));
  await store.append(1, 0, 5, new Uint8Array([0x80]));
  t.throws(() => store.load(1), { instanceOf: LogCorruptionError, message: /offset 5, expected 1/ });
  await store.close();
});

test('persisting inside a caller transaction commits determinants with the caller\'s own writes', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = open({ path: dir });
  const store = new DeterminantStore(root);
  const output = root.openDB<string, number>({ name: 'output' });
  await root.transaction(() => {
    void output.put(1, 'first result');
    store.putSegment(9, 0, 0, new Uint8Array([0x81]));
  });
  t.is(output.get(1), 'first result');
  t.is(store.load(9)[0]!.bytes.length, 1);
  await root.close();
});

test('a log short of memory spills closed epochs to lmdb and still ships them', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = DeterminantStore.open({ path: dir });
  const log = new DeterminantLog({ taskId: 1, spill: store, memoryLimitBytes: 64 });
  for (let epoch = 1; epoch <= 5; epoch++) {
    for (let i = 0; i < 50; i++) log.clock(1_000 + i * 1000);
    log.startEpoch(epoch);
  }
  t.true(log.memoryBytes <= 64 + log.currentLength, `in memory: ${log.memoryBytes}`);
  t.true(log.epochs.some((e) => e.data === null), 'some epoch was spilled');
  const shipper = new DeltaShipper({ log, dsd: 1 });
  const replicas = new ReplicaStore({ dsd: 1, spill: store, memoryLimitBytes: 100 });
  replicas.ingest(shipper.delta(shipper.addConsumer())!);
  const copy = replicas.logOf(1, 0);
  t.deepEqual(copy.map((e) => e.epoch), [0, 1, 2, 3, 4]);
  for (const e of copy) t.is(decodeEpoch(e.bytes).length, 50);
  await store.flushed();
  log.truncateBefore(5);
  t.deepEqual(log.epochs.map((e) => e.epoch), [5]);
  await store.close();
});
