/**
 * The {@link KafkaClient} over kafkajs 2.2.4 (pinned exactly: fetching uses two of its internals).
 *
 * - Producing, transactions and topic administration use kafkajs' public API.
 * - Fetching does not: kafkajs' consumer always joins a consumer group and rebalances, while the
 *   source assigns partitions itself and reads them at offsets it chooses (a standby re-reads from a
 *   checkpointed offset). So fetches go through the client's own cluster object (`Broker.fetch`, the
 *   protocol-level request) with a short wait, and group offsets are committed with `OffsetCommit` as
 *   a member-less group. Both are reached through kafkajs' private `createCluster`, looked up by its
 *   symbol's description; a kafkajs upgrade must re-check them (see `docs/decisions.md`).
 * - kafkajs' logs go to the project logger. kafkajs reports retriable protocol errors (coordinator
 *   loading or moving, leader elections) and dropped connections at ERROR, although it retries them;
 *   they are demoted to debug, because the connectors retry at their edges and warn when that lasts.
 */
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaType, LogEntry, Producer, Transaction } from 'kafkajs';
import { ConnectorError } from '../../errors.js';
import { logger as projectLogger, type LogLevel } from '../../util/logger.js';
import type {
  FetchOptions,
  FetchRequest,
  FetchResult,
  FetchedRecord,
  IdempotentProducer,
  IsolationLevel,
  KafkaClient,
  KafkaClientOptions,
  OutgoingRecord,
  ReadHeaders,
  TransactionalProducer,
} from './client.js';
import { withRetry } from './retry.js';

const { Kafka, logLevel } = kafkajs;
const require = createRequire(import.meta.url);
/** kafkajs' filter of records that belong to aborted transactions (read_committed). */
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages.js') as (input: { messages: RawMessage[]; abortedTransactions: unknown[] }) => RawMessage[];

const log = projectLogger('kafka');

/** kafkajs' message as decoded from a fetch response. */
interface RawMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[] | undefined>;
  isControlRecord: boolean;
  batchContext: unknown;
}

/** The parts of kafkajs' internal broker object used here. */
interface InternalBroker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{
    responses: {
      topicName: string;
      partitions: { partition: number; highWatermark: string; lastStableOffset: string; abortedTransactions: unknown[]; messages: RawMessage[] }[];
    }[];
  }>;
  listOffsets(request: { replicaId?: number; isolationLevel: number; topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[] }): Promise<{
    responses: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }>;
  offsetCommit(request: { groupId: string; groupGenerationId: number; memberId: string; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<unknown>;
  offsetFetch(request: { groupId: string; topics: { topic: string; partitions: { partition: number }[] }[] }): Promise<{
    responses: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }>;
}

/** The parts of kafkajs' internal cluster object used here. */
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
  findBroker(options: { nodeId: string }): Promise<InternalBroker>;
  findGroupCoordinator(options: { groupId: string }): Promise<InternalBroker>;
}

/** Maps a kafkajs log entry to a level of ours. */
function levelOf(entry: LogEntry): LogLevel {
  switch (entry.level) {
    case logLevel.ERROR: {
      const error = String((entry.log as { error?: unknown }).error ?? '');
      const text = `${entry.log.message} ${error}`;
      // Retriable protocol errors, and connections a restarting broker dropped: kafkajs retries them.
      if ((entry.log as { retriable?: unknown }).retriable === true || isRetriableText(text)) return 'debug';
      return 'error';
    }
    case logLevel.WARN:
      return 'warn';
    case logLevel.INFO:
      return 'debug';
    default:
      return 'debug';
  }
}

/** Messages of the protocol errors kafkajs itself retries (its error table marks them `retriable`). */
const RETRIABLE_MESSAGES: ReadonlySet<string> = new Set(
  (require('kafkajs/src/protocol/error.js') as { errorCodes: { message: string; retriable: boolean }[] }).errorCodes.filter((e) => e.retriable).map((e) => e.message),
);

/** Connection loss, which kafkajs reports at ERROR and then reconnects. */
const CONNECTION_TEXT = /Connection error|ECONNREFUSED|ECONNRESET|EPIPE|Closed connection|connection closed|Connection timeout|Request .* timed out|KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded/i;

function isRetriableText(text: string): boolean {
  if (CONNECTION_TEXT.test(text)) return true;
  for (const message of RETRIABLE_MESSAGES) if (text.includes(message)) return true;
  return false;
}

function logCreator(): (entry: LogEntry) => void {
  return (entry) => {
    const level = levelOf(entry);
    if (!log.enabled(level)) return;
    const extra = entry.log as Record<string, unknown>;
    log.log(level, `kafkajs ${entry.namespace}: ${entry.log.message}`, {
      broker: typeof extra.broker === 'string' ? extra.broker : undefined,
      error: typeof extra.error === 'string' ? extra.error : undefined,
      retry: typeof extra.retryCount === 'number' ? extra.retryCount : undefined,
    });
  };
}

function toHeaders(headers: Record<string, Buffer | Buffer[] | string | undefined> | undefined): ReadHeaders {
  return (headers ?? {}) as ReadHeaders;
}

function isolationCode(isolation: IsolationLevel): number {
  return isolation === 'read_committed' ? 1 : 0;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** kafkajs errors we know a metadata refresh cures (the partition's leader moved, or a new topic's metadata lags). */
function needsMetadataRefresh(error: unknown): boolean {
  const type = (error as { type?: unknown }).type;
  return type === 'NOT_LEADER_FOR_PARTITION' || type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE' || type === 'FENCED_LEADER_EPOCH' || type === 'UNKNOWN_LEADER_EPOCH';
}

/** kafkajs errors that say the cluster is unreachable or busy for now, whatever their own `retriable` flag. */
const TRANSIENT = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
]);

/**
 * Whether trying again later may succeed: kafkajs marks a failure non-retriable once its own few
 * retries are spent, even when the cause is a broker that is restarting.
 */
function transient(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { retriable?: unknown }).retriable === true) return true;
    if (TRANSIENT.has(String((e as { name?: unknown }).name))) return true;
  }
  return false;
}

/** Wraps a kafkajs failure in a {@link ConnectorError} with its context. */
function wrap(code: string, what: string, error: unknown, context: Record<string, string | number | boolean | null | undefined>): ConnectorError {
  if (error instanceof ConnectorError) return error;
  return new ConnectorError(code, `${what}: ${describeError(error)}`, { retriable: transient(error), context, cause: error });
}

/** Runs a kafkajs call, wrapping its failure (see {@link wrap}). */
async function call<T>(code: string, what: string, context: Record<string, string | number | boolean | null | undefined>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw wrap(code, what, error, context);
  }
}

class KafkajsIdempotentProducer implements IdempotentProducer {
  constructor(private readonly producer: Producer) {}

  async send(topic: string, partition: number, records: OutgoingRecord[]): Promise<void> {
    const messages = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      messages[i] = { partition, key: r.key, value: r.value, headers: r.headers };
    }
    try {
      await this.producer.send({ topic, acks: -1, messages });
    } catch (error) {
      throw wrap('KAFKA_PRODUCE_FAILED', `produce to ${topic}[${partition}]`, error, { topic, partition });
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

class KafkajsTransactionalProducer implements TransactionalProducer {
  private transaction: Transaction | null = null;

  constructor(
    private readonly producer: Producer,
    private readonly transactionalId: string,
  ) {}

  async begin(): Promise<void> {
    if (this.transaction !== null) throw new ConnectorError('KAFKA_TRANSACTION_STATE', `transactional producer ${this.transactionalId} already has an open transaction`, { context: { transactionalId: this.transactionalId } });
    try {
      this.transaction = await this.producer.transaction();
    } catch (error) {
      throw wrap('KAFKA_TRANSACTION_FAILED', `begin a transaction of ${this.transactionalId}`, error, { transactionalId: this.transactionalId });
    }
  }

  async send(topic: string, partition: number, records: OutgoingRecord[]): Promise<void> {
    const transaction = this.open('send');
    try {
      await transaction.send({ topic, acks: -1, messages: records.map((r) => ({ partition, key: r.key, value: r.value, headers: r.headers })) });
    } catch (error) {
      throw wrap('KAFKA_PRODUCE_FAILED', `produce to ${topic}[${partition}] in a transaction of ${this.transactionalId}`, error, { topic, partition, transactionalId: this.transactionalId });
    }
  }

  async commit(): Promise<void> {
    const transaction = this.open('commit');
    try {
      await transaction.commit();
      this.transaction = null;
    } catch (error) {
      throw wrap('KAFKA_TRANSACTION_FAILED', `commit a transaction of ${this.transactionalId}`, error, { transactionalId: this.transactionalId });
    }
  }

  async abort(): Promise<void> {
    const transaction = this.open('abort');
    try {
      await transaction.abort();
      this.transaction = null;
    } catch (error) {
      throw wrap('KAFKA_TRANSACTION_FAILED', `abort a transaction of ${this.transactionalId}`, error, { transactionalId: this.transactionalId });
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  private open(what: string): Transaction {
    if (this.transaction === null) throw new ConnectorError('KAFKA_TRANSACTION_STATE', `${what}: transactional producer ${this.transactionalId} has no open transaction`, { context: { transactionalId: this.transactionalId } });
    return this.transaction;
  }
}

/** The kafkajs implementation. */
class KafkajsClient implements KafkaClient {
  private readonly kafka: KafkaType;
  private readonly cluster: InternalCluster;
  private admin: Promise<Admin> | null = null;
  /** kafkajs' pool connects a broker once per concurrent lookup and keeps one: lookups go one at a time. */
  private brokerLookups: Promise<unknown> = Promise.resolve();
  /**
   * Fetches to one broker go one at a time: kafkajs gives fetches a connection of their own, which a
   * second concurrent fetch would open again (leaking the first socket); the broker answers requests of
   * one connection in order anyway.
   */
  private readonly fetchQueues = new Map<string, Promise<unknown>>();
  private readonly producers = new Set<Producer>();
  private readonly knownTopics = new Set<string>();
  private closed = false;

  constructor(private readonly options: KafkaClientOptions) {
    this.kafka = new Kafka({
      brokers: [...options.brokers],
      clientId: options.clientId,
      connectionTimeout: options.connectTimeoutMs ?? 1000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      // kafkajs' own retries stay short: the connectors' retry helper bounds the whole attempt.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: log.enabled('debug') ? logLevel.DEBUG : logLevel.WARN,
      logCreator,
    });
    this.cluster = createInternalCluster(this.kafka);
  }

  async connect(): Promise<void> {
    try {
      await withRetry(() => this.cluster.connect(), { what: `connect to Kafka at ${this.options.brokers.join(',')}`, retries: 4, initialMs: 200, maxMs: 1500, log, retriable: () => true });
    } catch (error) {
      throw new ConnectorError('KAFKA_UNREACHABLE', `cannot reach Kafka at ${this.options.brokers.join(', ')} after 5 attempts: ${describeError(error)}`, {
        retriable: true,
        context: { brokers: this.options.brokers.join(',') },
        cause: error,
      });
    }
  }

  async partitionCount(topic: string): Promise<number | null> {
    const admin = await this.adminClient();
    return call('KAFKA_ADMIN_FAILED', `describe topic ${topic}`, { topic }, async () => {
      const topics = await admin.listTopics();
      if (!topics.includes(topic)) return null;
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      return metadata.topics[0]?.partitions.length ?? null;
    });
  }

  async createTopic(topic: string, partitions: number, replicationFactor: number): Promise<void> {
    const admin = await this.adminClient();
    // kafkajs's own wait for leaders reads metadata the broker may not serve yet ("does not host this
    // topic-partition", a race with the leader election of the new partitions): create without it,
    // then poll the metadata until every partition has a leader. Creating again is a no-op.
    await withRetry(
      async () => {
        try {
          await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }], waitForLeaders: false });
        } catch (error) {
          if ((error as { type?: unknown }).type !== 'TOPIC_ALREADY_EXISTS' && (error as { cause?: { type?: unknown } }).cause?.type !== 'TOPIC_ALREADY_EXISTS') {
            throw wrap('KAFKA_ADMIN_FAILED', `create topic ${topic}`, error, { topic });
          }
        }
        let served: number;
        try {
          const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
          served = metadata.topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0;
        } catch (error) {
          throw new ConnectorError('KAFKA_ADMIN_FAILED', `create topic ${topic}: its metadata is not served yet: ${describeError(error)}`, { retriable: true, context: { topic }, cause: error });
        }
        if (served < partitions) {
          throw new ConnectorError('KAFKA_ADMIN_FAILED', `create topic ${topic}: ${served} of ${partitions} partitions have a leader`, { retriable: true, context: { topic } });
        }
      },
      { what: `create topic ${topic}`, retries: 12, initialMs: 50, maxMs: 1000 },
    );
  }

  listOffsets(topic: string, which: 'earliest' | 'latest', isolation: IsolationLevel): Promise<number[]> {
    return call('KAFKA_LIST_OFFSETS_FAILED', `list the ${which} offsets of ${topic}`, { topic }, () => this.listOffsetsOnce(topic, which, isolation));
  }

  private async listOffsetsOnce(topic: string, which: 'earliest' | 'latest', isolation: IsolationLevel): Promise<number[]> {
    await this.target(topic);
    const count = this.cluster.findTopicPartitionMetadata(topic).length;
    if (count === 0) throw new ConnectorError('KAFKA_TOPIC_MISSING', `topic ${topic} does not exist`, { context: { topic } });
    const leaders = this.cluster.findLeaderForPartitions(
      topic,
      Array.from({ length: count }, (_, p) => p),
    );
    const out = new Array<number>(count).fill(0);
    await Promise.all(
      Object.entries(leaders).map(async ([nodeId, partitions]) => {
        const broker = await this.broker(nodeId);
        const response = await broker.listOffsets({
          replicaId: -1,
          isolationLevel: isolationCode(isolation),
          topics: [{ topic, partitions: partitions.map((partition) => ({ partition, timestamp: which === 'earliest' ? -2 : -1 })) }],
        });
        for (const t of response.responses) for (const p of t.partitions) out[p.partition] = Number(p.offset);
      }),
    );
    return out;
  }

  async fetch(requests: readonly FetchRequest[], options: FetchOptions): Promise<FetchResult[]> {
    const topics = [...new Set(requests.map((r) => r.topic))];
    for (const topic of topics) await call('KAFKA_FETCH_FAILED', `load the metadata of ${topic}`, { topic }, () => this.target(topic));
    // One request per leader broker, all at once; partitions of one topic grouped.
    const byLeader = new Map<string, FetchRequest[]>();
    for (const request of requests) {
      const leaders = this.cluster.findLeaderForPartitions(request.topic, [request.partition]);
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) {
        await this.cluster.refreshMetadata().catch(() => {});
        throw new ConnectorError('KAFKA_NO_LEADER', `no leader known for ${request.topic}[${request.partition}]`, { retriable: true, context: { topic: request.topic, partition: request.partition } });
      }
      let list = byLeader.get(nodeId);
      if (!list) byLeader.set(nodeId, (list = []));
      list.push(request);
    }
    const results: FetchResult[] = [];
    await Promise.all(
      [...byLeader].map(async ([nodeId, list]) => {
        const offsets = new Map<string, number>();
        const grouped = new Map<string, { partition: number; fetchOffset: string; maxBytes: number }[]>();
        for (const r of list) {
          offsets.set(`${r.topic}\u0000${r.partition}`, r.offset);
          let partitions = grouped.get(r.topic);
          if (!partitions) grouped.set(r.topic, (partitions = []));
          partitions.push({ partition: r.partition, fetchOffset: String(r.offset), maxBytes: options.maxBytesPerPartition });
        }
        let response: Awaited<ReturnType<InternalBroker['fetch']>>;
        try {
          const broker = await this.broker(nodeId);
          const queued = this.fetchQueues.get(nodeId) ?? Promise.resolve();
          const fetching = queued.then(() => broker.fetch({
            replicaId: -1,
            isolationLevel: isolationCode(options.isolation),
            maxWaitTime: options.maxWaitMs,
            minBytes: 1,
            maxBytes: options.maxBytesPerPartition * list.length,
            topics: [...grouped].map(([topic, partitions]) => ({ topic, partitions })),
          }));
          this.fetchQueues.set(nodeId, fetching.catch(() => {}));
          response = await fetching;
        } catch (error) {
          if (needsMetadataRefresh(error)) await this.cluster.refreshMetadata().catch(() => {});
          if ((error as { name?: unknown }).name === 'KafkaJSOffsetOutOfRange') {
            const { topic, partition } = error as unknown as { topic: string; partition: number };
            throw new ConnectorError('KAFKA_OFFSET_OUT_OF_RANGE', `offset ${offsets.get(`${topic}\u0000${partition}`)} of ${topic}[${partition}] is out of range (deleted by retention, or past the end)`, {
              retriable: false,
              context: { topic, partition, offset: offsets.get(`${topic}\u0000${partition}`) },
              cause: error,
            });
          }
          throw wrap('KAFKA_FETCH_FAILED', `fetch from broker ${nodeId}`, error, { broker: nodeId });
        }
        for (const topicResponse of response.responses) {
          for (const p of topicResponse.partitions) {
            const requested = offsets.get(`${topicResponse.topicName}\u0000${p.partition}`) ?? 0;
            results.push(decodePartition(topicResponse.topicName, p, requested, options.isolation));
          }
        }
      }),
    );
    return results;
  }

  async committedOffsets(groupId: string, topic: string, partitions: number): Promise<(number | null)[]> {
    const response = await call('KAFKA_ADMIN_FAILED', `fetch the offsets of group ${groupId}`, { groupId, topic }, async () => {
      const coordinator = await this.coordinator(groupId);
      return coordinator.offsetFetch({ groupId, topics: [{ topic, partitions: Array.from({ length: partitions }, (_, partition) => ({ partition })) }] });
    });
    const out = new Array<number | null>(partitions).fill(null);
    for (const t of response.responses) for (const p of t.partitions) out[p.partition] = Number(p.offset) >= 0 ? Number(p.offset) : null;
    return out;
  }

  async commitOffsets(groupId: string, topic: string, offsets: readonly { partition: number; offset: number }[]): Promise<void> {
    try {
      const coordinator = await this.coordinator(groupId);
      // Generation -1 and no member id: the commit of a "simple" consumer that never joins its group.
      await coordinator.offsetCommit({ groupId, groupGenerationId: -1, memberId: '', topics: [{ topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: String(o.offset) })) }] });
    } catch (error) {
      throw wrap('KAFKA_COMMIT_FAILED', `commit offsets of group ${groupId} for ${topic}`, error, { groupId, topic });
    }
  }

  async idempotentProducer(): Promise<IdempotentProducer> {
    const producer = this.newProducer({ idempotent: true });
    await this.connectProducer(producer);
    return new KafkajsIdempotentProducer(producer);
  }

  async transactionalProducer(transactionalId: string, transactionTimeoutMs: number): Promise<TransactionalProducer> {
    const producer = this.newProducer({ idempotent: true, transactionalId, transactionTimeout: transactionTimeoutMs });
    await this.connectProducer(producer);
    return new KafkajsTransactionalProducer(producer, transactionalId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing: Promise<unknown>[] = [this.cluster.disconnect()];
    if (this.admin) closing.push(this.admin.then((admin) => admin.disconnect()));
    for (const producer of this.producers) closing.push(producer.disconnect());
    await Promise.allSettled(closing);
  }

  private newProducer(options: { idempotent: boolean; transactionalId?: string; transactionTimeout?: number }): Producer {
    const producer = this.kafka.producer({
      ...options,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Every record names its partition (kafkajs' partitioner is asked anyway, and also warns when none is given).
      createPartitioner: () => ({ message }: { message: { partition?: number | undefined } }) => message.partition ?? 0,
      // Idempotent producers retry until they succeed (kafkajs requires it for its guarantee); keep
      // each wait short so that a restarted broker is noticed within a second.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1000 },
    } as Parameters<KafkaType['producer']>[0]);
    this.producers.add(producer);
    producer.on(producer.events.DISCONNECT, () => this.producers.delete(producer));
    return producer;
  }

  private async connectProducer(producer: Producer): Promise<void> {
    try {
      await withRetry(() => producer.connect(), { what: 'connect a producer', retries: 4, initialMs: 200, maxMs: 1500, log, retriable: () => true });
    } catch (error) {
      this.producers.delete(producer);
      await producer.disconnect().catch(() => {});
      throw new ConnectorError('KAFKA_UNREACHABLE', `cannot reach Kafka at ${this.options.brokers.join(', ')} to produce: ${describeError(error)}`, {
        retriable: true,
        context: { brokers: this.options.brokers.join(',') },
        cause: error,
      });
    }
  }

  private adminClient(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 } });
      try {
        await admin.connect();
      } catch (error) {
        this.admin = null;
        await admin.disconnect().catch(() => {});
        throw new ConnectorError('KAFKA_UNREACHABLE', `cannot reach Kafka at ${this.options.brokers.join(', ')}: ${describeError(error)}`, {
          retriable: true,
          context: { brokers: this.options.brokers.join(',') },
          cause: error,
        });
      }
      return admin;
    })();
    return this.admin;
  }

  /** The broker object of `nodeId` (lookups serialized, see {@link brokerLookups}). */
  private broker(nodeId: string): Promise<InternalBroker> {
    const lookup = this.brokerLookups.then(() => this.cluster.findBroker({ nodeId }));
    this.brokerLookups = lookup.catch(() => {});
    return lookup;
  }

  /** The group coordinator of `groupId` (serialized like {@link broker}). */
  private coordinator(groupId: string): Promise<InternalBroker> {
    const lookup = this.brokerLookups.then(() => this.cluster.findGroupCoordinator({ groupId }));
    this.brokerLookups = lookup.catch(() => {});
    return lookup;
  }

  /** Makes the internal cluster track `topic`'s metadata. */
  private async target(topic: string): Promise<void> {
    if (this.knownTopics.has(topic)) return;
    const adding = this.brokerLookups.then(() => this.cluster.addMultipleTargetTopics([topic]));
    this.brokerLookups = adding.catch(() => {});
    await adding;
    this.knownTopics.add(topic);
  }
}

/** Decodes one partition of a fetch response. */
function decodePartition(
  topic: string,
  p: { partition: number; highWatermark: string; lastStableOffset: string; abortedTransactions: unknown[]; messages: RawMessage[] },
  requested: number,
  isolation: IsolationLevel,
): FetchResult {
  // A compressed batch may start before the requested offset: drop what lies before it.
  let within: RawMessage[] = p.messages;
  let next = requested;
  for (let i = 0; i < p.messages.length; i++) {
    const offset = Number(p.messages[i]!.offset);
    if (offset < requested) {
      within = p.messages.filter((m) => Number(m.offset) >= requested);
      break;
    }
  }
  for (const m of within) {
    const offset = Number(m.offset);
    if (offset + 1 > next) next = offset + 1;
  }
  const kept = isolation === 'read_committed' && p.abortedTransactions.length > 0 ? filterAbortedMessages({ messages: within, abortedTransactions: p.abortedTransactions }) : within;
  const records: FetchedRecord[] = [];
  for (const m of kept) {
    if (m.isControlRecord) continue;
    records.push({ offset: Number(m.offset), timestamp: Number(m.timestamp), key: m.key, value: m.value, headers: toHeaders(m.headers) });
  }
  const end = isolation === 'read_committed' && Number(p.lastStableOffset) >= 0 ? Number(p.lastStableOffset) : Number(p.highWatermark);
  return { topic, partition: p.partition, records, nextOffset: next, endOffset: end };
}

/** kafkajs' cluster for `kafka`, built by its private factory (the same connection settings and logger). */
function createInternalCluster(kafka: KafkaType): InternalCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== 'function') {
    throw new ConnectorError('KAFKA_CLIENT_UNSUPPORTED', 'this kafkajs build has no private createCluster; the Kafka connectors need kafkajs 2.2.4 exactly', {
      context: { expected: '2.2.4' },
    });
  }
  return (factory as (options: object) => InternalCluster)({ allowAutoTopicCreation: false, maxInFlightRequests: null, metadataMaxAge: 300_000 });
}

/** A Kafka client over kafkajs. */
export function createKafkajsClient(options: KafkaClientOptions): KafkaClient {
  return new KafkajsClient(options);
}
