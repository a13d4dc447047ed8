/**
 * The headers causalflow's Kafka sink puts on every record, how to read them back, and the dedupe
 * helper for consumers.
 *
 * | Header | Value | Meaning |
 * | --- | --- | --- |
 * | `cf-run` | text | Identity of the run of the sink that wrote the record (random per `kafkaSink()`, or its `runId` option) |
 * | `cf-task` | text | The producing task, `<sink name>[<subtask>]` |
 * | `cf-subtask` | decimal | The sink subtask (the channel the record left the job by) |
 * | `cf-seq` | decimal | The record's output index in that subtask: 0, 1, 2, … without gaps |
 * | `cf-epoch` | decimal | The epoch it was produced in (the id of the checkpoint before it) |
 * | `cf-det` | bytes | On the first record of a write only: the determinant envelope stored with it |
 *
 * Within one run, (`cf-run`, `cf-subtask`, `cf-seq`) names a record exactly once. A subtask writes one
 * partition, in order, so its sequence numbers only grow along the partition.
 */
import type { ReadHeaders } from './client.js';

/** Header names. */
export const HEADERS = {
  run: 'cf-run',
  task: 'cf-task',
  subtask: 'cf-subtask',
  seq: 'cf-seq',
  epoch: 'cf-epoch',
  determinants: 'cf-det',
} as const;

/** The causalflow headers of a record, decoded. */
export interface CausalflowHeaders {
  /** Run identity. */
  run: string;
  /** Producing task, `<sink name>[<subtask>]`. */
  task: string;
  /** Sink subtask. */
  subtask: number;
  /** Output index in the subtask. */
  seq: number;
  /** Epoch of production. */
  epoch: number;
  /** The determinant envelope stored with this record, if any. */
  determinants: Uint8Array | null;
}

/** Header values as any Kafka client returns them (strings or bytes, possibly repeated). */
export type AnyHeaders = Record<string, Buffer | Uint8Array | string | readonly (Buffer | Uint8Array | string)[] | null | undefined>;

/** A consumed Kafka record, as far as {@link dedupeKafkaRecords} looks at it. */
export interface RecordWithHeaders {
  headers?: AnyHeaders | null;
}

function first(value: AnyHeaders[string] | ReadHeaders[string]): Buffer | Uint8Array | string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value[0] as Buffer | Uint8Array | string | undefined;
  return value as Buffer | Uint8Array | string;
}

function text(value: Buffer | Uint8Array | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
}

function integer(value: Buffer | Uint8Array | string | undefined): number {
  const s = text(value);
  if (s === undefined || s.length === 0 || s.length > 16) return NaN;
  const n = Number(s);
  return Number.isSafeInteger(n) && n >= 0 ? n : NaN;
}

/** Decodes the causalflow headers of a record, or null when it has none (or malformed ones). */
export function readCausalflowHeaders(headers: AnyHeaders | ReadHeaders | null | undefined): CausalflowHeaders | null {
  if (headers === null || headers === undefined) return null;
  const run = text(first(headers[HEADERS.run]));
  if (run === undefined) return null;
  const subtask = integer(first(headers[HEADERS.subtask]));
  const seq = integer(first(headers[HEADERS.seq]));
  const epoch = integer(first(headers[HEADERS.epoch]));
  if (Number.isNaN(subtask) || Number.isNaN(seq) || Number.isNaN(epoch)) return null;
  const det = first(headers[HEADERS.determinants]);
  return {
    run,
    task: text(first(headers[HEADERS.task])) ?? '',
    subtask,
    seq,
    epoch,
    determinants: det === undefined ? null : typeof det === 'string' ? Buffer.from(det, 'latin1') : new Uint8Array(det.buffer, det.byteOffset, det.byteLength),
  };
}

/**
 * Drops records that a causalflow Kafka sink wrote more than once. Feed it the records of a topic in
 * partition order (as any consumer gets them); it remembers, per writer (run and subtask), the highest
 * sequence number accepted, so memory grows with the number of writers, not of records. Records
 * without causalflow headers are always accepted.
 *
 * ```ts
 * const dedupe = new KafkaDeduper();
 * await consumer.run({ eachMessage: async ({ message }) => { if (dedupe.accept(message)) handle(message); } });
 * ```
 */
export class KafkaDeduper {
  private readonly highest = new Map<string, number>();
  /** Records dropped so far. */
  duplicates = 0;

  /** Whether `record` is new (true) or a copy of one accepted before (false). */
  accept(record: RecordWithHeaders): boolean {
    const h = readCausalflowHeaders(record.headers);
    if (h === null) return true;
    const writer = `${h.run}\u0000${h.subtask}`;
    const highest = this.highest.get(writer);
    if (highest !== undefined && h.seq <= highest) {
      this.duplicates++;
      return false;
    }
    this.highest.set(writer, h.seq);
    return true;
  }
}

/**
 * The records of `records` without the copies a causalflow Kafka sink may have written (for example
 * by incarnations of a sink in processes that died mid-write), in their order; see {@link KafkaDeduper}.
 */
export function dedupeKafkaRecords<R extends RecordWithHeaders>(records: Iterable<R>): R[] {
  const deduper = new KafkaDeduper();
  const out: R[] = [];
  for (const record of records) if (deduper.accept(record)) out.push(record);
  return out;
}
