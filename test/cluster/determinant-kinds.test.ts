import test from 'ava';
import { assertRecoveredExactlyOnce, runCluster } from '../helpers/cluster.js';

// One scenario per determinant kind, in two worker processes: the worker holding the task dies by SIGKILL
// at a chosen record (the kill takes every task of the process with it), standbys in the other process
// take over, and the output is compared record by record with an oracle replay of the final traces.

const scenarios = [
  { job: 'order', task: 'merge[0]', afterRecords: 700, kinds: ['ORDER'] },
  { job: 'clock', task: 'stamp[1]', afterRecords: 900, kinds: ['CLOCK', 'MONOTONIC_CLOCK'] },
  { job: 'timer', task: 'windows[0]', afterRecords: 1000, kinds: ['TIMER'] },
  { job: 'random', task: 'sample[0]', afterRecords: 800, kinds: ['RANDOM_SEED'] },
  { job: 'external', task: 'quote[1]', afterRecords: 300, kinds: ['EXTERNAL'] },
  { job: 'source', task: 'numbers[1]', afterRecords: 1200, kinds: ['SOURCE_POLL', 'SOURCE_BARRIER'] },
] as const;

for (const s of scenarios) {
  test.serial(`${s.kinds.join(' and ')}: the worker process holding ${s.task} is SIGKILLed at its record ${s.afterRecords}; standbys elsewhere replay and the output equals the oracle's`, async (t) => {
    const run = await runCluster(t, s.job, { faults: [{ task: s.task, afterRecords: s.afterRecords }] });
    assertRecoveredExactlyOnce(t, run);
    const failed = run.events.filter((e) => e.type === 'task-failed');
    t.true(failed.some((e) => e.type === 'task-failed' && e.task === s.task && e.detectedBy !== undefined), `${s.task} failed with its worker`);
    for (const kind of s.kinds) t.true(run.kinds.get(s.task)!.has(kind), `${s.task} recorded ${kind}`);
  });
}
