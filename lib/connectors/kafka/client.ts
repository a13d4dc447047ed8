/**
 * What the Kafka connectors need from a Kafka client, and nothing more. The connectors (`source.ts`,
 * `sink.ts`) import only this file; `kafkajs.ts` implements it with kafkajs 2.2.4. Swapping the client
 * (for example to `@platformatic/kafka`) means writing one more implementation of
 * {@link KafkaClient} and changing {@link createKafkaClient}'s import — nothing else.
 *
 * Offsets are plain numbers: Kafka offsets are 63-bit, and numbers count exactly up to 2^53, which a
 * partition does not reach (10^6 records a second for 285 years).
 */

/** How to reach a cluster. */
export interface KafkaClientOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** Client id shown in the broker's logs and metrics. */
  clientId: string;
  /** Connection timeout per attempt, ms (default 1000). */
  connectTimeoutMs?: number;
  /** Request timeout, ms (default 30,000). */
  requestTimeoutMs?: number;
}

/** Which records a fetch or an offset lookup sees. */
export type IsolationLevel = 'read_committed' | 'read_uncommitted';

/** Header values as read back (Kafka allows a key more than once). */
export type ReadHeaders = Record<string, Buffer | Buffer[] | undefined>;

/** A record read from a partition. */
export interface FetchedRecord {
  /** Its offset in the partition. */
  offset: number;
  /** Its timestamp (create time or log-append time), ms since the epoch. */
  timestamp: number;
  /** Its key, or null. */
  key: Buffer | null;
  /** Its value, or null. */
  value: Buffer | null;
  /** Its headers. */
  headers: ReadHeaders;
}

/** One partition to fetch from. */
export interface FetchRequest {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** First offset wanted. */
  offset: number;
}

/** What a fetch returned for one partition. */
export interface FetchResult {
  /** The topic. */
  topic: string;
  /** The partition. */
  partition: number;
  /** Data records at or after the requested offset, in offset order; control records and aborted transactions left out. */
  records: FetchedRecord[];
  /**
   * Where the next fetch starts: one past the last offset this fetch covered, control records
   * included. Equal to the requested offset when nothing new was there yet.
   */
  nextOffset: number;
  /** The partition's high watermark (read_uncommitted) or last stable offset (read_committed) at the fetch. */
  endOffset: number;
}

/** Options of a fetch. */
export interface FetchOptions {
  /** Which records the fetch sees. */
  isolation: IsolationLevel;
  /** Longest the broker may wait for data before answering empty, ms. */
  maxWaitMs: number;
  /** Largest answer per partition, bytes. */
  maxBytesPerPartition: number;
}

/** A record to produce. */
export interface OutgoingRecord {
  /** The key, or null. */
  key: Buffer | string | null;
  /** The value, or null. */
  value: Buffer | string | null;
  /** The headers. */
  headers: Record<string, Buffer | string>;
}

/** An idempotent producer: the broker drops duplicates of its own retries. */
export interface IdempotentProducer {
  /** Appends `records` to one partition, in order, as one batch; resolves once the broker has them (acks=all). */
  send(topic: string, partition: number, records: OutgoingRecord[]): Promise<void>;
  /** Closes the producer's connections. */
  close(): Promise<void>;
}

/** A transactional producer: one open transaction at a time. */
export interface TransactionalProducer {
  /** Opens a transaction (the producer's previous one must have ended). */
  begin(): Promise<void>;
  /** Appends to one partition inside the open transaction. */
  send(topic: string, partition: number, records: OutgoingRecord[]): Promise<void>;
  /** Commits the open transaction: its records become visible to read_committed consumers. */
  commit(): Promise<void>;
  /** Aborts the open transaction: read_committed consumers never see its records. */
  abort(): Promise<void>;
  /** Closes the producer's connections. */
  close(): Promise<void>;
}

/** The operations the connectors use. */
export interface KafkaClient {
  /** Connects, retrying a bounded number of times; rejects with `KAFKA_UNREACHABLE` when it cannot. */
  connect(): Promise<void>;
  /** Number of partitions of `topic`, or null when it does not exist. */
  partitionCount(topic: string): Promise<number | null>;
  /** Creates `topic` (no error when it exists already); resolves once every partition has a leader. */
  createTopic(topic: string, partitions: number, replicationFactor: number): Promise<void>;
  /**
   * Per partition, the earliest offset or the end offset (high watermark, or last stable offset
   * under read_committed), indexed by partition.
   */
  listOffsets(topic: string, which: 'earliest' | 'latest', isolation: IsolationLevel): Promise<number[]>;
  /** Reads records from several partitions at once. */
  fetch(requests: readonly FetchRequest[], options: FetchOptions): Promise<FetchResult[]>;
  /** Offsets committed by consumer group `groupId` for `topic`, per partition (null where none). */
  committedOffsets(groupId: string, topic: string, partitions: number): Promise<(number | null)[]>;
  /** Commits offsets for a group that has no members (the connectors never join groups). */
  commitOffsets(groupId: string, topic: string, offsets: readonly { partition: number; offset: number }[]): Promise<void>;
  /** A new idempotent producer (connected). */
  idempotentProducer(): Promise<IdempotentProducer>;
  /** A new transactional producer for `transactionalId` (connected; fences older producers of that id). */
  transactionalProducer(transactionalId: string, transactionTimeoutMs: number): Promise<TransactionalProducer>;
  /** Closes every connection of the client. */
  close(): Promise<void>;
}

/** The client implementation the connectors use (the one line to change when swapping clients). */
export { createKafkajsClient as createKafkaClient } from './kafkajs.js';
