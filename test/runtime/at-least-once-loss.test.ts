import test from 'ava';
import { sequence } from '../../lib/index.js';
import { testJob } from '../helpers/jobs.js';

// A known defect of `at-least-once`, kept as a failing test until it is mended (docs/decisions.md, 2026-12-03).
//
// An at-least-once replacement records no determinants: it regenerates from its checkpoint in an order of its own
// (here: how the two source partitions interleave into `slow[0]`), and goes live at once. Its consumers and its sink
// partition still drop what they already have by sequence number and output index (I8, I12), which is sound only
// for a replacement that regenerates the very same elements at the very same numbers (exactly-once, with
// determinants). A record the predecessor had emitted after the kill point's checkpoint at another number than the
// replacement gives it is dropped as a duplicate of a different record, and never shown: lost, which
// `docs/api.md` promised `at-least-once` never does. `bench recovery` has been counting such losses for this mode.

test.failing('known defect: at-least-once loses records when a replacement regenerates its input in another order than its predecessor consumed it (a source partition and its keyed consumer killed together); when mended, every number is shown at least once', async (t) => {
  const count = 12_000;
  const job = testJob(t, { parallelism: 2, stallTimeoutMs: 5_000, recovery: { mode: 'at-least-once', checkpointIntervalMs: 10 } });
  const sink = job
    .source(sequence((n) => ({ n, k: n % 7 }), { count, rate: 6_000, partitions: 2 }), { name: 'numbers' })
    .keyBy((r) => r.k)
    .process<number>(
      {
        processElement(r, ctx) {
          ctx.emit(r.n);
        },
      },
      { name: 'slow' },
    )
    .collect({ name: 'out' });
  // The source partition and one consumer die together, as with a worker's SIGKILL.
  const result = await job.run({ faults: [{ task: ['numbers[0]', 'slow[0]'], afterMs: 800 }] });
  t.is(result.recoveries, 2, 'one failure group of two tasks');
  t.is(result.guarantee.kind, 'at-least-once', 'the job says it degraded to at-least-once (I23)');
  const seen = new Set(sink.results());
  const missing = Array.from({ length: count }, (_, n) => n).filter((n) => !seen.has(n));
  t.log(`${sink.size} records shown, ${missing.length} numbers missing${missing.length > 0 ? ` (first: ${missing.slice(0, 5).join(', ')})` : ''}`);
  t.deepEqual(missing, [], 'every number at least once');
});
