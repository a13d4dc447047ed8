/**
 * The golden job: small, nondeterministic in every way the runtime records (racing inputs, clock,
 * random, processing-time timers, external calls, source polls and barriers). `npm run fixtures` runs
 * it once with a kill and stores its final determinant traces and output under
 * `test/fixtures/golden-job/`; `golden-job.test.ts` replays those traces through the public
 * `Job.replay()` and expects the stored output, record for record.
 */
import { sequence, Job, type CollectSink, type JobOptions } from '../../lib/index.js';

/** One output record of the golden job. */
export interface GoldenRecord {
  k: number;
  what: string;
  at: number;
  price: number;
}

/** Builds the golden job with `options` (directory, recovery mode). */
export function goldenJob(options: JobOptions): { job: Job; sink: CollectSink<GoldenRecord> } {
  const job = new Job({ ...options, parallelism: 2, batchSize: 16 });
  const fast = job.source(sequence((n) => ({ k: n % 4, n }), { count: 240, rate: 2400, partitions: 2 }), { name: 'fast' });
  const slow = job.source(sequence((n) => ({ k: n % 4, n }), { count: 60, rate: 600, partitions: 2 }), { name: 'slow' });
  const sink = fast
    .connect(slow)
    .keyBy(
      (r) => r.k,
      (r) => r.k,
    )
    .process<{ k: number; what: string; at: number }>(
      {
        processElement1(r, ctx) {
          const seen = ctx.state.value<number>('seen');
          seen.update((seen.value() ?? 0) + 1);
          if (ctx.random() < 0.5) ctx.emit({ k: r.k, what: `fast ${r.n} #${seen.value()}`, at: ctx.now() % 100_000 });
          if (seen.value()! % 10 === 0) ctx.timers.registerProcessingTime(ctx.now() + 4);
        },
        processElement2(r, ctx) {
          const seen = ctx.state.value<number>('seen');
          seen.update((seen.value() ?? 0) + 1);
          ctx.emit({ k: r.k, what: `slow ${r.n} #${seen.value()} ${ctx.randomUUID().slice(0, 8)}`, at: ctx.now() % 100_000 });
        },
        onTimer(timestamp, ctx) {
          ctx.emit({ k: ctx.key as number, what: `timer after ${ctx.state.value<number>('seen').value()}`, at: timestamp % 100_000 });
        },
      },
      { name: 'race' },
    )
    .keyBy((r) => r.k)
    .process<GoldenRecord>(
      {
        async processElement(r, ctx) {
          const price = await ctx.call('price', async () => {
            await new Promise<void>((resolve) => setImmediate(resolve));
            return (Date.now() % 1000) + r.k;
          });
          ctx.emit({ ...r, price });
        },
      },
      { name: 'price', async: true },
    )
    .collect({ name: 'out' });
  return { job, sink };
}

/** The golden job's output, one JSON line per record, sink partitions one after the other. */
export function outputLines(sink: CollectSink<GoldenRecord>): string[] {
  const lines: string[] = [];
  for (let p = 0; p < sink.partitionCount; p++) for (const r of sink.partition(p)) lines.push(`${p} ${JSON.stringify(r)}`);
  return lines;
}
