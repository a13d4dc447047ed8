/**
 * What the Kafka source and sink share: validating the connection options, connecting with a
 * bounded retry, making sure a topic exists, and reading a partition backwards from its end.
 */
import { ConfigError, ConnectorError } from '../../errors.js';
import { createKafkaClient, type FetchedRecord, type IsolationLevel, type KafkaClient } from './client.js';
import { readCausalflowHeaders, type CausalflowHeaders } from './headers.js';
import { withRetry } from './retry.js';

/** Options every Kafka connector takes. */
export interface KafkaConnectionOptions {
  /** Bootstrap brokers: `host:port`, a list or a comma-separated string. */
  brokers: string | readonly string[];
  /** The topic. */
  topic: string;
  /** Client id shown by the broker (default `causalflow`). */
  clientId?: string;
  /** Connection timeout per attempt, ms (default 1000; the start gives up after 5 attempts). */
  connectTimeoutMs?: number;
}

/** Validates `brokers`; returns the list. */
export function brokerList(field: string, value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',').map((b) => b.trim()).filter(Boolean) : Array.isArray(value) ? value : null;
  if (list === null || list.length === 0 || !list.every((b) => typeof b === 'string' && /^[^\s:]+:\d{1,5}$/.test(b))) {
    throw new ConfigError(field, 'broker addresses "host:port" (a list, or a comma-separated string)', value);
  }
  return list as string[];
}

/** Validates a topic name as Kafka does (1–249 of letters, digits, `.`, `_`, `-`). */
export function topicName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[\w.-]{1,249}$/.test(value) || value === '.' || value === '..') {
    throw new ConfigError(field, 'a Kafka topic name (1-249 letters, digits, ".", "_" or "-")', value);
  }
  return value;
}

/** A connected client for `options` (rejects with `KAFKA_UNREACHABLE` after a bounded retry). */
export async function connectClient(options: KafkaConnectionOptions, role: string): Promise<KafkaClient> {
  const client = createKafkaClient({
    brokers: brokerList(`${role}.brokers`, options.brokers),
    clientId: options.clientId ?? 'causalflow',
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
  });
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
  return client;
}

/** How to create a missing topic. */
export interface AutoCreate {
  /** Partitions (default 1). */
  partitions?: number;
  /** Replication factor (default 1). */
  replicationFactor?: number;
}

/**
 * The partition count of `topic`; creates it when missing and `autoCreate` is set, else throws a
 * {@link ConfigError} naming it.
 */
export async function ensureTopic(client: KafkaClient, field: string, topic: string, autoCreate: boolean | AutoCreate | undefined): Promise<number> {
  const count = await client.partitionCount(topic);
  if (count !== null) return count;
  if (autoCreate === undefined || autoCreate === false) {
    throw new ConfigError(field, `an existing topic (or autoCreate: true to create it)`, `topic ${JSON.stringify(topic)}, which does not exist`);
  }
  const spec = autoCreate === true ? {} : autoCreate;
  const partitions = spec.partitions ?? 1;
  const replicationFactor = spec.replicationFactor ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1) throw new ConfigError(`${field}.autoCreate.partitions`, 'an integer >= 1', partitions);
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) throw new ConfigError(`${field}.autoCreate.replicationFactor`, 'an integer >= 1', replicationFactor);
  // A topic just created may not be served yet ("does not host this topic-partition"), on the create's own
  // wait for leaders or on the metadata read after it: both are retriable, and creating again is a no-op.
  return withRetry(
    async () => {
      await client.createTopic(topic, partitions, replicationFactor);
      const created = await client.partitionCount(topic);
      if (created === null) throw new ConnectorError('KAFKA_TOPIC_MISSING', `topic ${topic} was created but is not visible yet`, { retriable: true, context: { topic } });
      return created;
    },
    { what: `create topic ${topic}`, retries: 8, maxMs: 1000 },
  );
}

/** What {@link scanBackwards} hands its visitor: a record, with its causalflow headers decoded. */
export interface TailRecord {
  record: FetchedRecord;
  headers: CausalflowHeaders | null;
}

/**
 * Reads partition `partition` of `topic` backwards from its end, in windows that double (256
 * offsets, 512, …), handing records to `visit` newest first until it returns `'stop'` or the scan
 * reaches `lowerBound` (an offset below which nothing of interest lies) or the partition's start.
 */
export async function scanBackwards(
  client: KafkaClient,
  topic: string,
  partition: number,
  isolation: IsolationLevel,
  lowerBound: number,
  visit: (entry: TailRecord) => 'continue' | 'stop',
): Promise<void> {
  const [earliest, latest] = await Promise.all([client.listOffsets(topic, 'earliest', isolation), client.listOffsets(topic, 'latest', isolation)]);
  const start = Math.max(earliest[partition] ?? 0, lowerBound);
  let windowEnd = latest[partition] ?? 0;
  let size = 256;
  while (windowEnd > start) {
    const windowStart = Math.max(start, windowEnd - size);
    const records = await readRange(client, topic, partition, windowStart, windowEnd, isolation);
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records[i]!;
      if (visit({ record, headers: readCausalflowHeaders(record.headers) }) === 'stop') return;
    }
    windowEnd = windowStart;
    size *= 2;
  }
}

/** The data records of offsets [from, to) of a partition, oldest first. */
export async function readRange(client: KafkaClient, topic: string, partition: number, from: number, to: number, isolation: IsolationLevel): Promise<FetchedRecord[]> {
  const out: FetchedRecord[] = [];
  let offset = from;
  while (offset < to) {
    const [result] = await client.fetch([{ topic, partition, offset }], { isolation, maxWaitMs: 0, maxBytesPerPartition: 4 << 20 });
    if (result === undefined) break;
    for (const record of result.records) if (record.offset < to) out.push(record);
    // Nothing more below the end a read_committed fetch may see (an open transaction): stop there.
    if (result.nextOffset <= offset) break;
    offset = result.nextOffset;
  }
  return out;
}
