/**
 * `compareOutputs` (`lib/verify/compare.ts`) for outputs whose records are numbers: the record hashes a
 * recovery run's sink keeps with `recordHashes` (`record-hash.ts`). The same counts, by the same
 * definitions, from sorted copies rather than a Map of each record's JSON: Q1 outputs nearly a record per
 * event, and a Map holds at most 2^24 keys, which a failure run of 10 s at 2 M events/s passes.
 */
import type { Comparison, PartitionedOutput } from '../lib/verify/compare.js';

/** Compares a run's hashes with its oracle's (`null`: the oracle failed), as `compareOutputs` does records. */
export function compareHashOutputs(run: PartitionedOutput, oracle: PartitionedOutput | null): Comparison {
  const records = countOf(run);
  if (oracle === null) {
    // Hashes have no identity beyond their value, which may repeat in a correct output: nothing to count.
    return { records, oracleRecords: null, matched: null, duplicates: null, unexpected: null, lost: null, divergentPartitions: null, identical: null, firstDifference: null };
  }
  const a = sortedHashes(run);
  const b = sortedHashes(oracle);
  let matched = 0;
  let duplicates = 0;
  let unexpected = 0;
  let lost = 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // The next value, and how often each side holds it (r and o of the module comment of compare.ts).
    const value = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    let r = 0;
    let o = 0;
    while (i < a.length && a[i] === value) {
      r++;
      i++;
    }
    while (j < b.length && b[j] === value) {
      o++;
      j++;
    }
    matched += Math.min(r, o);
    duplicates += Math.max(0, r - Math.max(o, 1));
    if (o === 0 && r > 0) unexpected++;
    lost += Math.max(0, o - r);
  }
  let divergentPartitions = 0;
  let firstDifference: Comparison['firstDifference'] = null;
  for (let p = 0; p < Math.max(run.length, oracle.length); p++) {
    const x = run[p] ?? [];
    const y = oracle[p] ?? [];
    for (let k = 0; k < Math.max(x.length, y.length); k++) {
      if (k < x.length && k < y.length && x[k] === y[k]) continue;
      divergentPartitions++;
      firstDifference ??= { partition: p, index: k, run: k < x.length ? JSON.stringify(x[k]) : undefined, oracle: k < y.length ? JSON.stringify(y[k]) : undefined };
      break;
    }
  }
  return { records, oracleRecords: b.length, matched, duplicates, unexpected, lost, divergentPartitions, identical: divergentPartitions === 0, firstDifference };
}

function countOf(output: PartitionedOutput): number {
  let n = 0;
  for (const partition of output) n += partition.length;
  return n;
}

function sortedHashes(output: PartitionedOutput): Float64Array {
  const hashes = new Float64Array(countOf(output));
  let at = 0;
  for (const partition of output) {
    for (const hash of partition) {
      if (typeof hash !== 'number') throw new TypeError(`compareHashOutputs: a record is not a hash: ${JSON.stringify(hash)}`);
      hashes[at++] = hash;
    }
  }
  return hashes.sort();
}
