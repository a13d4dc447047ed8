import test from 'ava';
import { sequence, tumbling, Job, type JobOptions, type KeyedProcessContext } from '../../lib/index.js';
import { assertExactlyOnce, runScenario } from '../helpers/causal.js';

// One scenario per determinant kind: a job whose output depends on that kind of nondeterminism, a task
// killed at a chosen point, and the output compared record by record with an oracle replay.

const numbers = (job: Job, count = 3000, rate = 6000, name = 'numbers') =>
  job.source(sequence((n) => ({ n, k: n % 7 }), { count, rate, partitions: 2 }), { name });

test('ORDER: two racing inputs numbered in arrival order recover exactly once after the merging task is killed mid-run', async (t) => {
  const run = await runScenario(
    t,
    (options: JobOptions) => {
      const job = new Job(options);
      const fast = numbers(job, 4000, 8000, 'fast');
      const slow = numbers(job, 1000, 2000, 'slow');
      const sink = fast
        .connect(slow)
        .keyBy(
          (r) => r.k,
          (r) => r.k,
        )
        .process<string>(
          {
            processElement1(r, ctx) {
              const seq = ctx.state.value<number>('seq');
              seq.update((seq.value() ?? 0) + 1);
              ctx.emit(`${ctx.key}#${seq.value()}=fast${r.n}`);
            },
            processElement2(r, ctx) {
              const seq = ctx.state.value<number>('seq');
              seq.update((seq.value() ?? 0) + 1);
              ctx.emit(`${ctx.key}#${seq.value()}=slow${r.n}`);
            },
          },
          { name: 'merge' },
        )
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'merge[0]', afterRecords: 700 }] },
  );
  assertExactlyOnce(t, run);
  t.true(run.kinds.get('merge[0]')!.has('ORDER'));
});

test('CLOCK and MONOTONIC_CLOCK: clock reads replay the values the failed task saw', async (t) => {
  const run = await runScenario(
    t,
    (options) => {
      const job = new Job(options);
      const sink = numbers(job)
        .keyBy((r) => r.k)
        .process<{ n: number; at: number; mono: number }>({ processElement: (r, ctx) => ctx.emit({ n: r.n, at: ctx.now(), mono: Math.round(ctx.monotonicNow() * 1000) }) }, { name: 'stamp' })
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'stamp[1]', afterRecords: 900 }] },
  );
  assertExactlyOnce(t, run);
  t.true(run.kinds.get('stamp[1]')!.has('CLOCK'));
  t.true(run.kinds.get('stamp[1]')!.has('MONOTONIC_CLOCK'));
});

test('TIMER: processing-time windows and timers fire at their recorded positions after a kill', async (t) => {
  const run = await runScenario(
    t,
    (options) => {
      const job = new Job(options);
      const sink = numbers(job, 3000, 6000)
        .keyBy((r) => r.k)
        .window(tumbling(20, { time: 'processing' }))
        .aggregate({ create: () => 0, add: (c: number) => c + 1, result: (c: number) => c }, (k, w, c) => ({ k, end: w.end, c }), { name: 'windows' })
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'windows[0]', afterRecords: 1000 }] },
  );
  assertExactlyOnce(t, run);
  t.true(run.kinds.get('windows[0]')!.has('TIMER'));
});

test('RANDOM_SEED: sampling with ctx.random() keeps the same sample across a kill', async (t) => {
  const run = await runScenario(
    t,
    (options) => {
      const job = new Job(options);
      const sink = numbers(job)
        .rebalance()
        .process<{ n: number; id: string }>({ processElement: (r, ctx) => (ctx.random() < 0.4 ? ctx.emit({ n: r.n, id: ctx.randomUUID() }) : undefined) }, { name: 'sample' })
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'sample[0]', afterRecords: 800 }] },
  );
  assertExactlyOnce(t, run);
  t.true(run.kinds.get('sample[0]')!.has('RANDOM_SEED'));
});

test('EXTERNAL: results of external calls replay without calling again, also for calls made while replaying', async (t) => {
  let calls = 0;
  const run = await runScenario(
    t,
    (options) => {
      calls = 0;
      const job = new Job(options);
      const sink = numbers(job, 1500, 3000)
        .keyBy((r) => r.k)
        .process<{ n: number; quote: number }>(
          {
            async processElement(r, ctx) {
              const quote = await ctx.call('quote', async () => {
                await new Promise((resolve) => setImmediate(resolve));
                return r.n * 100 + calls++;
              });
              ctx.emit({ n: r.n, quote });
            },
          },
          { name: 'quote', async: true },
        )
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'quote[1]', afterRecords: 300 }] },
  );
  assertExactlyOnce(t, run);
  t.true(run.kinds.get('quote[1]')!.has('EXTERNAL'));
  t.is(calls, 0, 'the oracle replay made no call');
});

test('SOURCE_POLL and SOURCE_BARRIER: a killed source re-reads exactly the polls and barriers it made', async (t) => {
  const run = await runScenario(
    t,
    (options) => {
      const job = new Job(options);
      const sink = numbers(job, 4000, 8000)
        .keyBy((r) => r.k)
        .process<string>({ processElement: (r, ctx) => ctx.emit(`${r.n}@${ctx.state.value<number>('c').value() ?? 0}`) }, { name: 'echo' })
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'numbers[1]', afterRecords: 1200 }] },
  );
  assertExactlyOnce(t, run);
  t.true(run.kinds.get('numbers[1]')!.has('SOURCE_POLL'));
  t.true(run.kinds.get('numbers[1]')!.has('SOURCE_BARRIER'));
});

test('ABORT_CHECKPOINT: tasks record where they learned of an abandoned checkpoint, and replay it there', async (t) => {
  // The first kill comes the moment checkpoint 3 is triggered, so that checkpoint is in flight and is
  // abandoned; every live task records the abort. The second kill, later, makes one of them replay past it.
  // 40,000 numbers (5 s), not 4,000: on a loaded machine checkpoints took so long to persist that a job of 4,000
  // or 12,000 ended after two of them, before checkpoint 3 was triggered.
  let armed = false;
  const run = await runScenario(
    t,
    (options) => {
      const job = new Job(options);
      const sink = numbers(job, 40_000, 8000)
        .keyBy((r) => r.k)
        .process<string>(
          {
            processElement(r, ctx) {
              const c = ctx.state.value<number>('c');
              c.update((c.value() ?? 0) + 1);
              ctx.emit(`${ctx.key}:${c.value()}:${r.n}`);
            },
          },
          { name: 'count' },
        )
        .collect();
      return { job, sink };
    },
    {
      arm: (handle) =>
        handle.onEvent((event) => {
          if (armed || event.type !== 'checkpoint-triggered' || event.id < 3) return;
          armed = true;
          handle.kill('numbers[0]');
          handle.kill('count[1]', { afterMs: 60 });
        }),
      job: { recovery: { mode: 'exactly-once', checkpointIntervalMs: 25 } },
    },
  );
  t.true(armed, `the kills were armed (events: ${run.events.map((e) => (e.type === 'checkpoint-triggered' ? `triggered ${e.id}` : e.type)).join(', ')})`);
  assertExactlyOnce(t, run, 2);
  t.true(run.events.some((e) => e.type === 'checkpoint-aborted'), 'the checkpoint in flight was abandoned');
  t.true([...run.kinds.values()].some((k) => k.has('ABORT_CHECKPOINT')), 'some task recorded the aborted checkpoint');
});

test('a class-based operator with a @recorded method and causal()-wrapped globals recovers exactly once', async (t) => {
  const { causal, recorded } = await import('../../lib/index.js');
  class Lookup {
    private calls = 0;
    @recorded('lookup')
    async find(n: number): Promise<number> {
      await new Promise((resolve) => setImmediate(resolve));
      return n + this.calls++;
    }
    async processElement(r: { n: number; pick: number }, ctx: KeyedProcessContext<number, unknown>): Promise<void> {
      ctx.emit({ ...r, found: await this.find(r.n) });
    }
  }
  const run = await runScenario(
    t,
    (options) => {
      const job = new Job(options);
      const sink = numbers(job, 1500, 3000)
        .map(causal((r: { n: number }) => ({ n: r.n, pick: Math.floor(Math.random() * 100), at: Date.now() % 1000 })), { name: 'globals' })
        .keyBy((r) => r.n % 5)
        .process(new Lookup() as never, { name: 'lookup', async: true })
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'lookup[0]', afterRecords: 250 }, { task: 'numbers[0]', afterRecords: 500 }] },
  );
  assertExactlyOnce(t, run, 2);
  t.true(run.kinds.get('numbers[0]')!.has('RANDOM_SEED'), 'Math.random inside causal() went through the seeded generator');
  t.true(run.kinds.get('lookup[0]')!.has('EXTERNAL'));
});
