/**
 * The unit that crosses a channel: a run of records, or one control element (barrier, watermark,
 * end of stream). Batches are pooled per output channel and handed back by the consumer, so a steady
 * stream allocates nothing.
 *
 * Every element of a channel has a sequence number (I8): a data batch covers `[seq, seq + count)`,
 * a control element takes one. Downstream drops any element at or below the last sequence number it
 * received on that channel, which is how regenerated output is deduplicated after recovery.
 */
import { GrowableBytes } from '../../determinants/bytes.js';

/** What a batch carries. */
export const ElementType = {
  /** `count` records with their event timestamps. */
  Data: 0,
  /** Checkpoint barrier; `value` is the checkpoint id. */
  Barrier: 1,
  /** Event-time watermark; `value` is the timestamp. */
  Watermark: 2,
  /** The producer will send nothing more. */
  End: 3,
} as const;
/** One of {@link ElementType}. */
export type ElementType = (typeof ElementType)[keyof typeof ElementType];

/** Name of an element type, for messages. */
export function elementTypeName(type: ElementType): string {
  return ['DATA', 'BARRIER', 'WATERMARK', 'END'][type]!;
}

/** A batch of records or one control element. */
export class Batch {
  /** What the batch carries. */
  type: ElementType = ElementType.Data;
  /** Records (data batches); slots past `count` are stale and must not be read. */
  readonly records: unknown[];
  /** Event timestamps of the records; NaN where a record has none. */
  readonly timestamps: Float64Array;
  /** Records in use. */
  count = 0;
  /** Sequence number of the first element (I8). */
  seq = 0;
  /** Barrier: checkpoint id. Watermark: timestamp. */
  value = 0;
  /**
   * When the oldest input behind this batch entered the job (ms on the job clock). Latency at the sink
   * is measured against it. Not part of the data: operators never see it.
   */
  ingestTime = 0;
  /** Determinant envelope piggybacked on this batch (causal logging), `envelopeLength` bytes of it. */
  readonly envelope: GrowableBytes;
  /** Bytes of `envelope` in use; 0 when the batch carries no determinants. */
  envelopeLength = 0;

  constructor(readonly capacity: number) {
    this.records = new Array(capacity).fill(undefined);
    this.timestamps = new Float64Array(capacity);
    this.envelope = new GrowableBytes(64);
  }

  /** Number of sequence numbers this batch occupies. */
  get size(): number {
    return this.type === ElementType.Data ? this.count : 1;
  }

  /** Sequence number after the last element. */
  get seqEnd(): number {
    return this.seq + (this.type === ElementType.Data ? this.count : 1);
  }

  /** Whether the data batch is full. */
  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Resets to an empty data batch, dropping record references so they can be collected. */
  clear(): void {
    const records = this.records;
    for (let i = 0; i < this.count; i++) records[i] = undefined;
    this.type = ElementType.Data;
    this.count = 0;
    this.value = 0;
    this.envelopeLength = 0;
    this.envelope.length = 0;
  }
}

/** A free list of batches of one capacity. */
export class BatchPool {
  private readonly free: Batch[] = [];
  /** Batches created by this pool (for leak checks and memory accounting). */
  created = 0;

  constructor(
    readonly capacity: number,
    private readonly maxFree = 64,
  ) {}

  /** An empty data batch. */
  take(): Batch {
    const batch = this.free.pop();
    if (batch) return batch;
    this.created++;
    return new Batch(this.capacity);
  }

  /** Hands a batch back once nobody reads it any more. */
  give(batch: Batch): void {
    batch.clear();
    if (this.free.length < this.maxFree) this.free.push(batch);
  }
}

/** Attaches the determinant delta for one consumer to an outgoing batch (causal logging). */
export interface EnvelopeAttacher {
  /** Writes into `batch.envelope` everything consumer `consumer` has not received. */
  attach(batch: Batch, consumer: number): void;
}
