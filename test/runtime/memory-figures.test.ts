import test from 'ava';
import { Job, sequence } from '../../lib/index.js';
import { HeapStateBackend } from '../../lib/state/backend.js';
import { encodedStateBytes } from '../../lib/runtime/memory-figures.js';
import { jobDirectory } from '../helpers/jobs.js';

test('encodedStateBytes grows with the entries of every state of a backend', (t) => {
  const backend = new HeapStateBackend();
  t.is(encodedStateBytes([backend]), 0);
  backend.currentKey = 'a';
  backend.value<string>('v').update('x'.repeat(1000));
  const one = encodedStateBytes([backend]);
  t.true(one > 1000 && one < 1100, String(one));
  backend.currentKey = 'b';
  backend.value<string>('v').update('y'.repeat(1000));
  t.true(encodedStateBytes([backend]) > 2 * 1000);
});

test('memory figures of an exactly-once job: logs with replicas are small, and a standby holds what its task holds at the checkpoint', async (t) => {
  const job = new Job({ parallelism: 2, directory: jobDirectory(t), recovery: { mode: 'exactly-once', checkpointIntervalMs: 50, dsd: -1 } });
  job
    .source(sequence((n) => ({ n, k: n % 50 }), { count: 4000, rate: 20_000, partitions: 2 }), { name: 'numbers' })
    .keyBy((r) => r.k)
    .process<number>({ processElement: (r, ctx) => ctx.state.value<string>('pad').update('z'.repeat(2000 + r.k)) }, { name: 'pad' })
    .collect();
  const handle = await job.start();
  let figures = await handle.executor.memoryFigures();
  for (let i = 0; i < 40 && !figures.some((f) => f.stateBytes > 0 && f.standbyStateBytes === f.stateBytes); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    figures = await handle.executor.memoryFigures();
  }
  await handle.done;
  const pad = figures.filter((f) => f.task.startsWith('pad'));
  t.true(pad.every((f) => f.causalBytes > 0), JSON.stringify(figures));
  t.true(pad.every((f) => f.causalBytes < 1_000_000));
  // Every key is written once per record with the same value, so after a checkpoint the standby holds it all.
  t.true(pad.some((f) => f.stateBytes > 25 * 2000 && f.standbyStateBytes === f.stateBytes), JSON.stringify(pad));
});
