/**
 * The event writer of `bench kafka`, run as a process of its own (a producer outside the stream job, as
 * in production, with a core of its own): writes Nexmark events `0 … total − 1` to a topic, event *n* to
 * partition *n mod partitions*, paced at `rate` per second on the wall clock from `startWall` (event
 * times are that schedule: the generator runs at `rate` from `startWall`).
 *
 * Usage: `node --import tsx bench/kafka-writer.ts '<json options>'`. Once connected it prints
 * `{"ready":true}` and waits for the start time (wall-clock ms) on a line of stdin, so that its own
 * start-up is not mistaken for latency. When done it prints `{"written": n, "writtenPerSec": r}`; errors
 * go to stderr with a non-zero exit.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaClient, type IdempotentProducer, type OutgoingRecord } from '../lib/connectors/kafka/client.js';
import { NexmarkGenerator } from './nexmark/generator.js';

/** What the parent passes. */
export interface WriterOptions {
  brokers: string;
  topic: string;
  partitions: number;
  total: number;
  /** Events per second written (the pace). */
  rate: number;
  /** Events per second of event time (default `rate`: event times are then the write schedule). */
  eventRate?: number;
}

/** Writes the events of `options` (see the module comment), from the wall-clock time `start()` resolves with. */
export async function writePaced(options: WriterOptions, start: () => Promise<number>): Promise<{ written: number; writtenPerSec: number }> {
  const client = createKafkaClient({ brokers: [options.brokers], clientId: 'causalflow-bench-writer' });
  await client.connect();
  const producers: IdempotentProducer[] = [];
  for (let p = 0; p < options.partitions; p++) producers.push(await client.idempotentProducer());
  let written = 0;
  let startWall = Date.now();
  try {
    startWall = await start();
    const generator = new NexmarkGenerator({ eventRate: options.eventRate ?? options.rate, baseTime: startWall });
    while (Date.now() < startWall) await new Promise((resolve) => setTimeout(resolve, 1));
    while (written < options.total) {
      const due = Math.min(options.total, Math.floor(((Date.now() - startWall) * options.rate) / 1000) + 1, written + 2000 * options.partitions);
      if (due <= written) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      const batches: OutgoingRecord[][] = Array.from({ length: options.partitions }, () => []);
      for (let n = written; n < due; n++) batches[n % options.partitions]!.push({ key: null, value: JSON.stringify(generator.event(n)), headers: {} });
      // One producer per partition: the partitions' sends go out at once.
      await Promise.all(batches.map((batch, p) => (batch.length > 0 ? producers[p]!.send(options.topic, p, batch) : Promise.resolve())));
      written = due;
    }
  } finally {
    await Promise.allSettled(producers.map((p) => p.close()));
    await client.close();
  }
  return { written, writtenPerSec: Math.round(written / ((Date.now() - startWall) / 1000)) };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const options = JSON.parse(process.argv[2] ?? '{}') as WriterOptions;
  const start = (): Promise<number> => {
    process.stdout.write('{"ready":true}\n');
    return new Promise((resolve) => {
      let input = '';
      process.stdin.on('data', (chunk: Buffer) => {
        input += chunk.toString();
        if (input.includes('\n')) {
          process.stdin.pause();
          resolve(Number(input.trim()));
        }
      });
    });
  };
  writePaced(options, start).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`kafka-writer: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
