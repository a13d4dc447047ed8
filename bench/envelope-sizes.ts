/**
 * What the runtime really ships: the sizes of the determinant envelopes a Nexmark query's tasks attach to
 * their batches (and write for their sink partitions) under `exactly-once`, read off a short embedded run.
 * `bench determinants` times delta shipping at these sizes; this tells which sizes those are.
 *
 * It wraps `DeltaShipper.prototype.writeDelta` for the run (every task's `TaskLog` ships through it) and
 * records each non-empty envelope's length; the wrapper is removed before it returns. Run it with
 * `npx tsx bench/envelope-sizes.ts [q1|q3|q8] [seconds]`.
 */
import { pathToFileURL } from 'node:url';
import { DeltaShipper, type GrowableBytes } from '../determinants/index.js';
import { measureRun, median, round } from './harness.js';
import type { QueryId } from './nexmark/queries.js';

/** Envelope sizes one run shipped. */
export interface EnvelopeSizes {
  query: QueryId;
  dsd: number;
  /** Envelopes with something in them. */
  envelopes: number;
  /** Calls that had nothing new to ship (a batch without a new determinant). */
  empty: number;
  /** Bytes per non-empty envelope: median, 10th and 90th percentile, mean. */
  medianBytes: number;
  p10Bytes: number;
  p90Bytes: number;
  meanBytes: number;
}

/** Runs `query` embedded in `exactly-once` at `rate` for `measureMs` and records every envelope its tasks ship. */
export async function measureEnvelopeSizes(options: { query: QueryId; dsd?: number; rate: number; measureMs: number; parallelism?: number }): Promise<EnvelopeSizes> {
  const sizes: number[] = [];
  let empty = 0;
  const original = DeltaShipper.prototype.writeDelta;
  DeltaShipper.prototype.writeDelta = function (this: DeltaShipper, consumer: number, out: GrowableBytes): number {
    const length = original.call(this, consumer, out);
    if (length > 0) sizes.push(length);
    else empty++;
    return length;
  };
  try {
    const dsd = options.dsd ?? 1;
    await measureRun({ query: options.query, mode: 'exactly-once', dsd, parallelism: options.parallelism ?? 2, rate: options.rate, checkpointIntervalMs: 1000, warmupMs: 500, measureMs: options.measureMs });
    const sorted = [...sizes].sort((a, b) => a - b);
    const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    return {
      query: options.query,
      dsd,
      envelopes: sizes.length,
      empty,
      medianBytes: sizes.length > 0 ? median(sizes) : 0,
      p10Bytes: at(0.1),
      p90Bytes: at(0.9),
      meanBytes: sizes.length > 0 ? round(sizes.reduce((a, b) => a + b, 0) / sizes.length) : 0,
    };
  } finally {
    DeltaShipper.prototype.writeDelta = original;
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const query = (process.argv[2] ?? 'q3') as QueryId;
  const seconds = Number(process.argv[3] ?? 3);
  for (const rate of [20_000, 200_000]) {
    process.stdout.write(`${JSON.stringify({ rate, ...(await measureEnvelopeSizes({ query, rate, measureMs: seconds * 1000 })) })}\n`);
  }
}
