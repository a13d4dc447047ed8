/**
 * The per-task determinant log, grouped by epoch.
 *
 * Epoch `n` is everything a task recorded after it took checkpoint `n` (epoch 0 starts at the job's
 * start). Appends write straight into the current epoch's byte array: a capacity check, a tag byte and
 * a few varints, with no allocation. Consecutive ORDER entries for one channel coalesce into one entry
 * as long as the entry has not been sealed, i.e. shipped or persisted (I3): after that its bytes are
 * immutable and a new entry starts.
 */
import { BufferPool, GrowableBytes, MAX_VARINT_BYTES, writeVarint, zigzag } from './bytes.js';
import { InvalidArgumentError } from './errors.js';
import {
  COMPACT_ORDER_FLAG,
  COMPACT_ORDER_MAX_CHANNEL,
  COMPACT_ORDER_MAX_COUNT,
  Kind,
  KindRegistry,
  USER_KIND_MAX,
  USER_KIND_MIN,
} from './kinds.js';
import { EntryDecoder } from './codec.js';

/** Where epochs go when a log spills them out of memory (see `DeterminantStore`). */
export interface SpillTarget {
  /** Persists an epoch's bytes. */
  writeEpoch(taskId: number, epoch: number, bytes: Uint8Array): void;
  /** Reads back bytes written by `writeEpoch`, verified. */
  readEpoch(taskId: number, epoch: number): Uint8Array;
  /** Forgets a spilled epoch. */
  dropEpoch(taskId: number, epoch: number): void;
}

/** One epoch of a log: its bytes in memory, or a marker that they were spilled. */
export class EpochBytes {
  /** In-memory bytes; `null` once spilled. */
  data: GrowableBytes | null;
  /** Byte length of the epoch (valid whether spilled or not). */
  length = 0;

  constructor(
    /** Checkpoint id that opened this epoch. */
    readonly epoch: number,
    data: GrowableBytes,
  ) {
    this.data = data;
  }
}

/** A read-only view of an epoch-structured log; implemented by the task's own log and by replicas. */
export interface EpochLogView {
  /** Task whose determinants these are. */
  readonly taskId: number;
  /** Epochs held, oldest first. */
  readonly epochs: readonly EpochBytes[];
  /** The bytes of one held epoch (loads spilled epochs back). */
  bytesOf(epoch: EpochBytes): Uint8Array;
  /** Length in bytes of one held epoch (never loads anything). */
  lengthOf(epoch: EpochBytes): number;
  /**
   * The array holding an epoch's bytes at [0, lengthOf(epoch)), possibly with spare capacity after
   * them. Avoids creating a view on the shipping path.
   */
  backingOf(epoch: EpochBytes): Uint8Array;
}

/** Options of a {@link DeterminantLog}. */
export interface DeterminantLogOptions {
  /** Id of the task that owns the log. A non-negative integer, unique within the job. */
  taskId: number;
  /** Epoch to start in (default 0). */
  epoch?: number;
  /** Initial byte capacity of each epoch (default 4096); grows by doubling. */
  initialCapacity?: number;
  /** User kinds this log may hold. */
  registry?: KindRegistry;
  /** Spill closed epochs here once in-memory bytes exceed `memoryLimitBytes`. */
  spill?: SpillTarget;
  /** In-memory budget for closed epochs; the current epoch always stays in memory. Default: unlimited. */
  memoryLimitBytes?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * A task's own determinant log.
 *
 * ```ts
 * const log = new DeterminantLog({ taskId: 3 });
 * log.order(0, 256);            // 256 elements from input channel 0
 * log.clock(Date.now());
 * log.startEpoch(1);            // checkpoint 1 taken
 * log.truncateBefore(1);        // checkpoint 1 completed
 * ```
 */
export class DeterminantLog implements EpochLogView {
  /** Task whose determinants these are. */
  readonly taskId: number;
  /** Epochs held, oldest first; the last one is current. */
  readonly epochs: EpochBytes[] = [];
  /** User kinds this log may hold. */
  readonly registry: KindRegistry | undefined;

  private current: EpochBytes;
  private out: GrowableBytes;
  /** Bytes of the current epoch that were shipped or persisted and must not change (I3). */
  private sealed = 0;
  private lastOrderStart = -1;
  private lastOrderChannel = -1;
  private lastOrderCount = 0;
  private prevTime = 0;
  private prevMicros = 0;
  private prevPosition = 0;
  private readonly initialCapacity: number;
  private readonly spillTarget: SpillTarget | undefined;
  private readonly memoryLimit: number;
  private closedInMemory = 0;
  private readonly pool = new BufferPool(2);

  constructor(options: DeterminantLogOptions) {
    const { taskId } = options;
    if (!Number.isSafeInteger(taskId) || taskId < 0) throw new InvalidArgumentError('taskId', 'a non-negative integer', taskId);
    const epoch = options.epoch ?? 0;
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new InvalidArgumentError('epoch', 'a non-negative integer', epoch);
    this.taskId = taskId;
    this.registry = options.registry;
    this.initialCapacity = options.initialCapacity ?? 4096;
    this.spillTarget = options.spill;
    this.memoryLimit = options.memoryLimitBytes ?? Number.POSITIVE_INFINITY;
    if (this.memoryLimit !== Number.POSITIVE_INFINITY && !this.spillTarget) {
      throw new InvalidArgumentError('spill', 'a SpillTarget when memoryLimitBytes is set', undefined);
    }
    this.current = new EpochBytes(epoch, this.pool.take(this.initialCapacity));
    this.out = this.current.data!;
    this.epochs.push(this.current);
  }

  /** The current epoch. */
  get epoch(): number {
    return this.current.epoch;
  }

  /** Bytes recorded in the current epoch so far. */
  get currentLength(): number {
    return this.out.length;
  }

  /** Total bytes held in memory (all epochs not spilled). */
  get memoryBytes(): number {
    return this.closedInMemory + this.out.length;
  }

  // ---------------------------------------------------------------- hot-path appends

  /** Records that `count` elements were delivered from input `channel`. Coalesces with the previous run of that channel. */
  order(channel: number, count: number): void {
    if (!(count >= 1) || !(channel >= 0)) throw new InvalidArgumentError('order', 'channel >= 0 and count >= 1', `${channel}/${count}`);
    const out = this.out;
    if (this.lastOrderChannel === channel && this.lastOrderStart >= this.sealed && this.lastOrderStart >= 0) {
      count += this.lastOrderCount;
      out.length = this.lastOrderStart;
    } else {
      this.lastOrderStart = out.length;
      this.lastOrderChannel = channel;
    }
    this.lastOrderCount = count;
    out.ensure(1 + 2 * MAX_VARINT_BYTES);
    const buf = out.buf;
    if (channel <= COMPACT_ORDER_MAX_CHANNEL && count <= COMPACT_ORDER_MAX_COUNT) {
      buf[out.length++] = COMPACT_ORDER_FLAG | (channel << 4) | (count - 1);
    } else {
      let pos = out.length;
      buf[pos++] = Kind.Order;
      pos = writeVarint(buf, pos, channel);
      out.length = writeVarint(buf, pos, count);
    }
  }

  /** Records a wall-clock read in whole milliseconds. */
  clock(millis: number): void {
    if (!Number.isSafeInteger(millis)) throw new InvalidArgumentError('clock', 'an integer number of milliseconds', millis);
    const out = this.beginEntry(1 + MAX_VARINT_BYTES);
    const buf = out.buf;
    buf[out.length] = Kind.Clock;
    out.length = writeVarint(buf, out.length + 1, zigzag(millis - this.prevTime));
    this.prevTime = millis;
  }

  /** Records a monotonic-clock read in whole microseconds. */
  monotonicClock(micros: number): void {
    if (!Number.isSafeInteger(micros)) throw new InvalidArgumentError('monotonicClock', 'an integer number of microseconds', micros);
    const out = this.beginEntry(1 + MAX_VARINT_BYTES);
    const buf = out.buf;
    buf[out.length] = Kind.MonotonicClock;
    out.length = writeVarint(buf, out.length + 1, zigzag(micros - this.prevMicros));
    this.prevMicros = micros;
  }

  /** Records that timer `timerId` fired with `timestamp` after `position` elements of the epoch. */
  timer(timerId: number, timestamp: number, position: number): void {
    if (!Number.isSafeInteger(timestamp)) throw new InvalidArgumentError('timer.timestamp', 'an integer', timestamp);
    this.checkPosition(position);
    const out = this.beginEntry(1 + 3 * MAX_VARINT_BYTES);
    const buf = out.buf;
    buf[out.length] = Kind.Timer;
    let pos = writeVarint(buf, out.length + 1, timerId);
    pos = writeVarint(buf, pos, zigzag(timestamp - this.prevTime));
    out.length = writeVarint(buf, pos, position - this.prevPosition);
    this.prevTime = timestamp;
    this.prevPosition = position;
  }

  /** Records the seed of the epoch's PRNG (an unsigned 32-bit integer). */
  randomSeed(seed: number): void {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InvalidArgumentError('randomSeed', 'an unsigned 32-bit integer', seed);
    const out = this.beginEntry(1 + MAX_VARINT_BYTES);
    out.buf[out.length] = Kind.RandomSeed;
    out.length = writeVarint(out.buf, out.length + 1, seed);
  }

  /** Records the result of external call `callId` as opaque bytes (msgpackr-encoded by convention). */
  external(callId: number, payload: Uint8Array): void {
    const out = this.beginEntry(1 + 2 * MAX_VARINT_BYTES + payload.length);
    const buf = out.buf;
    buf[out.length] = Kind.External;
    let pos = writeVarint(buf, out.length + 1, callId);
    pos = writeVarint(buf, pos, payload.length);
    buf.set(payload, pos);
    out.length = pos + payload.length;
  }

  /** Records that the source injected the barrier of `checkpointId` after `position` records of the epoch. */
  sourceBarrier(checkpointId: number, position: number): void {
    this.positioned(Kind.SourceBarrier, checkpointId, position);
  }

  /** Records one source read: `count` records from `partition`. */
  sourcePoll(partition: number, count: number): void {
    const out = this.beginEntry(1 + 2 * MAX_VARINT_BYTES);
    const buf = out.buf;
    buf[out.length] = Kind.SourcePoll;
    out.length = writeVarint(buf, writeVarint(buf, out.length + 1, partition), count);
  }

  /** Records that checkpoint `checkpointId` was abandoned, noticed after `position` elements of the epoch. */
  abortCheckpoint(checkpointId: number, position: number): void {
    this.positioned(Kind.AbortCheckpoint, checkpointId, position);
  }

  /** Records a user-defined determinant; `kindId` must be registered in the log's registry. */
  user<T>(kindId: number, value: T): void {
    const kind = this.registry?.get(kindId);
    if (kindId < USER_KIND_MIN || kindId > USER_KIND_MAX || !kind) {
      throw new InvalidArgumentError('kindId', 'a user kind registered in this log\'s registry', kindId);
    }
    this.userBytes(kindId, kind.codec.encode(value));
  }

  /** Records a user-defined determinant from already-encoded bytes. */
  userBytes(kindId: number, payload: Uint8Array): void {
    if (kindId < USER_KIND_MIN || kindId > USER_KIND_MAX) throw new InvalidArgumentError('kindId', `an id in [${USER_KIND_MIN}, ${USER_KIND_MAX}]`, kindId);
    const out = this.beginEntry(1 + MAX_VARINT_BYTES + payload.length);
    const buf = out.buf;
    buf[out.length] = kindId;
    const pos = writeVarint(buf, out.length + 1, payload.length);
    buf.set(payload, pos);
    out.length = pos + payload.length;
  }

  // ---------------------------------------------------------------- epochs

  /** Closes the current epoch and opens `epoch` (a task does this when it takes checkpoint `epoch`). */
  startEpoch(epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch <= this.current.epoch) {
      throw new InvalidArgumentError('epoch', `an integer greater than the current epoch ${this.current.epoch}`, epoch);
    }
    this.current.length = this.out.length;
    this.closedInMemory += this.out.length;
    this.current = new EpochBytes(epoch, this.pool.take(this.initialCapacity));
    this.out = this.current.data!;
    this.epochs.push(this.current);
    this.sealed = 0;
    this.lastOrderStart = -1;
    this.lastOrderChannel = -1;
    this.prevTime = 0;
    this.prevMicros = 0;
    this.prevPosition = 0;
    this.maybeSpill();
  }

  /**
   * Drops every epoch before `epoch`. Call it only once checkpoint `epoch` has completed (I2):
   * until then a recovering task may need those epochs.
   */
  truncateBefore(epoch: number): void {
    let drop = 0;
    while (drop < this.epochs.length - 1 && this.epochs[drop]!.epoch < epoch) drop++;
    for (let i = 0; i < drop; i++) {
      const gone = this.epochs[i]!;
      if (gone.data) {
        this.closedInMemory -= gone.length;
        this.pool.give(gone.data);
        gone.data = null;
      } else {
        this.spillTarget?.dropEpoch(this.taskId, gone.epoch);
      }
    }
    if (drop > 0) this.epochs.splice(0, drop);
  }

  /**
   * Marks every byte recorded so far as shipped or persisted: those bytes will never change (I3).
   * Shippers and stores call this; call it yourself before handing `bytesOf` results to anyone.
   */
  seal(): void {
    this.sealed = this.out.length;
  }

  /** The bytes of an epoch: a view, valid until the epoch is truncated (loads a spilled epoch back). */
  bytesOf(epoch: EpochBytes): Uint8Array {
    if (epoch === this.current) return this.out.view();
    if (epoch.data) return epoch.data.view(0, epoch.length);
    if (epoch.length === 0) return EMPTY;
    return this.spillTarget!.readEpoch(this.taskId, epoch.epoch);
  }

  /** {@inheritDoc EpochLogView.backingOf} */
  backingOf(epoch: EpochBytes): Uint8Array {
    if (epoch === this.current) return this.out.buf;
    return epoch.data ? epoch.data.buf : this.bytesOf(epoch);
  }

  /** Length in bytes of a held epoch. */
  lengthOf(epoch: EpochBytes): number {
    return epoch === this.current ? this.out.length : epoch.length;
  }

  /** The epoch record for `epoch`, if held. */
  findEpoch(epoch: number): EpochBytes | undefined {
    for (const held of this.epochs) if (held.epoch === epoch) return held;
    return undefined;
  }

  /**
   * Continues a log recovered from a copy, e.g. by a standby that replayed the failed task's log and
   * now goes live: the copy's epochs become this log's epochs and new entries append after them.
   * Every copied byte is sealed, since other tasks hold it already.
   */
  static resume(options: DeterminantLogOptions, copy: readonly { epoch: number; bytes: Uint8Array }[]): DeterminantLog {
    if (copy.length === 0) return new DeterminantLog(options);
    const log = new DeterminantLog({ ...options, epoch: copy[0]!.epoch });
    for (let i = 0; i < copy.length; i++) {
      if (i > 0) log.startEpoch(copy[i]!.epoch);
      log.out.append(copy[i]!.bytes);
    }
    log.restoreEncoderState();
    log.seal();
    return log;
  }

  /** Re-derives the delta bases of the current epoch by decoding it (used after `resume`). */
  private restoreEncoderState(): void {
    const decoder = new EntryDecoder();
    decoder.reset(this.out.view());
    while (decoder.next()) {
      if (decoder.kind === Kind.Clock || decoder.kind === Kind.Timer) this.prevTime = decoder.time;
      else if (decoder.kind === Kind.MonotonicClock) this.prevMicros = decoder.time;
      if (decoder.kind === Kind.Timer || decoder.kind === Kind.SourceBarrier || decoder.kind === Kind.AbortCheckpoint) {
        this.prevPosition = decoder.position;
      }
    }
  }

  private beginEntry(maxBytes: number): GrowableBytes {
    this.lastOrderStart = -1;
    this.lastOrderChannel = -1;
    const out = this.out;
    out.ensure(maxBytes);
    return out;
  }

  private positioned(tag: number, checkpointId: number, position: number): void {
    this.checkPosition(position);
    const out = this.beginEntry(1 + 2 * MAX_VARINT_BYTES);
    const buf = out.buf;
    buf[out.length] = tag;
    out.length = writeVarint(buf, writeVarint(buf, out.length + 1, checkpointId), position - this.prevPosition);
    this.prevPosition = position;
  }

  private checkPosition(position: number): void {
    if (!Number.isSafeInteger(position) || position < this.prevPosition) {
      throw new InvalidArgumentError('position', `an integer >= the previous event position ${this.prevPosition}`, position);
    }
  }

  private maybeSpill(): void {
    if (this.closedInMemory <= this.memoryLimit) return;
    for (const epoch of this.epochs) {
      if (epoch === this.current || !epoch.data) continue;
      if (epoch.length > 0) this.spillTarget!.writeEpoch(this.taskId, epoch.epoch, epoch.data.view(0, epoch.length));
      this.closedInMemory -= epoch.length;
      epoch.data = null;
      if (this.closedInMemory <= this.memoryLimit) return;
    }
  }
}
