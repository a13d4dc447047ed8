/**
 * The causal log of one task: its own determinant log, the copies it holds of upstream logs, the
 * shipper that piggybacks deltas on outgoing batches, and, while the task replays after a failure,
 * the reader it replays from.
 *
 * Everything a task decides that is not a function of its input goes through here, either as an
 * append (live) or as a read (replay): input order, processing-time timers, the clock tick of the
 * cached clock, source polls and barriers, aborted checkpoints, and the answers of the causal
 * services. It is the causal {@link CausalRecorder}; tasks without causal logging use `NO_RECORDER`.
 */
import { DeltaShipper } from '../../determinants/shipper.js';
import { DeterminantLog } from '../../determinants/log.js';
import { ReplicaStore, type EpochSegment } from '../../determinants/replica.js';
import { ReplayReader } from '../../determinants/replay.js';
import type { GrowableBytes } from '../../determinants/bytes.js';
import type { Batch } from '../transport/batch.js';
import { wallClock } from '../util/clock.js';
import type { CausalRecorder } from './recorder.js';

/** Timer id of the cached clock's tick (see `CausalServices.cachedNow`). */
export const CLOCK_TICK_TIMER = 0;
/** Timer ids of operators' processing-time timers: `OPERATOR_TIMER_BASE + chain position`. */
export const OPERATOR_TIMER_BASE = 1;
/** Timer id of a firing of `setTimeout`/`setInterval` callbacks captured by `causal()`: `CAPTURED_TIMER_BASE + callbacks fired`. */
export const CAPTURED_TIMER_BASE = 1000;
/** How stale the cached clock may get before a live task ticks it (ms). */
const CLOCK_TICK_MS = 1;

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
export class CausalTaskLog implements CausalRecorder {
  readonly keepsLog = true;
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
  /** The cached wall clock (see `CausalServices.cachedNow`): set by recorded ticks only. */
  cachedClock = 0;
  /** Whether the cached clock was read since its last tick (a tick nobody reads is not recorded). */
  cachedClockRead = true;
  /** Called at every epoch start (the services draw a new random seed); set by the services. */
  onEpochStart: (() => void) | null = null;
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

  /** {@inheritDoc CausalRecorder.truncates} */
  get truncates(): boolean {
    return !this.retainAll;
  }

  /** {@inheritDoc CausalRecorder.memoryBytes} */
  get memoryBytes(): number {
    return this.log.memoryBytes + this.replicas.memoryBytes;
  }

  /** {@inheritDoc CausalRecorder.ownLogBytes} */
  get ownLogBytes(): number {
    return this.log.memoryBytes;
  }

  /** {@inheritDoc CausalRecorder.replicaBytes} */
  get replicaBytes(): number {
    return this.replicas.memoryBytes;
  }

  /** Registers a consumer (an output channel); returns its id for {@link attach}. */
  addConsumer(): number {
    return this.shipper.addConsumer();
  }

  /** {@inheritDoc CausalRecorder.resetConsumer} */
  resetConsumer(consumer: number): void {
    this.shipper.resetConsumer(consumer);
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

  // ------------------------------------------------------------------ what the task decides live

  /** {@inheritDoc CausalRecorder.order} */
  order(input: number, count: number, position: number): void {
    this.maybeTickClock(wallClock(), position);
    this.log.order(input, count);
  }

  /** {@inheritDoc CausalRecorder.processingTimer} */
  processingTimer(operator: number, now: number, position: number): void {
    this.log.timer(OPERATOR_TIMER_BASE + operator, now, position);
  }

  /** {@inheritDoc CausalRecorder.capturedTimers} */
  capturedTimers(count: number, now: number, position: number): void {
    this.log.timer(CAPTURED_TIMER_BASE + count, now, position);
  }

  /** {@inheritDoc CausalRecorder.maybeTickClock} */
  maybeTickClock(now: number, position: number): void {
    if (this.cachedClockRead && now - this.cachedClock >= CLOCK_TICK_MS) this.tick(now, position);
  }

  /** {@inheritDoc CausalRecorder.tickClock} */
  tickClock(position: number): void {
    if (this.reader === null) this.tick(wallClock(), position);
  }

  /** {@inheritDoc CausalRecorder.abortCheckpoint} */
  abortCheckpoint(checkpointId: number, position: number): void {
    this.log.abortCheckpoint(checkpointId, position);
  }

  /** {@inheritDoc CausalRecorder.sourcePoll} */
  sourcePoll(slot: number, count: number): void {
    this.log.sourcePoll(slot, count);
  }

  /** {@inheritDoc CausalRecorder.sourceBarrier} */
  sourceBarrier(checkpointId: number, position: number): void {
    this.log.sourceBarrier(checkpointId, position);
  }

  /** Sets the cached clock, recording the tick as a timer determinant. */
  private tick(now: number, position: number): void {
    this.log.timer(CLOCK_TICK_TIMER, now, position);
    this.cachedClock = now;
    this.cachedClockRead = false;
  }

  // ------------------------------------------------------------------ replay and epochs

  /** {@inheritDoc CausalRecorder.replayClockTick} */
  replayClockTick(timestamp: number): void {
    this.cachedClock = timestamp;
  }

  /** The task took checkpoint `epoch` (I5). In replay the copied log already has the epoch. */
  startEpoch(epoch: number): void {
    if (this.log.epoch < epoch) this.log.startEpoch(epoch);
    this.onEpochStart?.();
    // Every epoch starts with a tick of the cached clock (at position 0, I5), so that replay has it from
    // the epoch's start.
    this.tickClock(0);
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

  /** {@inheritDoc CausalRecorder.replicaOf} */
  replicaOf(taskId: number, fromEpoch: number): EpochSegment[] {
    return this.replicas.logOf(taskId, fromEpoch);
  }

  /** Every epoch of the own log, copied (for recovery of this task's successor, or the oracle). */
  ownSegments(fromEpoch = 0): EpochSegment[] {
    const out: EpochSegment[] = [];
    for (const e of this.log.epochs) if (e.epoch >= fromEpoch) out.push({ epoch: e.epoch, bytes: this.log.bytesOf(e).slice() });
    return out;
  }
}
