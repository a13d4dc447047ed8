/**
 * The transport between worker processes: one authenticated TCP connection per pair of workers (the worker
 * with the lower index dials the other's data server), every channel between them multiplexed on it by
 * channel index and incarnation. Ends towards a worker that is gone behave as closed channels: sends are
 * dropped (the producer's in-flight log keeps them for the replacement) and credit is never short.
 */
import type { ChannelId, LocalChannel, LocalChannelOptions, OutputChannel } from '../transport/channel.js';
import { ChannelMux, connect, listen, type FramedConnection, type TransportLogger, type TransportServer } from '../transport/tcp/index.js';
import type { ChannelOptionsOf, ChannelPlan, Transport } from '../transport/transport.js';
import { LocalChannel as InProcessChannel } from '../transport/channel.js';

/** Where a peer's data server listens. */
export interface PeerAddress {
  /** Worker index. */
  worker: number;
  host: string;
  port: number;
}

/** Options of a {@link TcpTransport}. */
export interface TcpTransportOptions {
  /** This worker's index. */
  self: number;
  /** The job's shared secret. */
  secret: string;
  /** Address to bind the data server to (default 127.0.0.1). */
  bindHost?: string;
  /** Address peers should dial (default: the bound one). */
  advertisedHost?: string;
  /** Channel options (credit, batch size) of a plan channel. */
  optionsOf: ChannelOptionsOf;
  logger?: TransportLogger;
}

/** Channels to and from other worker processes. */
export class TcpTransport implements Transport {
  private server: TransportServer | null = null;
  private readonly muxes = new Map<number, ChannelMux>();
  private readonly connections = new Map<number, FramedConnection>();
  /** Ends towards a peer that is gone: closed stand-ins, so that tasks see closed channels, not errors. */
  private readonly closedEnds = new Map<string, InProcessChannel>();

  constructor(private readonly o: TcpTransportOptions) {}

  /** Starts the data server; returns where peers dial it. */
  async listen(): Promise<{ host: string; port: number }> {
    this.server = await listen({
      id: `worker-${this.o.self}`,
      secret: this.o.secret,
      host: this.o.bindHost ?? '127.0.0.1',
      port: 0,
      ...(this.o.advertisedHost ? { advertisedHost: this.o.advertisedHost } : {}),
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
    this.server.on('connection', (connection) => {
      const peer = Number(/^worker-(\d+)$/.exec(connection.remoteId)?.[1] ?? -1);
      if (peer < 0) {
        connection.destroy();
        return;
      }
      this.adopt(peer, connection);
    });
    return { host: this.server.advertisedHost, port: this.server.port };
  }

  /** Dials every peer with a higher index this worker has no connection to; the others dial this one. */
  async connectPeers(peers: readonly PeerAddress[]): Promise<void> {
    await Promise.all(
      peers
        .filter((peer) => peer.worker > this.o.self && !this.connections.has(peer.worker))
        .map(async (peer) => {
          const connection = await connect({
            id: `worker-${this.o.self}`,
            secret: this.o.secret,
            host: peer.host,
            port: peer.port,
            expectPeer: `worker-${peer.worker}`,
            ...(this.o.logger ? { logger: this.o.logger } : {}),
          });
          this.adopt(peer.worker, connection);
        }),
    );
  }

  /** Waits until this worker is connected to every worker of `workers` other than itself. */
  async connectedTo(workers: readonly number[], timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (workers.some((w) => w !== this.o.self && !this.connections.has(w))) {
      if (Date.now() > deadline) throw new Error(`worker-${this.o.self}: no data connection to workers ${workers.filter((w) => w !== this.o.self && !this.connections.has(w)).join(', ')}`);
      await new Promise<void>((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Forgets a peer that is gone (its connection is closed, or about to be). */
  forget(peer: number): void {
    this.connections.get(peer)?.destroy();
    this.connections.delete(peer);
    this.muxes.delete(peer);
  }

  outputEnd(channel: ChannelPlan, incarnation: number, consumerWorker: number): OutputChannel {
    const mux = this.muxes.get(consumerWorker);
    if (!mux) return this.closedEnd(channel, incarnation);
    return mux.output(channel, incarnation, { batchSize: this.o.optionsOf(channel).batchSize ?? 256 });
  }

  inputEnd(channel: ChannelPlan, incarnation: number, producerWorker: number): LocalChannel {
    const mux = this.muxes.get(producerWorker);
    if (!mux) return this.closedEnd(channel, incarnation);
    const options = this.o.optionsOf(channel);
    return mux.input(channel, incarnation, { capacity: options.remoteCapacity ?? options.capacity, batchSize: options.batchSize });
  }

  retire(): void {}

  /** {@inheritDoc Transport.fence} Every connection refuses them: the producer may have run on any peer. */
  fence(channel: ChannelPlan, incarnation: number): void {
    for (const mux of this.muxes.values()) mux.fence(channel.index, incarnation);
  }

  async close(): Promise<void> {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
    this.muxes.clear();
    await this.server?.close();
    this.server = null;
  }

  private adopt(peer: number, connection: FramedConnection): void {
    this.connections.get(peer)?.destroy();
    this.connections.set(peer, connection);
    this.muxes.set(peer, new ChannelMux(connection, this.o.logger ? { logger: this.o.logger } : {}));
    connection.on('close', () => {
      if (this.connections.get(peer) === connection) {
        this.connections.delete(peer);
        this.muxes.delete(peer);
      }
    });
    connection.start();
  }

  /** A closed channel standing for an end towards a worker that is gone. */
  private closedEnd(channel: ChannelPlan, incarnation: number): InProcessChannel {
    const key = `${channel.index}/${incarnation}`;
    let end = this.closedEnds.get(key);
    if (!end) {
      const id: ChannelId = { index: channel.index, from: channel.from, to: channel.to, incarnation };
      const options: LocalChannelOptions = this.o.optionsOf(channel);
      end = new InProcessChannel(id, options);
      end.close();
      this.closedEnds.set(key, end);
    }
    return end;
  }
}
