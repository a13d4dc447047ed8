import test from 'ava';
import { Job, sequence, tumbling } from '../../lib/index.js';
import { jobDirectory } from '../helpers/jobs.js';
import { lastJsonLine, runCli } from '../helpers/cli.js';

test('the first example of docs/api.md runs as written and gives what its comment says', async (t) => {
  // --- docs/api.md, "A keyed, windowed job in a few lines" (directory added for the test) ---
  const job = new Job({ name: 'clicks', parallelism: 2, recovery: { mode: 'exactly-once' }, directory: jobDirectory(t) });
  const counts = job
    .source(sequence((n) => ({ page: `p${n % 3}`, at: n }), { count: 3000 }), { watermarks: { timestamp: (c) => c.at } })
    .keyBy((c) => c.page)
    .window(tumbling(1000))
    .aggregate({ create: () => 0, add: (n: number) => n + 1, result: (n: number) => n }, (page, w, n) => ({ page, start: w.start, n }))
    .collect();
  await job.run();
  // --- end ---
  const results = counts.results();
  t.is(results.length, 9);
  for (const r of results) t.true(r.n === 333 || r.n === 334, JSON.stringify(r));
  t.is(results.reduce((s, r) => s + r.n, 0), 3000);
});

test('docs/examples/word-count.ts runs through `causalflow run` and reads all its input', async (t) => {
  const result = await runCli(['run', 'docs/examples/word-count.ts', '--json'], { timeoutMs: 60_000 });
  t.is(result.code, 0, result.stderr);
  const summary = lastJsonLine(result.stdout);
  t.is(summary.recordsIn, 20_000);
  t.is(summary.tasksFinished, summary.tasks);
  t.regex(result.stdout, /"word":"[a-z]+","second":0,"count":\d+/);
});

test('docs/examples/sensor-alerts.ts recovers from the kill its comment suggests', async (t) => {
  const result = await runCli(['run', 'docs/examples/sensor-alerts.ts', '--kill', 'alerts[1]@1500', '--json'], { timeoutMs: 60_000 });
  t.is(result.code, 0, result.stderr);
  t.is(lastJsonLine(result.stdout).recoveries, 1);
  t.regex(result.stderr, /task-failed/);
  t.regex(result.stdout, /sensor 4: silent since 2999 ms/);
});

test('docs/examples/nexmark-q3.ts runs, and --duration stops it', async (t) => {
  const result = await runCli(['run', 'docs/examples/nexmark-q3.ts', '--duration', '1.5', '--json'], { timeoutMs: 60_000 });
  t.is(result.code, 0, result.stderr);
  const summary = lastJsonLine(result.stdout);
  t.true(summary.recordsIn > 100_000);
  t.true(summary.elapsedMs < 10_000);
});

test('run refuses a module without a job, and a malformed --kill, with a one-line reason', async (t) => {
  const notJob = await runCli(['run', 'package.json']);
  t.not(notJob.code, 0);
  const badKill = await runCli(['run', 'docs/examples/word-count.ts', '--kill', 'nonsense']);
  t.not(badKill.code, 0);
  t.regex(badKill.stderr, /expected <task>\[,<task>…\]@<ms>/);
});
