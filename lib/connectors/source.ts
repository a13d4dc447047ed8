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
  /**
   * Hands a record the source cannot turn into a stream element (its deserializer rejected it) to the
   * job's error policy: under `errors.policy: 'dead-letter'` it goes to the dead-letter sink and the
   * call returns; under `fail` the call throws and the task fails. Call it only from `read`, for
   * records tied to the offsets read, so that a replay of the same reads makes the same calls.
   */
  reject?(record: unknown, error: unknown): void;
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
  /**
   * Asked when `available(offset)` is 0: whether the partition has been quiet long enough to stop
   * holding back event time. When true, the driver records the decision (an empty SOURCE_POLL, so a
   * replay makes it at the same place) and leaves the partition out of the watermark until it yields
   * records again. Default: never idle.
   */
  idle?(offset: number, now: number): boolean;
  /**
   * Checkpoint `checkpointId`, which stored `offset` as this partition's position, completed: nothing
   * before `offset` will be read again. For bookkeeping outside the job (a Kafka source commits it to a
   * consumer group so that lag tools show progress); the job does not depend on it.
   */
  checkpointCompleted?(checkpointId: number, offset: number): void;
  /**
   * What the reader waits for at `offset`, in words, for the stall report (a replay that waits for a
   * recorded poll's records names what the source has fetched). Never changes anything.
   */
  describeWait?(offset: number): string;
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
