/**
 * The transport: where a task's channels come from. A task holds the producer's end of its output
 * channels (`OutputChannel`) and the consumer's end of its input channels (a `LocalChannel` queue, fed in
 * process by the producer itself or by a network connection), and never knows which. Implementations: in
 * process (both ends are one `LocalChannel`, this file) and TCP between worker processes
 * (`lib/transport/tcp/`), as timely-dataflow's allocators are.
 */
import { LocalChannel, type LocalChannelOptions, type OutputChannel } from './channel.js';

/** A channel of the plan, as the transport needs to know it. */
export interface ChannelPlan {
  /** Index of the channel in the job's physical plan. */
  readonly index: number;
  /** Producer task id. */
  readonly from: number;
  /** Consumer task id. */
  readonly to: number;
}

/** Creates the ends of channels for the tasks of one worker. */
export interface Transport {
  /** The producer's end of `channel` at `incarnation`, whose consumer runs on worker `consumerWorker`. */
  outputEnd(channel: ChannelPlan, incarnation: number, consumerWorker: number): OutputChannel;
  /** The consumer's end of `channel` at `incarnation`, whose producer runs on worker `producerWorker`. */
  inputEnd(channel: ChannelPlan, incarnation: number, producerWorker: number): LocalChannel;
  /** Ends of incarnations older than `incarnation` of `channel` will not be asked for again. */
  retire(channel: ChannelPlan, incarnation: number): void;
  /**
   * The producer of `channel` failed: elements of incarnations up to `incarnation` that reach this worker
   * from now on are dropped (its replacement sends them again). In process a dead task sends nothing more;
   * across a network its last frames may still be on the way.
   */
  fence(channel: ChannelPlan, incarnation: number): void;
  /** Releases the transport's connections. */
  close(): Promise<void>;
}

/** The options of one plan channel: those of its in-process queue, and the credit it has across a connection. */
export interface ChannelOptions extends LocalChannelOptions {
  /**
   * Data batches the producer may have in flight when the consumer is in another process (the credit window of a
   * network transport; default: `capacity`). Credit comes back across a socket, and only between the consumer's
   * slices, so a window the size of an in-process queue left the producer waiting for it.
   */
  remoteCapacity?: number;
}

/** Channel options (credit, batch size) for a channel of the plan. */
export type ChannelOptionsOf = (channel: ChannelPlan) => ChannelOptions;

/**
 * The in-process transport: one `LocalChannel` per (channel, incarnation) is both ends. With `forward`, a
 * channel whose other end is on another worker is handed to it (the network transport).
 */
export class LocalTransport implements Transport {
  private readonly ends = new Map<string, LocalChannel>();

  constructor(
    /** This worker's index. */
    private readonly self: number,
    private readonly optionsOf: ChannelOptionsOf,
    private readonly remote: Transport | null = null,
  ) {}

  outputEnd(channel: ChannelPlan, incarnation: number, consumerWorker: number): OutputChannel {
    if (consumerWorker !== this.self && this.remote !== null) return this.remote.outputEnd(channel, incarnation, consumerWorker);
    return this.end(channel, incarnation);
  }

  inputEnd(channel: ChannelPlan, incarnation: number, producerWorker: number): LocalChannel {
    if (producerWorker !== this.self && this.remote !== null) return this.remote.inputEnd(channel, incarnation, producerWorker);
    return this.end(channel, incarnation);
  }

  retire(channel: ChannelPlan, incarnation: number): void {
    for (let i = incarnation - 1; i >= 0; i--) if (!this.ends.delete(`${channel.index}/${i}`)) break;
    this.remote?.retire(channel, incarnation);
  }

  fence(channel: ChannelPlan, incarnation: number): void {
    this.remote?.fence(channel, incarnation);
  }

  async close(): Promise<void> {
    this.ends.clear();
    await this.remote?.close();
  }

  private end(channel: ChannelPlan, incarnation: number): LocalChannel {
    const key = `${channel.index}/${incarnation}`;
    let end = this.ends.get(key);
    if (!end) {
      end = new LocalChannel({ index: channel.index, from: channel.from, to: channel.to, incarnation }, this.optionsOf(channel));
      this.ends.set(key, end);
    }
    return end;
  }
}
