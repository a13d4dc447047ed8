import test from 'ava';
import { sequence } from '../../lib/index.js';
import { testJob } from '../helpers/jobs.js';

test('standbys receive each completed checkpoint and hold the same state as their task had at it', async (t) => {
  const job = testJob(t, { recovery: { mode: 'at-least-once', checkpointIntervalMs: 40, standbys: 2 } });
  job
    .source(sequence((n) => ({ k: n % 13, n }), { rate: 3000 }), { name: 'numbers' })
    .keyBy((r) => r.k)
    .process<number>(
      {
        processElement(r, ctx) {
          const sum = ctx.state.value<number>('sum');
          sum.update((sum.value() ?? 0) + r.n);
          const seen = ctx.state.list<number>('last');
          seen.update([...seen.get(), r.n].slice(-3));
        },
      },
      { name: 'sums' },
    )
    .collect();
  const handle = await job.start();
  const executor = handle.executor;
  const sumsTask = handle.taskNames().indexOf('sums[0]');
  let checkpoints = 0;
  handle.onEvent((event) => {
    if (event.type === 'checkpoint') checkpoints++;
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await handle.stop();
  const standbys = executor.standbysOf(sumsTask);
  t.is(standbys.length, 2);
  t.true(checkpoints >= 3, 'several checkpoints completed');
  const [first, second] = standbys;
  t.is(first!.checkpointId, second!.checkpointId);
  t.true(first!.checkpointId >= 3);
  const backend = first!.backends.get('sums')!;
  const other = second!.backends.get('sums')!;
  t.is(backend.sizeOf('sum'), 13);
  for (let k = 0; k < 13; k++) {
    t.is(backend.entryOf('sum', k), other.entryOf('sum', k));
    t.is((backend.entryOf('last', k) as number[]).length, 3);
  }
  // The standby's sums equal the arithmetic series of every number the source had emitted at that checkpoint.
  const sourceState = executor.standbysOf(handle.taskNames().indexOf('numbers[0]'))[0]!.snapshot!.operators[0]!.state as { offsets: number[] };
  const emitted = sourceState.offsets[0]!;
  let total = 0;
  for (let k = 0; k < 13; k++) total += backend.entryOf('sum', k) as number;
  t.is(total, (emitted * (emitted - 1)) / 2, 'sum over keys = 0 + 1 + … + (emitted - 1)');
});

test('a replacement sent without a snapshot, for a standby that does not hold its checkpoint: the round is refused before anything changes, and recovery can escalate', async (t) => {
  const job = testJob(t, { recovery: { mode: 'exactly-once', checkpointIntervalMs: 40 } });
  job
    .source(sequence((n) => ({ k: n % 5, n }), { rate: 3000 }), { name: 'numbers' })
    .keyBy((r) => r.k)
    .reduce((a, b) => ({ k: a.k, n: a.n + b.n }), { name: 'sums' })
    .collect();
  const handle = await job.start();
  const sums = handle.taskNames().indexOf('sums[0]');
  // Until the standby holds a checkpoint (a few 40 ms intervals; longer on a loaded machine).
  for (let waited = 0; waited < 10_000 && (handle.executor.standbysOf(sums)[0]?.checkpointId ?? -1) < 1; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // The worker host of the embedded runtime, as the coordinator's rounds reach it.
  const host = (handle.executor as unknown as { localHost: { round(spec: unknown): Promise<unknown> } }).localHost;
  const held = handle.executor.standbysOf(sums)[0]!.checkpointId;
  t.true(held >= 1, 'the standby holds a checkpoint');
  const error = await t.throwsAsync(
    host.round({
      placement: handle.taskNames().map(() => 0),
      channels: [],
      replayAfter: [],
      replacements: [{ taskId: sums, checkpoint: held + 1000, snapshot: null, fromStandby: true, replay: [], history: null }],
    }),
  );
  t.is((error as { code?: string }).code, 'RECOVERY_ESCALATED');
  t.regex(error!.message, /sums\[0\].*holding checkpoint/);
  // Nothing changed: the task runs on and the job ends normally.
  await handle.stop();
  const result = await handle.done;
  t.true(result.recordsOut > 0);
  t.is(result.escalations, 0);
});
