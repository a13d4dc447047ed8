/**
 * The source connector contract.
 *
 * A source is split into partitions; each source task reads some of them. A partition is an ordered,
 * re-readable sequence of records addressed by offset, like a Kafka partition: reading the same offset
 * again returns the same record. That is what lets a task be restored from a checkpointed offset, and
 * what lets a recovering source re-read exactly what it read before.
 *
 * Times passed to a reader are on the job clock: milliseconds since the job started, as measured by
 * `performance.now()`.
 */

/** What a reader is told when it opens. */
export interface SourceContext {
  /** Index of the source task (0-based). */
  subtask: number;
  /** Number of source tasks. */
  parallelism: number;
  /** Total partitions of the source. */
  partitions: number;
}

/** Reads one partition. */
export interface PartitionReader<T> {
  /**
   * How many records could be read at `offset` now (0 when none yet). A rate-limited reader answers
   * from its schedule; a bounded reader stops at its end.
   */
  available(offset: number, now: number): number;
  /**
   * Reads `count` records starting at `offset` (count never exceeds what `available` reported) into
   * `records[at…]`, and their event timestamps (ms; NaN for none) into `timestamps[at…]`. Must return
   * the same records for the same offsets every time.
   */
  read(offset: number, count: number, records: unknown[], timestamps: Float64Array, at: number): void;
  /** Whether the partition has no record at `offset` or after (a bounded partition's end). */
  endsAt(offset: number): boolean;
  /**
   * When the record at `offset` entered the system, on the job clock, if the source knows (a
   * rate-limited generator does). Latency is measured from it. Default: the time it is read.
   */
  arrivalTime?(offset: number): number;
  /** When more records will be available, on the job clock, if `available` returned 0. */
  nextAvailableAt?(offset: number, now: number): number;
  /** Releases resources. */
  close?(): void;
}

/** A source connector. */
export interface Source<T> {
  /** Name shown in plans and errors. */
  readonly name: string;
  /** Number of partitions (fixed for the job's life). */
  partitions(): number;
  /** Opens a reader for one partition. */
  open(partition: number, context: SourceContext): PartitionReader<T>;
}
