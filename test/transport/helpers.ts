/**
 * Shared pieces of the transport tests: connected pairs on loopback, frame builders, and waiting helpers.
 */
import { once } from 'node:events';
import { GrowableBytes } from '../../determinants/bytes.js';
import { checksum64 } from '../../determinants/checksum.js';
import { writeU64 } from '../../determinants/bytes.js';
import { Batch, ElementType } from '../../lib/transport/batch.js';
import {
  FrameEncoder,
  connect,
  listen,
  putU32,
  type ConnectOptions,
  type FramedConnection,
  type ListenOptions,
  type TransportLogEvent,
  type TransportServer,
} from '../../lib/transport/tcp/index.js';

/** A fixed secret for tests (hex). */
export const SECRET = '5ec2e7'.padEnd(64, '0a');
/** Another one, for refusals. */
export const OTHER_SECRET = 'bad5ec'.padEnd(64, '1b');

/** A server and a client connected to it, both not started unless `start` is set. */
export interface Pair {
  server: TransportServer;
  /** The client side. */
  client: FramedConnection;
  /** The server side of the same connection. */
  accepted: FramedConnection;
  /** Log events of both sides. */
  logs: TransportLogEvent[];
  /** Closes everything. */
  close(): Promise<void>;
}

/** Opens a server and connects a client to it. */
export async function pair(
  options: { server?: Partial<ListenOptions>; client?: Partial<ConnectOptions>; start?: boolean } = {},
): Promise<Pair> {
  const logs: TransportLogEvent[] = [];
  const logger = (event: TransportLogEvent): void => {
    logs.push(event);
  };
  const server = await listen({ id: 'worker-server', secret: SECRET, logger, ...options.server });
  const acceptedPromise = once(server, 'connection') as Promise<[FramedConnection]>;
  const client = await connect({ id: 'worker-client', secret: SECRET, port: server.port, logger, ...options.client });
  const [accepted] = await acceptedPromise;
  if (options.start !== false) {
    client.start();
    accepted.start();
  }
  return {
    server,
    client,
    accepted,
    logs,
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}

/** Resolves with the error a connection closed with (null after a clean close). */
export function closed(connection: FramedConnection): Promise<Error | null> {
  return new Promise((resolve) => {
    if (!connection.isOpen && connection.socket.destroyed) resolve(connection.error);
    else connection.once('close', (error) => resolve(error));
  });
}

/** Waits until `condition` holds, polling every few ms; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A sleep, for tests that must show that something does not happen within a time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A data batch of `count` small records starting at `seq`. */
export function dataBatch(seq: number, count: number, capacity = Math.max(count, 1)): Batch {
  const batch = new Batch(capacity);
  for (let i = 0; i < count; i++) {
    batch.records[i] = { id: seq + i, name: `r${seq + i}`, price: (seq + i) * 0.5, ok: i % 2 === 0 };
    batch.timestamps[i] = 1_000 + seq + i;
  }
  batch.count = count;
  batch.seq = seq;
  batch.ingestTime = 12.5;
  return batch;
}

/** A control batch. */
export function controlBatch(type: ElementType, seq: number, value: number): Batch {
  const batch = new Batch(1);
  batch.type = type;
  batch.seq = seq;
  batch.value = value;
  return batch;
}

/** Encodes frames with a fresh encoder and returns a copy of the bytes. */
export function encode(write: (encoder: FrameEncoder, out: GrowableBytes) => void): Uint8Array {
  const out = new GrowableBytes(256);
  write(new FrameEncoder(), out);
  return out.view().slice();
}

/** A frame with any type byte and body, with a correct length and checksum (to test checks past the checksum). */
export function rawFrame(type: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + body.length + 8);
  putU32(frame, 0, frame.length);
  frame[4] = type;
  frame.set(body, 5);
  writeU64(frame, frame.length - 8, checksum64(frame.subarray(0, frame.length - 8)));
  return frame;
}
