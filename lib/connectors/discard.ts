/**
 * The discard sink: counts records and keeps none. For benchmarks, where the output's volume would
 * otherwise measure the memory of the machine rather than the runtime.
 */
import type { Sink, SinkPartition } from './sink.js';

/** A sink that counts and drops its records; `count` is the number made visible. */
export class DiscardSink<T> implements Sink<T> {
  private readonly counts: number[] = [];
  private readonly staged = new Map<string, number>();

  constructor(readonly name = 'discard') {}

  /** {@inheritDoc Sink.open} */
  open({ subtask }: { subtask: number }): SinkPartition<T> {
    this.counts[subtask] ??= 0;
    const key = (txn: number): string => `${subtask}/${txn}`;
    return {
      write: (records) => {
        this.counts[subtask]! += records.length;
      },
      visibleCount: () => this.counts[subtask]!,
      stage: (txn, records) => {
        this.staged.set(key(txn), (this.staged.get(key(txn)) ?? 0) + records.length);
      },
      commit: (txn) => {
        for (const [k, n] of this.staged) {
          const [s, t] = k.split('/').map(Number);
          if (s === subtask && t! <= txn) {
            this.counts[subtask]! += n;
            this.staged.delete(k);
          }
        }
      },
      abortAfter: (txn) => {
        for (const k of [...this.staged.keys()]) {
          const [s, t] = k.split('/').map(Number);
          if (s === subtask && t! > txn) this.staged.delete(k);
        }
      },
    };
  }

  /** Records made visible, over all partitions. */
  get count(): number {
    let n = 0;
    for (const c of this.counts) n += c ?? 0;
    return n;
  }
}
