/**
 * Channels across a connection, with credit, several to one connection.
 *
 * - {@link RemoteOutputChannel}, the producer's end, implements {@link OutputChannel}: a batch sent is
 *   encoded into a DATA frame and recycled at once (objects never cross processes). It starts with no
 *   credit; the consumer grants its capacity when it registers, then one credit per data batch it
 *   releases. Control elements never wait for credit.
 * - {@link RemoteInputChannel}, the consumer's end, is a {@link LocalChannel} fed by the connection, so
 *   the task reading it cannot tell the difference. Releasing a data batch earns the producer a credit;
 *   credits go back in groups of `creditBatch` (half the capacity by default), one frame per group.
 * - {@link ChannelMux} routes frames by channel index and incarnation. Frames for an incarnation that
 *   has no consumer yet are held until it registers (recovery may wire a producer first); frames of an
 *   incarnation older than the registered one are dropped (a zombie producer). Credit for a producer
 *   not registered yet is held the same way.
 */
import { InvalidArgumentError } from '../../../determinants/errors.js';
import { Batch, BatchPool, ElementType } from '../batch.js';
import { LocalChannel, type ChannelId, type LocalChannelOptions, type OutputChannel } from '../channel.js';

/** A channel of the plan, before an incarnation is given to it. */
export type ChannelRef = Omit<ChannelId, 'incarnation'>;
import type { FramedConnection } from './connection.js';
import { TransportProtocolError } from './errors.js';
import { BatchDecoder } from './frame-decode.js';
import { CreditFlags, FrameType, type CreditFrame, type DataFrame, type Frame } from './frame.js';
import { silentLogger, type TransportLogger } from './log.js';

/** The producer's end of a channel whose consumer is across a connection. */
export class RemoteOutputChannel implements OutputChannel {
  /** {@inheritDoc OutputChannel.onWritable} */
  onWritable: (() => void) | null = null;
  /** Whether the consumer replays determinants (set by the consumer's CREDIT flags, or by the caller). */
  consumerReplaying = false;
  /** Data batches this producer may still send (negative after a replaying producer overshot). */
  credit = 0;
  /** Elements sent, and elements dropped because the consumer end was closed. */
  readonly stats = { sent: 0, dataSent: 0, dropped: 0 };
  private closed = false;
  private waitingForCredit = false;
  private readonly pool: BatchPool;

  /** Use {@link ChannelMux.output}. */
  constructor(
    /** Which channel this is. */
    readonly id: ChannelId,
    /** The channel's incarnation, carried in every frame. */
    readonly incarnation: number,
    private readonly connection: FramedConnection,
    batchSize: number,
    private readonly onClose: (channel: RemoteOutputChannel) => void,
  ) {
    this.pool = new BatchPool(batchSize, 4);
  }

  /** {@inheritDoc OutputChannel.takeBatch} */
  takeBatch(): Batch {
    return this.pool.take();
  }

  /** {@inheritDoc OutputChannel.recycle} */
  recycle(batch: Batch): void {
    this.pool.give(batch);
  }

  /** {@inheritDoc OutputChannel.writable} Always true once closed: sends are then dropped. */
  writable(): boolean {
    if (this.credit > 0 || this.closed) return true;
    this.waitingForCredit = true;
    return false;
  }

  /** Encodes `batch` into a DATA frame and recycles it; dropped (and recycled) when closed. */
  send(batch: Batch): void {
    if (this.closed || !this.connection.sendData(this.id.index, this.incarnation, batch)) {
      this.stats.dropped++;
      this.pool.give(batch);
      return;
    }
    this.stats.sent++;
    if (batch.type === ElementType.Data) {
      this.credit--;
      this.stats.dataSent++;
    }
    this.pool.give(batch);
  }

  /** Whether the consumer end (or the connection) was closed, or this end was closed by {@link close}. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops using this end (the channel was rewired); later sends are dropped. */
  close(): void {
    this.markClosed();
    this.onClose(this);
  }

  /** Applies a CREDIT frame (called by the multiplexer). */
  applyCredit(granted: number, flags: number): void {
    const replaying = (flags & CreditFlags.ConsumerReplaying) !== 0;
    const startedReplaying = replaying && !this.consumerReplaying;
    this.consumerReplaying = replaying;
    this.credit += granted;
    if ((flags & CreditFlags.Closed) !== 0) this.markClosed();
    else if (this.waitingForCredit && (this.credit > 0 || startedReplaying)) this.wake();
  }

  /** The consumer or the connection went away: behave like a closed {@link LocalChannel}. */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.waitingForCredit) this.wake();
  }

  private wake(): void {
    this.waitingForCredit = false;
    this.onWritable?.();
  }
}

/** Options of a {@link RemoteInputChannel}. */
export interface RemoteInputOptions extends Omit<LocalChannelOptions, 'serialize'> {
  /** Credits returned per CREDIT frame (default half the capacity, at most the capacity). */
  creditBatch?: number;
}

/** The consumer's end of a channel whose producer is across a connection: a {@link LocalChannel} fed by frames. */
export class RemoteInputChannel extends LocalChannel {
  /** Frames delivered into the queue. */
  delivered = 0;
  private pendingGrant = 0;
  private sentFlags = 0;
  private readonly window: number;
  private readonly creditBatch: number;

  /** Use {@link ChannelMux.input}. */
  constructor(
    id: ChannelId,
    /** The incarnation this end accepts frames of. */
    readonly incarnation: number,
    private readonly connection: FramedConnection,
    options: RemoteInputOptions,
    private readonly onClose: (channel: RemoteInputChannel) => void,
  ) {
    super(id, { capacity: options.capacity, batchSize: options.batchSize, serialize: false });
    this.window = options.capacity ?? 8;
    this.creditBatch = Math.min(this.window, Math.max(1, options.creditBatch ?? Math.floor(this.window / 2)));
  }

  /** Grants the producer the whole capacity (called once, when the multiplexer registers this end). */
  open(): void {
    this.sentFlags = this.flags();
    this.connection.sendCredit(this.id.index, this.incarnation, this.window, this.sentFlags);
  }

  /** Decodes a DATA frame into a pooled batch and queues it (called by the multiplexer). */
  deliver(frame: DataFrame, decoder: BatchDecoder, offset: number): void {
    let batch = this.takeBatch();
    // A producer with larger batches than ours: a one-off batch (release keeps only pool-sized ones).
    if (frame.count > batch.capacity) batch = new Batch(frame.count);
    decoder.fill(frame, batch, offset);
    this.delivered++;
    this.send(batch);
  }

  /** {@inheritDoc InputChannel.poll} Also forwards a change of `consumerReplaying` to the producer. */
  override poll(): Batch | undefined {
    if (this.flags() !== this.sentFlags) this.grant();
    return super.poll();
  }

  /** {@inheritDoc InputChannel.release} Also earns the producer a credit for a data batch. */
  override release(batch: Batch): void {
    const data = batch.type === ElementType.Data;
    super.release(batch);
    if (!data || this.isClosed) return;
    this.pendingGrant++;
    // Deadlock-free without a flush on an empty queue: a producer out of credit has `capacity` batches
    // outstanding, and once they are released the pending grant reaches `creditBatch` <= capacity.
    if (this.pendingGrant >= this.creditBatch) this.grant();
  }

  /** Sets `consumerReplaying` and tells the producer at once (a plain assignment is sent with the next poll). */
  setConsumerReplaying(replaying: boolean): void {
    this.consumerReplaying = replaying;
    this.grant();
  }

  /** The consumer died: drops what is queued, tells the producer to stop waiting, refuses further frames. */
  override close(): void {
    if (this.isClosed) return;
    super.close();
    this.pendingGrant = 0;
    this.connection.sendCredit(this.id.index, this.incarnation, 0, CreditFlags.Closed);
    this.onClose(this);
  }

  private grant(): void {
    this.sentFlags = this.flags();
    this.connection.sendCredit(this.id.index, this.incarnation, this.pendingGrant, this.sentFlags);
    this.pendingGrant = 0;
  }

  private flags(): number {
    return this.consumerReplaying ? CreditFlags.ConsumerReplaying : 0;
  }
}

/** Options of a {@link ChannelMux}. */
export interface ChannelMuxOptions {
  /** Bytes of frames held for consumers not registered yet, beyond which the connection fails (default 64 MiB). */
  maxHeldBytes?: number;
  /** Where the multiplexer reports dropped frames (default: nowhere). */
  logger?: TransportLogger;
}

/** Counters of a {@link ChannelMux}. */
export interface ChannelMuxStats {
  /** DATA frames delivered to a consumer end. */
  delivered: number;
  /** DATA frames of an older incarnation than the registered consumer's, dropped. */
  stale: number;
  /** DATA frames for a closed consumer end, dropped. */
  droppedClosed: number;
  /** DATA frames held now for consumers not registered yet, and their bytes. */
  held: number;
  /** Bytes of the held frames. */
  heldBytes: number;
  /** CREDIT frames for an output incarnation other than the registered one, ignored. */
  staleCredit: number;
  /** DATA frames of a fenced incarnation (its producer failed), dropped on arrival or while held. */
  fenced: number;
}

interface InputSlot {
  incarnation: number;
  channel: RemoteInputChannel | null;
}

/** Routes the DATA and CREDIT frames of one connection to the channels registered on it. */
export class ChannelMux {
  /** Counters. */
  readonly stats: ChannelMuxStats = { delivered: 0, stale: 0, droppedClosed: 0, held: 0, heldBytes: 0, staleCredit: 0, fenced: 0 };
  private readonly inputs = new Map<number, InputSlot>();
  private readonly outputs = new Map<number, RemoteOutputChannel>();
  private readonly heldFrames = new Map<number, DataFrame[]>();
  private readonly heldCredit = new Map<number, CreditFrame>();
  /** Channel index → the newest incarnation whose frames are refused (see {@link fence}). */
  private readonly fences = new Map<number, number>();
  private readonly decoder = new BatchDecoder();
  private readonly maxHeldBytes: number;
  private readonly logger: TransportLogger;

  /** Attaches to `connection` (before it is started, so no frame is missed). */
  constructor(
    /** The connection the channels share. */
    readonly connection: FramedConnection,
    options: ChannelMuxOptions = {},
  ) {
    this.maxHeldBytes = options.maxHeldBytes ?? 64 * 1024 * 1024;
    this.logger = options.logger ?? silentLogger;
    connection.on('frame', (frame: Frame) => {
      if (frame.type === FrameType.Data) this.onData(frame);
      else if (frame.type === FrameType.Credit) this.onCredit(frame);
    });
    connection.on('close', () => {
      for (const output of this.outputs.values()) output.markClosed();
    });
  }

  /** The producer's end of channel `id`, incarnation `incarnation`. Replaces (closes) an older incarnation's end. */
  output(plan: ChannelRef, incarnation: number, options: { batchSize?: number } = {}): RemoteOutputChannel {
    const id: ChannelId = { index: plan.index, from: plan.from, to: plan.to, incarnation };
    const current = this.outputs.get(id.index);
    if (current !== undefined && current.incarnation >= incarnation) {
      throw new InvalidArgumentError('incarnation', `above ${current.incarnation} (channel ${id.index} already has a producer end)`, incarnation);
    }
    current?.markClosed();
    const channel = new RemoteOutputChannel(id, incarnation, this.connection, options.batchSize ?? 256, (c) => {
      if (this.outputs.get(c.id.index) === c) this.outputs.delete(c.id.index);
    });
    this.outputs.set(id.index, channel);
    if (!this.connection.isOpen) channel.markClosed();
    const held = this.heldCredit.get(id.index);
    if (held !== undefined && held.incarnation === incarnation) {
      this.heldCredit.delete(id.index);
      channel.applyCredit(held.granted, held.flags);
    }
    return channel;
  }

  /**
   * The consumer's end of channel `id`, incarnation `incarnation`: grants the producer its capacity and
   * delivers the frames held for it. From now on frames of older incarnations of the channel are dropped.
   */
  input(plan: ChannelRef, incarnation: number, options: RemoteInputOptions = {}): RemoteInputChannel {
    const id: ChannelId = { index: plan.index, from: plan.from, to: plan.to, incarnation };
    const slot = this.inputs.get(id.index);
    if (slot !== undefined && slot.incarnation >= incarnation) {
      throw new InvalidArgumentError('incarnation', `above ${slot.incarnation} (channel ${id.index} already had a consumer end)`, incarnation);
    }
    const channel = new RemoteInputChannel(id, incarnation, this.connection, options, (c) => {
      const s = this.inputs.get(c.id.index);
      if (s !== undefined && s.channel === c) s.channel = null;
    });
    this.inputs.set(id.index, { incarnation, channel });
    channel.open();
    const held = this.heldFrames.get(id.index);
    if (held !== undefined) {
      const later: DataFrame[] = [];
      for (const frame of held) {
        this.release(frame);
        if (frame.incarnation === incarnation) this.deliver(channel, frame);
        else if (frame.incarnation < incarnation) this.stats.stale++;
        else {
          later.push(frame);
          this.hold(frame, false);
        }
      }
      if (later.length > 0) this.heldFrames.set(id.index, later);
      else this.heldFrames.delete(id.index);
    }
    return channel;
  }

  /**
   * The producer of channel `index` failed, and incarnations up to `incarnation` were its (or its
   * predecessors'): their frames are refused from now on, and frames of them held for a consumer not
   * registered yet are dropped. A dead producer's frames can arrive long after its death: the kernel goes on
   * sending what the process had queued once this side reads again. Recovery fences a failed task's output
   * channels on every live worker in the same turn as it copies the replicas there, so that what the
   * consumers hold stays covered by the copies of the failed task's log it replays (I1, I14). Dropping is
   * safe: the replacement sends those elements again, under a new incarnation.
   */
  fence(index: number, incarnation: number): void {
    if ((this.fences.get(index) ?? -1) >= incarnation) return;
    this.fences.set(index, incarnation);
    const held = this.heldFrames.get(index);
    if (held === undefined) return;
    const kept = held.filter((frame) => {
      if (frame.incarnation > incarnation) return true;
      this.release(frame);
      this.stats.fenced++;
      return false;
    });
    if (kept.length > 0) this.heldFrames.set(index, kept);
    else this.heldFrames.delete(index);
  }

  private onData(frame: DataFrame): void {
    if (this.fences.size > 0) {
      const fenced = this.fences.get(frame.channel);
      if (fenced !== undefined && frame.incarnation <= fenced) {
        this.stats.fenced++;
        return;
      }
    }
    const slot = this.inputs.get(frame.channel);
    if (slot !== undefined && frame.incarnation <= slot.incarnation) {
      if (frame.incarnation < slot.incarnation) {
        this.stats.stale++;
        this.logger({ level: 'debug', event: 'stale-frame', message: `dropped a frame of channel ${frame.channel} incarnation ${frame.incarnation}: incarnation ${slot.incarnation} is live`, context: { channel: frame.channel, incarnation: frame.incarnation, live: slot.incarnation, seq: frame.seq } });
      } else if (slot.channel === null) this.stats.droppedClosed++;
      else this.deliver(slot.channel, frame);
      return;
    }
    // No consumer for this incarnation yet: keep a copy (the views die with the reader's next call).
    const copy: DataFrame = { ...frame, envelope: frame.envelope.slice(), records: frame.records.slice(), timestamps: frame.timestamps.slice() };
    const list = this.heldFrames.get(frame.channel);
    if (list === undefined) this.heldFrames.set(frame.channel, [copy]);
    else list.push(copy);
    this.hold(copy, true);
  }

  private deliver(channel: RemoteInputChannel, frame: DataFrame): void {
    this.stats.delivered++;
    channel.deliver(frame, this.decoder, this.connection.currentFrameOffset);
  }

  private hold(frame: DataFrame, fresh: boolean): void {
    this.stats.held++;
    this.stats.heldBytes += frame.envelope.length + frame.records.length + frame.timestamps.length;
    if (fresh && this.stats.heldBytes > this.maxHeldBytes) {
      throw new TransportProtocolError(`holding ${this.stats.heldBytes} bytes of frames for channels with no consumer: expected at most ${this.maxHeldBytes} (maxHeldBytes)`, { channel: frame.channel, incarnation: frame.incarnation });
    }
  }

  private release(frame: DataFrame): void {
    this.stats.held--;
    this.stats.heldBytes -= frame.envelope.length + frame.records.length + frame.timestamps.length;
  }

  private onCredit(frame: CreditFrame): void {
    const output = this.outputs.get(frame.channel);
    if (output !== undefined && output.incarnation === frame.incarnation) {
      output.applyCredit(frame.granted, frame.flags);
      return;
    }
    if (output !== undefined && frame.incarnation < output.incarnation) {
      this.stats.staleCredit++;
      return;
    }
    // The consumer registered before the producer: keep the grant for it.
    const held = this.heldCredit.get(frame.channel);
    if (held !== undefined && held.incarnation === frame.incarnation) {
      held.granted += frame.granted;
      held.flags = frame.flags;
    } else if (held === undefined || held.incarnation < frame.incarnation) this.heldCredit.set(frame.channel, { ...frame });
  }
}
