/**
 * Micro-benchmark of the TCP transport: `npx tsx bench/transport.ts [--json] [--seconds N] [--capacity N]`.
 *
 * - codec: in one thread, DATA frames of a small 4-field record (`{ id, name, price, ok }`) encoded
 *   (msgpackr, timestamps, checksum) into a reused buffer, and decoded (checksum, msgpackr) into a reused
 *   batch. Records per second each way, per batch size.
 * - loopback: a child process (forked with the tsx loader) connects to this one over 127.0.0.1 with the
 *   handshake and sends batches on one remote channel as fast as credit allows (capacity 8 batches by
 *   default, credit back in groups of half of it); this process consumes them. Batches, records and MB per second between the first
 *   and the last batch received, per batch size. The records are built once and reused, so the figures
 *   are the transport's, not record creation's.
 *
 * Prints readable figures; with `--json`, the last stdout line is one JSON object.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { GrowableBytes } from '../determinants/bytes.js';
import { Batch, ElementType } from '../lib/transport/batch.js';
import {
  BatchDecoder,
  ChannelMux,
  FrameEncoder,
  RpcPeer,
  connect,
  decodeFrame,
  generateSecret,
  listen,
  type DataFrame,
  type FramedConnection,
} from '../lib/transport/tcp/index.js';

/** Figures of one batch size. */
export interface TransportBenchRow {
  /** Records per batch. */
  batchSize: number;
  /** In-process encode (records/s). */
  encodeRecordsPerSec: number;
  /** In-process decode (records/s). */
  decodeRecordsPerSec: number;
  /** Bytes of one DATA frame. */
  frameBytes: number;
  /** Batches per second over loopback between two processes. */
  batchesPerSec: number;
  /** Records per second over loopback between two processes. */
  recordsPerSec: number;
  /** Megabytes (10^6) of frames per second over loopback. */
  mbPerSec: number;
}

/** The JSON result. */
export interface TransportBenchResult {
  /** Which benchmark. */
  bench: 'transport';
  /** Processes involved in the loopback figures. */
  processes: 2;
  /** Worker processes of the runtime (0: no job runs; the loopback peer is a plain child process). */
  workers: 0;
  /** Node version. */
  node: string;
  /** Measured seconds per loopback run. */
  secondsPerRun: number;
  /** Channel capacity (credit) in data batches. */
  capacity: number;
  /** One row per batch size. */
  rows: TransportBenchRow[];
}

const BATCH_SIZES = [16, 256, 1024];

function records(n: number): { id: number; name: string; price: number; ok: boolean }[] {
  return Array.from({ length: n }, (_, i) => ({ id: i, name: `item-${i % 97}`, price: i * 0.25, ok: i % 3 === 0 }));
}

function filled(batchSize: number): Batch {
  const batch = new Batch(batchSize);
  const rs = records(batchSize);
  for (let i = 0; i < batchSize; i++) {
    batch.records[i] = rs[i];
    batch.timestamps[i] = 1_763_683_200_000 + i;
  }
  batch.count = batchSize;
  return batch;
}

/** Encode and decode rates in this thread, each measured for `seconds`. */
function codec(batchSize: number, seconds: number): { encode: number; decode: number; frameBytes: number } {
  const batch = filled(batchSize);
  const encoder = new FrameEncoder();
  const out = new GrowableBytes(1 << 16);
  let n = 0;
  let start = performance.now();
  const budget = seconds * 1000;
  while (performance.now() - start < budget) {
    for (let i = 0; i < 16; i++) {
      out.length = 0;
      batch.seq = n * batchSize;
      encoder.data(out, 0, 1, batch);
      n++;
    }
  }
  const encode = (n * batchSize) / ((performance.now() - start) / 1000);
  const frame = out.view().slice();
  const decoder = new BatchDecoder();
  const target = new Batch(batchSize);
  n = 0;
  start = performance.now();
  while (performance.now() - start < budget) {
    for (let i = 0; i < 16; i++) {
      decoder.fill(decodeFrame(frame) as DataFrame, target);
      target.clear();
      n++;
    }
  }
  return { encode, decode: (n * batchSize) / ((performance.now() - start) / 1000), frameBytes: frame.length };
}

/** The child: connects, and on `run` sends batches of the asked size for the asked time, then END. */
async function child(port: number, secret: string): Promise<void> {
  const connection = await connect({ id: 'bench-producer', secret, port });
  const rpc = new RpcPeer(connection);
  const mux = new ChannelMux(connection);
  rpc.handle('run', async (params) => {
    const { batchSize, seconds, channel } = params as { batchSize: number; seconds: number; channel: number };
    const out = mux.output({ index: channel, from: 0, to: 1 }, 1, { batchSize });
    const rs = records(batchSize);
    let seq = 0;
    const deadline = performance.now() + seconds * 1000;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (out.writable()) {
          if (performance.now() >= deadline) {
            const end = out.takeBatch();
            end.type = ElementType.End;
            end.seq = seq;
            out.send(end);
            resolve();
            return;
          }
          const batch = out.takeBatch();
          for (let i = 0; i < batchSize; i++) {
            batch.records[i] = rs[i];
            batch.timestamps[i] = seq + i;
          }
          batch.count = batchSize;
          batch.seq = seq;
          seq += batchSize;
          out.send(batch);
        }
      };
      out.onWritable = pump;
      pump();
    });
    return { sent: seq };
  });
  connection.on('close', () => process.exit(0));
  connection.start();
}

/** One loopback run: the child produces on a fresh channel, this process consumes. */
async function loopback(connection: FramedConnection, rpc: RpcPeer, mux: ChannelMux, batchSize: number, seconds: number, channel: number, capacity: number) {
  const input = mux.input({ index: channel, from: 0, to: 1 }, 1, { capacity, batchSize });
  let first = 0;
  let last = 0;
  let batches = 0;
  let recordsIn = 0;
  const bytesAtStart = connection.stats.bytesIn;
  let bytesAtFirst = 0;
  const done = new Promise<void>((resolve) => {
    input.onReadable = () => {
      for (let batch = input.poll(); batch !== undefined; batch = input.poll()) {
        if (batch.type === ElementType.End) {
          input.release(batch);
          resolve();
          return;
        }
        if (batches === 0) {
          first = performance.now();
          bytesAtFirst = connection.stats.bytesIn;
        }
        batches++;
        recordsIn += batch.count;
        last = performance.now();
        input.release(batch);
      }
    };
  });
  const answer = rpc.call<{ sent: number }>('run', { batchSize, seconds, channel }, { timeoutMs: seconds * 1000 + 30_000 });
  await done;
  const { sent } = await answer;
  if (sent !== recordsIn) throw new Error(`producer sent ${sent} records, consumer got ${recordsIn}`);
  input.close();
  const elapsed = (last - first) / 1000;
  // The first batch's bytes arrived before `first`; count from there.
  const bytes = connection.stats.bytesIn - (bytesAtFirst || bytesAtStart);
  return { batchesPerSec: (batches - 1) / elapsed, recordsPerSec: (recordsIn - batchSize) / elapsed, mbPerSec: bytes / elapsed / 1e6 };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(Number(argv[1]), argv[2]!);
  const json = argv.includes('--json');
  const secondsArg = argv.indexOf('--seconds');
  const seconds = secondsArg >= 0 ? Number(argv[secondsArg + 1]) : 3;
  const capacityArg = argv.indexOf('--capacity');
  const capacity = capacityArg >= 0 ? Number(argv[capacityArg + 1]) : 8;
  const secret = generateSecret();
  const server = await listen({ id: 'bench-consumer', secret });
  const accepted = once(server, 'connection') as Promise<[FramedConnection]>;
  // The child must load TypeScript the way this process did (through tsx).
  const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import=tsx'];
  const producer = fork(fileURLToPath(import.meta.url), ['--child', String(server.port), secret], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [connection] = await accepted;
  const rpc = new RpcPeer(connection);
  const mux = new ChannelMux(connection);
  connection.start();
  const rows: TransportBenchRow[] = [];
  let channel = 0;
  for (const batchSize of BATCH_SIZES) {
    const c = codec(batchSize, Math.min(seconds, 2));
    const l = await loopback(connection, rpc, mux, batchSize, seconds, channel++, capacity);
    const row: TransportBenchRow = {
      batchSize,
      encodeRecordsPerSec: Math.round(c.encode),
      decodeRecordsPerSec: Math.round(c.decode),
      frameBytes: c.frameBytes,
      batchesPerSec: Math.round(l.batchesPerSec),
      recordsPerSec: Math.round(l.recordsPerSec),
      mbPerSec: Math.round(l.mbPerSec * 10) / 10,
    };
    rows.push(row);
    const m = (x: number): string => `${(x / 1e6).toFixed(2)}M`;
    console.log(
      `batch ${String(batchSize).padStart(4)}: loopback ${String(row.batchesPerSec).padStart(7)} batches/s, ${m(row.recordsPerSec)} records/s, ${row.mbPerSec} MB/s; ` +
        `codec encode ${m(row.encodeRecordsPerSec)}/s, decode ${m(row.decodeRecordsPerSec)}/s, ${row.frameBytes} B/frame`,
    );
  }
  connection.close();
  await once(producer, 'exit');
  await server.close();
  const result: TransportBenchResult = { bench: 'transport', processes: 2, workers: 0, node: process.version, secondsPerRun: seconds, capacity, rows };
  if (json) console.log(JSON.stringify(result));
}

await main();
