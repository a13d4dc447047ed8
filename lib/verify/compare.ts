/**
 * The one comparison of a run's sink output with its oracle's, used by `causalflow verify`, `causalflow
 * demo` and `causalflow bench recovery`. It imports nothing: outputs are plain arrays of partitions.
 *
 * Records are compared in two ways:
 *
 * - **by identity**, as multisets over the whole sink: `identity(record)` names a record (default: the
 *   record as JSON, so two records with equal content are the same record);
 * - **by content and order**, partition by partition: the record as JSON, position by position.
 *
 * For every identity `id`, let `r` be how many times the run shows it and `o` how many times the oracle
 * does. Then, summed over identities:
 *
 * | Count | Per identity | Meaning |
 * | --- | --- | --- |
 * | `matched` | `min(r, o)` | records the run shows as often as the oracle |
 * | `duplicates` | `max(0, r - max(o, 1))` | copies beyond what the oracle shows (beyond one, for an identity the oracle lacks) |
 * | `unexpected` | `1` if `o = 0 < r`, else `0` | identities the oracle never shows, counted once each |
 * | `lost` | `max(0, o - r)` | records of the oracle the run does not show |
 *
 * so that `matched + duplicates + unexpected` is the run's record count and `matched + lost` the oracle's.
 * `divergentPartitions` counts partitions whose records differ from the oracle's in content or order
 * (a partition only one side has counts when it holds records). `firstDifference` points at the first
 * differing position, for people.
 *
 * Without an oracle (`null`: it could not follow the run's trace), only `duplicates` can be counted, and
 * only with an explicit identity that is unique in a correct output (`max(0, r - 1)`); every other count
 * is `null`, which callers must treat as a violation, never as "nothing found".
 */

/** A sink's output: its partitions, each in output order. */
export type PartitionedOutput = readonly (readonly unknown[])[];

/** Options of {@link compareOutputs}. */
export interface CompareOptions {
  /**
   * Names a record; records with one identity are one record shown several times. Default: the record
   * as JSON. Give one that is unique in a correct output (a `uid` field) to count duplicates even when
   * the oracle failed.
   */
  identity?: (record: unknown) => string;
}

/** The first position where a run's partition differs from its oracle's. */
export interface FirstDifference {
  /** Partition index. */
  partition: number;
  /** Position in the partition. */
  index: number;
  /** The run's record there, as JSON (`undefined`: the run's partition ended). */
  run: string | undefined;
  /** The oracle's record there, as JSON (`undefined`: the oracle's partition ended). */
  oracle: string | undefined;
}

/** What {@link compareOutputs} found (see the module comment for the exact definitions). */
export interface Comparison {
  /** Records the run shows. */
  records: number;
  /** Records the oracle shows (`null` without an oracle). */
  oracleRecords: number | null;
  /** Records shown as often as the oracle shows them. */
  matched: number | null;
  /** Copies shown beyond what the oracle shows; `null` when it cannot be counted. */
  duplicates: number | null;
  /** Identities the oracle never shows. */
  unexpected: number | null;
  /** Oracle records the run does not show. */
  lost: number | null;
  /** Partitions that differ from the oracle's in content or order. */
  divergentPartitions: number | null;
  /** Every partition equals the oracle's, record by record (`null` without an oracle). */
  identical: boolean | null;
  /** The first difference, or `null` when identical (or without an oracle). */
  firstDifference: FirstDifference | null;
}

const json = (record: unknown): string => JSON.stringify(record);

/** Compares a run's output with its oracle's (`null`: the oracle failed). See the module comment. */
export function compareOutputs(run: PartitionedOutput, oracle: PartitionedOutput | null, options: CompareOptions = {}): Comparison {
  const identity = options.identity ?? json;
  const runCounts = countBy(run, identity);
  const records = run.reduce((n, p) => n + p.length, 0);
  if (oracle === null) {
    let duplicates: number | null = null;
    if (options.identity !== undefined) {
      duplicates = 0;
      for (const r of runCounts.values()) duplicates += Math.max(0, r - 1);
    }
    return { records, oracleRecords: null, matched: null, duplicates, unexpected: null, lost: null, divergentPartitions: null, identical: null, firstDifference: null };
  }
  const oracleCounts = countBy(oracle, identity);
  let matched = 0;
  let duplicates = 0;
  let unexpected = 0;
  let lost = 0;
  for (const [id, r] of runCounts) {
    const o = oracleCounts.get(id) ?? 0;
    matched += Math.min(r, o);
    duplicates += Math.max(0, r - Math.max(o, 1));
    if (o === 0) unexpected++;
  }
  for (const [id, o] of oracleCounts) lost += Math.max(0, o - (runCounts.get(id) ?? 0));
  let divergentPartitions = 0;
  let firstDifference: FirstDifference | null = null;
  for (let p = 0; p < Math.max(run.length, oracle.length); p++) {
    const a = run[p] ?? [];
    const b = oracle[p] ?? [];
    const length = Math.max(a.length, b.length);
    for (let i = 0; i < length; i++) {
      const x = i < a.length ? json(a[i]) : undefined;
      const y = i < b.length ? json(b[i]) : undefined;
      if (x !== y) {
        divergentPartitions++;
        firstDifference ??= { partition: p, index: i, run: x, oracle: y };
        break;
      }
    }
  }
  return {
    records,
    oracleRecords: oracle.reduce((n, p) => n + p.length, 0),
    matched,
    duplicates,
    unexpected,
    lost,
    divergentPartitions,
    identical: divergentPartitions === 0,
    firstDifference,
  };
}

/**
 * Whether every oracle partition is a subsequence of the run's (by content): the run shows every record
 * of the final execution, in its order, plus records of executions a rollback abandoned. This is what a
 * sink that declared at-least-once since a checkpoint must still show. Returns the run's records that
 * are not part of the matched subsequence (the abandoned executions' output), per partition, or `null`
 * when some oracle record is missing or out of order.
 */
export function extraRecords(run: PartitionedOutput, oracle: PartitionedOutput): number[][] | null {
  const extras: number[][] = [];
  for (let p = 0; p < Math.max(run.length, oracle.length); p++) {
    const a = run[p] ?? [];
    const b = oracle[p] ?? [];
    const extra: number[] = [];
    let j = 0;
    for (let i = 0; i < a.length; i++) {
      if (j < b.length && json(a[i]) === json(b[j])) j++;
      else extra.push(i);
    }
    if (j < b.length) return null;
    extras.push(extra);
  }
  return extras;
}

/** One line for people: "3 duplicates, 2 lost, 1 unexpected, 1 of 2 partitions differ (first at p0#41: …)". */
export function describeComparison(c: Comparison): string {
  if (c.identical === null) return `no oracle to compare with${c.duplicates ? `; ${c.duplicates} duplicates by identity` : ''}`;
  if (c.identical) return `identical to the oracle (${c.records} records)`;
  const parts: string[] = [];
  if (c.duplicates) parts.push(`${c.duplicates} duplicates`);
  if (c.lost) parts.push(`${c.lost} oracle records missing`);
  if (c.unexpected) parts.push(`${c.unexpected} records the oracle does not have`);
  parts.push(`${c.divergentPartitions} partitions differ from the oracle`);
  const d = c.firstDifference;
  if (d) parts.push(`first at partition ${d.partition} #${d.index}: run ${clip(d.run)}, oracle ${clip(d.oracle)}`);
  return parts.join(', ');
}

/** A collecting sink's visible output, as {@link PartitionedOutput}. */
export function outputOf(sink: { readonly partitionCount: number; partition(subtask: number): readonly unknown[] }): unknown[][] {
  const out: unknown[][] = [];
  for (let p = 0; p < sink.partitionCount; p++) out.push([...sink.partition(p)]);
  return out;
}

function countBy(output: PartitionedOutput, identity: (record: unknown) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const partition of output) for (const record of partition) {
    const id = identity(record);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

function clip(line: string | undefined): string {
  if (line === undefined) return '(none)';
  return line.length > 120 ? `${line.slice(0, 120)}…` : line;
}
