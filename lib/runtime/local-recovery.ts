/**
 * Local recovery: a failed task is replaced by its standby while every other task keeps running.
 *
 * For each failed task T (several may fail at once, or during a recovery):
 *
 * 1. The standby S takes over T's state at the last completed checkpoint *c* (from the checkpoint store
 *    if no standby holds it).
 * 2. Exactly-once: S gets T's determinants from epoch *c* on, the longest of the copies held by live
 *    tasks and stored by sinks (I4).
 * 3. New channels connect S: each upstream replays its in-flight log after what S's checkpoint consumed,
 *    then goes on live; each downstream drains what it already holds from T, then reads from S.
 * 4. S replays: recorded order, recorded values, timers and barriers at their recorded positions (I6).
 *    Downstream drops what it already has by sequence number (I8).
 * 5. When the log runs out, S goes live — but only if it regenerated at least everything any live task
 *    holds from it (no orphans, I14). Otherwise recovery escalates to a global rollback.
 * 6. S gets a new standby from the checkpoint store. Checkpoints resume once every replacement is live.
 */
import { EntryDecoder } from '../../determinants/codec.js';
import { Kind } from '../../determinants/kinds.js';
import { ReplicaStore, longestCopy, type EpochSegment } from '../../determinants/replica.js';
import { CausalflowError, DeterminantMismatchError, LogDivergenceError, RecoveryEscalationError, TaskKilledError } from '../errors.js';
import { SinkOperator } from '../operators/sink.js';
import type { TaskSnapshot } from '../state/snapshot.js';
import type { StateBackend } from '../state/backend.js';
import type { LocalChannel } from '../transport/channel.js';
import type { PhysicalPlan, TaskPlan } from './plan.js';
import type { Standby } from './standby.js';
import type { Task, TaskInput } from './task.js';
import type { JobEventDetails, JobEventType } from './events.js';

/** What local recovery needs from the executor. */
export interface LocalRecoveryHost {
  readonly plan: PhysicalPlan;
  /** Live tasks, by id (replaced in place). */
  readonly tasks: Task[];
  /** Channels, by index (replaced in place). */
  readonly channels: LocalChannel[];
  /** Whether the strategy records determinants. */
  readonly causal: boolean;
  /** Job-clock ms. */
  clock(): number;
  /** Records an event. */
  event<K extends JobEventType>(type: K, details: JobEventDetails[K]): void;
  /** A fresh channel for plan channel `index`. */
  newChannel(index: number): LocalChannel;
  /** Creates a task restored from `snapshot` (and standby backends), replaying `replay` if given; `history` continues a retained trace. */
  createTask(plan: TaskPlan, snapshot: TaskSnapshot | null, backends: Map<string, StateBackend> | null, replay: EpochSegment[] | null, history: EpochSegment[] | null): Task;
  /** Whether every determinant is retained (verification): replacements continue the whole trace. */
  readonly retainAll: boolean;
  /** Opens a created task and lets it run. */
  startTask(task: Task): void;
  /** Takes a standby of `taskId` holding checkpoint `checkpoint` out of the pool, if one does. */
  takeStandby(taskId: number, checkpoint: number): Standby | null;
  /** Builds a new standby for `taskId` from the checkpoint store. */
  addStandbyFromStore(taskId: number): void;
  /** The latest completed checkpoint, or -1. */
  latestCheckpoint(): number;
  /** The merged state of `taskId` at the latest completed checkpoint, from the store. */
  restoreFromStore(taskId: number): TaskSnapshot | null;
  /** Every determinant envelope the sink partitions store (a dead sink's partition is opened to read them). */
  sinkDeterminants(fromEpoch: number): Promise<Uint8Array[]>;
  /** Stops checkpoint triggering and abandons the one in flight; resolves once nothing is completing. */
  pauseCheckpoints(): Promise<void>;
  /** Resumes checkpoint triggering. */
  resumeCheckpoints(): void;
  /**
   * Without determinants: `failed` are replaced from `checkpoint` and decide anew; sinks downstream that
   * showed output since then lose exactly-once (reported in the job's guarantee).
   */
  regenerated(failed: ReadonlySet<number>, checkpoint: number): Promise<void>;
  /**
   * Gives up on local recovery: restart everything from the latest checkpoint. Tasks in `lost` (and
   * their descendants) decide anew; the others replay their own logs (I16).
   */
  escalate(reason: string, lost: ReadonlySet<number>): Promise<void>;
}

/** Bookkeeping of one replacement task. */
interface Replacement {
  task: Task;
  /** Per input: the last sequence number its recorded log consumes (restored position plus ORDER counts). */
  recordedConsumption: number[];
  startedAt: number;
  replayEntries: number;
  /** Taken when its log ran out: see {@link LogEndVerdict}. */
  logEnd: LogEndVerdict | null;
}

/**
 * The orphan check (I14), as of the moment a replacement's log ran out: before anything it decides live
 * reaches a consumer or a sink. What it regenerated is compared then with what live consumers hold and
 * sinks show; a consumer that is itself dead then is compared later, once replaced, with what its own log
 * says it consumed.
 */
interface LogEndVerdict {
  /** Per writer: the last sequence number regenerated from the log. */
  regenerated: number[];
  /** An orphan found at the log's end, thrown when the replacement would go live. */
  orphan: RecoveryEscalationError | null;
  /** Writers whose consumer was dead at the log's end: writer index → consumer task id. */
  deadConsumers: Map<number, number>;
}

/** Errors that mean the determinants cannot be trusted to reproduce the failed task: escalate. */
function needsEscalation(cause: unknown): boolean {
  return cause instanceof DeterminantMismatchError || cause instanceof RecoveryEscalationError || cause instanceof LogDivergenceError;
}

/** Runs local recoveries for one executor. */
export class LocalRecovery {
  private readonly replacements = new Map<number, Replacement>();
  /**
   * Per replacement of this recovery episode (until recovery-finished): the last sequence number, per
   * input, that its recorded log consumes. Kept after it went live, for producers still to judge against it.
   */
  private readonly recordedConsumption = new Map<number, number[]>();
  private paused = false;
  private pausing: Promise<void> = Promise.resolve();
  private escalating = false;
  private roundsInProgress = 0;

  constructor(private readonly host: LocalRecoveryHost) {}

  /** Whether any replacement is still replaying. */
  get active(): boolean {
    return this.replacements.size > 0;
  }

  /** Replaces failed tasks (already stopped). */
  async recover(failed: readonly Task[], cause: unknown): Promise<void> {
    if (this.escalating) return;
    if (needsEscalation(cause)) {
      await this.escalate(`task ${failed.map((t) => t.taskName).join(', ')} could not replay its determinants: ${(cause as Error).message}`, failed);
      return;
    }
    // Every recovery waits for the same pause: a failure noticed while an earlier recovery waits for the
    // checkpoint in flight to settle must not pick the checkpoint before it settled (the other would pick
    // the one after, and in-flight logs are truncated on completion).
    if (!this.paused) {
      this.paused = true;
      this.pausing = this.host.pauseCheckpoints();
    }
    // Checkpoints stay paused until this round has replaced its tasks too, even if every replacement of
    // an earlier round goes live meanwhile.
    this.roundsInProgress++;
    try {
      await this.recoverRound(failed);
    } finally {
      this.roundsInProgress--;
    }
    this.maybeFinishEpisode();
  }

  private async recoverRound(failed: readonly Task[]): Promise<void> {
    await this.pausing;
    if (this.escalating) return;
    // What sinks stored is read before anything is rewired: a partition in an external system may have to
    // read its tail first, and the rewiring and replacement below must happen in one go.
    const checkpoint = this.host.latestCheckpoint();
    const stored = this.host.causal ? await this.host.sinkDeterminants(Math.max(0, checkpoint)) : [];
    if (!this.host.causal) await this.host.regenerated(new Set(failed.map((t) => t.taskId)), Math.max(0, checkpoint));
    if (this.escalating) return;
    // Phase 1: new channels around every failed task, before any replacement is built, so that
    // replacements of adjacent failed tasks are wired to each other.
    const rewired = new Set<number>();
    for (const task of failed) this.rewireChannels(task.plan, rewired);
    // Phase 2: replacements, upstream first (task ids are topological).
    const created = new Set<number>();
    const liveAtOnce: Task[] = [];
    for (const task of [...failed].sort((a, b) => a.taskId - b.taskId)) {
      try {
        const replacement = this.replace(task, checkpoint, created, stored);
        if (!replacement.replaying) liveAtOnce.push(replacement);
      } catch (error) {
        // Errors that retrying cannot mend (a snapshot that cannot be restored faithfully) fail the job.
        if (!(error instanceof CausalflowError) || error instanceof TaskKilledError || !error.retriable) throw error;
        await this.escalate(`replacing ${task.taskName} failed: ${error.message}`, failed);
        return;
      }
    }
    // Without determinants (at-least-once) a replacement goes live at once. With them, every replacement
    // replays, even an empty log, and goes live only through `replayFinished`: the orphan check (I14)
    // must wait for every consumer that is itself dead to be replaced, and then count what that
    // replacement's own log says it consumed. Going live while a consumer is dead would let the
    // replacement decide anew what the consumer's successor then replays against (a silent divergence).
    for (const task of liveAtOnce) {
      const replacement = this.replacements.get(task.taskId);
      if (replacement) this.wentLive(replacement);
    }
  }

  /**
   * A replacement's log ran out (possibly in the middle of a record, an async operator suspended): judge
   * the orphan check now, before any live decision of its reaches a consumer or a sink (I14).
   */
  logEnded(task: Task): void {
    const replacement = this.replacements.get(task.taskId);
    if (!replacement || replacement.logEnd !== null) return;
    const regenerated = task.allWriters.map((writer) => writer.nextSeq - 1);
    const verdict: LogEndVerdict = { regenerated, orphan: null, deadConsumers: new Map() };
    replacement.logEnd = verdict;
    if (!this.host.causal) return;
    task.allWriters.forEach((writer, w) => {
      if (verdict.orphan !== null) return;
      const channel = this.host.plan.channels[writer.channel.id.index]!;
      const consumer = this.host.tasks[channel.to]!;
      if (consumer.status === 'dead') {
        verdict.deadConsumers.set(w, channel.to);
        return;
      }
      const consumed = this.heldBy(consumer, consumer.inputs[channel.consumerInput]!);
      if (regenerated[w]! < consumed) verdict.orphan = this.orphan(task, consumer, consumed, regenerated[w]!);
    });
    if (verdict.orphan !== null) return;
    for (const op of task.operators) {
      if (!(op instanceof SinkOperator)) continue;
      const visible = op.sinkPartition.visibleCount();
      if (op.nextOutputIndex < visible) {
        verdict.orphan = new RecoveryEscalationError(`orphan: sink ${op.name} shows ${visible} records, the replacement regenerated ${op.nextOutputIndex}`, {
          task: task.taskName,
          visible,
          regenerated: op.nextOutputIndex,
        });
        return;
      }
    }
  }

  /**
   * A replacement replayed its whole log. Returns whether it may go live now: false while a consumer that
   * was dead when its log ran out is not replaced yet. Throws {@link RecoveryEscalationError} on an orphan (I14).
   */
  replayFinished(task: Task): boolean {
    const replacement = this.replacements.get(task.taskId);
    if (!replacement) return true;
    if (replacement.logEnd === null) this.logEnded(task);
    if (!this.host.causal) {
      this.wentLive(replacement);
      return true;
    }
    const verdict = replacement.logEnd!;
    if (verdict.orphan !== null) throw verdict.orphan;
    for (const [w, consumerId] of verdict.deadConsumers) {
      const consumer = this.host.tasks[consumerId]!;
      if (consumer.status === 'dead') return false;
      // Replaced since: what its predecessor held from the failed task is what its own log consumes.
      const channel = this.host.plan.channels[task.allWriters[w]!.channel.id.index]!;
      const consumed = this.recordedConsumption.get(consumerId)?.[channel.consumerInput] ?? consumer.inputs[channel.consumerInput]!.lastSeq;
      if (verdict.regenerated[w]! < consumed) throw this.orphan(task, consumer, consumed, verdict.regenerated[w]!);
      verdict.deadConsumers.delete(w);
    }
    task.flushOutputs();
    this.wentLive(replacement);
    return true;
  }

  private orphan(task: Task, consumer: Task, consumed: number, regenerated: number): RecoveryEscalationError {
    return new RecoveryEscalationError(
      `orphan: ${consumer.taskName} holds elements up to seq ${consumed} from ${task.taskName}, whose determinants are lost; the replacement regenerated up to ${regenerated}`,
      { task: task.taskName, consumer: consumer.taskName, consumed, regenerated },
    );
  }

  /** Drops the bookkeeping of a replacement that died. */
  forget(taskId: number): void {
    this.replacements.delete(taskId);
  }

  private replace(dead: Task, checkpoint: number, created: Set<number>, stored: readonly Uint8Array[]): Task {
    const plan = dead.plan;
    const standby = this.host.takeStandby(plan.id, checkpoint);
    const snapshot = standby ? standby.snapshot : checkpoint >= 0 ? this.host.restoreFromStore(plan.id) : null;
    const fromEpoch = Math.max(0, checkpoint);
    const replay = this.host.causal ? this.collectLog(plan.id, fromEpoch, stored) : null;
    // Verification only (retained traces): the replacement's log continues the failed task's whole
    // trace, so that the oracle can replay every task from the job's start. Epochs before the checkpoint
    // come from the dead task's memory (recovery never needs them, so copies may lack their tail); the
    // rest is what recovery replays. Without causal logging (at-least-once) what the replacement does
    // next follows: one consistent execution, whose output the verifier shows differs from the sink's.
    let history: EpochSegment[] | null = null;
    if (this.host.retainAll && dead.causal) history = [...dead.causal.ownSegments(0).filter((segment) => segment.epoch < fromEpoch), ...(replay ?? [])];
    // With causal logging a replacement always replays, an empty log included: it goes live only once the
    // orphan check passes (I14). Without, it has no log and goes live at once.
    const task = this.host.createTask(plan, snapshot, standby ? standby.backends : null, replay, history);
    this.host.tasks[plan.id] = task;
    created.add(plan.id);
    const recordedConsumption = task.inputs.map((input) => input.lastSeq);
    let replayEntries = 0;
    if (replay) {
      const decoder = new EntryDecoder();
      for (const segment of replay) {
        decoder.reset(segment.bytes);
        while (decoder.next()) {
          replayEntries++;
          if (decoder.kind === Kind.Order && decoder.channel < recordedConsumption.length) recordedConsumption[decoder.channel]! += decoder.count;
        }
      }
    }
    // Upstream tasks that survived replay their in-flight logs into the new input channels; a
    // replacement built in this same round writes to them from the start anyway.
    plan.inputs.forEach((channelIndex, i) => {
      const channel = this.host.plan.channels[channelIndex]!;
      const producer = this.host.tasks[channel.from]!;
      if (producer.status === 'dead' || created.has(producer.taskId)) return;
      const writer = producer.allWriters.find((w) => w.channel.id.index === channelIndex);
      if (writer) producer.replayTo(writer, this.host.channels[channelIndex]!, task.inputs[i]!.lastSeq);
    });
    // Downstream tasks drain what they hold from the failed task, then read the replacement.
    for (const channelIndex of plan.outputs.flat()) {
      const channel = this.host.plan.channels[channelIndex]!;
      const consumer = this.host.tasks[channel.to]!;
      if (consumer.status !== 'dead') consumer.producerReplaced(consumer.inputs[channel.consumerInput]!);
    }
    this.replacements.set(plan.id, { task, recordedConsumption, startedAt: this.host.clock(), replayEntries, logEnd: null });
    this.recordedConsumption.set(plan.id, recordedConsumption);
    this.host.event('standby-activated', {
      task: plan.name,
      checkpoint,
      state: standby ? 'standby' : snapshot ? 'checkpoint store' : 'empty (no checkpoint yet)',
      replayEntries,
      replayBytes: replay ? replay.reduce((n, s) => n + s.bytes.length, 0) : 0,
    });
    this.host.startTask(task);
    if (replayEntries > 0) this.host.event('replay-started', { task: plan.name, entries: replayEntries });
    return task;
  }

  /**
   * Creates a fresh channel for every input and output of a failed task (once per channel). A live
   * consumer drains the old channel first: what it holds there is its own, received before the failure.
   */
  private rewireChannels(plan: TaskPlan, rewired: Set<number>): void {
    for (const index of [...plan.inputs, ...plan.outputs.flat()]) {
      if (rewired.has(index)) continue;
      rewired.add(index);
      const old = this.host.channels[index]!;
      const fresh = this.host.newChannel(index);
      if (!old.isClosed) old.successor = fresh;
      this.host.channels[index] = fresh;
    }
  }

  /** The last sequence number `consumer` consumed or holds (queued, or recorded in its replay) on `input`. */
  private heldBy(consumer: Task, input: TaskInput): number {
    let held = input.lastSeq;
    if (input.pending !== null) held = Math.max(held, input.pending.seqEnd - 1);
    for (let channel: LocalChannel | null = input.channel; channel !== null; channel = channel.successor) {
      const end = channel.queuedSeqEnd;
      if (end >= 0) held = Math.max(held, end - 1);
    }
    const recorded = this.replacements.get(consumer.taskId);
    if (recorded && consumer.replaying) held = Math.max(held, recorded.recordedConsumption[input.index] ?? -1);
    return held;
  }

  /** The longest copy of task `taskId`'s log from `fromEpoch` on, among live tasks and sink partitions (I4). */
  private collectLog(taskId: number, fromEpoch: number, storedBySinks: readonly Uint8Array[]): EpochSegment[] {
    const copies: EpochSegment[][] = [];
    for (const task of this.host.tasks) {
      if (task.status === 'dead' || task.causal === null || task.taskId === taskId) continue;
      const copy = task.causal.replicas.logOf(taskId, fromEpoch);
      if (copy.length > 0) copies.push(copy);
    }
    const stored = new ReplicaStore({ dsd: -1 });
    // Stored envelopes may also hold slices of older epochs (pruning keeps whole envelopes): skip them.
    stored.truncateBefore(fromEpoch);
    for (const envelope of storedBySinks) stored.ingest(envelope);
    const fromSinks = stored.logOf(taskId, fromEpoch);
    if (fromSinks.length > 0) copies.push(fromSinks);
    return longestCopy(taskId, copies);
  }

  private wentLive(replacement: Replacement): void {
    const task = replacement.task;
    this.replacements.delete(task.taskId);
    const replayMs = Math.round((this.host.clock() - replacement.startedAt) * 1000) / 1000;
    if (replacement.replayEntries > 0) {
      this.host.event('replay-finished', { task: task.taskName, entries: replacement.replayEntries, records: task.elementsIn, replayMs });
    }
    this.host.event('live', { task: task.taskName, replayMs, entries: replacement.replayEntries, records: task.elementsIn });
    this.host.addStandbyFromStore(task.taskId);
    this.maybeFinishEpisode();
  }

  /** Every replacement of every round is live: checkpoints resume. */
  private maybeFinishEpisode(): void {
    if (this.replacements.size === 0 && this.paused && !this.escalating && this.roundsInProgress === 0) {
      this.paused = false;
      this.recordedConsumption.clear();
      this.host.resumeCheckpoints();
      this.host.event('recovery-finished', {});
    }
  }

  /** Escalates to a global rollback; `failed` and every replacement still replaying count as lost. */
  async escalate(reason: string, failed: readonly Task[] = []): Promise<void> {
    if (this.escalating) return;
    this.escalating = true;
    const lost = new Set<number>([...this.replacements.keys(), ...failed.map((task) => task.taskId)]);
    this.host.event('escalated', { reason, lost: [...lost].map((id) => this.host.plan.tasks[id]!.name) });
    this.replacements.clear();
    try {
      if (this.paused) {
        this.paused = false;
        this.host.resumeCheckpoints();
      }
      await this.host.escalate(reason, lost);
    } finally {
      this.escalating = false;
    }
  }
}
