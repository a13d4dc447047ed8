import test from 'ava';
import { fromArray, sequence, session, sliding, tumbling } from '../../lib/index.js';
import { testJob } from '../helpers/jobs.js';

interface Reading {
  k: string;
  t: number;
  v: number;
}

const readings: Reading[] = [
  { k: 'a', t: 1, v: 1 },
  { k: 'b', t: 2, v: 10 },
  { k: 'a', t: 5, v: 2 },
  { k: 'a', t: 11, v: 3 },
  { k: 'b', t: 12, v: 20 },
  { k: 'a', t: 25, v: 4 },
];

test('tumbling event-time windows reduce per key and fire when the watermark passes their end', async (t) => {
  const job = testJob(t);
  const out = job
    .source(fromArray(readings), { watermarks: { timestamp: (r) => r.t } })
    .keyBy((r) => r.k)
    .window(tumbling(10))
    .reduce((a, b) => ({ k: a.k, t: Math.max(a.t, b.t), v: a.v + b.v }))
    .collect();
  await job.run();
  t.deepEqual(
    out.results().map((r) => `${r.k}:${r.v}`),
    ['a:3', 'b:10', 'a:3', 'b:20', 'a:4'],
  );
});

test('sliding windows assign a record to every window it falls in', async (t) => {
  const job = testJob(t);
  const out = job
    .source(fromArray(readings.filter((r) => r.k === 'a')), { watermarks: { timestamp: (r) => r.t } })
    .keyBy((r) => r.k)
    .window(sliding(10, 5))
    .aggregate(
      { create: () => 0, add: (n: number, r: Reading) => n + r.v, result: (n: number) => n },
      (key, window, sum) => `${key}[${window.start},${window.end})=${sum}`,
    )
    .collect();
  await job.run();
  t.deepEqual(out.results(), ['a[-5,5)=1', 'a[0,10)=3', 'a[5,15)=5', 'a[10,20)=3', 'a[20,30)=4', 'a[25,35)=4']);
});

test('session windows merge records closer than the gap', async (t) => {
  const job = testJob(t);
  const events = [
    { k: 'u', t: 0 },
    { k: 'u', t: 3 },
    { k: 'u', t: 6 },
    { k: 'u', t: 20 },
    { k: 'v', t: 4 },
    { k: 'u', t: 22 },
  ];
  const out = job
    .source(fromArray(events), { watermarks: { timestamp: (r) => r.t } })
    .keyBy((r) => r.k)
    .window(session(5))
    .aggregate(
      { create: () => 0, add: (n: number) => n + 1, result: (n: number) => n, merge: (a: number, b: number) => a + b },
      (key, w, n) => `${key}[${w.start},${w.end}):${n}`,
    )
    .collect();
  await job.run();
  t.deepEqual(out.results().sort(), ['u[0,11):3', 'u[20,27):2', 'v[4,9):1']);
});

test('window process functions get all records of a window; arrays are emitted element by element', async (t) => {
  const job = testJob(t);
  const out = job
    .source(fromArray(readings), { watermarks: { timestamp: (r) => r.t } })
    .keyBy((r) => r.k)
    .window(tumbling(100))
    .process((key, window, values) => values.map((v) => `${key}${window.start}:${v.v}`))
    .collect();
  await job.run();
  t.deepEqual(out.results().sort(), ['a0:1', 'a0:2', 'a0:3', 'a0:4', 'b0:10', 'b0:20']);
});

test('late records are counted and dropped, never silently', async (t) => {
  const job = testJob(t);
  const events = [
    { k: 'a', t: 1 },
    { k: 'a', t: 30 },
    { k: 'a', t: 2 }, // its window [0,10) fired when the watermark reached 30
  ];
  // One record per poll, whatever the machine's load, so each arrives after the previous one's watermark
  // (a paced source hands over every record due at once when the loop runs late).
  const paced = sequence((n) => events[n]!, { count: events.length });
  const onePerPoll: typeof paced = {
    ...paced,
    open(partition, context) {
      const reader = paced.open(partition, context);
      return { ...reader, available: (offset, now) => Math.min(1, reader.available(offset, now)) };
    },
  };
  const out = job
    .source(onePerPoll, { watermarks: { timestamp: (r) => r.t } })
    .keyBy((r) => r.k)
    .window(tumbling(10))
    .aggregate({ create: () => 0, add: (n: number) => n + 1, result: (n: number) => n })
    .collect();
  const result = await job.run();
  t.deepEqual(out.results(), [1, 1]);
  t.is(result.lateRecordsDropped, 1);
});

test('processing-time windows assign by the wall clock and fire on it', async (t) => {
  const job = testJob(t);
  const out = job
    .source(sequence((n) => ({ k: n % 2, n }), { count: 40, rate: 400 }))
    .keyBy((r) => r.k)
    .window(tumbling(50, { time: 'processing' }))
    .aggregate({ create: () => 0, add: (n: number) => n + 1, result: (n: number) => n }, (key, w, n) => ({ key, n, end: w.end }))
    .collect();
  await job.run();
  const total = out.results().reduce((s, r) => s + r.n, 0);
  t.is(total, 40, 'every record lands in exactly one window');
  t.true(out.results().length >= 2, 'the run spans several 50 ms windows');
  for (const r of out.results()) t.is(r.end % 50, 0);
});

test('a windowed join pairs records of both streams with equal keys in the same window', async (t) => {
  const job = testJob(t, { parallelism: 2 });
  const people = job.source(fromArray([{ id: 1, t: 1 }, { id: 2, t: 2 }, { id: 1, t: 15 }]), { name: 'people', watermarks: { timestamp: (r) => r.t } });
  const sales = job.source(fromArray([{ seller: 1, t: 3, item: 'pen' }, { seller: 2, t: 12, item: 'cup' }, { seller: 1, t: 19, item: 'hat' }]), {
    name: 'sales',
    watermarks: { timestamp: (r) => r.t },
  });
  const out = people
    .join(sales)
    .where((p) => p.id)
    .equalTo((s) => s.seller)
    .window(tumbling(10))
    .apply((p, s, w) => `${p.id}:${s.item}@${w.start}`)
    .collect();
  await job.run();
  t.deepEqual(out.results().sort(), ['1:hat@10', '1:pen@0']);
});
