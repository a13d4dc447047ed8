import test from 'ava';
import { sequence, type JobResult } from '../../lib/index.js';
import { nexmarkSource } from '../../bench/nexmark/source.js';
import { QUERIES, type QueryId } from '../../bench/nexmark/queries.js';
import { SeededRandom } from '../../lib/util/random.js';
import { SEED } from '../helpers/property.js';
import { sortedJson, testJob } from '../helpers/jobs.js';

interface Run {
  output: string[];
  result: JobResult;
  kills: string[];
}

async function runQuery(t: import('ava').ExecutionContext, query: QueryId, kills: { random: SeededRandom; count: number } | null): Promise<Run> {
  const job = testJob(t, { parallelism: 2, recovery: { mode: kills ? 'global-rollback' : 'none', checkpointIntervalMs: 60 } });
  // Paced, so that the run lasts long enough for checkpoints and kills to land mid-stream.
  const events = job.source(nexmarkSource({ partitions: 2, eventRate: 100_000, maxEvents: 150_000, rate: 150_000, seed: 7 }), { watermarks: {} });
  const sink = QUERIES[query].build(events, { windowMs: 100 }).collect();
  const handle = await job.start();
  const killed: string[] = [];
  if (kills) {
    const names = handle.taskNames();
    let at = 0;
    for (let i = 0; i < kills.count; i++) {
      at += 150 + kills.random.nextInt(200);
      const name = names[kills.random.nextInt(names.length)]!;
      killed.push(`${name}@${at}ms`);
      handle.kill(name, { afterMs: at });
    }
  }
  const result = await handle.done;
  return { output: sortedJson(sink.results()), result, kills: killed };
}

for (const query of ['q3', 'q8'] as const) {
  test(`global rollback: ${query} with tasks killed at seeded random moments commits exactly the failure-free output`, async (t) => {
    const random = new SeededRandom(SEED ^ query.charCodeAt(1));
    t.log(`kill schedule seed ${SEED}`);
    const baseline = await runQuery(t, query, null);
    t.true(baseline.output.length > 0);
    for (let run = 0; run < 2; run++) {
      const failed = await runQuery(t, query, { random, count: 3 });
      t.log(`run ${run}: killed ${failed.kills.join(', ')}; ${failed.result.recoveries} recoveries`);
      t.true(failed.result.recoveries >= 1, 'at least one kill landed before the job finished');
      t.is(failed.output.length, baseline.output.length, 'no duplicate, no loss');
      t.deepEqual(failed.output, baseline.output);
      const rollbacks = failed.result.events.filter((e) => e.type === 'rollback-finished');
      t.is(rollbacks.length, failed.result.recoveries);
    }
  });
}

test('transactional sinks show output only once the checkpoint covering it completed', async (t) => {
  const job = testJob(t, { recovery: { mode: 'global-rollback', checkpointIntervalMs: 200 } });
  const sink = job.source(sequence((n) => n, { rate: 1000 })).collect();
  const handle = await job.start();
  const visibleAt: { checkpoint: number; visible: number }[] = [];
  handle.onEvent((e) => {
    if (e.type === 'checkpoint') visibleAt.push({ checkpoint: e.id as number, visible: sink.size });
  });
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.is(sink.size, 0, 'nothing visible before the first checkpoint completes');
  await new Promise((resolve) => setTimeout(resolve, 600));
  await handle.stop();
  t.true(visibleAt.length >= 2);
  // Every visible record is a prefix of the sequence: committed epochs only, in order.
  t.deepEqual(sink.results(), Array.from({ length: sink.size }, (_, i) => i));
});

test('a failure before the first checkpoint restarts the job from scratch, still exactly once', async (t) => {
  const job = testJob(t, { recovery: { mode: 'global-rollback', checkpointIntervalMs: 10_000 } });
  const sink = job.source(sequence((n) => n, { count: 2000, rate: 20_000 })).map((n) => n * 2, { name: 'double' }).collect();
  const result = await job.run({ faults: [{ task: 'double[0]', afterRecords: 700 }] });
  t.is(result.recoveries, 1);
  t.deepEqual(sink.results(), Array.from({ length: 2000 }, (_, i) => i * 2));
  t.truthy(result.events.find((e) => e.type === 'rollback-started' && e.checkpoint === -1));
});
