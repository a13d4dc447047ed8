/**
 * The Nexmark source: the generator's events, split round-robin into partitions and optionally paced
 * on the job clock.
 *
 * Partition p of P holds event numbers p, p + P, p + 2P, …: offset k is event k·P + p. An event is a
 * function of its number only, so re-reading an offset gives the same event, and a restored reader
 * resumes exactly where its checkpointed offset says.
 *
 * With a `rate`, event n is scheduled at `startTime + n · 1000 / rate` on the job clock (the rate is the
 * total over all partitions), becomes available then, and that time is its arrival time, from which
 * latency is measured. Without one, every event is available at once.
 */
import { ConfigError } from '../../lib/errors.js';
import type { PartitionReader, Source, SourceContext } from '../../lib/connectors/source.js';
import { NexmarkGenerator, type NexmarkConfig } from './generator.js';
import type { NexmarkEvent } from './model.js';

/** Options of {@link nexmarkSource}: the generator's config plus how to split and pace it. */
export interface NexmarkSourceOptions extends Partial<NexmarkConfig> {
  /** Source name shown in plans and errors. Default `nexmark`. */
  name?: string;
  /** Number of partitions. Default 1. */
  partitions?: number;
  /** Events per second on the job clock, over all partitions. `undefined` or `Infinity`: as fast as read. */
  rate?: number;
  /** Job-clock time (ms) at which event 0 is scheduled. Default 0. */
  startTime?: number;
}

/** Most records `available` reports at once, so that an unbounded source answers a finite number. */
export const MAX_AVAILABLE = 1 << 20;

/** A Nexmark source (see the module comment). Throws a `ConfigError` on a bad option. */
export function nexmarkSource(options: NexmarkSourceOptions = {}): Source<NexmarkEvent> {
  const { name = 'nexmark', partitions = 1, rate = Infinity, startTime = 0, ...config } = options;
  if (!Number.isSafeInteger(partitions) || partitions < 1) throw new ConfigError('nexmark.partitions', 'an integer ≥ 1', partitions);
  if (!(rate > 0)) throw new ConfigError('nexmark.rate', 'events per second > 0, or Infinity', rate);
  if (!Number.isFinite(startTime)) throw new ConfigError('nexmark.startTime', 'a finite job-clock time in ms', startTime);
  // One generator serves every reader opened in this process: its state is only scratch for one call.
  const generator = new NexmarkGenerator(config);
  return {
    name,
    partitions: () => partitions,
    open(partition: number, _context: SourceContext): PartitionReader<NexmarkEvent> {
      if (!Number.isSafeInteger(partition) || partition < 0 || partition >= partitions) {
        throw new ConfigError(`${name}.partition`, `an integer in [0, ${partitions})`, partition);
      }
      return new NexmarkPartitionReader(generator, partition, partitions, rate, startTime);
    },
  };
}

/** Reads partition `partition` of `partitions`. */
class NexmarkPartitionReader implements PartitionReader<NexmarkEvent> {
  /** Records in this partition (Infinity when unbounded). */
  private readonly size: number;
  /** Total events of the source, capped where doubles still count exactly. */
  private readonly totalEvents: number;
  private readonly paced: boolean;
  private readonly msPerEvent: number;

  constructor(
    private readonly generator: NexmarkGenerator,
    private readonly partition: number,
    private readonly partitions: number,
    private readonly rate: number,
    private readonly startTime: number,
  ) {
    this.totalEvents = Math.min(generator.config.maxEvents, Number.MAX_SAFE_INTEGER);
    this.size = this.eventsBelow(this.totalEvents);
    this.paced = Number.isFinite(rate);
    this.msPerEvent = 1000 / rate;
  }

  available(offset: number, now: number): number {
    const reachable = this.paced ? this.eventsBelow(this.dueCount(now)) : this.size;
    return Math.max(0, Math.min(reachable - offset, MAX_AVAILABLE));
  }

  read(offset: number, count: number, records: unknown[], timestamps: Float64Array, at: number): void {
    this.generator.fill(offset * this.partitions + this.partition, count, this.partitions, records, timestamps, at);
  }

  endsAt(offset: number): boolean {
    return offset >= this.size;
  }

  arrivalTime(offset: number): number {
    return this.paced ? this.scheduledAt(offset * this.partitions + this.partition) : NaN;
  }

  nextAvailableAt(offset: number, now: number): number {
    if (this.endsAt(offset)) return Infinity;
    return this.paced ? this.scheduledAt(offset * this.partitions + this.partition) : now;
  }

  /** Job-clock time at which event number `n` is scheduled. */
  private scheduledAt(n: number): number {
    return this.startTime + (n * 1000) / this.rate;
  }

  /**
   * How many events (of all partitions) are scheduled at or before `now`, up to the total. The estimate
   * from the rate is corrected against `scheduledAt` itself, so that `available` and `arrivalTime` agree
   * to the last bit.
   */
  private dueCount(now: number): number {
    if (!(now >= this.startTime)) return 0;
    const cap = this.totalEvents;
    let due = Math.floor((now - this.startTime) / this.msPerEvent) + 1;
    if (!(due < cap)) return cap;
    while (due > 0 && this.scheduledAt(due - 1) > now) due--;
    while (due < cap && this.scheduledAt(due) <= now) due++;
    return due;
  }

  /** How many of this partition's event numbers are below `n`. */
  private eventsBelow(n: number): number {
    if (n === Infinity) return Infinity;
    return n <= this.partition ? 0 : Math.floor((n - 1 - this.partition) / this.partitions) + 1;
  }
}
