import test from 'ava';
import { causal, Job, sequence, session, type PartitionReader, type Source } from '../../lib/index.js';
import { testJob } from '../helpers/jobs.js';

// Issue 8, section 5: API defects met on the way.

/** A class-based process function whose field counts what its instance saw. */
class Counter {
  seen = 0;
  readonly history: number[] = [];
  processElement(r: { n: number }, ctx: { subtask: number; emit(v: unknown): void }) {
    this.seen++;
    this.history.push(r.n);
    ctx.emit({ subtask: ctx.subtask, seen: this.seen, kept: this.history.length });
  }
}

test('a class-based operator gets one instance per subtask, as in Flink: fields are not shared', async (t) => {
  const job = testJob(t, { parallelism: 2 });
  const original = new Counter();
  const sink = job
    .source(sequence((n) => ({ n }), { count: 1000, partitions: 2 }), { name: 'numbers' })
    .rebalance()
    .process(original as never, { name: 'count' })
    .collect();
  await job.run();
  const out = sink.results() as { subtask: number; seen: number; kept: number }[];
  for (const subtask of [0, 1]) {
    const mine = out.filter((r) => r.subtask === subtask);
    t.deepEqual(
      mine.map((r) => r.seen),
      Array.from({ length: mine.length }, (_, i) => i + 1),
      `subtask ${subtask} counts only its own records`,
    );
    t.true(mine.every((r) => r.kept === r.seen), 'array fields are per instance too');
  }
  t.is(original.seen, 0, 'the object given to process() is a template, not used itself');
});

test('a factory gives each subtask the instance it makes; a causal()-wrapped object is copied per subtask too', async (t) => {
  let made = 0;
  const job = testJob(t, { parallelism: 2 });
  const fromFactory = job
    .source(sequence((n) => ({ n }), { count: 400, partitions: 2 }), { name: 'numbers' })
    .rebalance()
    .process(() => {
      made++;
      return new Counter() as never;
    }, { name: 'factory' })
    .collect();
  const wrapped = job
    .source(sequence((n) => ({ n }), { count: 400, partitions: 2 }), { name: 'more' })
    .rebalance()
    .process(causal(new Counter()) as never, { name: 'wrapped' })
    .collect();
  await job.run();
  t.is(made, 2);
  for (const sink of [fromFactory, wrapped]) {
    const out = sink.results() as { subtask: number; seen: number }[];
    for (const subtask of [0, 1]) {
      const mine = out.filter((r) => r.subtask === subtask).map((r) => r.seen);
      t.deepEqual(mine, Array.from({ length: mine.length }, (_, i) => i + 1));
    }
  }
});

test('union takes { name, parallelism } like every operator', async (t) => {
  const job = testJob(t, { parallelism: 2 });
  const a = job.source(sequence((n) => n, { count: 10, partitions: 2 }), { name: 'a' });
  const b = job.source(sequence((n) => 100 + n, { count: 10, partitions: 2 }), { name: 'b' });
  const sink = a.union(b, { name: 'both', parallelism: 3 }).collect();
  const plan = job.plan();
  const vertex = plan.vertices.find((v) => v.name.startsWith('both'));
  t.truthy(vertex);
  t.is(vertex!.parallelism, 3);
  await job.run();
  t.is(sink.size, 20);
  t.throws(() => a.union({ name: 'x' } as never, b), { message: /streams, then optionally/ });
});

test('fault-injection targets are stable: a chained collect() sink is killed by its own name and subtask', async (t) => {
  const job = testJob(t, { parallelism: 2, recovery: { mode: 'exactly-once', checkpointIntervalMs: 40 } });
  const sink = job
    .source(sequence((n) => ({ n }), { count: 3000, rate: 6000, partitions: 2 }), { name: 'numbers' })
    .keyBy((r) => r.n % 4)
    .process({ processElement: (r: { n: number }, ctx: { emit(v: unknown): void }) => ctx.emit(r.n) }, { name: 'identity' })
    .collect();
  const plan = job.plan();
  const sinkTask = plan.tasks.find((task) => task.operators.includes('collect-1'));
  t.truthy(sinkTask, 'the unnamed collect sink is named collect-1');
  t.deepEqual(sinkTask!.operators, ['identity', 'collect-1'], 'chained into identity');
  const result = await job.run({ faults: [{ task: 'collect-1[1]', afterMs: 200 }] });
  t.true(result.events.some((e) => e.type === 'task-failed' && e.task === 'identity[1]'), 'the task holding collect-1[1] died');
  t.deepEqual([...(sink.results() as number[])].sort((x, y) => x - y), Array.from({ length: 3000 }, (_, i) => i));
});

test('events are typed, and a checkpoint reports triggered, acknowledged and completed', async (t) => {
  const job = testJob(t, { parallelism: 1, recovery: { mode: 'exactly-once', checkpointIntervalMs: 30 } });
  job.source(sequence((n) => n, { count: 1500, rate: 6000, partitions: 1 }), { name: 'numbers' }).collect();
  const result = await job.run();
  const completed = result.events.find((e) => e.type === 'checkpoint');
  t.truthy(completed);
  const id = completed!.type === 'checkpoint' ? completed!.id : -1;
  const phases = result.events.filter((e) => (e.type === 'checkpoint-triggered' || e.type === 'checkpoint-acknowledged' || e.type === 'checkpoint') && e.id === id).map((e) => e.type);
  t.deepEqual(phases, ['checkpoint-triggered', 'checkpoint-acknowledged', 'checkpoint']);
  t.true(completed!.type === 'checkpoint' && completed!.bytes > 0);
});

/** One partition whose records arrive at the given job-clock times (ms), for processing-time tests. */
function scheduled(times: readonly number[]): Source<{ i: number }> {
  return {
    name: 'scheduled',
    partitions: () => 1,
    open(): PartitionReader<{ i: number }> {
      return {
        available: (offset, now) => {
          let n = 0;
          while (offset + n < times.length && times[offset + n]! <= now) n++;
          return n;
        },
        read: (offset, count, records, timestamps, at) => {
          for (let k = 0; k < count; k++) {
            records[at + k] = { i: offset + k };
            timestamps[at + k] = Number.NaN;
          }
        },
        endsAt: (offset) => offset >= times.length,
        nextAvailableAt: (offset) => times[offset] ?? Infinity,
      };
    },
  };
}

test('processing-time session windows close after the gap on the wall clock', async (t) => {
  const job = new Job({ parallelism: 1, directory: (await import('../helpers/jobs.js')).jobDirectory(t) });
  // Two bursts a second apart; a session gap of 80 ms closes the first burst before the second comes
  // (a second, not less: on a loaded 2-core machine the event loop can stall for a few hundred ms).
  const sink = job
    .source(scheduled([50, 55, 60, 65, 1065, 1070, 1075]), { name: 'bursts' })
    .keyBy(() => 'all')
    .window(session(80, { time: 'processing' }))
    .aggregate({ create: () => 0, add: (n: number) => n + 1, result: (n: number) => n, merge: (a: number, b: number) => a + b })
    .collect();
  await job.run();
  t.deepEqual(sink.results(), [4, 3]);
});
