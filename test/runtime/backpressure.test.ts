import test from 'ava';
import { sequence } from '../../lib/index.js';
import { testJob } from '../helpers/jobs.js';

// Issue 8, defect 5: with an async operator in the job, checkpoints took ten times their interval. Sources
// ignored credit, so the channels into a slow operator grew without bound, and every checkpoint barrier
// queued behind all of it (aligned checkpoints). Sources now read only as far as their consumers take,
// and channels into async operators hold fewer batches. Tests never time anything: this one counts the
// records queued ahead of the operator whenever a checkpoint is triggered.

test('credit: sources read no further ahead of a slow async operator than the channels hold, so a checkpoint barrier queues behind little', async (t) => {
  const batchSize = 256;
  const job = testJob(t, { parallelism: 2, batchSize, recovery: { mode: 'exactly-once', checkpointIntervalMs: 20 } });
  job
    .source(sequence((n) => ({ k: n % 16, n }), { count: 60_000, partitions: 2 }), { name: 'orders' })
    .keyBy((r) => r.k)
    .process(
      {
        async processElement(r: { k: number; n: number }, ctx: { call<T>(name: string, fn: () => Promise<T>): Promise<T>; emit(v: unknown): void }) {
          const price = await ctx.call('quote', async () => {
            await new Promise<void>((resolve) => setImmediate(resolve));
            return r.n * 3;
          });
          ctx.emit({ ...r, price });
        },
      },
      { name: 'price', async: true },
    )
    .collect();
  const handle = await job.start();
  const executor = handle.executor;
  const price = handle.taskNames().flatMap((name, id) => (name.startsWith('price') ? [id] : []));
  let largest = 0;
  let samples = 0;
  handle.onEvent((event) => {
    if (event.type !== 'checkpoint-triggered') return;
    const consumed = price.reduce((sum, id) => sum + (executor.taskById(id)?.elementsIn ?? 0), 0);
    largest = Math.max(largest, handle.progress().recordsIn - consumed);
    samples++;
  });
  await handle.done;
  // Two source tasks, each with two channels of two batches, one poll of overshoot each, plus what the
  // async tasks hold in their current batches.
  const bound = 2 * (2 * 2 * batchSize + batchSize) + 2 * batchSize;
  t.log(`${samples} checkpoints triggered; at most ${largest} records were queued ahead of the async operator (bound ${bound})`);
  t.true(samples >= 3, 'several checkpoints were triggered');
  t.true(largest <= bound, `${largest} records queued ahead of the async operator`);
});
