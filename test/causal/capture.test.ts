import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { causal, sequence, Job } from '../../lib/index.js';
import { captureScope } from '../../lib/causal/capture.js';
import { assertExactlyOnce, runScenario } from '../helpers/causal.js';
import { jobDirectory } from '../helpers/jobs.js';

// causal(fn) captures the globals an unmodified function reads, only inside that function and the async
// work it starts, and replays them after a kill.

test('outside a wrapped function and outside any task, the patched globals behave as the real ones', (t) => {
  const wrapped = causal((x: number) => x + Math.random());
  t.is(captureScope(), null);
  const draws = new Set(Array.from({ length: 20 }, () => Math.random()));
  t.is(draws.size, 20, 'Math.random is not replaced by a fixed sequence');
  t.true(Math.abs(Date.now() - new Date().getTime()) < 1000);
  t.regex(crypto.randomUUID(), /^[0-9a-f-]{36}$/);
  const value = wrapped(1);
  t.true(value >= 1 && value < 2, 'a wrapped function called outside a task runs plainly');
});

test('only the wrapped operator is captured: a plain operator in another task reading Math.random records nothing', async (t) => {
  const run = await runScenario(
    t,
    (options) => {
      const job = new Job(options);
      const sink = job
        .source(sequence((n) => ({ n }), { count: 2000, rate: 5000, partitions: 2 }), { name: 'numbers' })
        .map(causal((r: { n: number }) => ({ n: r.n, inside: Math.floor(Math.random() * 1000) })), { name: 'inside' })
        .rebalance()
        // Deterministic despite the read: the value is thrown away. Not captured, so nothing recorded.
        .map((r) => (Math.random() < 2 ? r : r), { name: 'outside' })
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'inside[0]', afterRecords: 600 }] },
  );
  assertExactlyOnce(t, run);
  t.true(run.kinds.get('numbers[0]')!.has('RANDOM_SEED'), 'the wrapped map (chained into the source task) recorded its seed');
  t.false(run.kinds.get('outside[0]')!.has('RANDOM_SEED'));
  t.false(run.kinds.get('outside[1]')!.has('RANDOM_SEED'));
});

test('setTimeout inside a wrapped function becomes a recorded timer: callbacks fire at the same positions on replay', async (t) => {
  const run = await runScenario(
    t,
    (options) => {
      const job = new Job(options);
      const sink = job
        .source(sequence((n) => ({ n }), { count: 2400, rate: 6000, partitions: 2 }), { name: 'numbers' })
        .rebalance()
        .process<{ n: number; late?: number }>(
          causal({
            processElement(r: { n: number }, ctx: { emit(v: { n: number; late?: number }): void }) {
              ctx.emit({ n: r.n });
              if (r.n % 40 === 0) {
                const scheduled = Date.now();
                setTimeout(() => ctx.emit({ n: r.n, late: Date.now() - scheduled }), 3);
              }
            },
          }),
          { name: 'delays' },
        )
        .collect();
      return { job, sink };
    },
    // No checkpoint completes before the kill, so the replacement replays from the start and re-arms every
    // timer (a setTimeout pending at a checkpoint is not part of it: see docs/determinism.md).
    { job: { recovery: { mode: 'exactly-once', checkpointIntervalMs: 60_000 } }, faults: [{ task: 'delays[1]', afterRecords: 700 }] },
  );
  assertExactlyOnce(t, run);
  t.true(run.output.flat().some((line) => line.includes('late')), 'timers fired');
  t.true(run.kinds.get('delays[1]')!.has('TIMER'));
});

test('fetch inside a wrapped async function is recorded: replay gets the recorded responses without new requests', async (t) => {
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ path: request.url, answer: requests }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(() => server.close());
  let requestsBeforeOracle = -1;
  const run = await runScenario(
    t,
    (options) => {
      if (requestsBeforeOracle < 0 && requests > 0) requestsBeforeOracle = requests;
      const job = new Job(options);
      const sink = job
        .source(sequence((n) => ({ n, k: n % 4 }), { count: 600, rate: 2000, partitions: 2 }), { name: 'numbers' })
        .keyBy((r) => r.k)
        .process<{ n: number; answer: number }>(
          causal({
            async processElement(r: { n: number }, ctx: { emit(v: { n: number; answer: number }): void }) {
              const response = await fetch(`${base}/quote/${r.n}`);
              const body = (await response.json()) as { answer: number };
              ctx.emit({ n: r.n, answer: body.answer });
            },
          }),
          { name: 'quote', async: true },
        )
        .collect();
      return { job, sink };
    },
    { faults: [{ task: 'quote[0]', afterRecords: 150 }] },
  );
  assertExactlyOnce(t, run);
  t.true(run.kinds.get('quote[0]')!.has('EXTERNAL'));
  t.true(requestsBeforeOracle > 0);
  t.is(requests, requestsBeforeOracle, 'the oracle replay made no request');
});
