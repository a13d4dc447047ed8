import test from 'ava';
import { Job, sequence } from '../../lib/index.js';
import { assertExactlyOnce, runScenario } from '../helpers/causal.js';

// A task killed again shortly after its replacement went live, while its consumer is still draining what
// the first incarnation sent: the consumer holds batches of the second incarnation it has not delivered
// yet. Their envelopes must be taken in on arrival (I1), or the third incarnation finds a log shorter than
// what the consumer holds, an orphan, and the job escalates although full sharing covers the failure.

test('I1: a source killed again right after its replacement went live recovers exactly once: the consumer took in the envelopes it has not delivered yet', async (t) => {
  for (const delay of [2, 5, 8]) {
    let armed = false;
    const run = await runScenario(
      t,
      (options) => {
        const job = new Job(options);
        const sink = job
          .source(sequence((n) => ({ n, k: n % 8 }), { count: 2400, rate: 8000, partitions: 2 }), { name: 'numbers' })
          .map((r) => ({ ...r, tagged: true }), { name: 'tag' })
          .keyBy((r) => r.k)
          .process(
            {
              // Slow: the input channels fill up, so the consumer drains an old channel for a while.
              async processElement(r: { n: number; k: number }, ctx: { emit(v: unknown): void; call<T>(name: string, fn: () => Promise<T>): Promise<T> }) {
                const quote = await ctx.call('quote', async () => {
                  await new Promise<void>((resolve) => setImmediate(resolve));
                  return r.n * 7;
                });
                ctx.emit({ n: r.n, quote });
              },
            },
            { name: 'enrich', async: true },
          )
          .collect({ name: 'out' });
        return { job, sink };
      },
      {
        faults: [{ task: 'numbers[1]', afterMs: 150 }],
        arm: (handle) =>
          handle.onEvent((event) => {
            if (armed || event.type !== 'live' || event.task !== 'numbers[1]') return;
            armed = true;
            handle.kill('numbers[1]', { afterMs: delay });
          }),
        job: { recovery: { mode: 'exactly-once', dsd: -1, checkpointIntervalMs: 40 } },
      },
    );
    t.true(armed, `delay ${delay}: the second kill was armed`);
    t.log(`second kill ${delay} ms after the first replacement went live: ${run.result.recoveries} recoveries, ${run.result.escalations} escalations`);
    assertExactlyOnce(t, run, 2);
  }
});
