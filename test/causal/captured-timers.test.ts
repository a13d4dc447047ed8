import test from 'ava';
import { CapturedTimerLostError, causal, Job, sequence, type RecoveryMode } from '../../lib/index.js';
import { assertExactlyOnce, runScenario } from '../helpers/causal.js';
import { jobDirectory } from '../helpers/jobs.js';

// Issue 8, defect 3: timers inside causal() behave as Node's do — never earlier than asked, awaited
// sleeps wake suspended async operators, pending callbacks run before a task finishes and before a
// checkpoint is taken — and survive recovery in every mode, or fail loudly.

/** Real elapsed milliseconds, on a clock causal() does not capture. */
const realMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** An async operator that sleeps `ms` inside causal(), between reading the clock and emitting. */
function sleeper(ms: number) {
  return causal({
    async processElement(r: { n: number }, ctx: { emit(v: { n: number; slept: number }): void }) {
      const before = Date.now();
      await new Promise<void>((resolve) => setTimeout(resolve, ms));
      ctx.emit({ n: r.n, slept: Date.now() - before });
    },
  });
}

for (const mode of ['none', 'global-rollback', 'at-least-once', 'exactly-once'] as RecoveryMode[]) {
  test(`an async operator awaiting a setTimeout sleep inside causal() completes in mode ${mode}`, async (t) => {
    const job = new Job({ parallelism: 1, directory: jobDirectory(t), recovery: { mode, checkpointIntervalMs: 50 }, stallTimeoutMs: 10_000 });
    const sink = job
      .source(sequence((n) => ({ n }), { count: 60, rate: 600, partitions: 1 }), { name: 'numbers' })
      .process(sleeper(2) as never, { name: 'sleepy', async: true })
      .collect();
    const result = await job.run();
    const out = sink.results() as { n: number; slept: number }[];
    t.deepEqual(out.map((r) => r.n), Array.from({ length: 60 }, (_, i) => i), 'every record, in order');
    t.true(out.every((r) => r.slept >= 2), `Date.now() moved by the sleep each time: ${out.map((r) => r.slept).join(',')}`);
    t.deepEqual(result.guarantee, { kind: 'exactly-once' });
  });
}

test('a sleep awaited inside causal() replays at its recorded position after a kill: output equals the oracle', async (t) => {
  const run = await runScenario(
    t,
    (options) => {
      const job = new Job(options);
      const sink = job
        .source(sequence((n) => ({ n }), { count: 300, rate: 1500, partitions: 2 }), { name: 'numbers' })
        .rebalance()
        .process(sleeper(1) as never, { name: 'sleepy', async: true })
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'sleepy[1]', afterRecords: 70 }], job: { stallTimeoutMs: 10_000 } },
  );
  assertExactlyOnce(t, run);
  t.true(run.kinds.get('sleepy[1]')!.has('TIMER'), 'the firing is a TIMER determinant');
});

test('setTimeout(fn, d) inside causal() never runs fn earlier than d ms after it was armed (real clock, 200 timers)', async (t) => {
  const early: string[] = [];
  let fired = 0;
  const job = new Job({ parallelism: 1, directory: jobDirectory(t), recovery: { mode: 'exactly-once', checkpointIntervalMs: 50 } });
  job
    .source(sequence((n) => ({ n }), { count: 200, rate: 4000, partitions: 1 }), { name: 'numbers' })
    .map(
      causal((r: { n: number }) => {
        const delay = r.n % 4;
        const armed = realMs();
        setTimeout(() => {
          fired++;
          const elapsed = realMs() - armed;
          if (elapsed < delay) early.push(`delay ${delay} ran after ${elapsed.toFixed(3)} ms`);
        }, delay);
        return r;
      }),
      { name: 'arm' },
    )
    .collect();
  await job.run();
  t.is(fired, 200, 'every callback ran, those pending at the end of input included');
  t.deepEqual(early, []);
});

test('callbacks still pending when a bounded task finishes run before it finishes, and their output is kept', async (t) => {
  const job = new Job({ parallelism: 1, directory: jobDirectory(t) });
  const sink = job
    .source(sequence((n) => ({ n }), { count: 5, partitions: 1 }), { name: 'numbers' })
    .process<{ n: number; late?: boolean }>(
      causal({
        processElement(r: { n: number }, ctx: { emit(v: { n: number; late?: boolean }): void }) {
          ctx.emit(r);
          setTimeout(() => ctx.emit({ n: r.n, late: true }), 20);
        },
      }),
      { name: 'later' },
    )
    .collect();
  await job.run();
  const out = sink.results();
  t.is(out.length, 10);
  t.is(out.filter((r) => r.late).length, 5, 'the five callbacks pending at the end of input ran');
});

test('a setTimeout callback pending at a checkpoint survives a global rollback: the checkpoint waits for it', async (t) => {
  // Every record arms a 5 ms callback that emits; checkpoints come every 30 ms, so most find callbacks
  // pending. The job is deterministic given its input: after kills, the committed output must be exactly
  // that of a failure-free run, callbacks' records included.
  const build = (directory: string) => {
    const job = new Job({ parallelism: 1, directory, recovery: { mode: 'global-rollback', checkpointIntervalMs: 30 } });
    const sink = job
      .source(sequence((n) => ({ n }), { count: 800, rate: 4000, partitions: 1 }), { name: 'numbers' })
      .process<{ n: number; echo?: boolean }>(
        causal({
          processElement(r: { n: number }, ctx: { emit(v: { n: number; echo?: boolean }): void }) {
            ctx.emit(r);
            setTimeout(() => ctx.emit({ n: r.n, echo: true }), 5);
          },
        }),
        { name: 'echo' },
      )
      .collect();
    return { job, sink };
  };
  const clean = build(jobDirectory(t));
  await clean.job.run();
  const failing = build(jobDirectory(t));
  const result = await failing.job.run({ faults: [{ task: 'echo[0]', afterMs: 90 }, { task: 'echo[0]', afterMs: 160 }] });
  t.true(result.recoveries >= 1);
  const sorted = (records: readonly { n: number; echo?: boolean }[]) => records.map((r) => `${r.n}${r.echo ? 'e' : ''}`).sort();
  t.deepEqual(sorted(failing.sink.results()), sorted(clean.sink.results()));
  t.is(failing.sink.results().filter((r) => r.echo).length, 800, 'no callback lost');
});

test('a setInterval inside causal() cannot be part of a checkpoint: restoring from one fails loudly with CapturedTimerLostError', async (t) => {
  const job = new Job({ parallelism: 1, directory: jobDirectory(t), recovery: { mode: 'exactly-once', checkpointIntervalMs: 50 } });
  let armed = false;
  job
    .source(sequence((n) => ({ n }), { count: 4000, rate: 6000, partitions: 1 }), { name: 'numbers' })
    .rebalance()
    .process<{ n: number; tick?: number }>(
      causal({
        processElement(r: { n: number }, ctx: { emit(v: { n: number; tick?: number }): void }) {
          ctx.emit({ n: r.n });
          if (armed) return;
          armed = true;
          let ticks = 0;
          setInterval(() => ctx.emit({ n: -1, tick: ++ticks }), 10);
        },
      }),
      { name: 'ticker' },
    )
    .collect();
  const handle = await job.start();
  let scheduled = false;
  handle.onEvent((event) => {
    if (scheduled || event.type !== 'checkpoint' || event.id < 2) return;
    scheduled = true;
    handle.kill('ticker[0]', { afterMs: 30 });
  });
  const error = await t.throwsAsync(handle.done, { instanceOf: CapturedTimerLostError });
  t.regex(error!.message, /ticker\[0\]: checkpoint \d+ was taken while 1 setTimeout\/setInterval/);
  t.regex(error!.message, /ctx\.timers/);
});

test('a setInterval still active when its task runs out of input is stopped, with a timers-cancelled event', async (t) => {
  const job = new Job({ parallelism: 1, directory: jobDirectory(t) });
  job
    .source(sequence((n) => ({ n }), { count: 3, partitions: 1 }), { name: 'numbers' })
    .map(
      causal((r: { n: number }) => {
        if (r.n === 0) setInterval(() => {}, 5);
        return r;
      }),
      { name: 'interval' },
    )
    .collect();
  const result = await job.run();
  const cancelled = result.events.find((e) => e.type === 'timers-cancelled');
  t.truthy(cancelled);
  t.deepEqual(cancelled && cancelled.type === 'timers-cancelled' ? [cancelled.task, cancelled.intervals] : null, ['numbers[0]', 1]);
});
