/**
 * The one door between a task and causal logging. A task tells its recorder every nondeterministic event
 * the runtime decides (input order, timer firings, clock ticks, source polls and barriers, aborted
 * checkpoints), lets it piggyback envelopes on outgoing batches and take them in from incoming ones, and
 * asks it for the log being replayed, if any.
 *
 * Two implementations:
 * - {@link NoRecorder} (`NO_RECORDER`) for the modes without determinants (`none`, and `global-rollback`
 *   and `at-least-once` unless the verifier retains their traces): every method does nothing, so call
 *   sites never ask "is there a log?" before telling it something. Its {@link LiveClock} keeps a task's
 *   cached clock, which is all a live task needs of the clock ticks.
 * - `CausalTaskLog` (`task-log.ts`) for exactly-once and for retained traces: a determinant log,
 *   replicas of upstream logs, the shipper and, while replaying, the reader.
 *
 * The task calls the recording methods only where it decides something live; a replaying task executes
 * the recorded drivers instead (I6). No method allocates: positions and counts are plain numbers, and
 * the recording methods are called per run of records or per timer firing, never per record.
 */
import type { EpochSegment } from '../../determinants/replica.js';
import type { ReplayReader } from '../../determinants/replay.js';
import type { GrowableBytes } from '../../determinants/bytes.js';
import type { Batch, EnvelopeAttacher } from '../transport/batch.js';
import { wallClock } from '../util/clock.js';

/** What a task tells causal logging about its own decisions, and asks of it. */
export interface CausalRecorder extends EnvelopeAttacher {
  /** Whether a determinant log is kept at all (false only for {@link NoRecorder}). */
  readonly keepsLog: boolean;
  /** Whether checkpoint completion drops epochs before it (I2): false without a log, or when every epoch is retained. */
  readonly truncates: boolean;
  /** The reader of the log being replayed (a replacement), or null: live, or no log at all. */
  readonly reader: ReplayReader | null;
  /** Bytes held in memory by the own log and the replicas (measurements). */
  readonly memoryBytes: number;
  /** Bytes of the own determinant log in memory (metrics). */
  readonly ownLogBytes: number;
  /** Bytes of the replicas of upstream logs in memory (metrics). */
  readonly replicaBytes: number;

  // ------------------------------------------------------------------ envelopes (I1)

  /** Ingests the envelope a received batch carries, on arrival, before its records are processed (idempotent). */
  ingest(batch: Batch): void;
  /** Registers an output channel as a consumer of envelopes; returns its id for `attach` (-1 without a log). */
  addConsumer(): number;
  /** The consumer behind `consumer` was replaced: it has received nothing yet. */
  resetConsumer(consumer: number): void;
  /** Writes into `out` what the task's sink partition has not stored yet (I20); returns the length, 0 for nothing. */
  deltaForSink(out: GrowableBytes): number;

  // ------------------------------------------------------------------ what the task decides live

  /**
   * The task starts a run of `count` elements from input `input` (ORDER, coalesced per run). The cached
   * clock is ticked first if it is stale, so that operator code in the run sees a fresh one.
   */
  order(input: number, count: number, position: number): void;
  /** The processing-time timers of operator `operator` (chain position) fired at wall-clock `now` (TIMER). */
  processingTimer(operator: number, now: number, position: number): void;
  /** `count` captured `setTimeout`/`setInterval` callbacks fired at wall-clock `now` (TIMER). */
  capturedTimers(count: number, now: number, position: number): void;
  /** Ticks the cached clock to `now` if it is stale and was read since its last tick (live). */
  maybeTickClock(now: number, position: number): void;
  /** Ticks the cached clock to the wall clock, recorded as a TIMER; replaying, nothing (the ticks come from the log). */
  tickClock(position: number): void;
  /** Checkpoint `checkpointId` was abandoned, and the task takes the abort at `position` (ABORT_CHECKPOINT, I21). */
  abortCheckpoint(checkpointId: number, position: number): void;
  /** A source task read `count` records of partition slot `slot` (SOURCE_POLL; 0 marks the partition idle). */
  sourcePoll(slot: number, count: number): void;
  /** A source task injected the barrier of `checkpointId` at `position` (SOURCE_BARRIER). */
  sourceBarrier(checkpointId: number, position: number): void;

  // ------------------------------------------------------------------ replay and epochs

  /** Replaying: the cached clock takes the value of a recorded tick. */
  replayClockTick(timestamp: number): void;
  /**
   * The task took checkpoint `epoch` (I5): the log starts the epoch (a replayed log has it already), the
   * services draw a new random seed, and, live, the epoch starts with a tick of the cached clock.
   */
  startEpoch(epoch: number): void;
  /** Checkpoint `epoch` completed: drop older epochs from the log and the replicas (I2), unless retaining all. */
  truncateBefore(epoch: number): void;
  /** The replay ended and the orphan check passed (I14): from now on determinants are recorded. */
  goLive(): void;

  // ------------------------------------------------------------------ queries (recovery, verification)

  /** The copy this task holds of task `taskId`'s log from `fromEpoch` on (empty when none). */
  replicaOf(taskId: number, fromEpoch: number): EpochSegment[];
  /** The own log's epochs from `fromEpoch` on, copied (empty without a log). */
  ownSegments(fromEpoch?: number): EpochSegment[];
}

/** The recorder of a task without causal logging: it keeps nothing and ships nothing. */
export class NoRecorder implements CausalRecorder {
  readonly keepsLog = false;
  readonly truncates = false;
  readonly reader = null;
  readonly memoryBytes = 0;
  readonly ownLogBytes = 0;
  readonly replicaBytes = 0;

  ingest(): void {}
  attach(): void {}
  addConsumer(): number {
    return -1;
  }
  resetConsumer(): void {}
  deltaForSink(): number {
    return 0;
  }
  order(): void {}
  processingTimer(): void {}
  capturedTimers(): void {}
  maybeTickClock(_now: number, _position: number): void {}
  tickClock(_position: number): void {}
  abortCheckpoint(): void {}
  sourcePoll(): void {}
  sourceBarrier(): void {}
  replayClockTick(): void {}
  startEpoch(): void {}
  truncateBefore(): void {}
  goLive(): void {}
  replicaOf(): EpochSegment[] {
    return [];
  }
  ownSegments(): EpochSegment[] {
    return [];
  }
}

/**
 * A {@link NoRecorder} that keeps one task's cached clock, the value `cachedNow()` of its live services
 * answers: set where the causal log would tick it (between deliveries), and recorded nowhere. A hot loop
 * of reads then costs what it costs under exactly-once, a field read, instead of a `Date.now()` per call
 * (about a tenth of Q12's `none` run went there).
 */
export class LiveClock extends NoRecorder {
  /** The wall clock as of the task's last tick. */
  cachedClock = wallClock();

  override maybeTickClock(now: number, _position: number): void {
    this.cachedClock = now;
  }

  override tickClock(_position: number): void {
    this.cachedClock = wallClock();
  }
}

/** The one {@link NoRecorder}: it has no state, so every task without causal logging shares it. */
export const NO_RECORDER: CausalRecorder = new NoRecorder();
