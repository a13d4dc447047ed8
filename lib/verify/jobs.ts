/**
 * The verifier's built-in jobs. Each is nondeterministic on purpose, and together they exercise every
 * determinant kind:
 *
 * | Job | Determinants it depends on |
 * | --- | --- |
 * | `processing-time-windows` | TIMER (clock ticks, window timers), ORDER |
 * | `random-sampling` | RANDOM_SEED, CLOCK, ORDER |
 * | `external-calls` | EXTERNAL (a service whose answers change on every call), ORDER |
 * | `racing-inputs` | ORDER (two sources at different rates feeding one stateful operator) |
 * | `timers` | TIMER (processing-time timers), CLOCK, MONOTONIC_CLOCK |
 * | `captured-globals` | `Math.random`, `Date.now`, `new Date()`, `crypto.randomUUID`, `performance.now` inside `causal()`, and a `@recorded` method |
 *
 * Every job reads paced sources (SOURCE_POLL: the pace decides how many records a poll returns) and
 * checkpoints often (SOURCE_BARRIER); kills abandon checkpoints (ABORT_CHECKPOINT). Every output record
 * has a `uid` unique in the job's output, so duplicates can be counted.
 */
import { CollectSink } from '../connectors/collect.js';
import { sequence } from '../connectors/collection.js';
import { Job, type JobOptions } from '../index.js';
import { tumbling } from '../operators/window.js';
import { causal } from '../causal/capture.js';
import { recorded } from '../causal/decorators.js';
import type { KeyedProcessContext } from '../api/functions.js';

/** A built-in verification job, built fresh for every run (and again for its oracle). */
export interface VerifyJob {
  /** Job name. */
  readonly name: string;
  /** Builds the job with `options`; returns it and its sink. */
  build(options: JobOptions): { job: Job; sink: CollectSink<{ uid: string }> };
}

/** An in-process service whose answer changes on every call, and over time: what an external call returns. */
class QuoteService {
  private calls = 0;

  async quote(key: number): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.calls++;
    return key * 1000 + this.calls + (Date.now() % 7);
  }
}

/** A class-based async operator whose lookup is a `@recorded` method (its answers change on every call). */
class Enricher {
  private calls = 0;

  @recorded('enrich')
  async lookup(n: number): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return n * 10 + (this.calls++ % 7);
  }

  async processElement(r: { uid: string; n: number; pick: number }, ctx: KeyedProcessContext<number, unknown>): Promise<void> {
    ctx.emit({ ...r, looked: await this.lookup(r.n) });
  }
}

const RATE = 12_000;
const COUNT = 9_000;

/** The built-in jobs, by name. */
export const VERIFY_JOBS: readonly VerifyJob[] = [
  {
    name: 'processing-time-windows',
    build(options) {
      const job = new Job({ ...options, name: 'verify-windows' });
      const sink = job
        .source(sequence((n) => ({ k: n % 40, n }), { count: COUNT, rate: RATE, partitions: 2 }), { name: 'numbers' })
        .keyBy((r) => r.k)
        .window(tumbling(15, { time: 'processing' }))
        .aggregate(
          { create: () => [0, 0] as [number, number], add: (a: [number, number], r: { n: number }) => [a[0] + 1, a[1] + r.n] as [number, number], result: (a) => a },
          (key, window, [count, sum]) => ({ uid: `${key}@${window.end}`, key, end: window.end, count, sum }),
          { name: 'windows' },
        )
        .collect({ name: 'out' });
      return { job, sink: sink as CollectSink<{ uid: string }> };
    },
  },
  {
    name: 'random-sampling',
    build(options) {
      const job = new Job({ ...options, name: 'verify-sampling' });
      const sink = job
        .source(sequence((n) => ({ n }), { count: COUNT, rate: RATE, partitions: 2 }), { name: 'numbers' })
        .rebalance()
        .process<{ uid: string; n: number; id: string; at: number }>(
          {
            processElement(r, ctx) {
              if (ctx.random() < 0.3) ctx.emit({ uid: String(r.n), n: r.n, id: ctx.randomUUID(), at: ctx.now() });
            },
          },
          { name: 'sample' },
        )
        .keyBy((r) => r.n % 8)
        .process<{ uid: string; n: number; id: string; at: number; rank: number }>(
          {
            processElement(r, ctx) {
              const rank = ctx.state.value<number>('rank');
              const next = (rank.value() ?? 0) + 1;
              rank.update(next);
              ctx.emit({ ...r, rank: next });
            },
          },
          { name: 'rank' },
        )
        .collect({ name: 'out' });
      return { job, sink: sink as CollectSink<{ uid: string }> };
    },
  },
  {
    name: 'external-calls',
    build(options) {
      const service = new QuoteService();
      const job = new Job({ ...options, name: 'verify-external' });
      const sink = job
        .source(sequence((n) => ({ k: n % 16, n }), { count: COUNT / 3, rate: RATE / 3, partitions: 2 }), { name: 'orders' })
        .keyBy((r) => r.k)
        .process<{ uid: string; n: number; price: number; total: number }>(
          {
            async processElement(r, ctx) {
              const price = await ctx.call('quote', () => service.quote(r.k));
              const total = ctx.state.value<number>('total');
              const next = (total.value() ?? 0) + price;
              total.update(next);
              ctx.emit({ uid: String(r.n), n: r.n, price, total: next });
            },
          },
          { name: 'price', async: true },
        )
        .collect({ name: 'out' });
      return { job, sink: sink as CollectSink<{ uid: string }> };
    },
  },
  {
    name: 'racing-inputs',
    build(options) {
      const job = new Job({ ...options, name: 'verify-racing' });
      const fast = job.source(sequence((n) => ({ k: n % 10, n, from: 'fast' }), { count: COUNT, rate: RATE, partitions: 2 }), { name: 'fast' });
      const slow = job.source(sequence((n) => ({ k: n % 10, n, from: 'slow' }), { count: COUNT / 4, rate: RATE / 4, partitions: 2 }), { name: 'slow' });
      type Arrival = { k: number; n: number; from: string };
      const sink = fast
        .connect(slow)
        .keyBy(
          (r) => r.k,
          (r) => r.k,
        )
        .process<{ uid: string; k: number; seq: number; after: string }>(
          {
            // Whatever arrives first gets the next number of its key: the output depends on arrival order.
            processElement1(r: Arrival, ctx) {
              const last = ctx.state.value<string>('last');
              const seq = ctx.state.value<number>('seq');
              const next = (seq.value() ?? 0) + 1;
              seq.update(next);
              ctx.emit({ uid: `fast:${r.n}`, k: r.k, seq: next, after: last.value() ?? '' });
              last.update(`fast:${r.n}`);
            },
            processElement2(r: Arrival, ctx) {
              const last = ctx.state.value<string>('last');
              const seq = ctx.state.value<number>('seq');
              const next = (seq.value() ?? 0) + 1;
              seq.update(next);
              ctx.emit({ uid: `slow:${r.n}`, k: r.k, seq: next, after: last.value() ?? '' });
              last.update(`slow:${r.n}`);
            },
          },
          { name: 'race' },
        )
        .collect({ name: 'out' });
      return { job, sink: sink as CollectSink<{ uid: string }> };
    },
  },
  {
    name: 'timers',
    build(options) {
      const job = new Job({ ...options, name: 'verify-timers' });
      const sink = job
        .source(sequence((n) => ({ k: n % 20, n }), { count: COUNT, rate: RATE, partitions: 2 }), { name: 'events' })
        .keyBy((r) => r.k)
        .process<{ uid: string; key: number; seen: number; late: number }>(
          {
            processElement(r, ctx) {
              const seen = ctx.state.value<number>('seen');
              seen.update((seen.value() ?? 0) + 1);
              const armed = ctx.state.value<number>('armed');
              if (armed.value() === undefined) {
                const at = ctx.now() + 3;
                armed.update(at);
                ctx.timers.registerProcessingTime(at);
              }
            },
            onTimer(timestamp, ctx) {
              const fired = ctx.state.value<number>('fired');
              const index = (fired.value() ?? 0) + 1;
              fired.update(index);
              ctx.state.value<number>('armed').clear();
              const lateness = Math.round(ctx.monotonicNow()) % 1000;
              ctx.emit({ uid: `${ctx.key}#${index}`, key: ctx.key as number, seen: ctx.state.value<number>('seen').value() ?? 0, late: lateness });
            },
          },
          { name: 'timers' },
        )
        .collect({ name: 'out' });
      return { job, sink: sink as CollectSink<{ uid: string }> };
    },
  },
  {
    name: 'captured-globals',
    build(options) {
      const job = new Job({ ...options, name: 'verify-captured' });
      const sink = job
        .source(sequence((n) => ({ n }), { count: COUNT / 3, rate: RATE / 3, partitions: 2 }), { name: 'numbers' })
        .map(
          // An existing function, unmodified, reading the globals: causal() records what they answer.
          causal((r: { n: number }) => ({
            uid: String(r.n),
            n: r.n,
            pick: Math.floor(Math.random() * 1000),
            id: crypto.randomUUID(),
            at: Date.now() - new Date().getTime(),
            precise: Math.round(performance.now()) % 10,
          })),
          { name: 'globals' },
        )
        .keyBy((r) => r.n % 8)
        .process(new Enricher() as never, { name: 'enrich', async: true })
        .collect({ name: 'out' });
      return { job, sink: sink as CollectSink<{ uid: string }> };
    },
  },
];
