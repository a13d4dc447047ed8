import test from 'ava';
import type { JobEvent } from '../../lib/index.js';
import { Job, sequence } from '../../lib/index.js';
import { killTargets, runRecoveryBench } from '../../bench/recovery.js';

test('killTargets picks the deepest keyed operator, then tasks connected to it', (t) => {
  const job = new Job({ parallelism: 2 });
  job
    .source(sequence((n) => n, { count: 10, partitions: 2 }), { name: 'src' })
    .keyBy((n) => n % 3)
    .reduce((a, b) => a + b, { name: 'sum' })
    .keyBy((n) => n % 5)
    .reduce((a, b) => a + b, { name: 'total' })
    .rebalance()
    .collect({ name: 'out' });
  const plan = job.plan();
  t.deepEqual(killTargets(plan, 1), ['total[0]']);
  const three = killTargets(plan, 3);
  t.is(three[0], 'total[0]');
  t.deepEqual(three.slice(1).sort(), ['sum[0]', 'sum[1]']);
});

test('a small recovery benchmark: every mode recovers, exactly-once and global-rollback show nothing twice and lose nothing', async (t) => {
  const result = await runRecoveryBench({
    query: 'q3',
    failures: 'single',
    rate: 30_000,
    parallelism: 2,
    checkpointIntervalMs: 300,
    warmupMs: 1500,
    afterMs: 2000,
  });
  t.is(result.bench, 'recovery');
  t.is(result.workers, 0, 'embedded');
  t.deepEqual(result.killedWorkers, []);
  t.deepEqual(result.killed, ['q3-join[0]']);
  for (const mode of ['global-rollback', 'at-least-once', 'exactly-once'] as const) {
    const f = result.modes[mode]!;
    t.true(f.recoveries >= 1, `${mode} recovered`);
    t.true(f.records > 0, `${mode} produced output`);
    t.true(f.timeline.length > 30, `${mode} timeline`);
    t.truthy(f.marks.find((m) => m.type === 'task-failed'));
    t.is(f.detectionMs, 0, `${mode}: embedded, the kill is the failure report`);
    t.true(f.takeoverMs !== null && f.takeoverMs >= 0, `${mode} took over`);
  }
  for (const mode of ['global-rollback', 'exactly-once'] as const) {
    const f = result.modes[mode]!;
    t.is(f.duplicates, 0, `${mode} duplicates`);
    t.is(f.lost, 0, `${mode} lost`);
    t.true(f.oracleIdentical, `${mode} equals its oracle`);
  }
  t.is(result.modes['exactly-once']!.escalations, 0);
  t.true(result.modes['exactly-once']!.determinantBytesPerEvent! > 0);
  t.is(result.modes['exactly-once']!.checkedAgainst, 'oracle-replay');
  // I35: at-least-once loses nothing; its replacements record no determinants, so a failure-free run is its reference.
  const alo = result.modes['at-least-once']!;
  t.is(alo.checkedAgainst, 'failure-free-run');
  t.is(alo.lost, 0, 'at-least-once lost');
  t.true(alo.duplicates !== null && alo.duplicates >= 0, 'at-least-once duplicates counted');
});

test('at-least-once of a query whose output depends on the wall clock (Q12) cannot be checked: lost and duplicates stay null, a violation', async (t) => {
  const result = await runRecoveryBench({ query: 'q12', failures: 'single', rate: 20_000, parallelism: 2, checkpointIntervalMs: 300, warmupMs: 1200, afterMs: 1000, modes: ['at-least-once'] });
  const f = result.modes['at-least-once']!;
  t.true(f.recoveries >= 1, 'recovered');
  t.is(f.checkedAgainst, 'failure-free-run');
  t.is(f.lost, null);
  t.is(f.duplicates, null);
  t.false(f.oracleIdentical);
});

test('failureTimes groups kills of one moment, so three tasks killed at once are one recovery to measure', async (t) => {
  const { failureTimes } = await import('../../bench/recovery.js');
  const failed = (time: number, task: string, group: number): JobEvent => ({ t: time, type: 'task-failed', task, cause: 'killed', group });
  const events = [failed(4007, 't0', 1), failed(4007.5, 't1', 2), failed(4012, 't2', 3)];
  t.deepEqual(failureTimes(events, [4000, 4000, 4000]), [4007]);
  t.deepEqual(failureTimes([...events.slice(0, 1), failed(9010, 't3', 4)], [4000, 9000]), [4007, 9010]);
  t.deepEqual(failureTimes([], [4000, 9000, 14000]), [4000, 9000, 14000], 'no failure events: the schedule');
});

test('the collect-hashes sink shows, partition by partition, the record hash of each record the collect sink shows (Q1, 20,000 events)', async (t) => {
  const { buildBenchJob } = await import('../../bench/worker-job.js');
  const { recordHash } = await import('../../bench/record-hash.js');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const directory = mkdtempSync(join(tmpdir(), 'causalflow-line-hashes-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const run = async (sink: 'collect' | 'collect-hashes'): Promise<unknown[][]> => {
    const built = buildBenchJob({ query: 'q1', mode: 'exactly-once', parallelism: 2, maxEvents: 20_000, checkpointIntervalMs: 200, directory: join(directory, sink), sink });
    await (await built.job.start()).done;
    const collected = built.sink as unknown as { partitionCount: number; partition(p: number): readonly unknown[] };
    return Array.from({ length: collected.partitionCount }, (_, p) => [...collected.partition(p)]);
  };
  const records = await run('collect');
  const hashes = await run('collect-hashes');
  t.true(records.flat().length > 10_000, `${records.flat().length} records`);
  t.deepEqual(
    hashes,
    records.map((partition) => partition.map((record) => recordHash(record))),
  );
});

test('a recovery benchmark whose sink collects record hashes checks them against the oracle like records: nothing twice, nothing lost (Q1, exactly-once)', async (t) => {
  const result = await runRecoveryBench({ query: 'q1', failures: 'single', rate: 30_000, parallelism: 2, checkpointIntervalMs: 300, warmupMs: 1500, afterMs: 1500, modes: ['exactly-once'], recordHashes: true });
  const f = result.modes['exactly-once']!;
  t.true(f.recoveries >= 1, 'recovered');
  t.true(f.records > 10_000, `${f.records} hashes`);
  t.is(f.duplicates, 0);
  t.is(f.lost, 0);
  t.true(f.oracleIdentical);
});
