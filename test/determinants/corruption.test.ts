import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  DeltaShipper,
  DeterminantLog,
  GrowableBytes,
  LogCorruptionError,
  ReplicaStore,
  UnsupportedVersionError,
  decodeEpoch,
  decodeLogFile,
  decodeSegment,
  encodeSegment,
  readEnvelope,
  validEpochPrefix,
} from '../../determinants/index.js';
import { SeededRandom } from '../../lib/util/random.js';
import { goldenEnvelope } from '../helpers/golden.js';

const goldenFile = (): Uint8Array => new Uint8Array(readFileSync(new URL('../fixtures/golden.cflog', import.meta.url)));

test('every single flipped bit in an envelope is caught, and the replica is left unchanged', (t) => {
  const envelope = goldenEnvelope();
  for (let byte = 0; byte < envelope.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = envelope.slice();
      bad[byte]! ^= 1 << bit;
      const store = new ReplicaStore({ dsd: 1 });
      const error = t.throws(() => store.ingest(bad));
      t.true(error instanceof LogCorruptionError || error instanceof UnsupportedVersionError, `byte ${byte} bit ${bit}`);
      t.is(store.replicas.size, 0);
    }
  }
});

test('a torn envelope (any proper prefix) is rejected', (t) => {
  const envelope = goldenEnvelope();
  for (let length = 0; length < envelope.length; length++) {
    t.throws(() => readEnvelope(envelope.subarray(0, length), () => t.fail('visited a slice of a torn envelope')));
  }
});

test('an envelope of an unknown version raises UnsupportedVersionError', (t) => {
  const envelope = goldenEnvelope().slice();
  envelope[0] = 9;
  t.throws(() => readEnvelope(envelope, () => {}), { instanceOf: UnsupportedVersionError, message: /version 9.*version 1/ });
});

test('a torn log file reports the offset after the last intact segment', (t) => {
  const file = goldenFile();
  const intact = decodeLogFile(file);
  t.is(intact.length, 4);
  // Segment boundaries: header (5 bytes) then each segment in turn.
  const boundaries = [5];
  for (const s of intact) boundaries.push(boundaries[boundaries.length - 1]! + encodeSegment(s.taskId, s.epoch, s.offset, s.bytes).length);
  for (let cut = 6; cut < file.length; cut += 3) {
    if (boundaries.includes(cut)) {
      t.is(decodeLogFile(file.subarray(0, cut)).length, boundaries.indexOf(cut), 'a cut between segments is a shorter, valid file');
      continue;
    }
    const error = t.throws(() => decodeLogFile(file.subarray(0, cut)), { instanceOf: LogCorruptionError });
    const lastBoundary = Math.max(...boundaries.filter((b) => b <= cut));
    t.is(error?.lastGoodOffset, lastBoundary, `cut at ${cut}`);
  }
});

test('a flipped bit anywhere in a log file is caught', (t) => {
  const file = goldenFile();
  const random = new SeededRandom(11);
  for (let i = 0; i < 300; i++) {
    const bad = file.slice();
    bad[random.nextInt(bad.length)]! ^= 1 << random.nextInt(8);
    t.throws(() => decodeLogFile(bad));
  }
});

test('log files and segments of an unknown version are refused', (t) => {
  const file = goldenFile();
  file[4] = 2;
  t.throws(() => decodeLogFile(file), { instanceOf: UnsupportedVersionError });
  const segment = encodeSegment(1, 0, 0, new Uint8Array([0x80]));
  segment[4] = 7;
  t.throws(() => decodeSegment(segment), { instanceOf: UnsupportedVersionError });
});

test('garbage epoch bytes raise LogCorruptionError with the last good offset, never garbage entries', (t) => {
  const log = new DeterminantLog({ taskId: 1 });
  log.order(0, 1);
  log.clock(1_000);
  const good = log.bytesOf(log.epochs[0]!);
  const torn = good.subarray(0, good.length - 1);
  const error = t.throws(() => decodeEpoch(torn), { instanceOf: LogCorruptionError });
  t.is(error?.lastGoodOffset, 1);
  t.is(validEpochPrefix(torn), 1);
  t.throws(() => decodeEpoch(new Uint8Array([0x0f])), { instanceOf: LogCorruptionError, message: /unknown determinant tag 0x0f/ });
  t.throws(() => decodeEpoch(new Uint8Array([0x01, 0x00, 0x00])), { instanceOf: LogCorruptionError, message: /count of 0/ });
});

test('a corrupt envelope from a shipper never reaches a replica half-applied', (t) => {
  const log = new DeterminantLog({ taskId: 4 });
  const shipper = new DeltaShipper({ log, dsd: 1 });
  const consumer = shipper.addConsumer();
  log.order(0, 1);
  const store = new ReplicaStore({ dsd: 1 });
  store.ingest(shipper.delta(consumer)!);
  log.order(1, 1);
  const bad = shipper.delta(consumer)!;
  bad[bad.length - 1]! ^= 0xff;
  t.throws(() => store.ingest(bad), { instanceOf: LogCorruptionError, message: /checksum/ });
  t.is(store.replicaOf(4)!.totalBytes, 1);
});

test('I7: an envelope written without its checksum (a batch\'s, which a checksummed frame or the process covers) is read only with verify off', (t) => {
  const log = new DeterminantLog({ taskId: 4 });
  const shipper = new DeltaShipper({ log, dsd: 1 });
  const consumer = shipper.addConsumer();
  log.order(0, 3);
  const out = new GrowableBytes(64);
  const length = shipper.writeDelta(consumer, out, false);
  const envelope = out.view(0, length).slice();
  t.deepEqual([...envelope.subarray(length - 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
  t.throws(() => new ReplicaStore({ dsd: 1 }).ingest(envelope), { instanceOf: LogCorruptionError, message: /checksum/ });
  const store = new ReplicaStore({ dsd: 1 });
  t.is(store.ingest(envelope, false), 1);
  t.is(store.replicaOf(4)!.totalBytes, log.bytesOf(log.epochs[0]!).length);
  // Lengths are still checked without the checksum.
  t.throws(() => readEnvelope(envelope.subarray(0, length - 1), () => t.fail('visited a slice of a torn envelope'), false), { instanceOf: LogCorruptionError });
});
