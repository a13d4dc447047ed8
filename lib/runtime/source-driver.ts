/**
 * The reading side of a source task: polls its partitions round-robin, emits records into the chain,
 * generates watermarks after each poll, and injects checkpoint barriers between polls.
 *
 * Offsets are the source's state: a restored task seeks its partitions to the checkpointed offsets
 * and re-reads from there (sources must be re-readable, see `connectors/source.ts`).
 */
import type { PartitionReader, Source } from '../connectors/source.js';
import { TaskKilledError } from '../errors.js';
import { Kind } from '../../determinants/kinds.js';
import type { ReplayReader } from '../../determinants/replay.js';
import type { OperatorSnapshot } from '../state/snapshot.js';
import { Operator } from './operator.js';
import type { WatermarkStrategy } from './plan.js';
import type { Task } from './task.js';

/** State of a source task in a snapshot. */
interface SourceState {
  /** Next offset per assigned partition. */
  offsets: number[];
  /** Largest event timestamp seen per assigned partition. */
  maxTimestamps: number[];
  /** Last watermark emitted. */
  watermark: number;
  /** Full polls since the last watermark check (see {@link WATERMARK_EVERY_POLLS}). */
  pollsSinceWatermark?: number;
  /** Per assigned partition, whether it was declared idle (left out of the watermark). */
  idle?: boolean[];
}

/**
 * A source checks its watermark after this many full polls, or after any short poll (it caught up with
 * its input). Checking after every poll would cut every output batch short with a watermark element, and
 * under causal logging each batch carries an envelope. Both conditions follow from the recorded polls, so
 * a replay emits watermarks at the same positions.
 */
const WATERMARK_EVERY_POLLS = 8;

/**
 * The chain head of a source task. It has no input; the driver emits through its output, and it
 * carries the source's offsets in snapshots.
 */
export class SourceOperator extends Operator {
  /** Set by the driver: produces the operator's snapshot state for a checkpoint. */
  stateProvider: ((checkpointId: number) => SourceState) | null = null;
  /** Set by the driver: told when a checkpoint completed (connector bookkeeping, see `PartitionReader.checkpointCompleted`). */
  completionListener: ((checkpointId: number) => void) | null = null;
  /** Restored state, consumed by the driver when it opens. */
  restored: SourceState | null = null;

  processElement(): void {
    throw new Error(`source ${this.name} has no input`);
  }

  override snapshot(checkpointId: number): OperatorSnapshot {
    return { state: this.stateProvider!(checkpointId) };
  }

  override checkpointCompleted(checkpointId: number): void {
    this.completionListener?.(checkpointId);
  }

  override restore(snapshot: OperatorSnapshot): void {
    this.restored = snapshot.state as SourceState;
  }
}

/** Options of a {@link SourceDriver}. */
export interface SourceDriverOptions {
  /** Records per poll (at most one batch). */
  pollSize: number;
  /** Event-time settings, or null for a stream without event time. */
  watermarks: WatermarkStrategy | null;
}

/** Reads a source task's partitions. */
export class SourceDriver {
  private readonly readers: PartitionReader<unknown>[] = [];
  /** Records read so far by this incarnation (metrics). */
  recordsRead = 0;
  private readonly partitions: number[] = [];
  private offsets: number[] = [];
  private maxTimestamps: number[] = [];
  private ended: boolean[] = [];
  /** Partitions declared idle (connector hook `PartitionReader.idle`): left out of the watermark. */
  private idle: boolean[] = [];
  /** Offsets stored by checkpoints not completed yet, for `PartitionReader.checkpointCompleted`. */
  private readonly checkpointedOffsets = new Map<number, number[]>();
  private watermark = -Infinity;
  private pollsSinceWatermark = 0;
  private next = 0;
  private pendingCheckpoint = -1;
  private readonly scratch: unknown[];
  private readonly scratchTimestamps: Float64Array;
  private finished = false;

  constructor(
    private readonly task: Task,
    private readonly head: SourceOperator,
    private readonly source: Source<unknown>,
    private readonly options: SourceDriverOptions,
    private readonly countInput: (count: number) => void,
    private readonly clock: () => number,
    private readonly wakeAt: (jobMs: number) => void,
  ) {
    this.scratch = new Array(options.pollSize);
    this.scratchTimestamps = new Float64Array(options.pollSize);
    head.stateProvider = (checkpointId) => {
      const offsets = [...this.offsets];
      if (this.readers.some((r) => r.checkpointCompleted !== undefined)) this.checkpointedOffsets.set(checkpointId, offsets);
      return {
        offsets,
        maxTimestamps: [...this.maxTimestamps],
        watermark: this.watermark,
        pollsSinceWatermark: this.pollsSinceWatermark,
        ...(this.idle.some(Boolean) ? { idle: [...this.idle] } : {}),
      };
    };
    head.completionListener = (checkpointId) => this.checkpointCompleted(checkpointId);
  }

  /** Opens the readers of the partitions assigned to this task (partition p goes to task p mod parallelism). */
  open(): void {
    const total = this.source.partitions();
    const { subtask, parallelism } = this.task;
    for (let p = subtask; p < total; p += parallelism) {
      this.partitions.push(p);
      this.readers.push(this.source.open(p, { subtask, parallelism, partitions: total, reject: (record, error) => this.task.operatorFailed(this.head.name, record, error) }));
    }
    const restored = this.head.restored;
    this.offsets = restored ? [...restored.offsets] : this.partitions.map(() => 0);
    this.maxTimestamps = restored ? [...restored.maxTimestamps] : this.partitions.map(() => -Infinity);
    this.watermark = restored ? restored.watermark : -Infinity;
    this.pollsSinceWatermark = restored?.pollsSinceWatermark ?? 0;
    this.idle = restored?.idle ? [...restored.idle] : this.partitions.map(() => false);
    this.ended = this.readers.map((r, i) => r.endsAt(this.offsets[i]!));
  }

  /** Asks to inject the barrier of `checkpointId` at the next opportunity. */
  triggerCheckpoint(checkpointId: number): void {
    this.pendingCheckpoint = Math.max(this.pendingCheckpoint, checkpointId);
  }

  /** Polls up to `budget` records. Returns true when more are available right away. */
  run(budget: number): boolean {
    if (this.finished) return false;
    // Every partition ended before anything was read (empty bounded partitions): nothing will call emit.
    if (this.ended.every(Boolean)) {
      this.finishSource();
      return false;
    }
    this.injectPendingBarrier();
    // The barrier's snapshot waits for captured callbacks to run: no poll until it is taken.
    if (this.task.snapshots.held) return false;
    const now = this.clock();
    let emitted = 0;
    let idlePolls = 0;
    const n = this.readers.length;
    while (emitted < budget && idlePolls < n && !this.finished) {
      if (!this.task.outputs.writable()) {
        // Credit: a source reads no further than its consumers take (a barrier it injects queues behind
        // no more than a channel's credit). It is woken when credit frees up.
        this.task.backpressured = true;
        break;
      }
      const i = this.next;
      this.next = (this.next + 1) % n;
      if (this.ended[i]) {
        idlePolls++;
        continue;
      }
      const got = this.poll(i, Math.min(budget - emitted, this.options.pollSize), now);
      if (got === 0) idlePolls++;
      else idlePolls = 0;
      emitted += got;
    }
    if (emitted > 0) {
      this.recordsRead += emitted;
      this.countInput(emitted);
    }
    if (this.finished || this.task.backpressured) return false;
    if (emitted >= budget) return true;
    this.scheduleNextPoll(now);
    return false;
  }

  /**
   * Executes the next recorded source determinant while replaying (I6): a poll of exactly the recorded
   * partition and count (records are re-readable by offset, whatever their pace now), or a barrier at
   * its recorded position. Returns the records emitted, or -1 when the recorded records cannot be read
   * yet (a source that fetches asynchronously, such as Kafka's, is refetching them): the task is woken
   * when they can.
   */
  replayNext(reader: ReplayReader): number {
    if (reader.peek() === Kind.SourceBarrier) {
      const checkpointId = reader.nextSourceBarrier();
      this.task.checkPosition(reader.position, 'SOURCE_BARRIER');
      this.task.snapshots.take(checkpointId);
      return 0;
    }
    const slot = reader.peekSourcePoll();
    const count = reader.count;
    if (slot >= this.readers.length || this.ended[slot]) reader.fail(`SOURCE_POLL of ${count} from partition slot ${slot}`, `a poll ${this.task.taskName} can make`);
    const now = this.clock();
    const partition = this.readers[slot]!;
    const offset = this.offsets[slot]!;
    if (partition.available(offset, now) < count) {
      this.wakeAt(Math.max(partition.nextAvailableAt?.(offset, now) ?? now + 1, now + 0.05));
      return -1;
    }
    reader.nextSourcePoll();
    this.emit(slot, count, now);
    this.recordsRead += count;
    this.countInput(count);
    return count;
  }

  /** For the stall report: the recorded poll a replay waits for, and what its partition says. */
  describeReplayWait(reader: ReplayReader): string {
    const slot = reader.peekSourcePoll();
    const partition = this.readers[slot];
    const offset = this.offsets[slot] ?? 0;
    const detail = partition?.describeWait?.(offset);
    return `replaying SOURCE_POLL: ${reader.count} records of partition slot ${slot} at offset ${offset}, ${partition ? partition.available(offset, this.clock()) : 0} available${detail ? ` (${detail})` : ''}`;
  }

  /** Reads one live poll from partition slot `i` (recorded first, I1); returns the records emitted. */
  private poll(i: number, max: number, now: number): number {
    const reader = this.readers[i]!;
    const offset = this.offsets[i]!;
    const killAt = this.task.killCountdown;
    const available = reader.available(offset, now);
    if (available <= 0) {
      // A quiet partition may stop holding back event time: a decision of the clock's, recorded as an
      // empty poll (I1), which `emit` turns into the idle mark, live and in replay alike.
      if (!this.idle[i] && reader.idle?.(offset, now) === true) {
        this.task.recorder.sourcePoll(i, 0);
        this.emit(i, 0, now);
      }
      return 0;
    }
    const count = Math.min(max, available, killAt);
    if (count <= 0) return 0;
    this.task.recorder.sourcePoll(i, count);
    this.emit(i, count, now);
    if (killAt !== Number.POSITIVE_INFINITY) {
      this.task.killCountdown -= count;
      // Fault injection: a source dies after emitting its quota, output batches unsent.
      if (this.task.killCountdown <= 0) throw new TaskKilledError(this.task.taskName);
    }
    return count;
  }

  /**
   * Emits `count` records of partition slot `i` from its offset, then the watermark if it advanced, and
   * finishes the source once every partition ended: all decided per poll, so that a replay of the same
   * polls makes the same decisions.
   */
  private emit(i: number, count: number, now: number): void {
    const reader = this.readers[i]!;
    const offset = this.offsets[i]!;
    const records = this.scratch.length >= count ? this.scratch : new Array(count);
    const timestamps = this.scratchTimestamps.length >= count ? this.scratchTimestamps : new Float64Array(count);
    reader.read(offset, count, records, timestamps, 0);
    const arrival = reader.arrivalTime?.(offset);
    this.task.ingestTime = arrival === undefined || Number.isNaN(arrival) ? now : arrival;
    const extract = this.options.watermarks?.timestamp;
    const output = this.head.output;
    let max = this.maxTimestamps[i]!;
    for (let k = 0; k < count; k++) {
      const record = records[k];
      const ts = extract ? extract(record) : timestamps[k]!;
      if (ts > max) max = ts;
      output.collect(record, ts);
      records[k] = undefined;
    }
    this.maxTimestamps[i] = max;
    this.idle[i] = count === 0;
    this.offsets[i] = offset + count;
    this.task.position += count;
    if (reader.endsAt(offset + count)) this.ended[i] = true;
    if (++this.pollsSinceWatermark >= WATERMARK_EVERY_POLLS || count < this.options.pollSize || this.ended[i]) {
      this.pollsSinceWatermark = 0;
      this.emitWatermark();
    }
    if (this.ended.every(Boolean)) this.finishSource();
  }

  /**
   * Emits the watermark if it advanced: the smallest per-partition maximum timestamp, minus the
   * allowed disorder, minus 1 — a watermark W promises that no record with timestamp <= W follows, and
   * more records with the maximum timestamp itself may still come.
   */
  private emitWatermark(): void {
    const strategy = this.options.watermarks;
    if (!strategy) return;
    let min = Infinity;
    for (let i = 0; i < this.readers.length; i++) {
      if (this.ended[i] || this.idle[i]) continue;
      if (this.maxTimestamps[i]! < min) min = this.maxTimestamps[i]!;
    }
    if (min === Infinity || min === -Infinity) return;
    const candidate = min - (strategy.maxOutOfOrdernessMs ?? 0) - 1;
    if (candidate > this.watermark) {
      this.watermark = candidate;
      this.head.output.emitWatermark(candidate);
    }
  }

  private injectPendingBarrier(): void {
    if (this.pendingCheckpoint < 0) return;
    const checkpointId = this.pendingCheckpoint;
    this.pendingCheckpoint = -1;
    if (checkpointId <= this.task.epoch) return;
    // The trigger arrived at a moment of the wall clock's choosing: record where the barrier went (I1).
    this.task.recorder.sourceBarrier(checkpointId, this.task.position);
    this.task.snapshots.take(checkpointId);
  }

  private scheduleNextPoll(now: number): void {
    let soonest = Infinity;
    for (let i = 0; i < this.readers.length; i++) {
      if (this.ended[i]) continue;
      const at = this.readers[i]!.nextAvailableAt?.(this.offsets[i]!, now) ?? now + 1;
      if (at < soonest) soonest = at;
    }
    if (soonest < Infinity) this.wakeAt(Math.max(soonest, now + 0.05));
  }

  private finishSource(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.options.watermarks && this.watermark < Infinity) {
      this.watermark = Infinity;
      this.head.output.emitWatermark(Infinity);
    }
    for (const reader of this.readers) reader.close?.();
    this.task.finish();
  }

  /** Tells the readers that a checkpoint completed, with the offsets it stored (connector bookkeeping). */
  private checkpointCompleted(checkpointId: number): void {
    // The newest offsets stored at or before it (a finished task's last snapshot stands for it in later checkpoints).
    let newest = -1;
    for (const id of this.checkpointedOffsets.keys()) if (id <= checkpointId && id > newest) newest = id;
    if (newest < 0) return;
    const offsets = this.checkpointedOffsets.get(newest)!;
    for (const id of [...this.checkpointedOffsets.keys()]) if (id < newest) this.checkpointedOffsets.delete(id);
    for (let i = 0; i < this.readers.length; i++) this.readers[i]!.checkpointCompleted?.(checkpointId, offsets[i]!);
  }

  /** Whether a barrier waits to be injected. */
  get checkpointPending(): boolean {
    return this.pendingCheckpoint >= 0;
  }
}
