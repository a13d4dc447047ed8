/**
 * `kafkaSink`: exactly-once output to a Kafka topic, visible the moment it is written, without
 * transactions; or, with `delivery: 'transactional'`, committed per checkpoint for `read_committed`
 * consumers, as Flink does.
 *
 * Exactly-once, visible at once (the default, under the local-recovery modes):
 *
 * - Sink subtask *s* writes one Kafka partition (`s mod partitions`, or the `partition` option), in
 *   order, through an idempotent producer, which lets the broker drop duplicates of its own retries.
 * - Every record carries headers (`headers.ts`): the run, the producing task, the subtask, its output
 *   index as sequence number, and its epoch. The first record of a write also carries the write's
 *   determinant envelope, so the determinants reach Kafka in the same record batch as the output they
 *   caused (I1 at the last hop).
 * - A replacement sink task first waits until everything its predecessor handed over is in Kafka, then
 *   reads its partition backwards from the end (`ready()`): the newest record of its subtask gives the
 *   next sequence number (`visibleCount()`), so the runtime skips what replay regenerates up to it, and
 *   the envelopes from epoch `restoredEpoch` on (down to the first record of an earlier epoch) are the
 *   determinants recovery replays (`determinants()`).
 * - When a send fails for good (not a broker restart, which the producer rides out by retrying), the
 *   partition asks Kafka what it holds — the same tail read — and resends only what is missing.
 *
 * Transactional (`delivery: 'transactional'`, under `global-rollback`): records of epoch *e* go into a
 * Kafka transaction opened for *e* on a transactional producer (a small pool per subtask, ids
 * `<prefix>-<subtask>-<slot>`, so that epoch *e + 1* can start before *e* commits); `commit(e)` commits
 * it when checkpoint *e + 1* completes; `abortAfter` aborts the transactions a rollback discards.
 *
 * Both keep the output of a subtask in the order the job produced it.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError, ConnectorError, OperatorError } from '../../errors.js';
import { logger } from '../../util/logger.js';
import type { Sink, SinkContext, SinkPartition } from '../sink.js';
import type { IdempotentProducer, KafkaClient, OutgoingRecord, TransactionalProducer } from './client.js';
import { connectClient, ensureTopic, scanBackwards, topicName, type AutoCreate, type KafkaConnectionOptions } from './common.js';
import { HEADERS, idHeader, idPrefix } from './headers.js';
import { backoffMs, sleep, withRetry } from './retry.js';

const log = logger('kafka-sink');

/** Options of {@link kafkaSink}. */
export interface KafkaSinkOptions<T> extends KafkaConnectionOptions {
  /** Name shown in plans, errors and the task field of the `cf` header (default `kafka:<topic>`). */
  name?: string;
  /** Turns a record into the Kafka value (default `JSON.stringify`). */
  serialize?: (record: T) => Buffer | string;
  /** The Kafka key of a record (default none). Keys do not choose partitions: subtasks do. */
  key?: (record: T) => Buffer | string | null;
  /** The Kafka partition sink subtask `subtask` writes (default `subtask % partitions`). */
  partition?: (subtask: number, partitions: number) => number;
  /**
   * `exactly-once` (default): records are visible when written, deduplicated by sequence number on
   * recovery. `transactional`: committed per checkpoint, for `read_committed` consumers; needs a job in
   * `global-rollback` mode.
   */
  delivery?: 'exactly-once' | 'transactional';
  /** Create the topic when it does not exist (default: a missing topic is a `ConfigError`). */
  autoCreate?: boolean | AutoCreate;
  /** Transactional ids are `<prefix>-<subtask>-<slot>` (default `causalflow-<name>`); one prefix per job writing the topic. */
  transactionalIdPrefix?: string;
  /** Transaction timeout, ms (default 60,000). */
  transactionTimeoutMs?: number;
  /**
   * Identity of this run's output (the run field of the `cf` header; no `/`). Default: the job run's identity
   * (`SinkContext.runId`), the same in every worker process and kept by a resumed run, so that tail reads
   * recognise the run's own records wherever the task writing them runs. Give one only to share output
   * identity across separately started jobs; every open then reads the tail.
   */
  runId?: string;
  /** Largest produce request, bytes (default 512 KiB; keep it under the broker's `message.max.bytes`). */
  maxBatchBytes?: number;
}

/** Records a send carries at most (kafkajs groups a send's messages in time quadratic in their number). */
const MAX_BATCH_RECORDS = 1000;
/** Header and framing bytes counted per record when sizing a batch. */
const HEADER_OVERHEAD = 112;

/** One subtask's side of the topic: what outlives the tasks that write it. */
class SubtaskOutput {
  /** Whether a task of this run opened the subtask before (else a fresh start needs no tail read). */
  opened = false;
  /** The partition's end when this run first opened the subtask: no record of the run lies below. */
  runStartOffset = 0;
  /** Exactly-once: the queue of records handed over, sent in order. */
  readonly sender: Sender;
  /** `global-rollback` with exactly-once delivery: records staged per transaction, written at commit. */
  readonly staged = new Map<number, { key: Buffer | string | null; value: Buffer | string | null; epoch: number }[]>();
  committedTxn = -1;
  /** Transactional delivery. */
  readonly txn: TransactionalOutput;

  constructor(
    readonly sink: KafkaSink<unknown>,
    readonly subtask: number,
    readonly partition: number,
    /** The run field of this subtask's headers: the sink's `runId`, else the job run's. */
    readonly run: string,
  ) {
    this.taskName = `${sink.name}[${subtask}]`;
    this.idPrefix = idPrefix(run, subtask);
    this.idSuffix = `/${this.taskName}`;
    this.sender = new Sender(this);
    this.txn = new TransactionalOutput(this);
  }

  /** The producing task, `<sink name>[<subtask>]`. */
  readonly taskName: string;
  /** `<run>/<subtask>/` and `/<task>`: the constant parts of this subtask's `cf` headers. */
  readonly idPrefix: string;
  readonly idSuffix: string;

  /** Headers of a record of this subtask. */
  headers(seq: number, epoch: number): Record<string, string> {
    return { [HEADERS.id]: idHeader(this.idPrefix, seq, epoch, this.idSuffix) };
  }

  /**
   * Reads the partition backwards: the next sequence number of this subtask, and (with `fromEpoch`)
   * the envelopes stored from that epoch on, oldest first.
   */
  async readTail(fromEpoch: number | null, isolation: 'read_committed' | 'read_uncommitted' = 'read_uncommitted'): Promise<{ next: number; envelopes: Uint8Array[] }> {
    const client = await this.sink.client();
    let next: number | null = null;
    const envelopes: Uint8Array[] = [];
    const run = this.run;
    await scanBackwards(client, this.sink.topic, this.partition, isolation, this.runStartOffset, ({ headers: h }) => {
      if (h === null || h.run !== run || h.subtask !== this.subtask) return 'continue';
      if (next === null) next = h.seq + 1;
      if (fromEpoch === null || h.epoch < fromEpoch) return 'stop';
      if (h.determinants !== null) envelopes.push(h.determinants.slice());
      return 'continue';
    });
    envelopes.reverse();
    return { next: next ?? 0, envelopes };
  }
}

/** Sends a subtask's records in order, one request at a time, retrying at the edge. */
class Sender {
  private queue: OutgoingRecord[] = [];
  private sizes: number[] = [];
  private head = 0;
  /** Sequence number of `queue[head]`: everything below it is in Kafka. */
  private headSeq = 0;
  private producer: IdempotentProducer | null = null;
  private running: Promise<void> | null = null;
  private waiters: (() => void)[] = [];
  /** Waiters for a sequence number to be in Kafka, in the order they came (so in order of `seq`). */
  private seqWaiters: { seq: number; resolve: () => void }[] = [];
  /** A failure no retry can cure (a record too large for the broker); writes throw it. */
  failure: ConnectorError | null = null;

  constructor(private readonly out: SubtaskOutput) {}

  /** Sequence number of the next record handed over. */
  get nextSeq(): number {
    return this.headSeq + this.queue.length - this.head;
  }

  /** Records handed over and not confirmed yet. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Starts counting at `next` (after a tail read); nothing may be pending. */
  restart(next: number): void {
    if (this.pending > 0) throw new ConnectorError('KAFKA_SINK_STATE', `${this.out.taskName}: restarted with ${this.pending} records still pending`, { context: { task: this.out.taskName } });
    this.headSeq = next;
  }

  /** Queues one record of `bytes` estimated size. */
  push(record: OutgoingRecord, bytes: number): void {
    this.queue.push(record);
    this.sizes.push(bytes);
  }

  /** Starts sending what is queued. */
  kick(): void {
    if (this.running === null && this.pending > 0 && this.failure === null) {
      this.running = this.run().finally(() => {
        this.running = null;
        if (this.pending > 0 && this.failure === null && !this.out.sink.closed) this.kick();
        else this.settle();
      });
    }
  }

  /**
   * Resolves once every record handed over before the call is in Kafka (or sending stopped for good).
   * Unlike {@link drained}, records handed over later do not delay it: a checkpoint waits only for
   * what its barrier covers, however busy the partition.
   */
  handedOverSoFar(): Promise<void> {
    const seq = this.nextSeq;
    if (this.headSeq >= seq || this.failure !== null || this.out.sink.closed) return Promise.resolve();
    return new Promise((resolve) => this.seqWaiters.push({ seq, resolve }));
  }

  /** Resolves once everything handed over so far is in Kafka (or sending stopped for good). */
  drained(): Promise<void> {
    if (this.pending === 0 || this.failure !== null || this.out.sink.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Closes the producer (pending records, if any, are abandoned). */
  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    await producer?.close().catch(() => {});
    this.settle();
  }

  private settle(): void {
    this.settleSeqWaiters();
    if (this.pending > 0 && this.failure === null && !this.out.sink.closed) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private async run(): Promise<void> {
    const { sink, partition } = this.out;
    let failures = 0;
    let unsure = false;
    while (this.pending > 0 && !sink.closed) {
      try {
        if (unsure) {
          // The last request may or may not have landed: ask Kafka, resend only what is missing.
          const { next } = await this.out.readTail(null);
          if (next > this.headSeq) this.advance(Math.min(next - this.headSeq, this.pending));
          unsure = false;
          if (this.pending === 0) break;
        }
        const end = this.chunkEnd();
        const chunk = this.queue.slice(this.head, end);
        this.producer ??= await (await sink.client()).idempotentProducer();
        await this.producer.send(sink.topic, partition, chunk);
        this.advance(chunk.length);
        failures = 0;
      } catch (error) {
        if (sink.closed) break;
        if (isTooLarge(error)) {
          this.failure = new ConnectorError('KAFKA_RECORD_TOO_LARGE', `${this.out.taskName}: the broker refuses a batch as too large; lower maxBatchBytes or raise message.max.bytes (${describe(error)})`, {
            context: { topic: sink.topic, partition },
            cause: error,
          });
          log.error(this.failure.message);
          break;
        }
        failures++;
        log.log(failures < 3 ? 'debug' : 'warn', `${this.out.taskName}: produce failed, will check the partition and resend what is missing`, { topic: sink.topic, partition, attempt: failures, error: describe(error) });
        const producer = this.producer;
        this.producer = null;
        await producer?.close().catch(() => {});
        unsure = true;
        await sleep(backoffMs(Math.min(failures - 1, 8)));
      }
    }
  }

  private settleSeqWaiters(): void {
    const stopped = this.failure !== null || this.out.sink.closed;
    let done = 0;
    while (done < this.seqWaiters.length && (stopped || this.seqWaiters[done]!.seq <= this.headSeq)) this.seqWaiters[done++]!.resolve();
    if (done > 0) this.seqWaiters.splice(0, done);
  }

  private advance(count: number): void {
    this.head += count;
    this.headSeq += count;
    if (this.seqWaiters.length > 0) this.settleSeqWaiters();
    if (this.head === this.queue.length) {
      this.queue = [];
      this.sizes = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  /** End (exclusive) of the next request: at most `maxBatchBytes` and {@link MAX_BATCH_RECORDS}. */
  private chunkEnd(): number {
    const limit = this.out.sink.maxBatchBytes;
    let bytes = 0;
    let end = this.head;
    const max = Math.min(this.queue.length, this.head + MAX_BATCH_RECORDS);
    while (end < max) {
      bytes += this.sizes[end]!;
      if (bytes > limit && end > this.head) break;
      end++;
    }
    return end;
  }
}

/** One Kafka transaction of a subtask: the records of one epoch. */
interface OpenTransaction {
  txn: number;
  records: OutgoingRecord[];
  firstSeq: number;
  /** Records sent into the Kafka transaction so far. */
  sent: number;
  producer: { slot: number; producer: TransactionalProducer } | null;
  state: 'open' | 'committing' | 'aborted';
}

/** A subtask's transactions, run one operation at a time. */
class TransactionalOutput {
  private chain: Promise<void> = Promise.resolve();
  private readonly free: { slot: number; producer: TransactionalProducer }[] = [];
  private slots = 0;
  readonly open = new Map<number, OpenTransaction>();
  committedTxn = -1;
  committedCount = 0;
  nextSeq = 0;
  /** A failure no retry could cure; stage/commit throw it. */
  failure: Error | null = null;

  constructor(private readonly out: SubtaskOutput) {}

  /** Adds records to transaction `txn`, and sends them into it. */
  stage(txn: number, records: OutgoingRecord[]): void {
    let t = this.open.get(txn);
    if (!t) {
      t = { txn, records: [], firstSeq: this.nextSeq, sent: 0, producer: null, state: 'open' };
      this.open.set(txn, t);
    }
    for (const record of records) t.records.push(record);
    this.nextSeq += records.length;
    const target = t;
    this.schedule(`send transaction ${txn}`, () => this.send(target));
  }

  /** Commits every open transaction up to `txn`, in order. */
  commit(txn: number): void {
    const due = [...this.open.values()].filter((t) => t.txn <= txn && t.state === 'open').sort((a, b) => a.txn - b.txn);
    for (const t of due) {
      t.state = 'committing';
      this.schedule(`commit transaction ${t.txn}`, () => this.commitOne(t));
    }
    if (txn > this.committedTxn) this.committedTxn = txn;
  }

  /** Aborts the open transactions after `txn`; their sequence numbers are given out again. */
  abortAfter(txn: number): void {
    const doomed = [...this.open.values()].filter((t) => t.txn > txn && t.state === 'open');
    for (const t of doomed) {
      t.state = 'aborted';
      this.open.delete(t.txn);
      this.nextSeq = Math.min(this.nextSeq, t.firstSeq);
      this.schedule(`abort transaction ${t.txn}`, () => this.abortOne(t));
    }
  }

  /** Resolves when every scheduled operation has run. */
  settled(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    await this.chain;
    await Promise.allSettled(this.free.map((p) => p.producer.close()));
    this.free.length = 0;
  }

  private schedule(what: string, op: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.out.sink.closed || this.failure !== null) return;
      try {
        await op();
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
        log.error(`${this.out.taskName}: ${what} failed for good`, { error: describe(error) });
      }
    });
  }

  /** A producer for a new transaction, from the pool or a new slot. */
  private async producerFor(): Promise<{ slot: number; producer: TransactionalProducer }> {
    const pooled = this.free.pop();
    if (pooled) return pooled;
    const slot = this.slots++;
    return { slot, producer: await this.newProducer(slot) };
  }

  private async newProducer(slot: number): Promise<TransactionalProducer> {
    const { sink, subtask } = this.out;
    return (await sink.client()).transactionalProducer(`${sink.transactionalIdPrefix}-${subtask}-${slot}`, sink.transactionTimeoutMs);
  }

  private async send(t: OpenTransaction): Promise<void> {
    if (t.state === 'aborted' || t.sent >= t.records.length) return;
    await this.retrying(t, `send transaction ${t.txn}`, async () => {
      if (t.producer === null) {
        t.producer = await this.producerFor();
        await t.producer.producer.begin();
      }
      while (t.sent < t.records.length) {
        const chunk = t.records.slice(t.sent, Math.min(t.records.length, t.sent + MAX_BATCH_RECORDS));
        await t.producer.producer.send(this.out.sink.topic, this.out.partition, chunk);
        t.sent += chunk.length;
      }
    });
  }

  private async commitOne(t: OpenTransaction): Promise<void> {
    await this.send(t);
    if (t.records.length > 0) {
      await this.retrying(t, `commit transaction ${t.txn}`, async () => {
        if (t.producer === null) {
          // A retry found the transaction aborted and did not find it in the topic: run it again.
          await this.send(t);
        }
        await t.producer!.producer.commit();
      });
    }
    if (t.producer !== null) this.free.push(t.producer);
    t.producer = null;
    this.open.delete(t.txn);
    this.committedCount = Math.max(this.committedCount, t.firstSeq + t.records.length);
  }

  private async abortOne(t: OpenTransaction): Promise<void> {
    if (t.producer === null) return;
    const held = t.producer;
    t.producer = null;
    try {
      await held.producer.abort();
      this.free.push(held);
    } catch (error) {
      // The producer is unusable; a new producer of the same id fences it and aborts what it had open.
      log.debug(`${this.out.taskName}: abort of transaction ${t.txn} failed; replacing its producer`, { error: describe(error) });
      await held.producer.close().catch(() => {});
      this.free.push({ slot: held.slot, producer: await this.newProducer(held.slot) });
    }
  }

  /**
   * Runs `op` on transaction `t` until it succeeds. After a failure the transaction's fate is unknown:
   * if its records are visible to read_committed consumers it committed; otherwise its producer is
   * replaced (which aborts it) and the transaction is sent again from its first record.
   */
  private async retrying(t: OpenTransaction, what: string, op: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await op();
        return;
      } catch (error) {
        if (this.out.sink.closed) throw error;
        log.log(attempt < 2 ? 'debug' : 'warn', `${this.out.taskName}: ${what} failed, retrying`, { attempt: attempt + 1, error: describe(error) });
        await sleep(backoffMs(Math.min(attempt, 8)));
        const held = t.producer;
        t.producer = null;
        if (held !== null) {
          await held.producer.close().catch(() => {});
          const replacement = await withRetry(() => this.newProducer(held.slot), { what: `reopen transactional producer ${held.slot}`, retries: Infinity, log, stopped: () => this.out.sink.closed });
          this.free.push({ slot: held.slot, producer: replacement });
        }
        t.sent = 0;
        if (t.state === 'committing' && t.records.length > 0) {
          const { next } = await withRetry(() => this.out.readTail(null, 'read_committed'), { what: `check transaction ${t.txn} of ${this.out.taskName}`, retries: Infinity, log, stopped: () => this.out.sink.closed });
          if (next >= t.firstSeq + t.records.length) {
            t.sent = t.records.length;
            return;
          }
        }
      }
    }
  }
}

/** The partition a task opens under `deduplicating` or `immediate` mode (and `transactional` with exactly-once delivery). */
class ExactlyOncePartition<T> implements SinkPartition<T> {
  private next = 0;
  private envelopes: Uint8Array[] = [];
  private readying: Promise<void> | null = null;
  private isReady = false;
  private closed = false;

  constructor(
    private readonly sink: KafkaSink<T>,
    private readonly out: SubtaskOutput,
    private readonly context: SinkContext,
  ) {}

  ready(): Promise<void> {
    this.readying ??= this.prepare();
    return this.readying;
  }

  private async prepare(): Promise<void> {
    const out = this.out;
    // The runtime opens a dead task's partition without a mode only to read what it stored, possibly while
    // a replacement of the same subtask already writes through the shared sender: such a reader waits for
    // what was handed over before it came, and leaves the sender's count alone.
    const reader = this.context.mode === undefined;
    // What an earlier task of this subtask handed over goes to Kafka first: the tail is then complete.
    await (reader ? out.sender.handedOverSoFar() : out.sender.drained());
    if (out.sender.failure) throw out.sender.failure;
    // Fresh: the first deployment of a new run (the job says so), or, when it does not say, the first
    // open in this process of a sink without a given run id. Anything else reads the tail: a replacement
    // in another worker process finds there what its predecessor wrote.
    const fresh = !this.sink.runIdGiven && (this.context.fresh ?? !out.opened);
    if (fresh && !out.opened) {
      // A fresh run: none of its records exist; later tail reads need not look below today's end.
      const latest = await withRetry(async () => (await this.sink.client()).listOffsets(this.sink.topic, 'latest', 'read_uncommitted'), { what: `list offsets of ${this.sink.topic}`, retries: Infinity, log, stopped: () => this.sink.closed });
      out.runStartOffset = latest[out.partition] ?? 0;
      this.next = 0;
    } else {
      // A broker that is down makes the job wait here (recovery awaits it), not fail.
      const tail = await withRetry(() => out.readTail(this.context.restoredEpoch), { what: `read the tail of ${this.sink.topic}[${out.partition}]`, retries: Infinity, log, stopped: () => this.sink.closed });
      this.next = tail.next;
      this.envelopes = tail.envelopes;
      log.debug(`${out.taskName}: tail read`, { next: tail.next, envelopes: tail.envelopes.length, fromEpoch: this.context.restoredEpoch });
    }
    out.opened = true;
    if (!reader) out.sender.restart(this.next);
    this.isReady = true;
  }

  write(records: readonly T[], firstIndex: number, determinants?: Uint8Array, epoch = this.context.restoredEpoch): void {
    this.check('write');
    if (firstIndex !== this.next) {
      const cause =
        firstIndex > this.next
          ? new ConnectorError('KAFKA_OUTPUT_LOST', `${this.out.taskName}: asked to write from output index ${firstIndex}, but ${this.sink.topic}[${this.out.partition}] ends at index ${this.next}: records were handed to a producer that died before Kafka had them`, {
              context: { topic: this.sink.topic, partition: this.out.partition, expected: this.next, found: firstIndex },
            })
          : new ConnectorError('KAFKA_SINK_STATE', `${this.out.taskName}: write at index ${firstIndex}, but ${this.next} records are visible`, { context: { expected: this.next, found: firstIndex } });
      throw new OperatorError(this.sink.name, this.out.subtask, cause);
    }
    if (records.length === 0) return;
    let stored: Buffer | null = null;
    if (determinants !== undefined && determinants.length > 0) {
      // The runtime reuses its envelope buffer: copy.
      stored = Buffer.from(determinants);
      this.envelopes.push(new Uint8Array(stored));
    }
    this.enqueue(records, epoch, stored);
  }

  determinants(): Uint8Array[] {
    return this.envelopes;
  }

  pruneDeterminants(keep: (envelope: Uint8Array) => boolean): void {
    this.envelopes = this.envelopes.filter(keep);
  }

  visibleCount(): number {
    return this.next;
  }

  stage(): void {
    throw this.wrongMode('stage');
  }

  commit(): void {
    throw this.wrongMode('commit');
  }

  abortAfter(): void {
    throw this.wrongMode('abortAfter');
  }

  flush(): Promise<void> {
    return this.out.sender.handedOverSoFar();
  }

  private wrongMode(call: string): OperatorError {
    return new OperatorError(this.sink.name, this.out.subtask, new ConnectorError('KAFKA_SINK_STATE', `${this.out.taskName}: ${call} on a partition opened for immediate output`, { context: { task: this.out.taskName } }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.release();
  }

  private check(what: string): void {
    if (!this.isReady) throw new OperatorError(this.sink.name, this.out.subtask, new ConnectorError('KAFKA_SINK_STATE', `${this.out.taskName}: ${what} before ready() resolved`, { context: { task: this.out.taskName } }));
    const failure = this.out.sender.failure;
    if (failure) throw new OperatorError(this.sink.name, this.out.subtask, failure);
  }

  private enqueue(records: readonly T[], epoch: number, determinants: Buffer | null): void {
    const out = this.out;
    const sender = out.sender;
    const prefix = out.idPrefix;
    const suffix = out.idSuffix;
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const key = this.sink.keyOf(record);
      const value = this.sink.valueOf(record);
      const headers: Record<string, Buffer | string> = { [HEADERS.id]: idHeader(prefix, this.next + i, epoch, suffix) };
      let bytes = recordBytes(key, value);
      if (i === 0 && determinants !== null) {
        headers[HEADERS.determinants] = determinants;
        bytes += determinants.length;
      }
      sender.push({ key, value, headers }, bytes);
    }
    this.next += records.length;
    sender.kick();
  }
}

/**
 * The partition a task opens under `transactional` mode (global rollback) with exactly-once delivery:
 * staged records wait in memory (in the subtask's output, which outlives the task) and are written,
 * visible to every consumer, when their checkpoint commits.
 */
class StagedPartition<T> implements SinkPartition<T> {
  private closed = false;

  constructor(
    private readonly sink: KafkaSink<T>,
    private readonly out: SubtaskOutput,
  ) {}

  write(): void {
    throw new OperatorError(this.sink.name, this.out.subtask, new ConnectorError('KAFKA_SINK_STATE', `${this.out.taskName}: write on a partition opened for transactional output`, { context: { task: this.out.taskName } }));
  }

  visibleCount(): number {
    return this.out.sender.nextSeq;
  }

  stage(txn: number, records: readonly T[]): void {
    this.check();
    let list = this.out.staged.get(txn);
    if (!list) this.out.staged.set(txn, (list = []));
    for (const record of records) list.push({ key: this.sink.keyOf(record), value: this.sink.valueOf(record), epoch: txn });
  }

  commit(txn: number): void {
    this.check();
    const out = this.out;
    for (const t of [...out.staged.keys()].sort((a, b) => a - b)) {
      if (t > txn) break;
      const list = out.staged.get(t)!;
      out.staged.delete(t);
      if (t <= out.committedTxn) continue;
      for (const r of list) out.sender.push({ key: r.key, value: r.value, headers: out.headers(out.sender.nextSeq, r.epoch) }, recordBytes(r.key, r.value));
      out.committedTxn = t;
    }
    if (txn > out.committedTxn && txn < Number.MAX_SAFE_INTEGER) out.committedTxn = txn;
    out.sender.kick();
  }

  abortAfter(txn: number): void {
    for (const t of [...this.out.staged.keys()]) if (t > txn) this.out.staged.delete(t);
  }

  flush(): Promise<void> {
    return this.out.sender.drained();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.release();
  }

  private check(): void {
    const failure = this.out.sender.failure;
    if (failure) throw new OperatorError(this.sink.name, this.out.subtask, failure);
  }
}

/** The partition a task opens under `transactional` mode with `delivery: 'transactional'`. */
class TransactionalPartition<T> implements SinkPartition<T> {
  private closed = false;

  constructor(
    private readonly sink: KafkaSink<T>,
    private readonly out: SubtaskOutput,
  ) {}

  write(): void {
    throw new OperatorError(
      this.sink.name,
      this.out.subtask,
      new ConfigError(`${this.sink.name}.delivery`, "a job in global-rollback mode for delivery 'transactional' (use 'exactly-once' under local recovery)", 'a write of immediate output'),
    );
  }

  visibleCount(): number {
    return this.out.txn.committedCount;
  }

  stage(txn: number, records: readonly T[]): void {
    this.check();
    const txnOut = this.out.txn;
    const out: OutgoingRecord[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      out[i] = { key: this.sink.keyOf(record), value: this.sink.valueOf(record), headers: this.out.headers(txnOut.nextSeq + i, txn) };
    }
    txnOut.stage(txn, out);
  }

  commit(txn: number): void {
    this.check();
    this.out.txn.commit(txn);
  }

  abortAfter(txn: number): void {
    this.check();
    this.out.txn.abortAfter(txn);
  }

  flush(): Promise<void> {
    return this.out.txn.settled();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.release();
  }

  private check(): void {
    const failure = this.out.txn.failure;
    if (failure) throw new OperatorError(this.sink.name, this.out.subtask, failure);
  }
}

/**
 * A Kafka sink (see the module comment). Created by {@link kafkaSink}; the job opens its partitions.
 * Call {@link KafkaSink.flush} to wait until everything the job wrote is in Kafka, and
 * {@link KafkaSink.close} when done with it.
 */
export class KafkaSink<T> implements Sink<T> {
  /** {@inheritDoc Sink.name} */
  readonly name: string;
  /** The topic. */
  readonly topic: string;
  /** Its partition count. */
  readonly partitions: number;
  /**
   * The run field of this sink's `cf` headers: the `runId` option, else the run of the job that opened it
   * last (`SinkContext.runId`; `JobHandle.runId` says the same), else a random one.
   */
  get runId(): string {
    return this.runIdGiven ? this.defaultRunId : (this.latestRun ?? this.defaultRunId);
  }
  private readonly defaultRunId: string;
  private latestRun: string | null = null;
  /** Whether `runId` was given (then even a first open reads the tail). */
  readonly runIdGiven: boolean;
  /** How output becomes visible. */
  readonly delivery: 'exactly-once' | 'transactional';
  /** Prefix of transactional ids. */
  readonly transactionalIdPrefix: string;
  /** Transaction timeout, ms. */
  readonly transactionTimeoutMs: number;
  /** Largest produce request, bytes. */
  readonly maxBatchBytes: number;
  /** Whether {@link close} was called. */
  closed = false;
  private readonly outputs = new Map<number, SubtaskOutput>();
  private connection: Promise<KafkaClient> | null;
  private openPartitions = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly serialize: (record: T) => Buffer | string;
  private readonly keyFn: ((record: T) => Buffer | string | null) | null;
  private readonly partitionFn: (subtask: number, partitions: number) => number;

  /** @internal Use {@link kafkaSink}. */
  constructor(
    private readonly options: KafkaSinkOptions<T>,
    client: KafkaClient,
    partitions: number,
  ) {
    this.topic = options.topic;
    this.name = options.name ?? `kafka:${options.topic}`;
    this.partitions = partitions;
    this.runIdGiven = options.runId !== undefined;
    this.defaultRunId = options.runId ?? randomUUID();
    this.delivery = options.delivery ?? 'exactly-once';
    this.transactionalIdPrefix = options.transactionalIdPrefix ?? `causalflow-${this.name.replace(/[^\w.-]/g, '_')}`;
    this.transactionTimeoutMs = options.transactionTimeoutMs ?? 60_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
    this.serialize = options.serialize ?? ((record: T) => JSON.stringify(record));
    this.keyFn = options.key ?? null;
    this.partitionFn = options.partition ?? ((subtask, count) => subtask % count);
    this.connection = Promise.resolve(client);
  }

  /** {@inheritDoc Sink.open} */
  open(context: SinkContext): SinkPartition<T> {
    if (this.closed) throw new ConnectorError('KAFKA_SINK_CLOSED', `${this.name} was closed`, { context: { topic: this.topic } });
    if (context.mode !== undefined) {
      if (this.delivery === 'transactional' && context.mode !== 'transactional') {
        throw new ConfigError(`${this.name}.delivery`, "'exactly-once' under local recovery (or a job in global-rollback mode for 'transactional')", `'transactional' in a job whose sinks run in ${context.mode} mode`);
      }
    }
    const out = this.output(context.subtask, this.runIdGiven ? this.defaultRunId : (context.runId ?? this.defaultRunId));
    this.openPartitions++;
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (context.mode === 'transactional') return this.delivery === 'transactional' ? new TransactionalPartition<T>(this, out) : new StagedPartition<T>(this, out);
    return new ExactlyOncePartition<T>(this, out, context);
  }

  /** Resolves once everything written or committed so far is in Kafka. */
  async flush(): Promise<void> {
    for (const out of this.outputs.values()) {
      await out.sender.drained();
      await out.txn.settled();
    }
  }

  /**
   * Flushes (waiting at most `timeoutMs`, default 30,000), then closes the producers and connections.
   * Records not in Kafka by then are abandoned, with a warning. Open partitions stop working.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      this.flush().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), options.timeoutMs ?? 30_000);
      }),
    ]);
    clearTimeout(timer);
    const pending = [...this.outputs.values()].reduce((n, out) => n + out.sender.pending, 0);
    if (!flushed) log.warn(`${this.name}: closed before everything was in Kafka`, { pending, topic: this.topic });
    this.closed = true;
    await this.disconnect();
  }

  /** @internal The connected client (reconnected after an idle close). */
  client(): Promise<KafkaClient> {
    if (this.closed) return Promise.reject(new ConnectorError('KAFKA_SINK_CLOSED', `${this.name} was closed`, { context: { topic: this.topic } }));
    this.connection ??= connectClient(this.options, 'kafkaSink').catch((error: unknown) => {
      this.connection = null;
      throw error;
    });
    return this.connection;
  }

  /** @internal A partition was closed: once none is open and everything is sent, connections close (so the process can exit). */
  release(): void {
    this.openPartitions--;
    if (this.openPartitions > 0 || this.idleTimer !== null) return;
    // A replacement task opens its partition moments after its predecessor closed it: wait a little.
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.openPartitions > 0 || this.closed) return;
      void this.flush().then(() => {
        if (this.openPartitions === 0 && !this.closed) return this.disconnect();
      });
    }, 1000);
    this.idleTimer.unref();
  }

  /** @internal The Kafka value of `record`. */
  valueOf(record: T): Buffer | string {
    return this.serialize(record);
  }

  /** @internal The Kafka key of `record`. */
  keyOf(record: T): Buffer | string | null {
    return this.keyFn === null ? null : this.keyFn(record);
  }

  private output(subtask: number, run: string): SubtaskOutput {
    let out = this.outputs.get(subtask);
    this.latestRun = run;
    // A sink object used by another run of a job starts that run's outputs afresh.
    if (!out || out.run !== run) {
      const partition = this.partitionFn(subtask, this.partitions);
      if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
        throw new ConfigError(`${this.name}.partition`, `a function returning a partition from 0 to ${this.partitions - 1}`, partition);
      }
      out = new SubtaskOutput(this as KafkaSink<unknown>, subtask, partition, run);
      this.outputs.set(subtask, out);
    }
    return out;
  }

  private async disconnect(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    await Promise.allSettled([...this.outputs.values()].flatMap((out) => [out.sender.close(), out.txn.close()]));
    if (connection) await (await connection.catch(() => null))?.close();
  }
}

function recordBytes(key: Buffer | string | null, value: Buffer | string | null): number {
  return (key === null ? 0 : key.length) + (value === null ? 0 : value.length) + HEADER_OVERHEAD;
}

function isTooLarge(error: unknown): boolean {
  const text = `${describe(error)} ${String((error as { cause?: { type?: unknown } }).cause?.type ?? '')}`;
  return /MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|too large/i.test(text);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A Kafka sink for `options.topic`. Connects first (a bounded retry: an unreachable broker rejects
 * with a `ConnectorError` of code `KAFKA_UNREACHABLE`), and checks that the topic exists (a
 * `ConfigError` naming it otherwise, unless `autoCreate`).
 *
 * ```ts
 * const out = await kafkaSink<Alert>({ brokers: 'localhost:9092', topic: 'alerts' });
 * stream.sink(out);
 * await job.run();
 * await out.close();
 * ```
 */
export async function kafkaSink<T>(options: KafkaSinkOptions<T>): Promise<KafkaSink<T>> {
  if (options === null || typeof options !== 'object') throw new ConfigError('kafkaSink', 'an options object', options);
  const topic = topicName('kafkaSink.topic', options.topic);
  if (options.delivery !== undefined && options.delivery !== 'exactly-once' && options.delivery !== 'transactional') {
    throw new ConfigError('kafkaSink.delivery', '"exactly-once" or "transactional"', options.delivery);
  }
  for (const field of ['serialize', 'key', 'partition'] as const) {
    if (options[field] !== undefined && typeof options[field] !== 'function') throw new ConfigError(`kafkaSink.${field}`, 'a function', options[field]);
  }
  if (options.runId !== undefined && (typeof options.runId !== 'string' || !/^[^/]{1,100}$/.test(options.runId))) throw new ConfigError('kafkaSink.runId', 'a non-empty string without "/" (at most 100 characters)', options.runId);
  if (options.maxBatchBytes !== undefined && !(Number.isInteger(options.maxBatchBytes) && options.maxBatchBytes >= 1024)) throw new ConfigError('kafkaSink.maxBatchBytes', 'an integer >= 1024', options.maxBatchBytes);
  const client = await connectClient(options, 'kafkaSink');
  try {
    const partitions = await ensureTopic(client, 'kafkaSink.topic', topic, options.autoCreate);
    return new KafkaSink<T>(options, client, partitions);
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
}
