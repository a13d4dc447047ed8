/**
 * The listening side: {@link listen} binds a TCP server (loopback by default), runs the handshake on every
 * accepted socket, and hands out the connections that passed it. Refused ones are logged and reported.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { FramedConnection, type ConnectionOptions } from './connection.js';
import { HandshakeError, ListenFailedError } from './errors.js';
import { FrameReader } from './frame-reader.js';
import { HANDSHAKE_MAX_FRAME_SIZE, parseSecret, refuse, serverHandshake, type HandshakeOptions } from './handshake.js';
import { silentLogger, type TransportLogger } from './log.js';

/** Options of {@link listen}. */
export interface ListenOptions extends HandshakeOptions, ConnectionOptions {
  /** Address to bind (default 127.0.0.1: loopback only). Set another one only to accept other hosts. */
  host?: string;
  /** Port to bind (default 0: the system picks one; read it from {@link TransportServer.port}). */
  port?: number;
  /** Address peers should dial, reported by {@link TransportServer.address} (default: `host`). */
  advertisedHost?: string;
}

/** Events of a {@link TransportServer}. */
export interface ServerEvents {
  /** A connection passed the handshake. It is not started: attach listeners, then call `start()`. */
  connection: [connection: FramedConnection];
  /** A connection was refused during the handshake (already logged and closed). */
  refused: [error: HandshakeError];
}

/** A listening transport server. */
export class TransportServer extends EventEmitter<ServerEvents> {
  /** Connections that passed the handshake and are not closed yet. */
  readonly connections = new Set<FramedConnection>();
  /** Handshakes refused so far. */
  refusedCount = 0;
  private readonly pendingSockets = new Set<Socket>();

  /** Use {@link listen}. */
  constructor(
    private readonly server: Server,
    /** The bound address. */
    readonly host: string,
    /** The bound port (the chosen one when 0 was asked). */
    readonly port: number,
    /** The address to advertise to peers. */
    readonly advertisedHost: string,
    private readonly options: ListenOptions,
    private readonly logger: TransportLogger,
  ) {
    super();
    server.on('connection', (socket) => this.accept(socket));
  }

  /** `host:port` for peers to dial (the advertised host). */
  get address(): string {
    return `${this.advertisedHost}:${this.port}`;
  }

  /** Stops accepting, destroys sockets still in their handshake and, unless `keepConnections`, closes the open connections. */
  async close(keepConnections = false): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.pendingSockets) socket.destroy();
    if (!keepConnections) for (const connection of this.connections) connection.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.pendingSockets.add(socket);
    const reader = new FrameReader({ maxFrameSize: HANDSHAKE_MAX_FRAME_SIZE });
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    serverHandshake(socket, reader, this.options).then(
      (identity) => {
        this.pendingSockets.delete(socket);
        const connection = new FramedConnection(socket, reader, identity, this.options);
        this.connections.add(connection);
        connection.on('close', () => this.connections.delete(connection));
        this.logger({ level: 'info', event: 'connection-accepted', message: `accepted ${identity.remoteId} from ${remote}`, context: { remote, remoteId: identity.remoteId, localId: identity.localId } });
        if (this.listenerCount('connection') === 0) {
          this.logger({ level: 'warn', event: 'connection-unclaimed', message: `nobody listens for connections on ${this.address}; closing ${identity.remoteId}`, context: { remote } });
          connection.destroy();
          return;
        }
        this.emit('connection', connection);
      },
      (error: unknown) => {
        this.pendingSockets.delete(socket);
        const refusal = error instanceof HandshakeError ? error : new HandshakeError('protocol', String(error), { remote }, error);
        this.refusedCount++;
        this.logger({ level: 'warn', event: 'handshake-refused', message: `refused ${remote}: ${refusal.message}`, context: { ...refusal.context, remote } });
        refuse(socket, refusal);
        this.emit('refused', refusal);
      },
    );
  }
}

/**
 * Binds a transport server. Resolves once it listens, with the chosen port; rejects with
 * {@link ListenFailedError}. The secret is checked here, so a malformed one fails at startup rather than
 * at the first connection.
 */
export async function listen(options: ListenOptions): Promise<TransportServer> {
  parseSecret(options.secret);
  const host = options.host ?? '127.0.0.1';
  const server = createServer({ pauseOnConnect: true });
  const logger = options.logger ?? silentLogger;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(new ListenFailedError(host, options.port ?? 0, error));
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => logger({ level: 'error', event: 'server-error', message: error.message, context: { host } }));
  const port = (server.address() as AddressInfo).port;
  return new TransportServer(server, host, port, options.advertisedHost ?? host, options, logger);
}
