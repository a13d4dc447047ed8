import test from 'ava';
import type { SumRecord } from './jobs.js';
import { runCluster } from '../helpers/cluster.js';

// `at-least-once` in worker processes: a SIGKILLed worker takes a source partition and the keyed consumer it
// feeds. Their replacements regenerate without determinants, a new execution that no consumer and no sink drops
// (I35). Before, consumers and sinks dropped it by number and output index, and records were lost.

const COUNT = 20_000;

test.serial('at-least-once, a SIGKILLed worker with a source partition and a keyed consumer: every number is shown at least once, and the job says it kept at-least-once (I35, I23)', async (t) => {
  const run = await runCluster(t, 'sums', {
    workers: 2,
    noOracle: true,
    count: COUNT,
    job: { recovery: { mode: 'at-least-once', checkpointIntervalMs: 20 } },
    faults: [{ task: 'sum[0]', afterMs: 700 }],
  });
  t.true(run.events.some((e) => e.type === 'worker-lost'), 'a worker was lost');
  const killed = run.events.find((e) => e.type === 'worker-killed');
  t.log(`killed worker's tasks: ${killed && 'tasks' in killed ? killed.tasks.join(', ') : '?'}`);
  t.is(run.result.escalations, 0, 'no escalation');
  t.is(run.result.guarantee.kind, 'at-least-once');
  const seen = new Set((run.records as SumRecord[]).map((r) => r.n));
  const missing = Array.from({ length: COUNT }, (_, n) => n).filter((n) => !seen.has(n));
  t.log(`${run.records.length} records shown for ${COUNT} numbers, ${missing.length} missing${missing.length > 0 ? ` (first: ${missing.slice(0, 5).join(', ')})` : ''}`);
  t.deepEqual(missing, [], 'every number at least once');
});
