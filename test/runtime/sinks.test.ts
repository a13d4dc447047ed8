import test from 'ava';
import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { consoleSink, fileSink, sequence } from '../../lib/index.js';
import { jobDirectory, testJob } from '../helpers/jobs.js';

const lines = (path: string): unknown[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));

test('the file sink writes one JSON line per record, one file per partition', async (t) => {
  const dir = join(jobDirectory(t), 'out');
  const job = testJob(t, { parallelism: 2 });
  job.source(sequence((n) => ({ n }), { count: 100, partitions: 2 })).sink(fileSink(dir));
  await job.run();
  const all = [...lines(join(dir, 'part-0.jsonl')), ...lines(join(dir, 'part-1.jsonl'))] as { n: number }[];
  t.deepEqual(
    all.map((r) => r.n).sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test('a torn last line, left by a crash mid-write, is cut off when the partition opens again', (t) => {
  const dir = jobDirectory(t);
  const sink = fileSink<{ n: number }>(dir);
  const first = sink.open({ subtask: 0, parallelism: 1, jobDirectory: dir, restoredEpoch: 0 });
  first.write([{ n: 0 }, { n: 1 }], 0);
  void first.close?.();
  appendFileSync(join(dir, 'part-0.jsonl'), '{"n":2');
  const reopened = sink.open({ subtask: 0, parallelism: 1, jobDirectory: dir, restoredEpoch: 0 });
  t.is(reopened.visibleCount(), 2);
  reopened.write([{ n: 2 }], 2);
  void reopened.close?.();
  t.deepEqual(lines(join(dir, 'part-0.jsonl')), [{ n: 0 }, { n: 1 }, { n: 2 }]);
});

test('file sink transactions stay pending until committed, commit idempotently, and abort cleanly', (t) => {
  const dir = jobDirectory(t);
  const sink = fileSink<number>(dir);
  const p = sink.open({ subtask: 0, parallelism: 1, jobDirectory: dir, restoredEpoch: 0 });
  p.stage(0, [1, 2]);
  p.stage(1, [3]);
  p.stage(2, [4]);
  t.deepEqual(lines(join(dir, 'part-0.jsonl')), []);
  p.commit(1);
  p.commit(1);
  t.deepEqual(lines(join(dir, 'part-0.jsonl')), [1, 2, 3]);
  p.abortAfter(1);
  t.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.pending')),
    [],
  );
  void p.close?.();
  const again = sink.open({ subtask: 0, parallelism: 1, jobDirectory: dir, restoredEpoch: 0 });
  again.commit(1);
  t.is(again.visibleCount(), 3);
  void again.close?.();
});

test('global rollback into a file sink writes every record exactly once despite kills', async (t) => {
  const dir = join(jobDirectory(t), 'out');
  const job = testJob(t, { recovery: { mode: 'global-rollback', checkpointIntervalMs: 40 } });
  job
    .source(sequence((n) => n, { count: 3000, rate: 10_000 }))
    .map((n) => ({ n }), { name: 'wrap' })
    .sink(fileSink(dir), { name: 'file' });
  const result = await job.run({ faults: [{ task: 'wrap[0]', afterMs: 120 }, { task: 'file[0]', afterMs: 200 }] });
  t.true(result.recoveries >= 1);
  t.deepEqual(
    (lines(join(dir, 'part-0.jsonl')) as { n: number }[]).map((r) => r.n),
    Array.from({ length: 3000 }, (_, i) => i),
  );
});

test('the console sink prints JSON lines with the partition as prefix', async (t) => {
  const printed: string[] = [];
  const job = testJob(t);
  job.source(sequence((n) => ({ n }), { count: 3 })).sink(consoleSink({ write: (text) => printed.push(text) }));
  await job.run();
  t.is(printed.join(''), '[0] {"n":0}\n[0] {"n":1}\n[0] {"n":2}\n');
});
