/**
 * The collect sink: output kept in memory, readable while the job runs and after. It stands in for an
 * external system: it lives outside the tasks, so it survives their failures.
 */
import type { Sink, SinkPartition } from './sink.js';

class CollectPartition<T> implements SinkPartition<T> {
  readonly visible: T[] = [];
  private readonly staged = new Map<number, T[]>();
  private committedTxn = -1;
  private envelopes: Uint8Array[] = [];

  write(records: readonly T[], firstIndex: number, determinants?: Uint8Array): void {
    if (firstIndex !== this.visible.length) {
      throw new Error(`collect sink: write at index ${firstIndex}, but ${this.visible.length} records are visible`);
    }
    // Stored together with the records, as one transaction would.
    if (determinants !== undefined && determinants.length > 0) this.envelopes.push(determinants.slice());
    for (const r of records) this.visible.push(r);
  }

  determinants(): Uint8Array[] {
    return this.envelopes;
  }

  pruneDeterminants(keep: (envelope: Uint8Array) => boolean): void {
    this.envelopes = this.envelopes.filter(keep);
  }

  visibleCount(): number {
    return this.visible.length;
  }

  stage(txn: number, records: readonly T[]): void {
    let list = this.staged.get(txn);
    if (!list) {
      list = [];
      this.staged.set(txn, list);
    }
    for (const r of records) list.push(r);
  }

  commit(txn: number): void {
    const ready = [...this.staged.keys()].filter((t) => t <= txn).sort((a, b) => a - b);
    for (const t of ready) {
      if (t > this.committedTxn) for (const r of this.staged.get(t)!) this.visible.push(r);
      this.staged.delete(t);
    }
    if (txn > this.committedTxn) this.committedTxn = Math.min(txn, Number.MAX_SAFE_INTEGER);
  }

  abortAfter(txn: number): void {
    for (const t of [...this.staged.keys()]) if (t > txn) this.staged.delete(t);
  }
}

/** A sink that keeps its output in memory. */
export class CollectSink<T> implements Sink<T> {
  /** The records live in the launching process: worker processes write them through the coordinator. */
  readonly location = 'coordinator' as const;
  private readonly partitions: CollectPartition<T>[] = [];

  constructor(readonly name = 'collect') {}

  /** {@inheritDoc Sink.open} */
  open(context: { subtask: number }): SinkPartition<T> {
    let partition = this.partitions[context.subtask];
    if (!partition) {
      partition = new CollectPartition<T>();
      this.partitions[context.subtask] = partition;
    }
    return partition;
  }

  /** Every visible record, partition by partition. */
  results(): T[] {
    return this.partitions.flatMap((p) => p?.visible ?? []);
  }

  /** Visible records of one partition, in output order. */
  partition(subtask: number): readonly T[] {
    return this.partitions[subtask]?.visible ?? [];
  }

  /** Number of partitions opened. */
  get partitionCount(): number {
    return this.partitions.length;
  }

  /** Number of visible records. */
  get size(): number {
    let n = 0;
    for (const p of this.partitions) n += p?.visible.length ?? 0;
    return n;
  }
}

/** A sink that keeps its output in memory; read it with `results()`. */
export function collectSink<T>(name?: string): CollectSink<T> {
  return new CollectSink<T>(name);
}
