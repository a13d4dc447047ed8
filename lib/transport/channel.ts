/**
 * Channels between tasks. The transport is an interface: this module has the in-process
 * implementation, a bounded queue of batches with credit-based backpressure. A TCP transport
 * implements the same {@link OutputChannel} and {@link InputChannel} contracts.
 *
 * Credits: a channel holds at most `capacity` data batches. A producer checks `writable()` before it
 * starts on more input; one activation may overshoot by the batches that input produces, so a queue
 * is bounded by `capacity` plus one activation's output. Control elements (barriers, watermarks, end
 * of stream) never wait for credit, so a full channel cannot hold back a checkpoint.
 */
import { Packr } from 'msgpackr';
import { Batch, BatchPool, ElementType } from './batch.js';

/** Identifies one channel: producer task and output, consumer task and input index. */
export interface ChannelId {
  /** Index of the channel in the job's physical plan. */
  readonly index: number;
  /** Producer task id. */
  readonly from: number;
  /** Consumer task id. */
  readonly to: number;
  /**
   * How many times recovery has wired this channel anew (0 at the start). A replacement producer or
   * consumer gets a new incarnation; a consumer tells what it holds from older ones apart (I14).
   */
  readonly incarnation: number;
}

/** The producer's end of a channel. */
export interface OutputChannel {
  /** Which channel this is. */
  readonly id: ChannelId;
  /** An empty data batch to fill (from this channel's pool). */
  takeBatch(): Batch;
  /** Whether a data batch may be sent without exceeding the channel's credit. */
  writable(): boolean;
  /** Sends a batch. The producer must not touch it afterwards. */
  send(batch: Batch): void;
  /** Called when credit frees up after `writable()` returned false. */
  onWritable: (() => void) | null;
  /** Returns a batch taken with `takeBatch` that will not be sent. */
  recycle(batch: Batch): void;
  /** Whether the consumer replays recorded determinants (a replaying producer may then exceed the credit). */
  readonly consumerReplaying: boolean;
}

/** The consumer's end of a channel. */
export interface InputChannel {
  /** Which channel this is. */
  readonly id: ChannelId;
  /** The next batch, or undefined when none is queued. Hand it back with {@link release}. */
  poll(): Batch | undefined;
  /** Batches queued. */
  readonly queued: number;
  /** Returns a processed batch to its pool, freeing credit. */
  release(batch: Batch): void;
  /** Called when a batch arrives. */
  onReadable: (() => void) | null;
}

/** Options of an in-process channel. */
export interface LocalChannelOptions {
  /** Data batches the queue may hold before the producer must wait (default 8). */
  capacity?: number;
  /** Records per data batch (default 256). */
  batchSize?: number;
  /**
   * Encode every batch with msgpackr on send and decode it on receive, as a network transport would.
   * Proves that nothing depends on sharing object identity across tasks; used in tests.
   */
  serialize?: boolean;
}

const packr = new Packr({ useRecords: true, moreTypes: true });

/** An in-process channel: one object is both ends. */
export class LocalChannel implements OutputChannel, InputChannel {
  /** Called when credit frees up. */
  onWritable: (() => void) | null = null;
  /** Called when a batch arrives. */
  onReadable: (() => void) | null = null;
  /** Data batches queued (control elements excluded), compared against the credit. */
  private dataQueued = 0;
  private readonly queue: Batch[] = [];
  private head = 0;
  private waitingForCredit = false;
  private readonly pool: BatchPool;
  private readonly capacity: number;
  private readonly serialize: boolean;
  /** Set when the consumer died: batches sent meanwhile are dropped (they live on in the in-flight log). */
  private closed = false;
  /**
   * Set when the producer died and a replacement writes to a new channel: the consumer drains what this
   * one holds (its own buffers, received before the failure), then switches to the successor.
   */
  successor: LocalChannel | null = null;
  /**
   * Set while the consumer replays recorded determinants. A producer that replays too may then write
   * past the credit: two replaying tasks each follow a fixed order, and with bounded buffers between
   * them those orders can wait on each other in a cycle that the recorded execution never had (its
   * batches were cut differently). What it buffers is bounded by the epoch being replayed.
   */
  consumerReplaying = false;

  constructor(
    readonly id: ChannelId,
    options: LocalChannelOptions = {},
  ) {
    this.capacity = options.capacity ?? 8;
    this.pool = new BatchPool(options.batchSize ?? 256, this.capacity * 2 + 4);
    this.serialize = options.serialize ?? false;
  }

  /** {@inheritDoc OutputChannel.takeBatch} */
  takeBatch(): Batch {
    return this.pool.take();
  }

  /** {@inheritDoc OutputChannel.recycle} */
  recycle(batch: Batch): void {
    this.pool.give(batch);
  }

  /** {@inheritDoc OutputChannel.writable} */
  writable(): boolean {
    if (this.dataQueued < this.capacity || this.closed) return true;
    this.waitingForCredit = true;
    return false;
  }

  /** {@inheritDoc OutputChannel.send} */
  send(batch: Batch): void {
    if (this.closed) {
      this.pool.give(batch);
      return;
    }
    const delivered = this.serialize ? this.roundTrip(batch) : batch;
    if (delivered.type === ElementType.Data) this.dataQueued++;
    this.queue.push(delivered);
    this.onReadable?.();
  }

  /** {@inheritDoc InputChannel.queued} */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** {@inheritDoc InputChannel.poll} */
  poll(): Batch | undefined {
    if (this.head === this.queue.length) return undefined;
    const batch = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as Batch;
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return batch;
  }

  /** Looks at the next batch without taking it. */
  peek(): Batch | undefined {
    return this.head === this.queue.length ? undefined : this.queue[this.head];
  }

  /** Calls `fn` for every queued batch, oldest first. */
  forEachQueued(fn: (batch: Batch) => void): void {
    for (let i = this.head; i < this.queue.length; i++) fn(this.queue[i]!);
  }

  /** The batch queued last (the one that just arrived), if any. */
  peekLast(): Batch | undefined {
    return this.head === this.queue.length ? undefined : this.queue[this.queue.length - 1];
  }

  /** Sequence number after the last element queued, or -1 when nothing is queued. */
  get queuedSeqEnd(): number {
    const last = this.peekLast();
    return last === undefined ? -1 : last.seqEnd;
  }

  /** {@inheritDoc InputChannel.release} */
  release(batch: Batch): void {
    if (batch.type === ElementType.Data) this.dataQueued--;
    if (batch.capacity === this.pool.capacity) this.pool.give(batch);
    if (this.waitingForCredit && this.dataQueued < this.capacity) {
      this.waitingForCredit = false;
      this.onWritable?.();
    }
  }

  /**
   * The consumer died: drop what is queued (its buffers died with it) and refuse further batches.
   * The producer keeps everything it sent in its in-flight log, where fault tolerance needs it.
   */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    this.dataQueued = 0;
    if (this.waitingForCredit) {
      this.waitingForCredit = false;
      this.onWritable?.();
    }
  }

  /** Whether the consumer end was closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  private roundTrip(batch: Batch): Batch {
    const copy = this.pool.take();
    copy.type = batch.type;
    copy.seq = batch.seq;
    copy.value = batch.value;
    copy.ingestTime = batch.ingestTime;
    if (batch.type === ElementType.Data) {
      const encoded = packr.pack([batch.records.slice(0, batch.count), Array.from(batch.timestamps.subarray(0, batch.count))]);
      const [records, timestamps] = packr.unpack(encoded) as [unknown[], number[]];
      for (let i = 0; i < records.length; i++) {
        copy.records[i] = records[i];
        copy.timestamps[i] = timestamps[i]!;
      }
      copy.count = records.length;
    }
    if (batch.envelopeLength > 0) {
      copy.envelope.length = 0;
      copy.envelope.append(batch.envelope.view(0, batch.envelopeLength));
      copy.envelopeLength = batch.envelopeLength;
    }
    this.pool.give(batch);
    return copy;
  }
}
