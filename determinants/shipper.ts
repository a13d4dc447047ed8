/**
 * Delta extraction for piggybacking: for each consumer, the log bytes it has not received yet.
 *
 * A task ships its own log (arriving with hop count 1) and forwards the replicas it holds whose hop
 * count is below the sharing depth. One cursor per (consumer, log) remembers how far each consumer
 * got. Shipping seals the own log (I3), so bytes a consumer holds never change afterwards.
 */
import { GrowableBytes } from './bytes.js';
import { EnvelopeWriter } from './envelope.js';
import { InvalidArgumentError } from './errors.js';
import type { DeterminantLog, EpochLogView } from './log.js';
import type { ReplicaStore } from './replica.js';

/** How far one consumer has received one log. */
interface Cursor {
  epoch: number;
  offset: number;
}

/** Options of a {@link DeltaShipper}. */
export interface DeltaShipperOptions {
  /** The task's own log; `null` for a task that records nothing but forwards replicas. */
  log: DeterminantLog | null;
  /** Replicas this task forwards (within `dsd`). */
  replicas?: ReplicaStore;
  /** Determinant sharing depth: 0 ships nothing, 1 ships only the own log, -1 ships everything. */
  dsd: number;
}

/**
 * Produces, per consumer, an envelope with every byte that consumer has not seen.
 *
 * ```ts
 * const shipper = new DeltaShipper({ log, replicas, dsd: 1 });
 * const downstream = shipper.addConsumer();
 * const envelope = shipper.delta(downstream); // attach to the outgoing batch
 * ```
 */
export class DeltaShipper {
  private readonly log: DeterminantLog | null;
  private readonly replicas: ReplicaStore | undefined;
  private readonly dsd: number;
  private readonly cursors: (Map<number, Cursor> | null)[] = [];
  /** Per consumer: whether it is a store that keeps every held byte (see {@link addConsumer}). */
  private readonly stores: boolean[] = [];
  private readonly writer = new EnvelopeWriter();
  private readonly scratch = new GrowableBytes(1024);

  constructor(options: DeltaShipperOptions) {
    if (!Number.isInteger(options.dsd) || options.dsd < -1) throw new InvalidArgumentError('dsd', 'an integer >= -1', options.dsd);
    this.log = options.log;
    this.replicas = options.replicas;
    this.dsd = options.dsd;
  }

  /**
   * Registers a consumer; it will receive every byte held from now on, starting at the oldest epoch.
   *
   * A consumer registered with `{ store: true }` is not a further hop but a durable store of the task's own
   * (a sink persisting determinants beside its output): it receives every replica held, whatever its hop
   * count, because what it keeps outlives the task and is the last copy of its producers' logs.
   */
  addConsumer(options: { store?: boolean } = {}): number {
    this.cursors.push(new Map());
    this.stores.push(options.store === true);
    return this.cursors.length - 1;
  }

  /** Forgets a consumer's progress so that it receives everything held again (e.g. a standby replaced it). */
  resetConsumer(consumer: number): void {
    this.cursorsOf(consumer).clear();
  }

  /** Stops tracking a consumer. */
  removeConsumer(consumer: number): void {
    this.cursorsOf(consumer);
    this.cursors[consumer] = null;
  }

  /**
   * Appends to `out` an envelope with everything `consumer` has not received, and advances its
   * cursors. Returns the envelope's length, or 0 (and writes nothing) when there is nothing new.
   * `checksum: false` leaves the envelope's checksum out (see `EnvelopeWriter.finish`).
   */
  writeDelta(consumer: number, out: GrowableBytes, checksum = true): number {
    const cursors = this.cursorsOf(consumer);
    if (this.dsd === 0) return 0;
    const writer = this.writer;
    writer.begin(out);
    if (this.log) {
      if (this.shipLog(this.log, 1, cursors, writer)) this.log.seal();
    }
    const replicas = this.replicas;
    const store = this.stores[consumer]!;
    if (replicas && (store || this.dsd === -1 || this.dsd > 1)) {
      for (const replica of replicas.replicas.values()) {
        if (store || replicas.forwards(replica.hops)) this.shipLog(replica, replica.hops + 1, cursors, writer);
      }
    }
    return writer.finish(checksum);
  }

  /** Like {@link writeDelta}, but returns a fresh array (or `null` when there is nothing new). */
  delta(consumer: number): Uint8Array | null {
    this.scratch.length = 0;
    const length = this.writeDelta(consumer, this.scratch);
    return length === 0 ? null : this.scratch.view(0, length).slice();
  }

  private shipLog(view: EpochLogView, hops: number, cursors: Map<number, Cursor>, writer: EnvelopeWriter): boolean {
    let cursor = cursors.get(view.taskId);
    if (!cursor) {
      cursor = { epoch: -1, offset: 0 };
      cursors.set(view.taskId, cursor);
    }
    let shipped = false;
    const epochs = view.epochs;
    for (let i = 0; i < epochs.length; i++) {
      const e = epochs[i]!;
      if (e.epoch < cursor.epoch) continue;
      const start = e.epoch === cursor.epoch ? cursor.offset : 0;
      const length = view.lengthOf(e);
      if (length > start) {
        writer.slice(view.taskId, e.epoch, start, hops, view.backingOf(e), start, length);
        shipped = true;
      }
      cursor.epoch = e.epoch;
      cursor.offset = length;
    }
    return shipped;
  }

  private cursorsOf(consumer: number): Map<number, Cursor> {
    const cursors = this.cursors[consumer];
    if (!cursors) throw new InvalidArgumentError('consumer', 'a consumer id returned by addConsumer', consumer);
    return cursors;
  }
}
