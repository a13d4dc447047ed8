/** The console sink: one JSON line per record on stdout, prefixed with the sink partition. */
import type { Sink, SinkPartition } from './sink.js';

/** Options of {@link consoleSink}. */
export interface ConsoleSinkOptions {
  /** Where lines go (default: process.stdout). */
  write?: (line: string) => void;
  /** Prefix of each line (default: the sink name and partition). */
  prefix?: string;
}

/** A sink printing records as JSON lines. */
export function consoleSink<T>(options: ConsoleSinkOptions = {}): Sink<T> {
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const printed: number[] = [];
  const staged = new Map<string, T[]>();
  return {
    name: 'console',
    open({ subtask }): SinkPartition<T> {
      const prefix = options.prefix ?? `[${subtask}] `;
      const print = (records: readonly T[]): void => {
        let text = '';
        for (const r of records) text += `${prefix}${JSON.stringify(r)}\n`;
        write(text);
        printed[subtask] = (printed[subtask] ?? 0) + records.length;
      };
      return {
        write: (records) => print(records),
        visibleCount: () => printed[subtask] ?? 0,
        stage(txn, records) {
          const key = `${subtask}/${txn}`;
          staged.set(key, [...(staged.get(key) ?? []), ...records]);
        },
        commit(txn) {
          for (const key of [...staged.keys()].sort((a, b) => Number(a.split('/')[1]) - Number(b.split('/')[1]))) {
            const [s, t] = key.split('/').map(Number);
            if (s !== subtask || t! > txn) continue;
            print(staged.get(key)!);
            staged.delete(key);
          }
        },
        abortAfter(txn) {
          for (const key of [...staged.keys()]) {
            const [s, t] = key.split('/').map(Number);
            if (s === subtask && t! > txn) staged.delete(key);
          }
        },
      };
    },
  };
}
