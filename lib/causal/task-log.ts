/**
 * The causal log of one task: its own determinant log, the copies it holds of upstream logs, the
 * shipper that piggybacks deltas on outgoing batches, and, while the task replays after a failure,
 * the reader it replays from.
 *
 * Everything a task decides that is not a function of its input goes through here, either as an
 * append (live) or as a read (replay): input order, processing-time timers, the clock tick of the
 * cached clock, source polls and barriers, aborted checkpoints, and the answers of the causal
 * services.
 */
import { DeltaShipper } from '../../determinants/shipper.js';
import { DeterminantLog } from '../../determinants/log.js';
import { ReplicaStore, type EpochSegment } from '../../determinants/replica.js';
import { ReplayReader } from '../../determinants/replay.js';
import type { GrowableBytes } from '../../determinants/bytes.js';
import type { Batch, EnvelopeAttacher } from '../transport/batch.js';

/** Timer id of the cached clock's tick (see `CausalServices.cachedNow`). */
export const CLOCK_TICK_TIMER = 0;
/** Timer ids of operators' processing-time timers: `OPERATOR_TIMER_BASE + chain position`. */
export const OPERATOR_TIMER_BASE = 1;
/** Timer id of a firing of `setTimeout`/`setInterval` callbacks captured by `causal()`: `CAPTURED_TIMER_BASE + callbacks fired`. */
export const CAPTURED_TIMER_BASE = 1000;

/** Options of a {@link CausalTaskLog}. */
export interface CausalTaskLogOptions {
  /** The task. */
  taskId: number;
  /** Determinant sharing depth. */
  dsd: number;
  /** Epoch the log starts in (the checkpoint the task starts from). */
  epoch: number;
  /** Keep every epoch (no truncation): the verifier's oracle needs whole traces. */
  retainAll: boolean;
  /** The failed task's log to replay (recovery; possibly empty, which still passes through the go-live check), or null to start live. */
  replay: EpochSegment[] | null;
  /** Called once, when the replayed log first runs out (before anything is decided live). */
  onReplayEnd?: () => void;
  /**
   * With `retainAll`: the failed task's whole log from epoch 0, of which `replay` is the tail. The new log
   * continues this history, so that the final log of every task is its whole trace (the verifier's oracle).
   */
  history?: EpochSegment[] | null;
}

/** The causal log of one task. */
export class CausalTaskLog implements EnvelopeAttacher {
  /** The task's own log. */
  readonly log: DeterminantLog;
  /** Copies of upstream logs. */
  readonly replicas: ReplicaStore;
  /** Ships deltas to consumers. */
  readonly shipper: DeltaShipper;
  /** The reader while replaying; null once live. */
  reader: ReplayReader | null;
  /** Whether every epoch is kept. */
  readonly retainAll: boolean;
  private readonly sinkConsumer: number;

  constructor(options: CausalTaskLogOptions) {
    const logOptions = { taskId: options.taskId, epoch: options.epoch, initialCapacity: 1024 };
    const past = options.history && options.history.length > 0 ? options.history : options.replay;
    this.log = past && past.length > 0 ? DeterminantLog.resume(logOptions, past) : new DeterminantLog(logOptions);
    // A history that ends before the restored checkpoint (at-least-once traces) continues in its epoch.
    if (this.log.epoch < options.epoch) this.log.startEpoch(options.epoch);
    this.replicas = new ReplicaStore({ dsd: options.dsd, ignoreTaskIds: [options.taskId] });
    this.shipper = new DeltaShipper({ log: this.log, replicas: this.replicas, dsd: options.dsd });
    // A replacement replays even an empty log: it goes live only through the orphan check (I14).
    this.reader = options.replay ? new ReplayReader(options.replay, { onEnd: options.onReplayEnd }) : null;
    this.retainAll = options.retainAll;
    // A sink's store keeps every log the task holds, not just its own: it outlives the task, so it is a
    // holder of its producers' logs that survives their failure and the sink's together.
    this.sinkConsumer = this.shipper.addConsumer({ store: true });
  }

  /** Whether the task replays recorded determinants (and must not decide anything live). */
  get replaying(): boolean {
    return this.reader !== null;
  }

  /** Registers a consumer (an output channel); returns its id for {@link attach}. */
  addConsumer(): number {
    return this.shipper.addConsumer();
  }

  /** {@inheritDoc EnvelopeAttacher.attach} — I1: the delta goes on the batch carrying the records it caused. */
  attach(batch: Batch, consumer: number): void {
    batch.envelope.length = 0;
    batch.envelopeLength = this.shipper.writeDelta(consumer, batch.envelope);
  }

  /** Ingests the envelope a received batch carries (idempotent; before its records are processed). */
  ingest(batch: Batch): void {
    if (batch.envelopeLength > 0) this.replicas.ingest(batch.envelope.view(0, batch.envelopeLength));
  }

  /** Writes into `out` everything the task's sink partition has not persisted yet: its own log and every replica it holds. */
  deltaForSink(out: GrowableBytes): number {
    return this.shipper.writeDelta(this.sinkConsumer, out);
  }

  /** The task took checkpoint `epoch` (I5). In replay the copied log already has the epoch. */
  startEpoch(epoch: number): void {
    if (this.log.epoch < epoch) this.log.startEpoch(epoch);
  }

  /** Checkpoint `epoch` completed: drop older epochs here and in replicas (I2), unless retaining all. */
  truncateBefore(epoch: number): void {
    if (this.retainAll) return;
    this.log.truncateBefore(epoch);
    this.replicas.truncateBefore(epoch);
  }

  /** Stops replaying: from now on determinants are recorded. */
  goLive(): void {
    this.reader = null;
  }

  /** Every epoch of the own log, copied (for recovery of this task's successor, or the oracle). */
  ownSegments(fromEpoch = 0): EpochSegment[] {
    const out: EpochSegment[] = [];
    for (const e of this.log.epochs) if (e.epoch >= fromEpoch) out.push({ epoch: e.epoch, bytes: this.log.bytesOf(e).slice() });
    return out;
  }
}
