import test from 'ava';
import { join } from 'node:path';
import { open } from 'lmdb';
import { sequence } from '../../lib/index.js';
import { LmdbStateBackend } from '../../lib/state/backend.js';
import { jobDirectory, testJob } from '../helpers/jobs.js';

test('the lmdb backend reads back what it wrote, snapshots only changes, and applies deltas', async (t) => {
  const root = open({ path: join(jobDirectory(t), 'state') });
  t.teardown(() => root.close());
  const backend = new LmdbStateBackend(root, 'kv:test', 3);
  const value = backend.value<{ n: number }>('v');
  const list = backend.list<number>('l');
  const map = backend.map<string, number>('m');
  for (let k = 0; k < 10; k++) {
    backend.currentKey = k;
    value.update({ n: k });
    list.add(k);
    list.add(k + 1);
    map.put('x', k);
  }
  backend.currentKey = 4;
  t.deepEqual(value.value(), { n: 4 });
  t.deepEqual(list.get(), [4, 5]);
  t.is(map.get('x'), 4);
  const first = backend.snapshot(1);
  t.deepEqual(first.map((d) => d.keys.length), [10, 10, 10]);
  backend.checkpointCompleted(1);
  backend.currentKey = 2;
  value.clear();
  map.remove('x');
  const second = backend.snapshot(2);
  t.deepEqual(second.map((d) => [d.name, d.keys.length, d.removed]), [
    ['v', 0, [2]],
    ['m', 0, [2]],
  ]);
  const copy = new LmdbStateBackend(root, 'kv:copy');
  copy.apply(first);
  copy.apply(second);
  t.is(copy.sizeOf('v'), 9);
  t.deepEqual(copy.entryOf('l', 7), [7, 8]);
  t.is(copy.entryOf('v', 2), undefined);
  await backend.dispose();
  await copy.dispose();
});

test('a keyed job on the lmdb backend gives the same result as on the heap, and survives a rollback', async (t) => {
  const run = async (stateBackend: 'heap' | 'lmdb', kill: boolean): Promise<number[]> => {
    const job = testJob(t, { stateBackend, parallelism: 2, recovery: { mode: 'global-rollback', checkpointIntervalMs: 40 } });
    const out = job
      .source(sequence((n) => ({ k: n % 50, n }), { count: 6000, rate: 20_000 }))
      .keyBy((r) => r.k)
      .process<number>(
        {
          processElement(r, ctx) {
            const sum = ctx.state.value<number>('sum');
            const next = (sum.value() ?? 0) + r.n;
            sum.update(next);
            if (r.n >= 5950) ctx.emit(next);
          },
        },
        { name: 'sums' },
      )
      .collect();
    const result = await job.run({ faults: kill ? [{ task: 'sums[1]', afterMs: 150 }] : [] });
    if (kill) t.true(result.recoveries >= 1);
    return out.results().sort((a, b) => a - b);
  };
  const heap = await run('heap', false);
  t.is(heap.length, 50);
  t.deepEqual(await run('lmdb', true), heap);
});
