/**
 * In-memory sources: a fixed array, or a generator function of the record number. Both are
 * re-readable by offset, bounded or rate-limited, and split into partitions round-robin.
 */
import { ConfigError } from '../errors.js';
import type { PartitionReader, Source } from './source.js';

/** Options of {@link fromArray}. */
export interface ArraySourceOptions {
  /** Partitions to split the array into (default 1); item i goes to partition i mod partitions. */
  partitions?: number;
  /** Event timestamp of an item, if the stream has event time. */
  timestamp?: (item: any) => number;
}

/** A bounded source over an array. */
export function fromArray<T>(items: readonly T[], options: ArraySourceOptions = {}): Source<T> {
  if (!Array.isArray(items)) throw new ConfigError('fromArray.items', 'an array', items);
  return sequence((n) => items[n]!, { count: items.length, partitions: options.partitions, timestamp: options.timestamp, name: 'array' });
}

/** Options of {@link sequence}. */
export interface SequenceSourceOptions {
  /** Number of records (omit for an unbounded source). */
  count?: number;
  /** Partitions (default 1); record n goes to partition n mod partitions. */
  partitions?: number;
  /** Records per second on the job clock, over all partitions (omit for as fast as possible). */
  rate?: number;
  /** Event timestamp of a record, if the stream has event time. */
  timestamp?: (record: any, n: number) => number;
  /** Source name. */
  name?: string;
}

/** A source whose record number n is `make(n)`. */
export function sequence<T>(make: (n: number) => T, options: SequenceSourceOptions = {}): Source<T> {
  const partitions = options.partitions ?? 1;
  if (!Number.isInteger(partitions) || partitions < 1) throw new ConfigError('source.partitions', 'an integer >= 1', partitions);
  const count = options.count ?? Infinity;
  if (!(count >= 0)) throw new ConfigError('source.count', 'a number of records >= 0', count);
  const rate = options.rate;
  if (rate !== undefined && !(rate > 0)) throw new ConfigError('source.rate', 'records per second > 0', rate);
  const timestamp = options.timestamp;
  return {
    name: options.name ?? 'sequence',
    partitions: () => partitions,
    open(partition): PartitionReader<T> {
      const numberAt = (offset: number): number => offset * partitions + partition;
      const scheduled = (offset: number): number => (rate === undefined ? NaN : (numberAt(offset) * 1000) / rate);
      return {
        available(offset, now) {
          const left = Math.max(0, Math.ceil((count - partition) / partitions) - offset);
          if (rate === undefined) return Math.min(left, 1 << 16);
          // Record n is due at n / rate seconds; count this partition's records due by now.
          const dueNumbers = Math.floor((now * rate) / 1000) + 1;
          const dueHere = Math.max(0, Math.ceil((dueNumbers - partition) / partitions));
          return Math.min(left, Math.max(0, dueHere - offset));
        },
        read(offset, n, records, timestamps, at) {
          for (let k = 0; k < n; k++) {
            const number = numberAt(offset + k);
            const record = make(number);
            records[at + k] = record;
            timestamps[at + k] = timestamp ? timestamp(record, number) : NaN;
          }
        },
        endsAt: (offset) => numberAt(offset) >= count,
        arrivalTime: (offset) => scheduled(offset),
        nextAvailableAt: (offset) => (rate === undefined ? 0 : scheduled(offset)),
      };
    },
  };
}
