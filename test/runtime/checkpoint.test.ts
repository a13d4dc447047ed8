import test from 'ava';
import { join } from 'node:path';
import { sequence } from '../../lib/index.js';
import { HeapStateBackend } from '../../lib/state/backend.js';
import { CheckpointStore } from '../../lib/state/checkpoint-store.js';
import { decodeSnapshot, encodeSnapshot, mergeSnapshots, type TaskSnapshot } from '../../lib/state/snapshot.js';
import { StateCorruptionError } from '../../lib/errors.js';
import { jobDirectory, testJob } from '../helpers/jobs.js';

test('I10: barriers are aligned, so a checkpoint holds exactly the records before it on every input', async (t) => {
  const directory = jobDirectory(t);
  const job = testJob(t, { directory, recovery: { mode: 'global-rollback', checkpointIntervalMs: 30 } });
  // Two sources at very different rates feed one two-input task that counts per input.
  const fast = job.source(sequence((n) => n, { rate: 4000, name: 'fast' }), { name: 'fast' });
  const slow = job.source(sequence((n) => n, { rate: 300, name: 'slow' }), { name: 'slow' });
  fast
    .connect(slow)
    .process<number>(
      {
        processElement1(_n, ctx) {
          const c = ctx.state.value<number>('first');
          c.update((c.value() ?? 0) + 1);
        },
        processElement2(_n, ctx) {
          const c = ctx.state.value<number>('second');
          c.update((c.value() ?? 0) + 1);
        },
      },
      { name: 'counter' },
    )
    .collect();
  const handle = await job.start();
  await new Promise((resolve) => setTimeout(resolve, 600));
  const progress = handle.progress();
  await handle.stop();
  t.true(progress.checkpoints >= 5, `checkpoints completed: ${progress.checkpoints}`);
  const store = CheckpointStore.open({ path: join(directory, 'checkpoints') });
  t.teardown(() => store.close());
  const names = job.plan().tasks.map((task) => task.name);
  const sourceOffset = (name: string): number => {
    const state = store.restore(names.indexOf(name))!.operators[0]!.state as { offsets: number[] };
    return state.offsets[0]!;
  };
  const counter = store.restore(names.findIndex((n) => n.startsWith('counter')))!;
  const counts = Object.fromEntries(counter.operators[0]!.keyed!.map((s) => [s.name, s.values[0]]));
  t.is(counts.first, sourceOffset('fast[0]'));
  t.is(counts.second, sourceOffset('slow[0]'));
  t.true((counts.first as number) > (counts.second as number));
});

test('I9: a snapshot carries only the keys written since the previous one; an aborted one hands them back', (t) => {
  const backend = new HeapStateBackend();
  const value = backend.value<number>('v');
  for (const key of ['a', 'b', 'c']) {
    backend.currentKey = key;
    value.update(1);
  }
  const first = backend.snapshot(1);
  t.deepEqual(first[0]!.keys, ['a', 'b', 'c']);
  backend.checkpointCompleted(1);
  backend.currentKey = 'b';
  value.update(2);
  backend.currentKey = 'c';
  value.clear();
  const second = backend.snapshot(2);
  t.deepEqual(second[0]!.keys, ['b']);
  t.deepEqual(second[0]!.removed, ['c']);
  backend.checkpointAborted(2);
  backend.currentKey = 'a';
  value.update(3);
  const third = backend.snapshot(3);
  t.deepEqual([...third[0]!.keys].sort(), ['a', 'b'], 'keys of the aborted snapshot come back');
  t.deepEqual(third[0]!.removed, ['c']);
});

function snapshotOf(checkpointId: number, puts: [string, number][], removed: string[] = []): TaskSnapshot {
  return {
    checkpointId,
    taskId: 0,
    inputSeqs: [checkpointId * 10],
    outputSeqs: [],
    inputWatermarks: [-Infinity],
    inputEnded: [false],
    operators: [{ keyed: [{ name: 'v', kind: 'value', keys: puts.map((p) => p[0]), values: puts.map((p) => p[1]), removed }] }],
  };
}

test('a chain of incremental snapshots merges into the state at its last checkpoint', (t) => {
  const merged = mergeSnapshots([snapshotOf(1, [['a', 1], ['b', 1]]), snapshotOf(2, [['b', 2]], ['a']), snapshotOf(3, [['c', 3]])]);
  t.is(merged.checkpointId, 3);
  t.deepEqual(merged.inputSeqs, [30]);
  const delta = merged.operators[0]!.keyed![0]!;
  t.deepEqual(Object.fromEntries(delta.keys.map((k, i) => [k, delta.values[i]])), { b: 2, c: 3 });
});

test('the checkpoint store restores the latest completed checkpoint, compacting long chains', async (t) => {
  const dir = jobDirectory(t);
  const store = CheckpointStore.open({ path: dir, compactEvery: 3 });
  t.teardown(() => store.close());
  for (let id = 1; id <= 7; id++) {
    await store.put(id, encodeSnapshot(snapshotOf(id, [[`k${id}`, id]], id > 1 ? [`k${id - 1}`] : [])), 0);
    await store.complete(id, [0]);
  }
  await store.put(8, encodeSnapshot(snapshotOf(8, [['never', 8]])), 0);
  t.is(store.latest, 7);
  const restored = store.restore(0)!;
  t.is(restored.checkpointId, 7);
  t.deepEqual(restored.operators[0]!.keyed![0]!.keys, ['k7']);
  await store.discardIncomplete();
});

test('restore while a completion compacts chains reads a whole chain: a standby built meanwhile (a respawned worker) finds no snapshot missing', async (t) => {
  const dir = jobDirectory(t);
  const store = CheckpointStore.open({ path: dir, compactEvery: 3 });
  t.teardown(() => store.close());
  let reads = 0;
  for (let id = 1; id <= 12; id++) {
    await store.put(id, encodeSnapshot(snapshotOf(id, [[`k${id}`, id]], id > 1 ? [`k${id - 1}`] : [])), 0);
    let settled = false;
    const completing = store.complete(id, [0]).then(() => (settled = true));
    // Every turn of the event loop until the completion settles, as the executor may call it then.
    while (!settled) {
      const restored = store.restore(0);
      t.true(restored === null || restored.checkpointId >= id - 1, `checkpoint ${id}`);
      reads++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await completing;
    t.is(store.restore(0)!.checkpointId, id);
  }
  t.true(reads >= 12, `restores during completions: ${reads}`);
});

test('a snapshot frame with a flipped bit or a wrong length is refused', (t) => {
  const frame = encodeSnapshot(snapshotOf(1, [['a', 1]]));
  t.deepEqual(decodeSnapshot(frame).inputSeqs, [10]);
  for (const i of [0, 4, 7, 12, frame.length - 3]) {
    const bad = frame.slice();
    bad[i]! ^= 0x10;
    t.throws(() => decodeSnapshot(bad), { instanceOf: StateCorruptionError });
  }
  t.throws(() => decodeSnapshot(frame.subarray(0, frame.length - 1)), { instanceOf: StateCorruptionError });
});
