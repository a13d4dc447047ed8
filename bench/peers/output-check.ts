/**
 * Duplicates and lost of the Flink peer's committed output, against what the TypeScript query outputs for
 * the same events. Q1 outputs nearly one record per event, millions per run, so both sides are compared
 * as sorted multisets of 52-bit line hashes ({@link lineHash}, the same function as `Recorder.lineHash`
 * in the Java peer) rather than as strings.
 */
import { rmSync } from 'node:fs';
import { Job } from '../../lib/index.js';
import { nexmarkSource } from '../nexmark/source.js';
import { QUERIES, type QueryId } from '../nexmark/queries.js';
import { BENCH_EVENT_RATE } from '../worker-job.js';
import { lineHash } from '../line-hash.js';

export { lineHash };

/** The hashes of what the TypeScript query outputs for events 0 … events − 1 (embedded, no failure), ascending. */
export async function expectedHashes(query: QueryId, events: number, parallelism: number, directory: string): Promise<Float64Array> {
  const job = new Job({ name: `bench-peers-expected-${query}`, parallelism, directory, recovery: { mode: 'none', checkpointIntervalMs: 1000 } });
  const source = job.source(nexmarkSource({ partitions: parallelism, eventRate: BENCH_EVENT_RATE, maxEvents: events }), { watermarks: {} });
  // The same line the Java query prints: the result object as JSON.stringify prints it.
  const sink = QUERIES[query]
    .build(source)
    .map((record: unknown) => lineHash(JSON.stringify(record)), { name: 'peers-line-hash' })
    .collect({ name: 'peers-expected' });
  try {
    const handle = await job.start();
    await handle.done;
    let total = 0;
    for (let p = 0; p < sink.partitionCount; p++) total += sink.partition(p).length;
    const hashes = new Float64Array(total);
    let at = 0;
    for (let p = 0; p < sink.partitionCount; p++) for (const hash of sink.partition(p)) hashes[at++] = hash;
    return hashes.sort();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/**
 * Parses the Java peer's `<run>.hashes` file (one decimal hash a line, ascending) from its bytes: tens of
 * millions of lines are more than one JavaScript string holds (about 2^29 characters).
 */
export function parseHashes(bytes: Uint8Array): Float64Array {
  let lines = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) lines++;
  if (bytes.length > 0 && bytes[bytes.length - 1] !== 10) lines++;
  const hashes = new Float64Array(lines);
  let count = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const byte = i < bytes.length ? bytes[i]! : 10;
    if (byte === 10) {
      if (digits > 0) hashes[count++] = value;
      value = 0;
      digits = 0;
    } else if (byte >= 48 && byte <= 57 && digits < 16) {
      value = value * 10 + (byte - 48);
      digits++;
    } else if (byte !== 13) {
      throw new Error(`the Flink peer's hashes file has a malformed line near byte ${i} (a 52-bit decimal hash a line expected)`);
    }
  }
  return hashes.subarray(0, count).sort();
}

/** Copies in `actual` beyond those in `expected` (duplicates), and copies of `expected` missing from `actual` (lost); both sorted. */
export function compareHashes(actual: Float64Array, expected: Float64Array): { duplicates: number; lost: number } {
  let duplicates = 0;
  let lost = 0;
  let i = 0;
  let j = 0;
  while (i < actual.length || j < expected.length) {
    if (j >= expected.length || (i < actual.length && actual[i]! < expected[j]!)) {
      duplicates++; // a record the query never outputs counts as a duplicate of nothing: extra output all the same
      i++;
    } else if (i >= actual.length || expected[j]! < actual[i]!) {
      lost++;
      j++;
    } else {
      i++;
      j++;
    }
  }
  return { duplicates, lost };
}
