/**
 * `kafkaSource`: a replayable source over a Kafka topic.
 *
 * - **Partitions.** The source has one partition per Kafka partition, and the runtime gives Kafka
 *   partition *p* to source task *p mod parallelism*. Nothing joins a consumer group, so nothing
 *   rebalances: a replacement task reads exactly the partitions its predecessor read.
 * - **Offsets.** The runtime's offsets (what checkpoints store) are *indexes*: the n-th record the
 *   source accepted in the partition, counted from the start offset fixed when the source was created.
 *   Kafka offsets are not contiguous (transaction markers, aborted transactions, compaction, records
 *   the deserializer rejected), and the runtime advances by record counts, so each partition keeps an
 *   index of anchors — (index, Kafka offset) at the start and after every gap — shared by every reader
 *   of that partition in this process. A restored reader seeks to the Kafka offset of its index and
 *   refetches from there: the same offsets give the same records.
 * - **Reading.** `available`/`read` are synchronous; a fetch loop per source fills a bounded buffer per
 *   partition asynchronously (one fetch request for every partition wanting data, a short broker wait).
 *   A replaying standby re-reads exactly the recorded polls and waits while they are not fetched yet.
 * - **Bounded reads** (`end`): the partition ends at the end offset taken when the source was created
 *   (or given). So that "does index *i* end the partition?" has one answer at any time, live or in
 *   replay, the last buffered record of a bounded partition is held back until the fetch has reached the
 *   end or the next record.
 * - **Event time**: the record's Kafka timestamp, or `timestamp(message, record)`; the job's
 *   `watermarks.timestamp` overrides both. A partition quiet for `idleTimeoutMs` is declared idle and
 *   stops holding back the watermark until it yields records again (a recorded decision, replayed the
 *   same way); bounded partitions that are empty or fully read end, and never hold it back.
 * - **Rejected records**: a record `deserialize` throws on goes to the job's error policy (the
 *   dead-letter sink, with its topic, partition and offset) when the record after it is read, or with
 *   the last record of a bounded partition.
 * - **Group offsets**: when a checkpoint completes, the Kafka offsets it stored are committed to the
 *   consumer group `groupId` — only so that lag tools show progress; the job never reads them back
 *   (except `start: 'committed'`, to begin a new job where the last one stopped).
 */
import { ConfigError, ConnectorError, OperatorError } from '../../errors.js';
import { logger } from '../../util/logger.js';
import type { PartitionReader, Source, SourceContext } from '../source.js';
import type { FetchResult, IsolationLevel, KafkaClient, ReadHeaders } from './client.js';
import { connectClient, ensureTopic, topicName, type AutoCreate, type KafkaConnectionOptions } from './common.js';
import { backoffMs, isRetriable, sleep, withRetry } from './retry.js';

const log = logger('kafka-source');

/** A Kafka record as the deserializer sees it. */
export interface KafkaMessage {
  /** The topic. */
  topic: string;
  /** The Kafka partition. */
  partition: number;
  /** Kafka offset. */
  offset: number;
  /** Record timestamp, ms since the epoch. */
  timestamp: number;
  /** The key, or null. */
  key: Buffer | null;
  /** The value, or null (a tombstone). */
  value: Buffer | null;
  /** The headers. */
  headers: ReadHeaders;
}

/** Options of {@link kafkaSource}. */
export interface KafkaSourceOptions<T> extends KafkaConnectionOptions {
  /** Name shown in plans and errors (default `kafka:<topic>`). */
  name?: string;
  /** Turns a Kafka record into a stream record; throwing rejects the record (default: `JSON.parse` of the value). */
  deserialize?: (message: KafkaMessage) => T;
  /** Event time of a record, ms (default: the Kafka record timestamp). */
  timestamp?: (message: KafkaMessage, record: T) => number;
  /**
   * Where to start, fixed when the source is created: `earliest` (default), `latest`, `committed`
   * (the group's committed offsets, earliest where none), or a Kafka offset per partition.
   */
  start?: 'earliest' | 'latest' | 'committed' | readonly number[];
  /**
   * Where to end: `none` (default, unbounded), `latest` (the end offsets when the source is created),
   * or a Kafka offset (exclusive) per partition.
   */
  end?: 'none' | 'latest' | readonly number[];
  /** `read_committed` (default: records of open or aborted transactions are not read) or `read_uncommitted`. */
  isolation?: IsolationLevel;
  /** Consumer group to commit offsets to at each completed checkpoint (default `causalflow-<name>`; null for none). */
  groupId?: string | null;
  /** A partition with nothing new for this long (ms, job clock) stops holding back event time (default 10,000; Infinity: never). */
  idleTimeoutMs?: number;
  /** Create the topic when it does not exist (default: a missing topic is a `ConfigError`). */
  autoCreate?: boolean | AutoCreate;
  /** Longest the broker waits before answering a fetch with nothing, ms (default 50). */
  fetchMaxWaitMs?: number;
  /** Records buffered per partition ahead of the job (default 20,000). */
  bufferRecords?: number;
  /** Largest fetch answer per partition, bytes (default 256 KiB: a fetch is decoded in one go on the event loop). */
  maxBytesPerPartition?: number;
}

/** A rejected record waiting to be reported at a read. */
interface Rejected {
  message: KafkaMessage;
  error: unknown;
}

/**
 * The index of one partition: which Kafka offset holds the n-th accepted record. Shared by every reader
 * of the partition in this process, so a restored reader finds its place without scanning.
 */
class PartitionIndex {
  private readonly anchorIndex: number[];
  private readonly anchorOffset: number[];
  /** Accepted records indexed so far. */
  scannedIndex = 0;
  /** Kafka offsets below this are indexed (the next accepted record is at or after it). */
  scannedOffset: number;
  /** The index at which a bounded partition ends, once known. */
  endIndex: number | null = null;

  constructor(
    readonly start: number,
    /** Exclusive end offset, or Infinity. */
    readonly end: number,
  ) {
    this.anchorIndex = [0];
    this.anchorOffset = [start];
    this.scannedOffset = start;
    if (end <= start) this.endIndex = 0;
  }

  /** The Kafka offset of accepted record `index` (< scannedIndex). */
  offsetOf(index: number): number {
    let lo = 0;
    let hi = this.anchorIndex.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.anchorIndex[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.anchorOffset[lo]! + (index - this.anchorIndex[lo]!);
  }

  /**
   * Where a reader starting at `index` fetches from: just after the record before it, so that records
   * rejected between the two are seen again. Indexes not reached yet start at the scan frontier.
   */
  fetchStart(index: number): { index: number; offset: number } {
    if (index === 0) return { index: 0, offset: this.start };
    if (index > this.scannedIndex) return { index: this.scannedIndex, offset: this.scannedOffset };
    return { index, offset: this.offsetOf(index - 1) + 1 };
  }

  /** Records that accepted record `index` (the next one to index) is at Kafka `offset`. */
  extend(index: number, offset: number): void {
    if (index !== this.scannedIndex) return;
    const last = this.anchorIndex.length - 1;
    if (this.anchorOffset[last]! + (index - this.anchorIndex[last]!) !== offset) {
      this.anchorIndex.push(index);
      this.anchorOffset.push(offset);
    }
    this.scannedIndex = index + 1;
    if (offset + 1 > this.scannedOffset) this.scannedOffset = offset + 1;
  }
}

/** Records fetched in one go: indexes `first …`. */
interface Chunk {
  first: number;
  records: unknown[];
  timestamps: Float64Array;
  /** Job-clock time the fetch arrived. */
  arrival: number;
  /** Rejected records reported with the record at `first + i` (sparse). */
  rejects: Map<number, Rejected[]> | null;
}

/** Reads one partition for one source task. */
class KafkaPartitionReader<T> implements PartitionReader<T> {
  private chunks: Chunk[] = [];
  private chunkHead = 0;
  /** Index after the last buffered record. */
  private bufferedEnd = 0;
  private buffered = 0;
  /** Next index to assign, and the Kafka offset to fetch from. */
  fetchIndex = 0;
  fetchOffset = 0;
  /** Only records with an index at or above it are kept (a reader restored ahead of the index catches up). */
  private keepFrom = 0;
  private pendingRejects: Rejected[] = [];
  /** Rejected records after the last record of a bounded partition (reported with that record). */
  private endRejects: Rejected[] = [];
  started = false;
  closed = false;
  /** A fetch failure no retry cures (the offsets were deleted); the next call throws it. */
  failure: ConnectorError | null = null;
  /** Whether the last fetch found nothing beyond the data already read (the partition's end). */
  caughtUp = false;
  /** Job-clock time since which `available` found nothing, or NaN. */
  private quietSince = NaN;
  /** Job clock minus wall clock (ms), learned from the `now` the runtime passes. */
  private clockOffset = NaN;

  constructor(
    private readonly source: KafkaSource<T>,
    readonly partition: number,
    readonly index: PartitionIndex,
    private readonly context: SourceContext,
  ) {}

  available(offset: number, now: number): number {
    this.checkFailure();
    if (Number.isNaN(this.clockOffset)) this.clockOffset = now - Date.now();
    if (!this.started) this.begin(offset);
    this.dropBefore(offset);
    let end = this.bufferedEnd;
    // Bounded: the last buffered record waits until what follows it is known (see the module comment).
    if (this.index.end !== Infinity && this.index.endIndex === null && end > offset) end -= 1;
    const count = end - offset;
    if (count > 0) {
      this.quietSince = NaN;
      return count;
    }
    if (Number.isNaN(this.quietSince)) this.quietSince = now;
    return 0;
  }

  read(offset: number, count: number, records: unknown[], timestamps: Float64Array, at: number): void {
    this.checkFailure();
    this.dropBefore(offset);
    let index = offset;
    let out = at;
    let c = this.chunkHead;
    while (index < offset + count) {
      const chunk = this.chunks[c];
      if (chunk === undefined) throw new ConnectorError('KAFKA_SOURCE_STATE', `${this.source.name}[${this.partition}]: read of index ${index} beyond the buffer`, { context: { partition: this.partition, index } });
      const from = index - chunk.first;
      const take = Math.min(chunk.records.length - from, offset + count - index);
      for (let k = 0; k < take; k++) {
        if (chunk.rejects !== null) this.report(chunk.rejects.get(from + k));
        records[out] = chunk.records[from + k];
        timestamps[out] = chunk.timestamps[from + k]!;
        out++;
      }
      index += take;
      if (from + take >= chunk.records.length) c++;
    }
    if (this.index.endIndex !== null && offset + count === this.index.endIndex) this.report(this.endRejects);
    this.dropBefore(offset + count);
    this.source.wake();
  }

  describeWait(offset: number): string {
    return `fetched up to index ${this.bufferedEnd} (Kafka offset ${this.fetchOffset}, end ${this.index.end}, end index ${this.index.endIndex ?? 'unknown'}, scanned ${this.index.scannedIndex}), ${this.buffered} buffered, keeping from ${this.keepFrom}, ${this.started ? 'started' : 'not started'}${this.closed ? ', closed' : ''}${this.wantsData() ? ', wants data' : ''}${this.failure ? `, failed: ${this.failure.message}` : ''}; reading at ${offset}`;
  }

  endsAt(offset: number): boolean {
    return this.index.endIndex !== null && offset >= this.index.endIndex;
  }

  arrivalTime(offset: number): number {
    const chunk = this.chunkOf(offset);
    return chunk === null ? NaN : chunk.arrival;
  }

  nextAvailableAt(offset: number, now: number): number {
    if (this.endsAt(offset)) return Infinity;
    // The fetch loop fills the buffer asynchronously: look again soon, less often when quiet for a while.
    return now + (!Number.isNaN(this.quietSince) && now - this.quietSince > 1000 ? 20 : 2);
  }

  idle(_offset: number, now: number): boolean {
    const timeout = this.source.idleTimeoutMs;
    return timeout !== Infinity && this.caughtUp && !Number.isNaN(this.quietSince) && now - this.quietSince >= timeout;
  }

  checkpointCompleted(_checkpointId: number, offset: number): void {
    this.source.commitLater(this.partition, offset === 0 ? this.index.start : Math.min(this.index.offsetOf(offset - 1) + 1, Math.max(this.index.scannedOffset, this.index.start)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks = [];
    this.source.readerClosed(this);
  }

  /** Whether the fetch loop should fetch for this reader now. */
  wantsData(): boolean {
    return this.started && !this.closed && this.failure === null && this.buffered < this.source.bufferRecords && this.fetchOffset < this.index.end;
  }

  /** Takes a fetch result for this partition. */
  accept(result: FetchResult, arrivalWall: number): void {
    if (this.closed) return;
    const source = this.source;
    const end = this.index.end;
    let records: unknown[] | null = null;
    let timestamps: number[] | null = null;
    let rejects: Map<number, Rejected[]> | null = null;
    let first = -1;
    for (const fetched of result.records) {
      if (fetched.offset < this.fetchOffset || fetched.offset >= end) continue;
      const message: KafkaMessage = { topic: source.topic, partition: this.partition, offset: fetched.offset, timestamp: fetched.timestamp, key: fetched.key, value: fetched.value, headers: fetched.headers };
      let record: T;
      let timestamp: number;
      try {
        record = source.deserialize(message);
        timestamp = source.timestampOf(message, record);
      } catch (error) {
        this.pendingRejects.push({ message, error });
        continue;
      }
      const index = this.fetchIndex++;
      this.index.extend(index, fetched.offset);
      if (index < this.keepFrom) {
        this.pendingRejects = [];
        continue;
      }
      if (records === null) {
        records = [];
        timestamps = [];
        first = index;
      }
      if (this.pendingRejects.length > 0) {
        rejects ??= new Map();
        rejects.set(records.length, this.pendingRejects);
        this.pendingRejects = [];
      }
      records.push(record);
      timestamps!.push(timestamp);
    }
    const next = Math.min(Math.max(result.nextOffset, this.fetchOffset), end);
    this.fetchOffset = next;
    // The reader at the frontier of the index extends it over what followed the last record.
    if (this.fetchIndex === this.index.scannedIndex && next > this.index.scannedOffset) this.index.scannedOffset = next;
    if (end !== Infinity && next >= end && this.index.endIndex === null) {
      this.index.endIndex = this.fetchIndex;
      this.endRejects = this.pendingRejects;
      this.pendingRejects = [];
      if (this.fetchIndex === 0 && this.endRejects.length > 0) log.warn(`${source.name}[${this.partition}]: every record up to the end was rejected; ${this.endRejects.length} rejected records are not reported`, { partition: this.partition });
    } else if (end !== Infinity && next >= end) {
      this.endRejects = this.pendingRejects;
      this.pendingRejects = [];
    }
    this.caughtUp = next >= result.endOffset;
    if (records !== null) {
      const arrival = Number.isNaN(this.clockOffset) ? NaN : arrivalWall + this.clockOffset;
      this.chunks.push({ first, records, timestamps: Float64Array.from(timestamps!), arrival, rejects });
      this.bufferedEnd = first + records.length;
      this.buffered += records.length;
    }
  }

  /** Fails the reader: the next `available` or `read` throws. */
  fail(error: ConnectorError): void {
    this.failure = error;
  }

  private begin(offset: number): void {
    this.started = true;
    const start = this.index.fetchStart(offset);
    this.fetchIndex = start.index;
    this.fetchOffset = start.offset;
    this.keepFrom = offset;
    this.bufferedEnd = offset;
    this.source.wake();
  }

  /** Drops buffered records before `offset` (the runtime never reads them again). */
  private dropBefore(offset: number): void {
    while (this.chunkHead < this.chunks.length) {
      const chunk = this.chunks[this.chunkHead]!;
      if (chunk.first + chunk.records.length > offset) break;
      this.buffered -= chunk.records.length;
      this.chunks[this.chunkHead] = undefined as unknown as Chunk;
      this.chunkHead++;
    }
    if (this.chunkHead > 64 && this.chunkHead * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.chunkHead);
      this.chunkHead = 0;
    }
  }

  private chunkOf(offset: number): Chunk | null {
    for (let c = this.chunkHead; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      if (offset < chunk.first) return null;
      if (offset < chunk.first + chunk.records.length) return chunk;
    }
    return null;
  }

  private report(list: Rejected[] | undefined): void {
    if (list === undefined) return;
    for (const { message, error } of list) {
      const letter = { topic: message.topic, partition: message.partition, offset: message.offset, timestamp: message.timestamp, key: message.key, value: message.value };
      const cause = new ConnectorError('KAFKA_RECORD_REJECTED', `${this.source.name}: the deserializer rejected ${message.topic}[${message.partition}] offset ${message.offset}: ${error instanceof Error ? error.message : String(error)}`, {
        context: { topic: message.topic, partition: message.partition, offset: message.offset },
        cause: error,
      });
      if (this.context.reject) this.context.reject(letter, cause);
      else throw new OperatorError(this.source.name, this.context.subtask, cause);
    }
  }

  private checkFailure(): void {
    if (this.failure !== null) throw new OperatorError(this.source.name, this.context.subtask, this.failure);
  }
}

/**
 * A Kafka source (see the module comment). Created by {@link kafkaSource}; give it to `job.source()`.
 * Call {@link KafkaSource.close} when done with it (it also closes by itself once every reader closed).
 */
export class KafkaSource<T> implements Source<T> {
  /** {@inheritDoc Source.name} */
  readonly name: string;
  /** The topic. */
  readonly topic: string;
  /** Kafka offsets where reading starts, per partition. */
  readonly startOffsets: readonly number[];
  /** Exclusive end offsets per partition (Infinity: unbounded). */
  readonly endOffsets: readonly number[];
  /** Consumer group offsets are committed to, or null. */
  readonly groupId: string | null;
  /** See {@link KafkaSourceOptions.idleTimeoutMs}. */
  readonly idleTimeoutMs: number;
  /** See {@link KafkaSourceOptions.bufferRecords}. */
  readonly bufferRecords: number;
  private readonly indexes: PartitionIndex[];
  private readonly readers = new Map<number, KafkaPartitionReader<T>>();
  private readonly isolation: IsolationLevel;
  private readonly fetchMaxWaitMs: number;
  private readonly maxBytesPerPartition: number;
  private connection: Promise<KafkaClient> | null;
  private fetching: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private closed = false;
  private readonly pendingCommits = new Map<number, number>();
  private committing: Promise<void> | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly deserializeFn: (message: KafkaMessage) => T;
  private readonly timestampFn: ((message: KafkaMessage, record: T) => number) | null;

  /** @internal Use {@link kafkaSource}. */
  constructor(
    private readonly options: KafkaSourceOptions<T>,
    client: KafkaClient,
    starts: number[],
    ends: number[],
  ) {
    this.topic = options.topic;
    this.name = options.name ?? `kafka:${options.topic}`;
    this.startOffsets = starts;
    this.endOffsets = ends;
    this.groupId = options.groupId === undefined ? `causalflow-${this.name.replace(/[^\w.-]/g, '_')}` : options.groupId;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
    this.bufferRecords = options.bufferRecords ?? 20_000;
    this.isolation = options.isolation ?? 'read_committed';
    this.fetchMaxWaitMs = options.fetchMaxWaitMs ?? 50;
    this.maxBytesPerPartition = options.maxBytesPerPartition ?? 256 << 10;
    this.deserializeFn = options.deserialize ?? ((message) => JSON.parse(message.value === null ? 'null' : message.value.toString('utf8')) as T);
    this.timestampFn = options.timestamp ?? null;
    this.indexes = starts.map((start, p) => new PartitionIndex(start, ends[p]!));
    this.connection = Promise.resolve(client);
  }

  /** {@inheritDoc Source.partitions} */
  partitions(): number {
    return this.indexes.length;
  }

  /** {@inheritDoc Source.open} */
  open(partition: number, context: SourceContext): PartitionReader<T> {
    if (this.closed) throw new ConnectorError('KAFKA_SOURCE_CLOSED', `${this.name} was closed`, { context: { topic: this.topic } });
    const index = this.indexes[partition];
    if (index === undefined) throw new ConfigError(`${this.name}.partition`, `a partition from 0 to ${this.indexes.length - 1}`, partition);
    // A replacement task opens the partition again: its predecessor's reader is dead.
    this.readers.get(partition)?.close();
    const reader = new KafkaPartitionReader<T>(this, partition, index, context);
    this.readers.set(partition, reader);
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    return reader;
  }

  /** Closes the readers and the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const reader of [...this.readers.values()]) reader.close();
    await this.committing;
    this.closed = true;
    this.wakeUp?.();
    await this.fetching;
    await this.disconnect();
  }

  /**
   * @internal Bounded partitions whose range holds no record the deserializer accepts end at index 0,
   * which must be known before the job opens them (`endsAt(0)` is asked synchronously at open).
   */
  async findEmptyPartitions(client: KafkaClient): Promise<void> {
    await Promise.all(
      this.indexes.map(async (index, partition) => {
        if (index.end === Infinity || index.endIndex !== null) return;
        let offset = index.start;
        while (offset < index.end) {
          const [result] = await withRetry(() => client.fetch([{ topic: this.topic, partition, offset }], { isolation: this.isolation, maxWaitMs: 0, maxBytesPerPartition: this.maxBytesPerPartition }), {
            what: `fetch ${this.topic}[${partition}]`,
            log,
          });
          if (result === undefined) return;
          for (const record of result.records) {
            if (record.offset < offset || record.offset >= index.end) continue;
            const message: KafkaMessage = { topic: this.topic, partition, offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers };
            try {
              this.timestampOf(message, this.deserialize(message));
              return;
            } catch {
              // rejected: look further
            }
          }
          // The range is not all written yet (end offsets ahead of the data): it is not known to be empty.
          if (result.nextOffset <= offset) return;
          offset = result.nextOffset;
        }
        index.endIndex = 0;
      }),
    );
  }

  /** @internal Deserializes a message. */
  deserialize(message: KafkaMessage): T {
    return this.deserializeFn(message);
  }

  /** @internal Event time of a message. */
  timestampOf(message: KafkaMessage, record: T): number {
    const ts = this.timestampFn === null ? message.timestamp : this.timestampFn(message, record);
    if (typeof ts !== 'number' || Number.isNaN(ts)) throw new Error(`timestamp of offset ${message.offset} is ${String(ts)}, not a number`);
    return ts;
  }

  /** @internal A reader wants data: make sure the fetch loop runs. */
  wake(): void {
    if (this.closed) return;
    if (this.wakeUp !== null) {
      const wake = this.wakeUp;
      this.wakeUp = null;
      wake();
    }
    if (this.fetching === null) {
      this.fetching = this.fetchLoop().finally(() => (this.fetching = null));
    }
  }

  /** @internal A reader closed: once none is open, the connections close (so that the process can exit). */
  readerClosed(reader: KafkaPartitionReader<T>): void {
    if (this.readers.get(reader.partition) === reader) this.readers.delete(reader.partition);
    if (this.readers.size > 0 || this.idleTimer !== null || this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.readers.size > 0 || this.closed) return;
      void (async () => {
        await this.committing;
        if (this.readers.size === 0) await this.disconnect();
      })();
    }, 1000);
    this.idleTimer.unref();
  }

  /** @internal Commits `offset` for `partition` to the group soon (batched with the other partitions). */
  commitLater(partition: number, offset: number): void {
    if (this.groupId === null || this.closed) return;
    this.pendingCommits.set(partition, offset);
    if (this.committing !== null) return;
    this.committing = (async () => {
      await sleep(0);
      while (this.pendingCommits.size > 0 && !this.closed) {
        const offsets = [...this.pendingCommits].map(([p, o]) => ({ partition: p, offset: o }));
        this.pendingCommits.clear();
        try {
          const client = await this.client();
          await client.commitOffsets(this.groupId!, this.topic, offsets);
        } catch (error) {
          // Informational only (lag tools): the next checkpoint commits again.
          log.debug(`${this.name}: committing offsets to group ${this.groupId} failed`, { error: error instanceof Error ? error.message : String(error) });
        }
      }
    })().finally(() => (this.committing = null));
  }

  private client(): Promise<KafkaClient> {
    if (this.closed) return Promise.reject(new ConnectorError('KAFKA_SOURCE_CLOSED', `${this.name} was closed`, { context: { topic: this.topic } }));
    this.connection ??= connectClient(this.options, 'kafkaSource').catch((error: unknown) => {
      this.connection = null;
      throw error;
    });
    return this.connection;
  }

  private async disconnect(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (connection) await (await connection.catch(() => null))?.close();
  }

  /** Fetches for every reader that wants data, until none does; retries at this edge (a broker restart pauses it). */
  private async fetchLoop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const wanting = [...this.readers.values()].filter((r) => r.wantsData());
      if (wanting.length === 0) {
        // Sleep until a reader wants data (it calls wake()), or briefly, to notice freed buffer space.
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          setTimeout(resolve, 100).unref();
        });
        this.wakeUp = null;
        if ([...this.readers.values()].every((r) => !r.wantsData()) && this.readers.size === 0) return;
        continue;
      }
      try {
        const client = await this.client();
        const results = await client.fetch(
          wanting.map((r) => ({ topic: this.topic, partition: r.partition, offset: r.fetchOffset })),
          { isolation: this.isolation, maxWaitMs: this.fetchMaxWaitMs, maxBytesPerPartition: this.maxBytesPerPartition },
        );
        const arrival = Date.now();
        for (const result of results) {
          const reader = this.readers.get(result.partition);
          if (reader && wanting.includes(reader)) reader.accept(result, arrival);
        }
        failures = 0;
      } catch (error) {
        if (this.closed) return;
        if (error instanceof ConnectorError && error.code === 'KAFKA_OFFSET_OUT_OF_RANGE') {
          const partition = Number(error.context.partition);
          this.readers.get(partition)?.fail(error);
          log.error(`${this.name}: ${error.message}`);
          continue;
        }
        if (!isRetriable(error) && !(error instanceof ConnectorError)) log.warn(`${this.name}: fetch failed`, { error: error instanceof Error ? error.message : String(error) });
        failures++;
        log.log(failures < 4 ? 'debug' : 'warn', `${this.name}: fetch failed, retrying`, { attempt: failures, error: error instanceof Error ? error.message : String(error) });
        await sleep(backoffMs(Math.min(failures - 1, 6), { maxMs: 1000 }));
      }
    }
  }
}

function offsetsOption(field: string, value: readonly number[], partitions: number): number[] {
  if (value.length !== partitions || !value.every((v) => Number.isSafeInteger(v) && v >= 0)) {
    throw new ConfigError(field, `${partitions} Kafka offsets (integers >= 0), one per partition`, value);
  }
  return [...value];
}

/**
 * A Kafka source for `options.topic`. Connects first (a bounded retry: an unreachable broker rejects
 * with a `ConnectorError` of code `KAFKA_UNREACHABLE`), checks that the topic exists (a `ConfigError`
 * naming it otherwise, unless `autoCreate`), and fixes where each partition starts (and ends).
 *
 * ```ts
 * const orders = await kafkaSource<Order>({ brokers: 'localhost:9092', topic: 'orders' });
 * job.source(orders, { watermarks: { maxOutOfOrdernessMs: 500 } });
 * ```
 */
export async function kafkaSource<T = unknown>(options: KafkaSourceOptions<T>): Promise<KafkaSource<T>> {
  if (options === null || typeof options !== 'object') throw new ConfigError('kafkaSource', 'an options object', options);
  const topic = topicName('kafkaSource.topic', options.topic);
  for (const field of ['deserialize', 'timestamp'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'function') throw new ConfigError(`kafkaSource.${field}`, 'a function', options[field]);
  }
  if (options.isolation !== undefined && options.isolation !== 'read_committed' && options.isolation !== 'read_uncommitted') {
    throw new ConfigError('kafkaSource.isolation', '"read_committed" or "read_uncommitted"', options.isolation);
  }
  const positive = (field: keyof KafkaSourceOptions<T>, min: number) => {
    const v = options[field];
    if (v !== undefined && !(typeof v === 'number' && v >= min)) throw new ConfigError(`kafkaSource.${field}`, `a number >= ${min}`, v);
  };
  positive('idleTimeoutMs', 1);
  positive('fetchMaxWaitMs', 0);
  positive('bufferRecords', 1);
  positive('maxBytesPerPartition', 1024);
  if (options.groupId !== undefined && options.groupId !== null && (typeof options.groupId !== 'string' || options.groupId.length === 0)) throw new ConfigError('kafkaSource.groupId', 'a non-empty string or null', options.groupId);
  const start = options.start ?? 'earliest';
  if (!Array.isArray(start) && start !== 'earliest' && start !== 'latest' && start !== 'committed') throw new ConfigError('kafkaSource.start', '"earliest", "latest", "committed" or an offset per partition', start);
  const end = options.end ?? 'none';
  if (!Array.isArray(end) && end !== 'none' && end !== 'latest') throw new ConfigError('kafkaSource.end', '"none", "latest" or an offset per partition', end);
  const client = await connectClient(options, 'kafkaSource');
  try {
    const partitions = await ensureTopic(client, 'kafkaSource.topic', topic, options.autoCreate);
    const isolation = options.isolation ?? 'read_committed';
    const earliest = await withRetry(() => client.listOffsets(topic, 'earliest', isolation), { what: `list offsets of ${topic}`, log });
    let starts: number[];
    if (Array.isArray(start)) starts = offsetsOption('kafkaSource.start', start, partitions);
    else if (start === 'latest') starts = await withRetry(() => client.listOffsets(topic, 'latest', isolation), { what: `list offsets of ${topic}`, log });
    else if (start === 'committed') {
      const groupId = options.groupId ?? `causalflow-${(options.name ?? `kafka:${topic}`).replace(/[^\w.-]/g, '_')}`;
      const committed = await client.committedOffsets(groupId, topic, partitions);
      starts = committed.map((o, p) => o ?? earliest[p]!);
    } else starts = earliest;
    let ends: number[];
    if (Array.isArray(end)) ends = offsetsOption('kafkaSource.end', end, partitions);
    else if (end === 'latest') ends = await withRetry(() => client.listOffsets(topic, 'latest', isolation), { what: `list offsets of ${topic}`, log });
    else ends = starts.map(() => Infinity);
    const source = new KafkaSource<T>(options, client, starts, ends);
    await source.findEmptyPartitions(client);
    return source;
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
}
