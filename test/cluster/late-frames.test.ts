import test from 'ava';
import { buildClusterJob, LATE_BLOCK_AT, LATE_PAD, type LateRecord } from './jobs.js';
import { assertRecoveredExactlyOnce, runCluster } from '../helpers/cluster.js';

// A failed producer's frames can reach its consumer long after the producer died: its worker goes on
// flushing what the task had written, and the kernel what the worker had written, as soon as the consumer's
// worker reads again. Recovery copies the failed task's log from the replicas live tasks hold; a frame taken
// in after that copy lets the consumer hold elements whose determinants the copy lacks, the orphan check
// finds them (I14), and local recovery escalates. Every worker therefore fences the failed task's output
// channels in the same turn as it copies its replicas (I1, I14).

/** Independent of the runtime: each number once, with its pad whole and a draw in [0, 1). */
function checkLate(records: readonly LateRecord[], count: number): string[] {
  const problems: string[] = [];
  const seen = new Map<number, number>();
  for (const r of records) {
    seen.set(r.n, (seen.get(r.n) ?? 0) + 1);
    if (r.pad.length !== LATE_PAD) problems.push(`record ${r.n}: pad of ${r.pad.length} characters`);
    if (!(r.draw >= 0 && r.draw < 1)) problems.push(`record ${r.n}: draw ${r.draw}`);
  }
  for (let n = 0; n < count; n++) if (seen.get(n) !== 1) problems.push(`number ${n} shown ${seen.get(n) ?? 0} times`);
  return problems.slice(0, 20);
}

test.serial(
  "a producer's worker SIGKILLed while its consumer's worker is blocked: the frames the kernel still delivers after recovery copied the producer's log are refused, and recovery stays local and exactly once (late, stamp[0] 400 records after slow[0] blocked)",
  async (t) => {
    const count = 4000;
    const run = await runCluster(t, 'late', {
      // Three workers: the source, the producer and the consumer each on its own, so that blocking the
      // consumer's worker stops neither the source nor the producer.
      workers: 3,
      count,
      rate: 2000,
      // Small batches and a wide credit window: the producer sends hundreds of records (megabytes) while the
      // consumer's worker is blocked, more than the consumer's worker reads in one turn when it wakes up.
      job: { parallelism: 1, batchSize: 16, channelCapacity: 256, recovery: { mode: 'exactly-once', checkpointIntervalMs: 50, dsd: 1 } },
      faults: [{ task: 'stamp[0]', afterRecords: LATE_BLOCK_AT + 400 }],
    });
    const names = run.handle.taskNames();
    const placement = buildClusterJob({ job: 'late', options: { parallelism: 1 } }).job.placement(3)!.tasks;
    t.is(new Set(['numbers[0]', 'stamp[0]', 'slow[0]'].map((name) => placement[names.indexOf(name)])).size, 3, 'the source, stamp and slow each run on a worker of their own');
    t.true(run.events.some((e) => e.type === 'task-failed' && e.task === 'stamp[0]'), 'stamp was killed');
    t.deepEqual(
      run.events.filter((e) => e.type === 'escalated'),
      [],
      'no escalation',
    );
    assertRecoveredExactlyOnce(t, run, 0);
    t.deepEqual(checkLate(run.records as LateRecord[], count), [], 'every record once, whole');
  },
);
