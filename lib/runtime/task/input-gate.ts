/**
 * The input gate and mailbox of a task: which input is read next, and the delivery of runs of its
 * elements into the chain.
 *
 * Input is delivered in *runs*: so many elements from one input channel. Live, a run is the next arrived
 * batch, in arrival order across channels (the mailbox is a ring of input indexes, one per arrival), and
 * it is recorded as an ORDER determinant before it is processed (I1): the order in which batches of
 * different producers arrive is a choice of the world, not of the input. Replaying, runs come from the
 * recorded ORDER entries (the replay driver starts them) and may cut batches anywhere, since the batches
 * replayed from in-flight logs are cut differently (I6).
 *
 * Every element has a per-channel sequence number (I8): with deduplication on, elements at or below the
 * last one consumed are dropped, and a gap is an error. Envelopes are ingested on arrival, before the
 * batch is delivered, so that whatever the task holds is covered by the replicas it holds (I1). A channel
 * whose producer was replaced has a successor (the next incarnation): the gate drains what it holds of the
 * old one first, then reads the successor, and remembers what it held of each for the orphan check (I14).
 *
 * The hot path (`continueRun`, `deliverRecords`) allocates nothing: the run is two fields, records go to
 * the head operator straight from the batch's arrays.
 */
import { DeterminantMismatchError, TaskKilledError } from '../../errors.js';
import { Batch, ElementType, elementTypeName } from '../../transport/batch.js';
import type { LocalChannel } from '../../transport/channel.js';
import type { Task } from '../task.js';
import type { TaskEnvironment } from './environment.js';

/** `killCountdown` when no kill is armed (fault injection). */
export const NO_KILL = Number.POSITIVE_INFINITY;

/** One input channel as the task tracks it. */
export class TaskInput {
  /** Sequence number of the last element consumed (I8), -1 before any. */
  lastSeq = -1;
  /** Last watermark received. */
  watermark = -Infinity;
  /** Whether end of stream arrived. */
  ended = false;
  /** Blocked while aligning barriers. */
  blocked = false;
  /** Arrivals noticed while blocked, to re-queue on unblock. */
  deferred = 0;
  /** A batch taken from the channel and not fully delivered yet. */
  pending: Batch | null = null;
  /** Index of the next element of `pending` to deliver. */
  pendingOffset = 0;
  /**
   * Per incarnation switched to: the last sequence number consumed from older incarnations at the switch.
   * What a consumer holds from a producer's predecessor stays known after it moved on (I14).
   */
  readonly heldBefore = new Map<number, number>();
  /** `lastSeq` as the task started: restored from its snapshot, or -1. */
  restoredSeq = -1;
  /**
   * Incarnations of this input whose producer regenerates without determinants (at-least-once, I35): what
   * they send is a new execution, numbered anew from its first element, and none of it is dropped.
   */
  readonly renumberedIncarnations = new Set<number>();
  /** The next element taken sets `lastSeq` (the input switched to a renumbered incarnation, I35). */
  renumberNext = false;

  constructor(
    /** The channel. */
    public channel: LocalChannel,
    /** Position among the task's inputs. */
    readonly index: number,
    /** Logical input of the head operator (0 or 1). */
    readonly logical: 0 | 1,
  ) {}
}

/** A task's inputs, the mailbox of their arrivals, and the run being delivered. */
export class InputGate {
  /** Input channels, in the plan's order. */
  readonly inputs: TaskInput[] = [];
  /** The input of the run being delivered, or null between runs. */
  runInput: TaskInput | null = null;
  /** Elements of the run still to deliver. */
  runRemaining = 0;
  private arrivals = new Int32Array(64);
  private arrivalHead = 0;
  private arrivalCount = 0;

  constructor(
    private readonly task: Task,
    private readonly env: TaskEnvironment,
  ) {}

  /** Whether there is queued input to deliver. */
  get hasInput(): boolean {
    return this.arrivalCount > 0 || this.runInput !== null;
  }

  // ------------------------------------------------------------------ channels

  /** Adds an input channel (in the plan's order). */
  add(channel: LocalChannel, logical: 0 | 1): TaskInput {
    const input = new TaskInput(channel, this.inputs.length, logical);
    this.inputs.push(input);
    this.listen(input);
    return input;
  }

  /**
   * Starts listening on an input's channel. Envelopes of batches already queued are ingested now:
   * determinants are taken in on arrival, so that a batch this task holds is always covered (I1).
   */
  listen(input: TaskInput): void {
    const index = input.index;
    const channel = input.channel;
    const recorder = this.task.recorder;
    channel.onReadable = () => this.arrived(index);
    channel.consumerReplaying = this.task.replaying;
    channel.forEachQueued((batch) => recorder.ingest(batch));
    for (let i = 0; i < channel.queued; i++) this.pushArrival(index);
  }

  /**
   * The producer of `input` was replaced: once this task has delivered what it already holds from the
   * old channel (its own buffers), it reads the successor channel. Switches at once if nothing is held.
   */
  producerReplaced(input: TaskInput): void {
    if (input.pending === null && input.channel.queued === 0) {
      this.switchToSuccessor(input);
      return;
    }
    // Still draining the old channel: batches of the successor are not delivered yet, but their envelopes
    // are taken in on arrival all the same, so that whatever this task holds is covered by what its replicas
    // hold (I1) — a later recovery of the producer reads them from here.
    const recorder = this.task.recorder;
    for (let next = input.channel.successor; next !== null; next = next.successor) {
      const successor = next;
      successor.forEachQueued((batch) => recorder.ingest(batch));
      successor.onReadable = () => recorder.ingest(successor.peekLast()!);
    }
    this.env.markRunnable(this.task);
  }

  private switchToSuccessor(input: TaskInput): boolean {
    const next = input.channel.successor;
    if (next === null) return false;
    input.channel.onReadable = null;
    input.heldBefore.set(next.id.incarnation, input.lastSeq);
    if (input.renumberedIncarnations.delete(next.id.incarnation)) input.renumberNext = true;
    input.channel = next;
    this.listen(input);
    if (input.channel.successor !== null && input.channel.queued === 0) this.switchToSuccessor(input);
    return true;
  }

  /**
   * The last sequence number this task holds on `input` from channel incarnations before `before`: consumed,
   * being delivered, or queued. What it got from a producer's replacement (incarnation `before` or later)
   * does not count: the orphan check compares the replacement with its predecessor (I14).
   */
  heldFromBefore(input: TaskInput, before: number): number {
    if (input.channel.id.incarnation >= before) {
      // Already reading a newer incarnation: what it had consumed when it first switched to `before` or
      // later (consumption only grows, so the smallest such figure).
      let held = Number.POSITIVE_INFINITY;
      for (const [incarnation, seq] of input.heldBefore) if (incarnation >= before && seq < held) held = seq;
      // Never switched: the task started on such an incarnation (it was replaced in the producer's round
      // or later), so all it holds of the predecessor is what its snapshot restored; what it consumed since
      // came from the replacement, possibly decided live after the replacement's log ran out mid-run.
      return held === Number.POSITIVE_INFINITY ? input.restoredSeq : held;
    }
    let held = input.lastSeq;
    if (input.pending !== null) held = Math.max(held, input.pending.seqEnd - 1);
    for (let channel: LocalChannel | null = input.channel; channel !== null && channel.id.incarnation < before; channel = channel.successor) {
      const end = channel.queuedSeqEnd;
      if (end >= 0) held = Math.max(held, end - 1);
    }
    return held;
  }

  // ------------------------------------------------------------------ the mailbox

  /** Lets a blocked input deliver again, re-queuing what arrived meanwhile (barrier alignment, I10). */
  unblock(input: TaskInput): void {
    if (!input.blocked) return;
    input.blocked = false;
    for (let i = 0; i < input.deferred; i++) this.pushArrival(input.index);
    input.deferred = 0;
  }

  /** Arrivals noticed while replaying were not used (runs came from the log): rebuilds them from what is queued now. */
  rebuildArrivals(): void {
    this.arrivalCount = 0;
    this.arrivalHead = 0;
    for (const input of this.inputs) {
      const count = (input.pending !== null ? 1 : 0) + input.channel.queued;
      for (let i = 0; i < count; i++) this.pushArrival(input.index);
    }
  }

  private arrived(index: number): void {
    this.task.recorder.ingest(this.inputs[index]!.channel.peekLast()!);
    this.pushArrival(index);
    if (!this.task.queued && this.task.status === 'running') this.env.markRunnable(this.task);
  }

  private pushArrival(index: number): void {
    if (this.arrivalCount === this.arrivals.length) {
      const grown = new Int32Array(this.arrivals.length * 2);
      for (let i = 0; i < this.arrivalCount; i++) grown[i] = this.arrivals[(this.arrivalHead + i) & (this.arrivals.length - 1)]!;
      this.arrivals = grown;
      this.arrivalHead = 0;
    }
    this.arrivals[(this.arrivalHead + this.arrivalCount) & (this.arrivals.length - 1)] = index;
    this.arrivalCount++;
  }

  // ------------------------------------------------------------------ runs

  /** Starts a live run: the next arrived batch, recorded as an ORDER determinant. Returns false when none. */
  startLiveRun(): boolean {
    const task = this.task;
    if (task.snapshots.held) return false;
    task.aligner.takePendingAborts();
    while (this.arrivalCount > 0) {
      const index = this.arrivals[this.arrivalHead]!;
      this.arrivalHead = (this.arrivalHead + 1) & (this.arrivals.length - 1);
      this.arrivalCount--;
      const input = this.inputs[index]!;
      if (input.blocked) {
        input.deferred++;
        continue;
      }
      const batch = this.currentBatch(input);
      if (batch === null) continue;
      const remaining = this.skipConsumed(input, batch);
      if (remaining === 0) continue;
      if (batch.type === ElementType.Barrier && task.aligner.isStaleBarrier(batch.value)) {
        // The barrier of a checkpoint abandoned before this task heard of it (a replacement whose
        // predecessor died before shipping the abort, or a barrier regenerated by a replaying producer):
        // aligning on it would wait for ever for inputs that never send it. The abort is taken now,
        // between runs and recorded, where a replay takes it too (I6, I21); the barrier is then dropped.
        task.checkpointAborted(batch.value);
      }
      task.recorder.order(index, remaining, task.position);
      this.runInput = input;
      this.runRemaining = remaining;
      return true;
    }
    return false;
  }

  /** Starts a run the log recorded: `count` elements from `input` (I6). */
  startReplayedRun(input: TaskInput, count: number): void {
    this.runInput = input;
    this.runRemaining = count;
  }

  /**
   * Delivers elements of the current run. Returns the number delivered, or -1 when it must wait (no
   * batch available yet, or an async operator suspended the task).
   */
  continueRun(): number {
    const task = this.task;
    const input = this.runInput!;
    let delivered = 0;
    while (this.runRemaining > 0) {
      if (input.ended) {
        // Only a replay can ask for more than an input ever delivers: the recorded run cannot be reproduced.
        throw new DeterminantMismatchError(`ORDER of ${this.runRemaining} more from input ${input.index}`, `input ${input.index}, which ended`, -1, task.epoch, `task ${task.taskName}`);
      }
      const batch = this.currentBatch(input);
      if (batch === null) return delivered > 0 ? delivered : -1;
      if (this.skipConsumed(input, batch) === 0) continue;
      const offset = input.pendingOffset;
      const available = batch.type === ElementType.Data ? batch.count - offset : 1;
      const take = Math.min(available, this.runRemaining);
      const done = this.deliver(input, batch, offset, take);
      delivered += done;
      this.runRemaining -= done;
      if (offset + done === (batch.type === ElementType.Data ? batch.count : 1)) this.releasePending(input);
      else input.pendingOffset = offset + done;
      if (done < take || task.status !== 'running' || task.isSuspended) {
        if (this.runRemaining === 0) this.runInput = null;
        return delivered > 0 ? delivered : -1;
      }
    }
    this.runInput = null;
    return delivered;
  }

  /** The batch being delivered from `input`, taking the next from its channel if needed. */
  private currentBatch(input: TaskInput): Batch | null {
    if (input.pending !== null) return input.pending;
    let batch = input.channel.poll();
    while (batch === undefined && input.channel.successor !== null) {
      this.switchToSuccessor(input);
      batch = input.channel.poll();
    }
    if (batch === undefined) return null;
    input.pending = batch;
    input.pendingOffset = 0;
    return batch;
  }

  private releasePending(input: TaskInput): void {
    const batch = input.pending!;
    input.pending = null;
    input.pendingOffset = 0;
    input.channel.release(batch);
    if (input.channel.successor !== null && input.channel.queued === 0) this.switchToSuccessor(input);
  }

  /**
   * Skips elements of `input`'s current batch that were already consumed (I8); returns how many remain.
   * A batch that starts past the next expected element is a gap: an error.
   */
  private skipConsumed(input: TaskInput, batch: Batch): number {
    const next = batch.seq + input.pendingOffset;
    const size = batch.type === ElementType.Data ? batch.count : 1;
    if (input.renumberNext) {
      // A replacement without determinants starts again from its checkpoint's position, at or below what
      // this task consumed of its predecessor: everything it sends is taken, none dropped as a duplicate of
      // what may be a different element (I35). Beyond the next expected number is still a gap (I8).
      input.renumberNext = false;
      if (next <= input.lastSeq + 1) input.lastSeq = next - 1;
    }
    const expected = input.lastSeq + 1;
    if (next !== expected) {
      if (next > expected) {
        throw new Error(`I8 violated: ${this.task.taskName} input ${input.index} expected seq ${expected}, got ${elementTypeName(batch.type)} at ${next}`);
      }
      if (!this.env.features.dedup) {
        throw new Error(`I8 violated: ${this.task.taskName} input ${input.index} got seq ${next} again (last consumed ${input.lastSeq})`);
      }
      // Already consumed (a replay after recovery): drop what this task has seen.
      const skip = Math.min(expected - next, size - input.pendingOffset);
      input.pendingOffset += skip;
    }
    const remaining = size - input.pendingOffset;
    if (remaining === 0) this.releasePending(input);
    return remaining;
  }

  // ------------------------------------------------------------------ delivery

  /** Delivers `count` elements of `batch` from `offset`; returns how many were processed. */
  private deliver(input: TaskInput, batch: Batch, offset: number, count: number): number {
    const task = this.task;
    switch (batch.type) {
      case ElementType.Data:
        return this.deliverRecords(input, batch, offset, count);
      case ElementType.Watermark:
        input.lastSeq = batch.seq;
        this.countElement();
        task.timers.onWatermark(input, batch.value, batch.ingestTime);
        return 1;
      case ElementType.Barrier:
        input.lastSeq = batch.seq;
        this.countElement();
        task.aligner.onBarrier(input, batch.value);
        return 1;
      default:
        input.lastSeq = batch.seq;
        this.countElement();
        input.ended = true;
        task.aligner.inputEnded(input);
        task.timers.inputEnded();
        if (this.inputs.every((i) => i.ended)) task.finish();
        return 1;
    }
  }

  private deliverRecords(input: TaskInput, batch: Batch, start: number, count: number): number {
    const task = this.task;
    const head = task.operators[0]!;
    const records = batch.records;
    const timestamps = batch.timestamps;
    let end = start + count;
    task.ingestTime = batch.ingestTime;
    const killHere = task.killCountdown <= count;
    if (killHere) end = start + task.killCountdown;
    let i = start;
    let suspendedBy: void | Promise<void> = undefined;
    try {
      // One loop per logical input rather than a branch or a bound method per record: this is the hot path.
      if (input.logical === 0) {
        for (; i < end; i++) {
          suspendedBy = head.processElement(records[i], timestamps[i]!);
          if (suspendedBy !== undefined) {
            i++;
            break;
          }
        }
      } else {
        for (; i < end; i++) {
          suspendedBy = head.processElement2(records[i], timestamps[i]!);
          if (suspendedBy !== undefined) {
            i++;
            break;
          }
        }
      }
    } finally {
      const done = i - start;
      task.position += done;
      task.elementsIn += done;
      input.lastSeq = batch.seq + i - 1;
      if (task.killCountdown !== NO_KILL) task.killCountdown -= done;
    }
    if (suspendedBy !== undefined) task.suspend(suspendedBy);
    else if (killHere) throw new TaskKilledError(task.taskName);
    return i - start;
  }

  private countElement(): void {
    const task = this.task;
    task.position++;
    task.elementsIn++;
    if (task.killCountdown !== NO_KILL && --task.killCountdown <= 0) throw new TaskKilledError(task.taskName);
  }
}
