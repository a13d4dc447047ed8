/**
 * Copies of other tasks' logs, held downstream.
 *
 * A {@link ReplicaStore} ingests envelopes idempotently: the same bytes may arrive by several paths,
 * duplicated or out of step, and every copy of one log is a prefix of the same log (I4). It keeps the
 * longest prefix, checks overlaps byte for byte, and reports a disagreement as
 * {@link LogDivergenceError}. It answers "the log of task T from epoch e" for recovery.
 */
import { BufferPool, GrowableBytes } from './bytes.js';
import { readEnvelope } from './envelope.js';
import { InvalidArgumentError, LogDivergenceError, LogGapError } from './errors.js';
import { EpochBytes, type EpochLogView, type SpillTarget } from './log.js';

const EMPTY = new Uint8Array(0);

/** One epoch of a log copy, as returned by {@link ReplicaStore.logOf}. */
export interface EpochSegment {
  /** The epoch. */
  epoch: number;
  /** Its bytes, from offset 0. */
  bytes: Uint8Array;
}

/** A copy of one task's log. */
export class LogReplica implements EpochLogView {
  /** Epochs held, oldest first. */
  readonly epochs: EpochBytes[] = [];
  /** Fewest hops any of its bytes travelled to get here. */
  hops = Number.MAX_SAFE_INTEGER;
  /** Epochs before this one were truncated; late slices for them are ignored. */
  truncatedBefore = 0;

  constructor(
    /** Task whose log this is a copy of. */
    readonly taskId: number,
    private readonly spill: SpillTarget | undefined,
    private readonly pool: BufferPool = new BufferPool(2),
  ) {}

  /** Total bytes held. */
  get totalBytes(): number {
    let total = 0;
    for (const e of this.epochs) total += e.length;
    return total;
  }

  /** The bytes of a held epoch (a view; loads a spilled epoch back). */
  bytesOf(epoch: EpochBytes): Uint8Array {
    if (epoch.data) return epoch.data.view(0, epoch.length);
    if (epoch.length === 0) return EMPTY;
    return this.spill!.readEpoch(this.taskId, epoch.epoch);
  }

  /** {@inheritDoc EpochLogView.backingOf} */
  backingOf(epoch: EpochBytes): Uint8Array {
    return epoch.data ? epoch.data.buf : this.bytesOf(epoch);
  }

  /** Length in bytes of a held epoch. */
  lengthOf(epoch: EpochBytes): number {
    return epoch.length;
  }

  /**
   * Adds `bytes`, which sit at `offset` of `epoch`. Bytes already held are compared, not copied.
   * Returns the number of new bytes appended.
   */
  ingest(epoch: number, offset: number, hops: number, bytes: Uint8Array): number {
    if (hops < this.hops) this.hops = hops;
    if (epoch < this.truncatedBefore) return 0;
    const held = this.epochFor(epoch);
    const have = held.length;
    if (offset > have) throw new LogGapError(this.taskId, epoch, have, offset);
    const overlap = Math.min(have - offset, bytes.length);
    if (overlap > 0) {
      const existing = this.bytesOf(held);
      for (let i = 0; i < overlap; i++) {
        if (existing[offset + i] !== bytes[i]) throw new LogDivergenceError(this.taskId, epoch, offset + i);
      }
    }
    const fresh = bytes.length - overlap;
    if (fresh > 0) {
      if (!held.data) {
        // A spilled epoch only grows if a path delivers it late; bring it back into memory first.
        const restored = new GrowableBytes(held.length + fresh);
        restored.append(this.bytesOf(held));
        held.data = restored;
        this.spill!.dropEpoch(this.taskId, epoch);
      }
      held.data.append(overlap === 0 ? bytes : bytes.subarray(overlap));
      held.length += fresh;
    }
    return fresh;
  }

  /** Drops epochs before `epoch`. */
  truncateBefore(epoch: number): void {
    if (epoch > this.truncatedBefore) this.truncatedBefore = epoch;
    let drop = 0;
    while (drop < this.epochs.length && this.epochs[drop]!.epoch < epoch) {
      const gone = this.epochs[drop]!;
      if (gone.data) this.pool.give(gone.data);
      else if (gone.length > 0) this.spill?.dropEpoch(this.taskId, gone.epoch);
      gone.data = null;
      drop++;
    }
    if (drop > 0) this.epochs.splice(0, drop);
  }

  /** This copy's epochs from `fromEpoch` on, copied out. */
  segmentsFrom(fromEpoch: number): EpochSegment[] {
    const out: EpochSegment[] = [];
    for (const e of this.epochs) if (e.epoch >= fromEpoch) out.push({ epoch: e.epoch, bytes: this.bytesOf(e).slice() });
    return out;
  }

  /** Moves closed epochs (all but the newest) out of memory until `budget` bytes remain; returns bytes freed. */
  spillDown(budget: number, inMemory: number): number {
    let freed = 0;
    for (let i = 0; i < this.epochs.length - 1 && inMemory - freed > budget; i++) {
      const e = this.epochs[i]!;
      if (!e.data) continue;
      if (e.length > 0) this.spill!.writeEpoch(this.taskId, e.epoch, e.data.view(0, e.length));
      e.data = null;
      freed += e.length;
    }
    return freed;
  }

  private epochFor(epoch: number): EpochBytes {
    const epochs = this.epochs;
    const last = epochs[epochs.length - 1];
    if (last && last.epoch === epoch) return last;
    if (!last || last.epoch < epoch) {
      const created = new EpochBytes(epoch, this.pool.take(4096));
      epochs.push(created);
      return created;
    }
    let i = 0;
    while (epochs[i]!.epoch < epoch) i++;
    if (epochs[i]!.epoch === epoch) return epochs[i]!;
    const created = new EpochBytes(epoch, this.pool.take(4096));
    epochs.splice(i, 0, created);
    return created;
  }
}

/** Options of a {@link ReplicaStore}. */
export interface ReplicaStoreOptions {
  /**
   * Determinant sharing depth: bytes are kept and forwarded while their hop count is at most `dsd`.
   * 0 keeps nothing, -1 means unlimited.
   */
  dsd: number;
  /** Where closed epochs spill once the store holds more than `memoryLimitBytes`. */
  spill?: SpillTarget;
  /** In-memory budget for all replicas. Default: unlimited. */
  memoryLimitBytes?: number;
  /** Task ids whose logs this store must never keep (typically the owning task itself). */
  ignoreTaskIds?: readonly number[];
}

/**
 * The copies of upstream logs that one task holds.
 *
 * ```ts
 * const store = new ReplicaStore({ dsd: 1 });
 * store.ingest(envelopeFromUpstream);
 * const copy = store.logOf(upstreamTaskId, lastCompletedCheckpoint);
 * ```
 */
export class ReplicaStore {
  /** Replicas by task id. */
  readonly replicas = new Map<number, LogReplica>();
  /** The sharing depth this store enforces. */
  readonly dsd: number;
  private readonly spill: SpillTarget | undefined;
  private readonly memoryLimit: number;
  private readonly ignored: ReadonlySet<number>;
  private truncatedBefore = 0;
  private bytesInMemory = 0;
  private readonly pool = new BufferPool(8);
  /** The replica of the previous slice: consecutive slices usually belong to the same log. */
  private lastReplica: LogReplica | null = null;
  private readonly visit = (taskId: number, epoch: number, offset: number, hops: number, bytes: Uint8Array): void => {
    if (this.dsd !== -1 && hops > this.dsd) return;
    let replica = this.lastReplica !== null && this.lastReplica.taskId === taskId ? this.lastReplica : this.replicas.get(taskId);
    if (!replica) {
      if (this.ignored.has(taskId)) return;
      replica = new LogReplica(taskId, this.spill, this.pool);
      replica.truncatedBefore = this.truncatedBefore;
      this.replicas.set(taskId, replica);
    }
    this.lastReplica = replica;
    this.bytesInMemory += replica.ingest(epoch, offset, hops, bytes);
  };

  constructor(options: ReplicaStoreOptions) {
    if (!Number.isInteger(options.dsd) || options.dsd < -1) throw new InvalidArgumentError('dsd', 'an integer >= -1', options.dsd);
    this.dsd = options.dsd;
    this.spill = options.spill;
    this.memoryLimit = options.memoryLimitBytes ?? Number.POSITIVE_INFINITY;
    if (this.memoryLimit !== Number.POSITIVE_INFINITY && !this.spill) {
      throw new InvalidArgumentError('spill', 'a SpillTarget when memoryLimitBytes is set', undefined);
    }
    this.ignored = new Set(options.ignoreTaskIds ?? []);
  }

  /**
   * Ingests an envelope (verified first; a bad envelope changes nothing). Returns the number of slices in it.
   * `verify: false` skips the checksum, for an envelope written without one (see `EnvelopeWriter.finish`).
   */
  ingest(envelope: Uint8Array, verify = true): number {
    const slices = readEnvelope(envelope, this.visit, verify);
    if (this.bytesInMemory > this.memoryLimit) this.spillDown();
    return slices;
  }

  /** Ingests one slice directly (for transports that do not use envelopes). */
  ingestSlice(taskId: number, epoch: number, offset: number, hops: number, bytes: Uint8Array): void {
    this.visit(taskId, epoch, offset, hops, bytes);
  }

  /** The copy of task `taskId`'s log, if any bytes of it were received. */
  replicaOf(taskId: number): LogReplica | undefined {
    return this.replicas.get(taskId);
  }

  /** The log of task `taskId` from epoch `fromEpoch` on (copied out); empty when nothing is held. */
  logOf(taskId: number, fromEpoch: number): EpochSegment[] {
    return this.replicas.get(taskId)?.segmentsFrom(fromEpoch) ?? [];
  }

  /** Whether replicas of this hop count are forwarded to the next consumer. */
  forwards(hops: number): boolean {
    return this.dsd === -1 || hops < this.dsd;
  }

  /** Drops every epoch before `epoch` from every replica (checkpoint `epoch` completed, I2). */
  truncateBefore(epoch: number): void {
    if (epoch > this.truncatedBefore) this.truncatedBefore = epoch;
    let total = 0;
    for (const replica of this.replicas.values()) {
      replica.truncateBefore(epoch);
      for (const e of replica.epochs) if (e.data) total += e.length;
    }
    this.bytesInMemory = total;
  }

  /** Forgets the copy of one task's log entirely. */
  drop(taskId: number): void {
    const replica = this.replicas.get(taskId);
    if (!replica) return;
    replica.truncateBefore(Number.MAX_SAFE_INTEGER);
    this.replicas.delete(taskId);
    if (this.lastReplica === replica) this.lastReplica = null;
    this.truncateBefore(this.truncatedBefore);
  }

  /** Bytes of replicas held in memory. */
  get memoryBytes(): number {
    return this.bytesInMemory;
  }

  private spillDown(): void {
    for (const replica of this.replicas.values()) {
      this.bytesInMemory -= replica.spillDown(this.memoryLimit, this.bytesInMemory);
      if (this.bytesInMemory <= this.memoryLimit) return;
    }
  }
}

/**
 * Picks the longest of several copies of one log and checks that every other copy is a prefix of it
 * (I4). Throws {@link LogDivergenceError} when two copies disagree.
 */
export function longestCopy(taskId: number, copies: readonly (readonly EpochSegment[])[]): EpochSegment[] {
  let best: readonly EpochSegment[] = [];
  for (const copy of copies) if (isLonger(copy, best)) best = copy;
  for (const copy of copies) {
    for (const segment of copy) {
      const match = best.find((b) => b.epoch === segment.epoch);
      if (!match) throw new LogDivergenceError(taskId, segment.epoch, 0);
      const n = segment.bytes.length;
      if (n > match.bytes.length) throw new LogDivergenceError(taskId, segment.epoch, match.bytes.length);
      for (let i = 0; i < n; i++) if (segment.bytes[i] !== match.bytes[i]) throw new LogDivergenceError(taskId, segment.epoch, i);
    }
  }
  return best.map((s) => ({ epoch: s.epoch, bytes: s.bytes }));
}

function isLonger(a: readonly EpochSegment[], b: readonly EpochSegment[]): boolean {
  const lastA = a[a.length - 1];
  const lastB = b[b.length - 1];
  if (!lastA) return false;
  if (!lastB) return true;
  if (lastA.epoch !== lastB.epoch) return lastA.epoch > lastB.epoch;
  return lastA.bytes.length > lastB.bytes.length;
}
