/**
 * Jobs of the worker-process tests. Worker processes load this module and call `buildClusterJob` with
 * the same JSON arguments as the test did, so every job here is built from its arguments alone: nothing
 * may capture state of the test's process.
 *
 * | Job | Nondeterminism its output depends on |
 * | --- | --- |
 * | `order` | ORDER: two sources at different rates merged by a keyed two-input operator |
 * | `clock` | CLOCK, MONOTONIC_CLOCK: every record stamped with both clocks |
 * | `timer` | TIMER: processing-time windows |
 * | `random` | RANDOM_SEED: a random sample with random ids |
 * | `external` | EXTERNAL: an async `ctx.call` whose answer counts the calls made |
 * | `source` | SOURCE_POLL, SOURCE_BARRIER: paced sources, records stamped with keyed state |
 * | `sums` | ORDER, SOURCE_POLL: running sums per key, each record carrying its sum before and after |
 * | `chain` | ORDER: numbers → keyed step → keyed step → out, three stages to place across workers |
 * | `late` | RANDOM_SEED: numbers → `stamp` (a random draw and a 16 kB pad per record) → keyed `slow`, whose worker stops reading for 1.5 s at record 1,000 → out |
 */
import { CollectSink, Job, sequence, tumbling, type DataStream, type JobOptions, type KeyedProcessFunction } from '../../lib/index.js';

/** Arguments of {@link buildClusterJob}. */
export interface ClusterJobArgs {
  /** Which job. */
  job: 'order' | 'clock' | 'timer' | 'random' | 'external' | 'source' | 'sums' | 'chain' | 'late';
  /** The job's options (without `workers`: the test adds them to the coordinator's copy only). */
  options: JobOptions;
  /** Records per source (default per job). */
  count?: number;
  /** Records per second per source (default per job). */
  rate?: number;
}

/** A record of the `sums` job: its number, key, and the key's running sum before and after it. */
export interface SumRecord {
  n: number;
  key: number;
  before: number;
  after: number;
}

/** The keyed running sum of the `sums` job (and of the `--resume` job file): each record carries its sum before and after. */
export const runningSum: KeyedProcessFunction<number, number, SumRecord> = {
  processElement(n, ctx) {
    const sum = ctx.state.value<number>('sum');
    const before = sum.value() ?? 0;
    sum.update(before + n);
    ctx.emit({ n, key: ctx.key, before, after: before + n });
  },
};

/** A record of the `late` job. */
export interface LateRecord {
  n: number;
  /** The random draw `stamp` made for it. */
  draw: number;
  /** A pad of {@link LATE_PAD} characters, so that a few hundred records are megabytes on the wire. */
  pad: string;
}

/** Characters of a `late` record's pad. */
export const LATE_PAD = 16_000;
/** The record at which `slow` blocks its worker. */
export const LATE_BLOCK_AT = 1000;
/** How long it blocks it (ms). */
export const LATE_BLOCK_MS = 1500;

/** The file URL of this module (the tests pass it as `workers.module`). */
export const CLUSTER_JOBS = import.meta.url;

const numbers = (job: Job, count: number, rate: number, name = 'numbers'): DataStream<{ n: number; k: number }> =>
  job.source(sequence((n) => ({ n, k: n % 7 }), { count, rate, partitions: 2 }), { name });

/** Builds job `args.job` and returns it with its sink. */
export function buildClusterJob(args: ClusterJobArgs): { job: Job; sink: CollectSink<unknown> } {
  const job = new Job({ ...args.options, name: `cluster-${args.job}` });
  const count = args.count;
  const rate = args.rate;
  switch (args.job) {
    case 'order': {
      const fast = numbers(job, count ?? 4000, rate ?? 8000, 'fast');
      const slow = numbers(job, Math.round((count ?? 4000) / 4), Math.round((rate ?? 8000) / 4), 'slow');
      const sink = fast
        .connect(slow)
        .keyBy(
          (r) => r.k,
          (r) => r.k,
        )
        .process<string>(
          {
            processElement1(r, ctx) {
              const seq = ctx.state.value<number>('seq');
              seq.update((seq.value() ?? 0) + 1);
              ctx.emit(`${ctx.key}#${seq.value()}=fast${r.n}`);
            },
            processElement2(r, ctx) {
              const seq = ctx.state.value<number>('seq');
              seq.update((seq.value() ?? 0) + 1);
              ctx.emit(`${ctx.key}#${seq.value()}=slow${r.n}`);
            },
          },
          { name: 'merge' },
        )
        .collect({ name: 'out' });
      return { job, sink };
    }
    case 'clock': {
      const sink = numbers(job, count ?? 3000, rate ?? 6000)
        .keyBy((r) => r.k)
        .process<{ n: number; at: number; mono: number }>({ processElement: (r, ctx) => ctx.emit({ n: r.n, at: ctx.now(), mono: Math.round(ctx.monotonicNow() * 1000) }) }, { name: 'stamp' })
        .collect({ name: 'out' });
      return { job, sink };
    }
    case 'timer': {
      const sink = numbers(job, count ?? 3000, rate ?? 6000)
        .keyBy((r) => r.k)
        .window(tumbling(20, { time: 'processing' }))
        .aggregate({ create: () => 0, add: (c: number) => c + 1, result: (c: number) => c }, (k, w, c) => ({ k, end: w.end, c }), { name: 'windows' })
        .collect({ name: 'out' });
      return { job, sink };
    }
    case 'random': {
      const sink = numbers(job, count ?? 3000, rate ?? 6000)
        .rebalance()
        .process<{ n: number; id: string }>({ processElement: (r, ctx) => (ctx.random() < 0.4 ? ctx.emit({ n: r.n, id: ctx.randomUUID() }) : undefined) }, { name: 'sample' })
        .collect({ name: 'out' });
      return { job, sink };
    }
    case 'external': {
      let calls = 0;
      const sink = numbers(job, count ?? 1500, rate ?? 3000)
        .keyBy((r) => r.k)
        .process<{ n: number; quote: number }>(
          {
            async processElement(r, ctx) {
              const quote = await ctx.call('quote', async () => {
                await new Promise((resolve) => setImmediate(resolve));
                return r.n * 100 + calls++;
              });
              ctx.emit({ n: r.n, quote });
            },
          },
          { name: 'quote', async: true },
        )
        .collect({ name: 'out' });
      return { job, sink };
    }
    case 'source': {
      const sink = numbers(job, count ?? 4000, rate ?? 8000)
        .keyBy((r) => r.k)
        .process<string>(
          {
            processElement(r, ctx) {
              const c = ctx.state.value<number>('c');
              c.update((c.value() ?? 0) + 1);
              ctx.emit(`${ctx.key}:${c.value()}:${r.n}`);
            },
          },
          { name: 'count' },
        )
        .collect({ name: 'out' });
      return { job, sink };
    }
    case 'sums': {
      const sink = job
        .source(sequence((n) => n, { count: count ?? 20_000, rate: rate ?? 10_000, partitions: 2 }), { name: 'numbers' })
        .keyBy((n: number) => n % 5)
        .process<SumRecord>(runningSum, { name: 'sum' })
        .collect({ name: 'out' });
      return { job, sink };
    }
    case 'late': {
      // `slow` blocks its worker's event loop at one record: meanwhile `stamp` goes on sending (megabytes, as
      // far as credit lets it), and those frames wait in the kernel and in its worker's write queue.
      const pad = 'p'.repeat(LATE_PAD);
      const sink = job
        .source(sequence((n) => n, { count: count ?? 4000, rate: rate ?? 2000, partitions: 1 }), { name: 'numbers' })
        .rebalance()
        .process<LateRecord>({ processElement: (n, ctx) => ctx.emit({ n, draw: ctx.random(), pad }) }, { name: 'stamp' })
        .keyBy((r) => r.n % 4)
        .process<LateRecord>(
          {
            processElement(r, ctx) {
              if (r.n === LATE_BLOCK_AT) {
                const until = Date.now() + LATE_BLOCK_MS;
                while (Date.now() < until) {
                  // Busy: the worker reads no socket meanwhile.
                }
              }
              ctx.emit(r);
            },
          },
          { name: 'slow' },
        )
        .rebalance()
        .collect({ name: 'out' });
      return { job, sink };
    }
    case 'chain': {
      const step = (name: string) => ({
        processElement(r: { n: number; k: number; path: string }, ctx: { key: number; state: { value<V>(name: string): { value(): V | undefined; update(v: V): void } }; emit(r: unknown): void }) {
          const seen = ctx.state.value<number>('seen');
          seen.update((seen.value() ?? 0) + 1);
          ctx.emit({ ...r, path: `${r.path}/${name}${seen.value()}` });
        },
      });
      const sink = numbers(job, count ?? 8000, rate ?? 8000)
        .map((r) => ({ ...r, path: '' }), { name: 'start' })
        .keyBy((r) => r.k)
        .process<{ n: number; k: number; path: string }>(step('a') as never, { name: 'a' })
        .keyBy((r) => r.n % 3)
        .process<{ n: number; k: number; path: string }>(step('b') as never, { name: 'b' })
        .collect({ name: 'out' });
      return { job, sink };
    }
  }
}

/**
 * The independent check of the `sums` job, sharing no code with the runtime: every number of
 * `0..count-1` exactly once, and per key the records chain (each one's `before` is the previous one's
 * `after`, and `after = before + n`). Returns the problems found.
 */
export function checkSums(records: readonly SumRecord[], count: number): string[] {
  const problems: string[] = [];
  const seen = new Map<number, number>();
  for (const r of records) seen.set(r.n, (seen.get(r.n) ?? 0) + 1);
  for (let n = 0; n < count; n++) {
    const c = seen.get(n) ?? 0;
    if (c !== 1) problems.push(`number ${n} shown ${c} times`);
    if (problems.length > 20) return problems;
  }
  const byKey = new Map<number, SumRecord[]>();
  for (const r of records) {
    if (r.after !== r.before + r.n) problems.push(`record ${r.n}: after ${r.after} != before ${r.before} + ${r.n}`);
    if (!byKey.has(r.key)) byKey.set(r.key, []);
    byKey.get(r.key)!.push(r);
  }
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.before - b.before || a.after - b.after);
    let expect = 0;
    for (const r of list) {
      if (r.before !== expect) {
        problems.push(`key ${key}: a record starts from ${r.before}, expected ${expect} (a lost or regenerated update)`);
        break;
      }
      expect = r.after;
    }
  }
  return problems;
}
