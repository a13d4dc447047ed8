import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { StateCorruptionError } from '../../lib/errors.js';
import { HeapStateBackend } from '../../lib/state/backend.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_CHUNK_ENTRIES, SnapshotFrameReader, type TaskSnapshot } from '../../lib/state/snapshot.js';
import { Standby } from '../../lib/runtime/standby.js';
import { checksum64 } from '../../determinants/checksum.js';
import { writeU64 } from '../../determinants/bytes.js';
import { checkProperty } from '../helpers/property.js';

// Snapshot frames of version 2 are read chunk by chunk, so a standby applies a large delta in slices between
// other work (I7 for the bytes; the standby's state equals its task's at the checkpoint, docs/protocol.md).

function snapshotWith(checkpointId: number, entries: number, removed: string[] = []): TaskSnapshot {
  const keys = Array.from({ length: entries }, (_, i) => `k${i}`);
  return {
    checkpointId,
    taskId: 1,
    inputSeqs: [checkpointId * 100, 7],
    outputSeqs: [3],
    inputWatermarks: [5, -Infinity],
    inputEnded: [false, false],
    operators: [
      { state: { offsets: [checkpointId] } },
      {
        keyed: [
          { name: 'sum', kind: 'value', keys, values: keys.map((_, i) => ({ n: i, at: checkpointId })), removed },
          { name: 'seen', kind: 'map', keys: ['x'], values: [new Map([['y', checkpointId]])], removed: [] },
        ],
      },
    ],
  };
}

test('a snapshot of more entries than one chunk is written as chunks, and read back whole or chunk by chunk', (t) => {
  const snapshot = snapshotWith(4, SNAPSHOT_CHUNK_ENTRIES * 2 + 17, ['old']);
  const frame = encodeSnapshot(snapshot);
  t.is(frame[4], 2, 'version 2');
  t.deepEqual(decodeSnapshot(frame), snapshot);
  const reader = new SnapshotFrameReader(frame);
  t.deepEqual(reader.head.inputSeqs, [400, 7]);
  t.deepEqual(reader.head.operators[1]!.keyed![0]!.removed, ['old'], 'removed keys are in the head');
  const sizes: number[] = [];
  for (let chunk = reader.next(); chunk !== null; chunk = reader.next()) sizes.push(chunk.keys.length);
  t.deepEqual(sizes, [SNAPSHOT_CHUNK_ENTRIES, SNAPSHOT_CHUNK_ENTRIES, 17, 1]);
});

test('a version-1 frame (golden, written before chunks) is still read', (t) => {
  const frame = new Uint8Array(readFileSync(new URL('../fixtures/snapshot-v1.cfsn', import.meta.url)));
  t.is(frame[4], 1);
  const snapshot = decodeSnapshot(frame);
  t.is(snapshot.checkpointId, 7);
  t.deepEqual(snapshot.inputSeqs, [41, -1]);
  t.deepEqual(snapshot.operators[1]!.keyed![0]!.keys, ['a', 'b', 7]);
  t.deepEqual(snapshot.operators[1]!.keyed![0]!.values, [1, 2.5, { n: 3 }]);
  t.deepEqual(snapshot.operators[1]!.keyed![0]!.removed, ['gone']);
  t.deepEqual(snapshot.operators[1]!.keyed![1]!.values, [new Map([['x', 1]])]);
  t.is(new SnapshotFrameReader(frame).next(), null, 'a version-1 frame has no chunks: its entries are in the head');
});

test('a segment length that runs past the payload is refused by the length check, even under a valid checksum', (t) => {
  const frame = encodeSnapshot(snapshotWith(2, 10));
  const bad = frame.slice();
  const view = new DataView(bad.buffer);
  view.setUint32(9, view.getUint32(9, true) + 100_000, true); // the head segment's length
  writeU64(bad, bad.length - 8, checksum64(bad.subarray(0, bad.length - 8)));
  const error = t.throws(() => decodeSnapshot(bad), { instanceOf: StateCorruptionError });
  t.regex(error!.message, /runs past the payload/);
  const flipped = frame.slice();
  flipped[20]! ^= 0x01;
  t.throws(() => new SnapshotFrameReader(flipped), { instanceOf: StateCorruptionError, message: /checksum/ });
  const future = frame.slice();
  future[4] = 3;
  t.throws(() => decodeSnapshot(future), { instanceOf: StateCorruptionError, message: /version 3/ });
});

function standby(): Standby {
  return new Standby(1, ['source', 'sums'], () => new HeapStateBackend());
}

test('a standby applies a frame in slices: behind until the last chunk, never seen half applied, and equal to one applied at once', (t) => {
  const frames = [encodeSnapshot(snapshotWith(1, SNAPSHOT_CHUNK_ENTRIES * 3)), encodeSnapshot(snapshotWith(2, 5, ['k1', 'k2']))];
  const sliced = standby();
  sliced.enqueue(frames[0]!);
  let slices = 0;
  // A deadline already past: one chunk per call.
  while (!sliced.catchUpUntil(0)) {
    slices++;
    t.true(sliced.behind);
    t.is(sliced.heldCheckpoint, -1, 'the checkpoint is not held before its last chunk');
  }
  t.is(slices, 4, 'one call per chunk (three full ones, one of the small change); the next finishes the frame');
  t.is(sliced.heldCheckpoint, 1);
  sliced.enqueue(frames[1]!);
  t.true(sliced.catchUpUntil(0) === false || sliced.heldCheckpoint === 2);
  // Reading the state finishes what is queued first.
  t.is(sliced.checkpointId, 2);
  t.false(sliced.behind);
  const whole = standby();
  for (const frame of frames) whole.enqueue(frame);
  whole.catchUp();
  const a = sliced.backends.get('sums')!;
  const b = whole.backends.get('sums')!;
  t.is(a.sizeOf('sum'), SNAPSHOT_CHUNK_ENTRIES * 3 - 2);
  for (const key of b.keysOf('sum')) t.deepEqual(a.entryOf('sum', key), b.entryOf('sum', key));
  t.is(a.entryOf('sum', 'k1'), undefined, 'removed after its entries');
  t.deepEqual(sliced.snapshot, whole.snapshot);
});

test('property: frames applied in random slices give the state of a model that applies each snapshot whole', (t) => {
  const change = fc.record({
    puts: fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer()), { maxLength: 5000 }),
    removes: fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 50 }),
  });
  checkProperty(
    t,
    fc.property(fc.array(change, { minLength: 1, maxLength: 5 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), (changes, slicing) => {
      const model = new Map<number, number>();
      const subject = new Standby(1, ['sums'], () => new HeapStateBackend());
      changes.forEach((c, i) => {
        const puts = new Map(c.puts);
        const removed = [...new Set(c.removes)].filter((k) => !puts.has(k));
        for (const [k, v] of puts) model.set(k, v);
        for (const k of removed) model.delete(k);
        const snapshot: TaskSnapshot = {
          checkpointId: i + 1,
          taskId: 1,
          inputSeqs: [i],
          outputSeqs: [],
          inputWatermarks: [-Infinity],
          inputEnded: [false],
          operators: [{ keyed: [{ name: 'v', kind: 'value', keys: [...puts.keys()], values: [...puts.values()], removed }] }],
        };
        subject.enqueue(encodeSnapshot(snapshot));
        // Some slices between arrivals: a deadline past (one chunk) or far ahead (everything queued).
        for (const now of slicing.slice(0, i + 1)) subject.catchUpUntil(now ? 0 : Infinity);
      });
      const backend = subject.backends.get('sums');
      const state = new Map<number, unknown>();
      if (backend) for (const key of backend.keysOf('v')) state.set(key as number, backend.entryOf('v', key));
      return subject.checkpointId === changes.length && state.size === model.size && [...model].every(([k, v]) => state.get(k) === v);
    }),
    40,
  );
});
