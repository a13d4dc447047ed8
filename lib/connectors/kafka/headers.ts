/**
 * The headers causalflow's Kafka sink puts on its records, how to read them back, and the dedupe
 * helper for consumers.
 *
 * Every record carries one header, `cf`, whose text value is `<run>/<subtask>/<seq>/<epoch>/<task>`:
 *
 * | Field | Meaning |
 * | --- | --- |
 * | `run` | Identity of the job run that wrote the record (the same in every worker process, kept by `--resume`; or the sink's `runId` option) |
 * | `subtask` | The sink subtask, decimal: the channel the record left the job by |
 * | `seq` | The record's output index in that subtask, decimal: 0, 1, 2, … without gaps |
 * | `epoch` | The epoch it was produced in (the id of the checkpoint before it), decimal |
 * | `task` | The producing task, `<sink name>[<subtask>]` |
 *
 * The first record of each write also carries `cf-det`: the determinant envelope stored with it (bytes).
 *
 * One header rather than five: kafkajs encodes every header of every record on its own, and five of
 * them cost 40% of the producer's throughput here (one costs 10%).
 *
 * Within one run, (run, subtask, seq) names a record exactly once. A subtask writes one partition, in
 * order, so its sequence numbers only grow along the partition.
 */
import type { ReadHeaders } from './client.js';

/** Header names. */
export const HEADERS = {
  /** `<run>/<subtask>/<seq>/<epoch>/<task>`. */
  id: 'cf',
  /** The determinant envelope of a write, on its first record. */
  determinants: 'cf-det',
} as const;

/** The `cf` header value of a record: `prefix` is `<run>/<subtask>/` (see {@link idPrefix}), `suffix` is `/<task>`. */
export function idHeader(prefix: string, seq: number, epoch: number, suffix: string): string {
  return `${prefix}${seq}/${epoch}${suffix}`;
}

/** The constant start of a writer's `cf` values. */
export function idPrefix(run: string, subtask: number): string {
  if (run.includes('/')) throw new RangeError(`a run id must not contain "/": ${run}`);
  return `${run}/${subtask}/`;
}

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

function integer(s: string): number {
  if (s.length === 0 || s.length > 16) return NaN;
  const n = Number(s);
  return Number.isSafeInteger(n) && n >= 0 ? n : NaN;
}

/** Decodes the causalflow headers of a record, or null when it has none (or malformed ones). */
export function readCausalflowHeaders(headers: AnyHeaders | ReadHeaders | null | undefined): CausalflowHeaders | null {
  if (headers === null || headers === undefined) return null;
  const id = text(first(headers[HEADERS.id]));
  if (id === undefined) return null;
  const a = id.indexOf('/');
  const b = id.indexOf('/', a + 1);
  const c = id.indexOf('/', b + 1);
  const d = id.indexOf('/', c + 1);
  if (a <= 0 || b < 0 || c < 0 || d < 0) return null;
  const subtask = integer(id.slice(a + 1, b));
  const seq = integer(id.slice(b + 1, c));
  const epoch = integer(id.slice(c + 1, d));
  if (Number.isNaN(subtask) || Number.isNaN(seq) || Number.isNaN(epoch)) return null;
  const det = first(headers[HEADERS.determinants]);
  return {
    run: id.slice(0, a),
    task: id.slice(d + 1),
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
