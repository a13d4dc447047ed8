import test from 'ava';
import { Job, sequence, type Sink, type SinkPartition } from '../../lib/index.js';
import { jobDirectory } from '../helpers/jobs.js';

// I31, found with Kafka in worker processes: a sink task acknowledged checkpoint 1 while the records it had
// written before the barrier were still in its producer's buffer. Its process was SIGKILLed, the checkpoint
// counted 1,024 records that Kafka never got, and every replacement (restored from it) refused to skip
// them. Now a task's acknowledgement waits until its sinks' `flush` says what they were handed is durable.

/** A sink whose `flush` resolves only when the test says so; it records when each flush was asked. */
function heldSink() {
  const written: number[] = [];
  const flushes: { at: number; visible: number; release: () => void }[] = [];
  const sink: Sink<{ n: number }> = {
    name: 'held',
    open(): SinkPartition<{ n: number }> {
      return {
        write: (records) => {
          for (const r of records) written.push(r.n);
        },
        visibleCount: () => written.length,
        determinants: () => [],
        stage: () => {
          throw new Error('not transactional');
        },
        commit: () => {},
        abortAfter: () => {},
        flush: () => new Promise<void>((release) => flushes.push({ at: Date.now(), visible: written.length, release })),
      };
    },
  };
  return { sink, written, flushes };
}

test('I31: a checkpoint is acknowledged only once the sink says what it was handed before the barrier is durable', async (t) => {
  const job = new Job({ parallelism: 1, directory: jobDirectory(t), recovery: { mode: 'exactly-once', checkpointIntervalMs: 50 } });
  const held = heldSink();
  job.source(sequence((n) => ({ n }), { count: 3000, rate: 10_000, partitions: 1 }), { name: 'numbers' }).sink(held.sink, { name: 'out' });
  const handle = await job.start();
  while (held.flushes.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  // The sink was asked to flush at the barrier of checkpoint 1: nothing completes while it holds.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = handle.events().filter((e) => e.type === 'checkpoint-acknowledged' || e.type === 'checkpoint');
  t.deepEqual(before, [], 'no checkpoint acknowledged while the sink holds its flush');
  t.true(held.flushes[0]!.visible > 0, 'the sink had records before the barrier');
  // Released, the acknowledgements follow, in order, and the job ends with every record once.
  const release = setInterval(() => held.flushes.forEach((f) => f.release()), 5);
  t.teardown(() => clearInterval(release));
  const result = await handle.done;
  clearInterval(release);
  const completed = result.events.filter((e) => e.type === 'checkpoint').map((e) => (e as { id: number }).id);
  t.true(completed.length > 0 && completed[0] === 1, `checkpoints completed in order from 1: ${completed.join(', ')}`);
  t.deepEqual(completed, [...completed].sort((a, b) => a - b));
  t.deepEqual(held.written, Array.from({ length: 3000 }, (_, i) => i));
});
