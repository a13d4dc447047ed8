/**
 * The producer side of a task's output: one {@link ChannelWriter} per output channel, which fills
 * pooled batches, numbers elements (I8), records them in the in-flight log and attaches determinant
 * envelopes; and the partitioners that pick a channel for each record.
 */
import type { InflightCursor, InflightLog } from '../inflight/log.js';
import { Batch, ElementType, type EnvelopeAttacher } from '../transport/batch.js';
import type { OutputChannel } from '../transport/channel.js';
import { channelForKey } from './hash.js';
import type { Output } from './operator.js';

/** Per-task values the writers read when they start a batch. */
export interface WriterClock {
  /** Ingest time of the input being processed (job-clock ms); stamped on batches it produces. */
  ingestTime: number;
}

export type { EnvelopeAttacher } from '../transport/batch.js';

/** Batches an in-flight replay may send past the credit per call, to a consumer that replays. */
const REPLAY_PUMP_BATCHES = 64;

/** Writes one output channel. */
export class ChannelWriter {
  private batch: Batch | null = null;
  /** While a replacement consumer catches up: the in-flight log position still to send it. */
  private cursor: InflightCursor | null = null;
  /** Envelope consumer id of this channel (causal logging), or -1. */
  consumerId = -1;
  /** Records sent on this channel (for metrics). */
  recordsOut = 0;
  /**
   * Elements up to this sequence number go to the in-flight log only, not to the channel: a replacement
   * regenerating output that its live consumer has already consumed, and would drop by number (I8). Sending
   * them cost the replay the consumer's credit and the consumer its time. -1: everything is sent.
   */
  skipThrough = -1;

  constructor(
    /** The channel. */
    public channel: OutputChannel,
    /** Sequence number the next element will get (I8). */
    public seq: number,
    private readonly clock: WriterClock,
    /** Keeps what was sent, for replay to a replacement consumer; null when fault tolerance needs none. */
    public inflight: InflightLog | null,
    private readonly envelopes: EnvelopeAttacher | null,
  ) {}

  /** Adds a record to the current batch; sends the batch when full. */
  add(record: unknown, timestamp: number): void {
    let batch = this.batch;
    if (batch === null) {
      batch = this.batch = this.channel.takeBatch();
      batch.ingestTime = this.clock.ingestTime;
    }
    const n = batch.count;
    batch.records[n] = record;
    batch.timestamps[n] = timestamp;
    batch.count = n + 1;
    if (n + 1 === batch.capacity) this.flush();
  }

  /** Sends the current batch if it holds records. */
  flush(): void {
    const batch = this.batch;
    if (batch === null || batch.count === 0) return;
    this.batch = null;
    batch.seq = this.seq;
    this.seq += batch.count;
    this.recordsOut += batch.count;
    this.send(batch);
  }

  /** Sends a control element after any pending records. */
  control(type: ElementType, value: number): void {
    this.flush();
    const batch = this.channel.takeBatch();
    batch.type = type;
    batch.value = value;
    batch.ingestTime = this.clock.ingestTime;
    batch.seq = this.seq++;
    this.send(batch);
  }

  /** Sequence number the next record added will get: `seq` plus the records waiting in the batch being filled. */
  get nextSeq(): number {
    return this.seq + (this.batch === null ? 0 : this.batch.count);
  }

  /** Whether the channel has credit for more data (always, while replaying: the in-flight log absorbs). */
  writable(): boolean {
    return this.cursor !== null || this.channel.writable();
  }

  /** Whether a replacement consumer is being fed from the in-flight log. */
  get replaying(): boolean {
    return this.cursor !== null;
  }

  /**
   * Switches to `channel` (a replacement consumer) and feeds it everything the in-flight log holds after
   * `afterSeq`, then what follows. Until it caught up, new output only goes to the log.
   */
  replayTo(channel: OutputChannel, afterSeq: number): void {
    if (this.inflight === null) throw new Error('replay needs an in-flight log (a local-recovery mode)');
    this.flush();
    this.channel = channel;
    this.cursor = this.inflight.replayAfter(afterSeq);
  }

  /**
   * Sends replayed elements while the channel has credit; stops replaying once caught up. A consumer that
   * replays its determinants gets up to {@link REPLAY_PUMP_BATCHES} batches per call past the credit: it
   * cannot go live before it consumed them, and the rest of the job is not waiting on it (I18).
   */
  pump(): void {
    const cursor = this.cursor!;
    let extra = this.channel.consumerReplaying ? REPLAY_PUMP_BATCHES : 0;
    while (this.channel.writable() || extra-- > 0) {
      const batch = this.channel.takeBatch();
      if (!cursor.fill(batch)) {
        this.channel.recycle(batch);
        this.cursor = null;
        return;
      }
      if (this.envelopes !== null) this.envelopes.attach(batch, this.consumerId);
      this.channel.send(batch);
    }
  }

  /** Drops the batch being filled (the task died). */
  discardPending(): void {
    this.batch = null;
  }

  private send(batch: Batch): void {
    // The in-flight log copies references before the channel may recycle or serialise the batch.
    this.inflight?.append(batch);
    if (this.cursor !== null) {
      // A replacement consumer is catching up: it gets this batch from the log, in order.
      this.channel.recycle(batch);
      return;
    }
    if (batch.seqEnd <= this.skipThrough + 1) {
      // Consumed already: the consumer would drop it (I8). The next batch sent carries the determinants.
      this.channel.recycle(batch);
      return;
    }
    if (this.envelopes !== null) this.envelopes.attach(batch, this.consumerId);
    this.channel.send(batch);
  }
}

/** Sends every record to the channel of the same subtask index. */
export class ForwardPartitioner implements Output {
  constructor(private readonly writer: ChannelWriter) {}

  collect(record: unknown, timestamp: number): void {
    this.writer.add(record, timestamp);
  }

  emitWatermark(timestamp: number): void {
    this.writer.control(ElementType.Watermark, timestamp);
  }
}

/** Sends each record to the channel its key hashes to. */
export class HashPartitioner implements Output {
  constructor(
    private readonly writers: readonly ChannelWriter[],
    private readonly keyOf: (record: unknown) => unknown,
  ) {}

  collect(record: unknown, timestamp: number): void {
    this.writers[channelForKey(this.keyOf(record), this.writers.length)]!.add(record, timestamp);
  }

  emitWatermark(timestamp: number): void {
    for (const writer of this.writers) writer.control(ElementType.Watermark, timestamp);
  }
}

/**
 * Sends records round-robin, starting at the producer's subtask index so producers spread out. Its
 * position is task state: a restored task must route the next record exactly as before.
 */
export class RebalancePartitioner implements Output {
  /** Index of the channel the next record goes to. */
  next: number;

  constructor(
    private readonly writers: readonly ChannelWriter[],
    subtask: number,
  ) {
    this.next = subtask % writers.length;
  }

  collect(record: unknown, timestamp: number): void {
    this.writers[this.next]!.add(record, timestamp);
    if (++this.next === this.writers.length) this.next = 0;
  }

  emitWatermark(timestamp: number): void {
    for (const writer of this.writers) writer.control(ElementType.Watermark, timestamp);
  }
}

/** Sends every record to every channel. */
export class BroadcastPartitioner implements Output {
  constructor(private readonly writers: readonly ChannelWriter[]) {}

  collect(record: unknown, timestamp: number): void {
    for (const writer of this.writers) writer.add(record, timestamp);
  }

  emitWatermark(timestamp: number): void {
    for (const writer of this.writers) writer.control(ElementType.Watermark, timestamp);
  }
}
