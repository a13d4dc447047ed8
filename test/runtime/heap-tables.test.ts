/**
 * Change tracking of the heap backend (`lib/state/heap-tables.ts`): entries stamped with the epoch of their
 * last write, tombstones until a snapshot carries a removal, and entries created and removed within one
 * epoch dropped at once. Whatever the writes, restoring the completed snapshots in order must give the state
 * as it was at the last completed one (I9), aborted snapshots included.
 */
import test from 'ava';
import fc from 'fast-check';
import { HeapStateBackend, type KeyedDelta } from '../../lib/state/backend.js';
import { checkProperty } from '../helpers/property.js';

type Op =
  | { op: 'update' | 'listAdd' | 'mapPut'; key: number; value: number }
  | { op: 'clear' | 'listClear' | 'listEmpty' | 'mapRemove' | 'mapClear'; key: number; value: number }
  | { op: 'snapshot' }
  | { op: 'resolve'; outcome: 'complete' | 'abort' };

const KEYS = 3;

const ops = fc.array(
  fc.oneof(
    { weight: 10, arbitrary: fc.record({ op: fc.constantFrom('update', 'listAdd', 'mapPut', 'clear', 'listClear', 'listEmpty', 'mapRemove', 'mapClear'), key: fc.nat(KEYS - 1), value: fc.nat(3) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('snapshot') }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('resolve'), outcome: fc.constantFrom('complete', 'abort') }) },
  ) as fc.Arbitrary<Op>,
  { minLength: 20, maxLength: 300, size: 'max' },
);

/** Every entry of the three states, as plain data (what a restore must reproduce). */
function contents(backend: HeapStateBackend): unknown {
  const out: Record<string, unknown[]> = {};
  for (const name of ['v', 'l', 'm']) {
    const entries = [...backend.keysOf(name)].sort().map((key) => {
      const entry = backend.entryOf(name, key);
      return [key, entry instanceof Map ? [...entry].sort() : structuredClone(entry)];
    });
    if (entries.length > 0) out[name] = entries;
    if (backend.sizeOf(name) !== entries.length) throw new Error(`sizeOf(${name}) ${backend.sizeOf(name)} ≠ ${entries.length} keys`);
  }
  return out;
}

function run(sequence: readonly Op[]): { restored: unknown; expected: unknown }[] {
  const live = new HeapStateBackend();
  const value = live.value<number>('v');
  const list = live.list<number>('l');
  const map = live.map<number, number>('m');
  const completed: KeyedDelta[] = [];
  const checks: { restored: unknown; expected: unknown }[] = [];
  let pending: { id: number; delta: KeyedDelta; state: unknown } | null = null;
  let nextId = 1;
  const resolve = (outcome: 'complete' | 'abort'): void => {
    if (!pending) return;
    if (outcome === 'abort') live.checkpointAborted(pending.id);
    else {
      live.checkpointCompleted(pending.id);
      completed.push(pending.delta);
      const restored = new HeapStateBackend();
      for (const delta of completed) restored.apply(structuredClone(delta));
      checks.push({ restored: contents(restored), expected: pending.state });
    }
    pending = null;
  };
  for (const step of sequence) {
    if (step.op === 'resolve') {
      resolve(step.outcome);
      continue;
    }
    if (step.op === 'snapshot') {
      // One checkpoint in flight at a time, as the coordinator runs them.
      if (pending) continue;
      const id = nextId++;
      const delta = live.snapshot(id);
      for (const change of delta) {
        const listed = [...change.keys, ...change.removed];
        if (new Set(listed).size !== listed.length) throw new Error(`snapshot ${id} lists a key twice: ${JSON.stringify(change)}`);
      }
      // Encoded at the barrier in the runtime: a copy here, so later writes in place cannot reach it.
      pending = { id, delta: structuredClone(delta), state: contents(live) };
      continue;
    }
    live.currentKey = step.key;
    switch (step.op) {
      case 'update':
        value.update(step.value);
        break;
      case 'clear':
        value.clear();
        break;
      case 'listAdd':
        list.add(step.value);
        break;
      case 'listClear':
        list.clear();
        break;
      case 'listEmpty':
        list.update(list.get().filter((v) => v !== step.value));
        break;
      case 'mapPut':
        map.put(step.value, step.key);
        break;
      case 'mapRemove':
        map.remove(step.value);
        break;
      case 'mapClear':
        map.clear();
        break;
    }
  }
  resolve('complete');
  return checks;
}

test('property (I9): restoring the completed snapshots gives the state at the last of them, whatever was written, removed, re-created or aborted, and no snapshot lists a key twice', (t) => {
  checkProperty(
    t,
    fc.property(ops, (sequence) => {
      for (const check of run(sequence)) {
        if (JSON.stringify(check.restored) !== JSON.stringify(check.expected)) {
          throw new Error(`restored ${JSON.stringify(check.restored)}, expected ${JSON.stringify(check.expected)}`);
        }
      }
    }),
    500,
  );
});

test('an entry created and removed between two snapshots is in neither: no removal to carry', (t) => {
  const backend = new HeapStateBackend();
  const value = backend.value<number>('v');
  backend.currentKey = 'kept';
  value.update(1);
  backend.snapshot(1);
  backend.checkpointCompleted(1);
  backend.currentKey = 'brief';
  value.update(2);
  value.clear();
  backend.currentKey = 'kept';
  value.clear();
  const [delta] = backend.snapshot(2);
  t.deepEqual(delta!.keys, []);
  t.deepEqual(delta!.removed, ['kept'], 'only the entry an earlier snapshot holds has its removal carried');
  t.is(backend.sizeOf('v'), 0);
  backend.checkpointCompleted(2);
  backend.currentKey = 'brief';
  value.update(3);
  value.clear();
  t.deepEqual(backend.snapshot(3), [], 'a state whose only entry came and went has no change to carry');
});

test('a removal whose snapshot was aborted is carried by the next one, even when the key came back and went again around the abort', (t) => {
  const backend = new HeapStateBackend();
  const value = backend.value<number>('v');
  backend.currentKey = 'k';
  value.update(1);
  backend.snapshot(1);
  backend.checkpointCompleted(1);
  value.clear();
  t.deepEqual(backend.snapshot(2)[0]!.removed, ['k']);
  value.update(2);
  backend.checkpointAborted(2);
  value.clear();
  const [delta] = backend.snapshot(3);
  t.deepEqual(delta!.keys, []);
  t.deepEqual(delta!.removed, ['k'], 'checkpoint 1 holds k: its removal must reach the store');
});

test('a backend that never snapshots keeps no tracking and reports no change', (t) => {
  const backend = new HeapStateBackend(false);
  const list = backend.list<number>('l');
  backend.currentKey = 1;
  list.add(1);
  list.add(2);
  t.deepEqual(list.get(), [1, 2]);
  t.deepEqual(backend.snapshot(1), []);
  list.clear();
  t.is(backend.sizeOf('l'), 0);
});
