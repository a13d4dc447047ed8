/**
 * The typed reader a recovering task replays from.
 *
 * Entries come back in exactly the order they were recorded. A replaying runtime peeks at the next
 * entry: a *driver* (ORDER, TIMER, SOURCE_BARRIER, SOURCE_POLL, ABORT_CHECKPOINT) is something it
 * does itself; the other kinds are answers it hands to operator code when that code asks (a clock
 * read, a random seed, an external call's result). Asking for a kind other than the one recorded next
 * throws {@link DeterminantMismatchError}. When every entry has been read, `exhausted` turns true and
 * the caller goes live.
 */
import { EntryDecoder } from './codec.js';
import { DeterminantMismatchError } from './errors.js';
import { Kind, KindRegistry, isDriverKind, kindName } from './kinds.js';
import type { EpochSegment } from './replica.js';

const END = -1;

/**
 * Reads a log copy (its epochs in order) for replay.
 *
 * ```ts
 * const reader = new ReplayReader(replicas.logOf(taskId, checkpointId));
 * while (!reader.exhausted) {
 *   if (reader.peek() === Kind.Order) deliver(reader.nextOrder(), reader.count);
 *   else if (reader.peek() === Kind.Timer) fire(reader.nextTimer(), reader.timestamp);
 *   // ...
 * }
 * ```
 */
export class ReplayReader {
  /** ORDER and SOURCE_POLL: the count of the entry just read. */
  count = 0;
  /** TIMER: the timestamp of the entry just read. */
  timestamp = 0;
  /** TIMER, SOURCE_BARRIER, ABORT_CHECKPOINT: the position of the entry just read. */
  position = 0;
  /** Entries read so far, over all epochs. */
  entriesRead = 0;

  private readonly segments: readonly EpochSegment[];
  private readonly registry: KindRegistry | undefined;
  private readonly decoder = new EntryDecoder();
  private segment = -1;
  private pending = false;

  /**
   * @param segments the log copy, its epochs in order.
   * @param options `registry` decodes user kinds; `onEnd` is called once, the first time the reader finds
   *   the log exhausted (a runtime takes note of how far it got before anything is decided live).
   */
  constructor(segments: readonly EpochSegment[], options: { registry?: KindRegistry; onEnd?: () => void } = {}) {
    this.segments = segments;
    this.registry = options.registry;
    this.onEnd = options.onEnd ?? null;
    this.advanceSegment();
  }

  private onEnd: (() => void) | null;

  /** Whether every recorded entry has been read. */
  get exhausted(): boolean {
    return this.peek() === END;
  }

  /** Epoch of the next entry (of the last entry once exhausted); -1 for an empty log. */
  get epoch(): number {
    this.peek();
    const segment = this.segments[Math.min(this.segment, this.segments.length - 1)];
    return segment ? segment.epoch : -1;
  }

  /** Index within its epoch of the next entry. */
  get index(): number {
    this.peek();
    return this.decoder.index;
  }

  /** Kind of the next entry (a {@link Kind} value or a user kind id), or -1 when exhausted. Reads nothing. */
  peek(): number {
    if (this.pending) return this.decoder.kind;
    while (this.segment < this.segments.length) {
      if (this.decoder.next()) {
        this.pending = true;
        return this.decoder.kind;
      }
      this.advanceSegment();
    }
    if (this.onEnd !== null) {
      const onEnd = this.onEnd;
      this.onEnd = null;
      onEnd();
    }
    return END;
  }

  /** Whether the next entry is one the runtime executes itself rather than hands to operator code. */
  nextIsDriver(): boolean {
    const kind = this.peek();
    return kind !== END && isDriverKind(kind);
  }

  /**
   * The kind of the asynchronous event (TIMER, SOURCE_BARRIER or ABORT_CHECKPOINT) due once
   * `position` elements of the epoch have been processed, or -1 if the next entry is not such an event
   * or is due later.
   */
  dueAt(position: number): number {
    const kind = this.peek();
    if (kind !== Kind.Timer && kind !== Kind.SourceBarrier && kind !== Kind.AbortCheckpoint) return END;
    return this.decoder.position <= position ? kind : END;
  }

  /** Reads an ORDER entry; returns its channel, and sets `count`. */
  nextOrder(): number {
    this.expect(Kind.Order);
    this.count = this.decoder.count;
    return this.decoder.channel;
  }

  /** Reads a CLOCK entry; returns milliseconds. */
  nextClock(): number {
    this.expect(Kind.Clock);
    return this.decoder.time;
  }

  /** Reads a MONOTONIC_CLOCK entry; returns microseconds. */
  nextMonotonicClock(): number {
    this.expect(Kind.MonotonicClock);
    return this.decoder.time;
  }

  /** Reads a TIMER entry; returns the timer id, and sets `timestamp` and `position`. */
  nextTimer(): number {
    this.expect(Kind.Timer);
    this.timestamp = this.decoder.time;
    this.position = this.decoder.position;
    return this.decoder.id;
  }

  /**
   * Looks at the next entry, a TIMER, without reading it: returns its timer id and sets `timestamp` and
   * `position`. A runtime uses it to wait until the timer the entry fires is registered.
   */
  peekTimer(): number {
    const next = this.peek();
    if (next !== Kind.Timer) {
      throw new DeterminantMismatchError(next === END ? 'END OF LOG' : kindName(next, this.registry), 'TIMER', this.decoder.index, this.epoch);
    }
    this.timestamp = this.decoder.time;
    this.position = this.decoder.position;
    return this.decoder.id;
  }

  /** Reads a RANDOM_SEED entry; returns the seed. */
  nextRandomSeed(): number {
    this.expect(Kind.RandomSeed);
    return this.decoder.id;
  }

  /** Reads an EXTERNAL entry recorded for `callId`; returns its payload (a view, copy it to keep it). */
  nextExternal(callId: number): Uint8Array {
    this.expect(Kind.External);
    if (this.decoder.id !== callId) {
      this.fail(`EXTERNAL call ${this.decoder.id}`, `EXTERNAL call ${callId}`);
    }
    return this.decoder.payload;
  }

  /** Reads a SOURCE_BARRIER entry; returns the checkpoint id, and sets `position`. */
  nextSourceBarrier(): number {
    this.expect(Kind.SourceBarrier);
    this.position = this.decoder.position;
    return this.decoder.checkpointOrPartition;
  }

  /** Reads a SOURCE_POLL entry; returns the partition, and sets `count`. */
  nextSourcePoll(): number {
    this.expect(Kind.SourcePoll);
    this.count = this.decoder.count;
    return this.decoder.checkpointOrPartition;
  }

  /**
   * Looks at the next entry, a SOURCE_POLL, without reading it: returns its partition and sets
   * `count`. A replaying source uses it to wait until the recorded records can be read again.
   */
  peekSourcePoll(): number {
    const next = this.peek();
    if (next !== Kind.SourcePoll) {
      throw new DeterminantMismatchError(next === END ? 'END OF LOG' : kindName(next, this.registry), 'SOURCE_POLL', this.decoder.index, this.epoch);
    }
    this.count = this.decoder.count;
    return this.decoder.checkpointOrPartition;
  }

  /** Reads an ABORT_CHECKPOINT entry; returns the checkpoint id, and sets `position`. */
  nextAbortCheckpoint(): number {
    this.expect(Kind.AbortCheckpoint);
    this.position = this.decoder.position;
    return this.decoder.checkpointOrPartition;
  }

  /** Reads a user-kind entry and decodes it with the registered codec. */
  nextUser<T>(kindId: number): T {
    this.expect(kindId);
    const kind = this.registry?.get(kindId);
    const payload = this.decoder.payload.slice();
    return (kind ? kind.codec.decode(payload) : payload) as T;
  }

  /** Throws the mismatch error for an operation that does not fit the next entry. */
  fail(recorded: string, asked: string): never {
    throw new DeterminantMismatchError(recorded, asked, this.decoder.index, this.epoch);
  }

  private expect(kind: number): void {
    const next = this.peek();
    if (next !== kind) {
      const recorded = next === END ? 'END OF LOG' : kindName(next, this.registry);
      throw new DeterminantMismatchError(recorded, kindName(kind, this.registry), this.decoder.index + (next === END ? 1 : 0), this.epoch);
    }
    this.pending = false;
    this.entriesRead++;
  }

  private advanceSegment(): void {
    this.segment++;
    const segment = this.segments[this.segment];
    if (segment) this.decoder.reset(segment.bytes);
  }
}
