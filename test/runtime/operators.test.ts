import test from 'ava';
import { fromArray, sequence, type Collector } from '../../lib/index.js';
import { sortedJson, testJob } from '../helpers/jobs.js';

test('map, filter and flatMap transform every record, in order on one partition', async (t) => {
  const job = testJob(t);
  const out = job
    .source(fromArray([1, 2, 3, 4, 5]))
    .map((n) => n * 10)
    .filter((n) => n !== 30)
    .flatMap((n: number, c: Collector<string>) => {
      c.collect(`${n}a`);
      if (n > 40) c.collect(`${n}b`);
    })
    .collect();
  await job.run();
  t.deepEqual(out.results(), ['10a', '20a', '40a', '50a', '50b']);
});

test('forward-connected operators of equal parallelism are chained into one task', (t) => {
  const job = testJob(t, { parallelism: 2 });
  job
    .source(fromArray([1, 2], { partitions: 2 }))
    .map((n) => n)
    .filter(() => true)
    .keyBy((n) => n)
    .reduce((a, b) => a + b)
    .collect();
  const plan = job.plan();
  t.deepEqual(
    plan.vertices.map((v) => v.name),
    ['source-1 -> map-1 -> filter-1', 'reduce-1 -> collect-1'],
  );
  t.is(plan.tasks.length, 4);
  t.is(plan.channels.length, 4, 'hash partitioning connects every producer with every consumer');
});

test('keyBy sends equal keys to one instance, and keyed state is per key', async (t) => {
  const job = testJob(t, { parallelism: 3 });
  const words = 'to be or not to be that is the question to be'.split(' ');
  const out = job
    .source(fromArray(words, { partitions: 3 }))
    .keyBy((w) => w)
    .process<[string, number, number]>({
      processElement(word, ctx) {
        const count = ctx.state.value<number>('count');
        const n = (count.value() ?? 0) + 1;
        count.update(n);
        ctx.emit([word, n, ctx.subtask]);
      },
    })
    .collect();
  await job.run();
  const byWord = new Map<string, { n: number; subtasks: Set<number> }>();
  for (const [word, n, subtask] of out.results()) {
    const entry = byWord.get(word) ?? { n: 0, subtasks: new Set() };
    entry.n = Math.max(entry.n, n);
    entry.subtasks.add(subtask);
    byWord.set(word, entry);
  }
  t.is(byWord.get('to')!.n, 3);
  t.is(byWord.get('be')!.n, 3);
  for (const [word, entry] of byWord) t.is(entry.subtasks.size, 1, `${word} stays on one instance`);
});

test('map and list state keep separate entries per key', async (t) => {
  const job = testJob(t);
  const out = job
    .source(fromArray([{ k: 'a', v: 1 }, { k: 'b', v: 2 }, { k: 'a', v: 3 }, { k: 'a', v: 1 }]))
    .keyBy((r) => r.k)
    .process<string>({
      processElement(r, ctx) {
        const seen = ctx.state.map<number, number>('seen');
        seen.put(r.v, (seen.get(r.v) ?? 0) + 1);
        const history = ctx.state.list<number>('history');
        history.add(r.v);
        ctx.emit(`${r.k}:${history.get().join(',')}:${[...seen.entries()].map(([v, n]) => `${v}x${n}`).join(',')}`);
      },
    })
    .collect();
  await job.run();
  t.deepEqual(out.results(), ['a:1:1x1', 'b:2:2x1', 'a:1,3:1x1,3x1', 'a:1,3,1:1x2,3x1']);
});

test('event-time timers fire once the watermark passes them, with their key current', async (t) => {
  const job = testJob(t);
  const out = job
    .source(fromArray([{ k: 'x', t: 10 }, { k: 'y', t: 20 }, { k: 'x', t: 35 }, { k: 'z', t: 100 }]), { watermarks: { timestamp: (r) => r.t } })
    .keyBy((r) => r.k)
    .process<string>({
      processElement(r, ctx) {
        ctx.timers.registerEventTime(r.t + 15);
      },
      onTimer(ts, ctx, domain) {
        ctx.emit(`${ctx.key}@${ts}/${domain}`);
      },
    })
    .collect();
  await job.run();
  t.deepEqual(out.results(), ['x@25/event', 'y@35/event', 'x@50/event', 'z@115/event']);
});

test('processing-time timers fire on the wall clock', async (t) => {
  const job = testJob(t);
  const out = job
    .source(fromArray(['a']))
    .process<string>({
      processElement(value, ctx) {
        ctx.state.value<number>('registered').update(ctx.now());
        ctx.timers.registerProcessingTime(ctx.now() + 30);
      },
      onTimer(ts, ctx, domain) {
        ctx.emit(`${domain} ${ts >= ctx.state.value<number>('registered').value()! + 30}`);
      },
    })
    .collect();
  // The source ends at once; a timer still pending at the end never fires in Flink either. Keep input open a while.
  const slow = testJob(t);
  const fired = slow
    .source(sequence((n) => n, { count: 3, rate: 20 }))
    .process<string>({
      processElement(n, ctx) {
        if (n === 0) ctx.timers.registerProcessingTime(ctx.now() + 20);
      },
      onTimer(_ts, ctx, domain) {
        ctx.emit(domain);
      },
    })
    .collect();
  await job.run();
  await slow.run();
  t.deepEqual(out.results(), []);
  t.deepEqual(fired.results(), ['processing']);
});

test('union merges streams; broadcast copies every record to every instance', async (t) => {
  const job = testJob(t, { parallelism: 2 });
  const a = job.source(fromArray([1, 2]), { parallelism: 1, name: 'a' });
  const b = job.source(fromArray([10, 20]), { parallelism: 1, name: 'b' });
  const merged = a.union(b).collect({ parallelism: 1 });
  const copies = job
    .source(fromArray(['x']), { parallelism: 1, name: 'c' })
    .broadcast()
    .process<string>({ processElement: (v, ctx) => ctx.emit(`${v}${ctx.subtask}`) }, { parallelism: 2 })
    .collect({ parallelism: 1 });
  await job.run();
  t.deepEqual(merged.results().sort((x, y) => x - y), [1, 2, 10, 20]);
  t.deepEqual(copies.results().sort(), ['x0', 'x1']);
});

test('connect keys two streams alike and shares keyed state between them', async (t) => {
  const job = testJob(t, { parallelism: 2 });
  const names = job.source(fromArray([{ id: 1, name: 'ann' }, { id: 2, name: 'bob' }]), { name: 'names' });
  const orders = job.source(fromArray([{ user: 2, item: 'pen' }, { user: 1, item: 'cup' }, { user: 3, item: 'hat' }]), { name: 'orders' });
  const out = names
    .connect(orders)
    .keyBy(
      (n) => n.id,
      (o) => o.user,
    )
    .process<string>({
      processElement1(n, ctx) {
        ctx.state.value<string>('name').update(n.name);
        for (const item of ctx.state.list<string>('pending').get()) ctx.emit(`${n.name}:${item}`);
        ctx.state.list<string>('pending').clear();
      },
      processElement2(o, ctx) {
        const name = ctx.state.value<string>('name').value();
        if (name) ctx.emit(`${name}:${o.item}`);
        else ctx.state.list<string>('pending').add(o.item);
      },
    })
    .collect();
  await job.run();
  t.deepEqual(out.results().sort(), ['ann:cup', 'bob:pen']);
});

test('rebalance spreads records evenly over the next operator', async (t) => {
  const job = testJob(t);
  const out = job
    .source(fromArray(Array.from({ length: 100 }, (_, i) => i)))
    .rebalance()
    .process<number>({ processElement: (_v, ctx) => ctx.emit(ctx.subtask) }, { parallelism: 4 })
    .collect({ parallelism: 1 });
  await job.run();
  const counts = [0, 0, 0, 0];
  for (const s of out.results()) counts[s]!++;
  t.deepEqual(counts, [25, 25, 25, 25]);
});

test('batches encoded on the way, as over a network, give the same output (no shared object identity)', async (t) => {
  const run = async (serializeChannels: boolean): Promise<string[]> => {
    const job = testJob(t, { parallelism: 2, serializeChannels });
    const out = job
      .source(fromArray(Array.from({ length: 500 }, (_, i) => ({ k: i % 7, v: i, nested: { tags: [i] } })), { partitions: 2 }))
      .keyBy((r) => r.k)
      .reduce((a, b) => ({ k: a.k, v: a.v + b.v, nested: { tags: [...a.nested.tags, ...b.nested.tags].slice(-3) } }))
      .collect();
    await job.run();
    return sortedJson(out.results());
  };
  t.deepEqual(await run(true), await run(false));
});
