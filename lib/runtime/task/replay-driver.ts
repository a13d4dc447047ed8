/**
 * The replay driver: a replacement task re-executing its predecessor's determinant log, as an explicit
 * state machine behind one transition function.
 *
 * ```
 *   replaying ──log-ended──► awaiting-verdict ──verdict-passed──► live
 * ```
 *
 * - **replaying**: the log has entries. The driver executes the recorded drivers in order, at their
 *   recorded positions: ORDER runs from the recorded input, TIMER firings, ABORT_CHECKPOINT, and the source
 *   polls and barriers; the causal services hand recorded answers to operator code when it asks (I6). A
 *   replaying task decides nothing itself, and may write past the credit of a consumer that replays too
 *   (I18).
 * - **awaiting-verdict**: the reader found the log exhausted, possibly in the middle of a record, inside
 *   operator code (an async operator was suspended when the predecessor died). Recovery judges the orphan
 *   check now, before anything the task decides live reaches a consumer or a sink (I14). The task finishes
 *   the record (the services answer live from here, recorded), then asks for the verdict between runs, and
 *   again every millisecond while the answer is "not yet" (a consumer is being replaced). An orphan throws
 *   `RecoveryEscalationError`: recovery escalates (I16).
 * - **live**: the verdict passed. The recorder records from now on; the task takes every abort after its
 *   checkpoint that its log did not record (I21), rebuilds its mailbox from what is queued, ticks the cached
 *   clock and arms its timers.
 *
 * A task that starts live (no log to replay, or no causal logging at all) is `live` from the start and
 * never moves.
 */
import { runUncaptured } from '../../causal/capture.js';
import { Kind } from '../../../determinants/kinds.js';
import type { Task } from '../task.js';
import type { TaskEnvironment } from './environment.js';

/** Where a task is in replaying its log. */
export type ReplayState = 'replaying' | 'awaiting-verdict' | 'live';

/** What moves a task to its next replay state. */
export type ReplayEvent = 'log-ended' | 'verdict-passed';

/** The transitions: every state must be listed (a missing one is a compile error); an event not listed for a state is a bug. */
const TRANSITIONS: { readonly [S in ReplayState]: { readonly [E in ReplayEvent]?: ReplayState } } = {
  replaying: { 'log-ended': 'awaiting-verdict' },
  'awaiting-verdict': { 'verdict-passed': 'live' },
  live: {},
};

/** How many times the scheduler's budget a replaying task may process per activation. */
const REPLAY_BUDGET_FACTOR = 8;

/** Replays a task's log, then lets it go live. */
export class ReplayDriver {
  /** The current state (see the module comment). */
  private state: ReplayState;

  constructor(
    private readonly task: Task,
    private readonly env: TaskEnvironment,
  ) {
    // A replacement replays even an empty log: it goes live only through the orphan check (I14).
    this.state = task.recorder.reader !== null ? 'replaying' : 'live';
  }

  /** Whether the task replays its log (or waits for the verdict on it), and must decide nothing itself. */
  get replaying(): boolean {
    return this.state !== 'live';
  }

  /** The state, for reports. */
  get current(): ReplayState {
    return this.state;
  }

  /** The one transition function: moves to the next state and runs what entering it does. */
  private transition(event: ReplayEvent): void {
    const next = TRANSITIONS[this.state][event];
    if (next === undefined) throw new Error(`${this.task.taskName}: replay event '${event}' in state '${this.state}'`);
    this.state = next;
    if (next === 'awaiting-verdict') this.enterAwaitingVerdict();
    else if (next === 'live') this.enterLive();
  }

  /** The replayed log ran out (the reader's `onEnd`, possibly mid-record). */
  logEnded(): void {
    this.transition('log-ended');
  }

  private enterAwaitingVerdict(): void {
    // The log may run out inside operator code (a service asking the reader): what recovery does next is
    // the runtime's, and must not be captured as the operator's (a clock read of its would be recorded).
    runUncaptured(() => this.env.replayLogEnded(this.task));
  }

  /** Between runs, with the log exhausted: may the task go live (I14)? False means "not yet, ask again". */
  private askVerdict(): boolean {
    if (!this.env.replayFinished(this.task)) {
      this.env.wakeAt(this.task, this.env.clock() + 1);
      return false;
    }
    this.transition('verdict-passed');
    return true;
  }

  private enterLive(): void {
    const task = this.task;
    task.recorder.goLive();
    for (const input of task.inputs) input.channel.consumerReplaying = false;
    // Checkpoints abandoned after the restored one that the log does not record (the predecessor died
    // before shipping the abort): live from here, the task takes each abort now, recorded (I21).
    for (const id of this.env.abortedAfter(task.epoch)) if (!task.aligner.hasAborted(id)) task.checkpointAborted(id);
    task.gate.rebuildArrivals();
    task.recorder.tickClock(task.position);
    task.timers.refreshWakeup();
  }

  /**
   * One activation while replaying: executes recorded drivers in order until the log runs out, the budget
   * (larger than a live task's: a replaying task holds up its consumers' view of its partitions) is spent,
   * or the task must wait. Returns true when it has more to do right away.
   */
  run(schedulerBudget: number): boolean {
    const task = this.task;
    const gate = task.gate;
    const reader = task.recorder.reader!;
    const budget = schedulerBudget * REPLAY_BUDGET_FACTOR;
    let spent = 0;
    while (spent < budget && task.status === 'running' && !task.isSuspended && this.replaying) {
      if (gate.runInput !== null) {
        const delivered = gate.continueRun();
        if (delivered < 0) break;
        spent += delivered;
        continue;
      }
      if (!task.outputs.writable()) {
        task.backpressured = true;
        break;
      }
      const kind = reader.peek();
      switch (kind) {
        case -1:
          if (!this.askVerdict()) {
            task.flushOutputs();
            return false;
          }
          break;
        case Kind.Order: {
          // A held-back checkpoint lets no input in, live or replaying: an ORDER here is a divergence.
          if (task.snapshots.held) reader.fail('ORDER', `the callbacks checkpoint ${task.snapshots.heldId} waits for`);
          const index = reader.nextOrder();
          const input = task.inputs[index];
          if (!input) reader.fail(`ORDER from input ${index}`, `an input of ${task.taskName} (it has ${task.inputs.length})`);
          gate.startReplayedRun(input!, reader.count);
          break;
        }
        case Kind.Timer:
          task.timers.fireRecorded(reader.nextTimer(), reader.timestamp, reader.position);
          spent++;
          break;
        case Kind.AbortCheckpoint: {
          const checkpointId = reader.nextAbortCheckpoint();
          task.checkPosition(reader.position, 'ABORT_CHECKPOINT');
          task.aligner.applyAbort(checkpointId);
          break;
        }
        case Kind.SourcePoll:
        case Kind.SourceBarrier: {
          if (kind === Kind.SourcePoll && task.snapshots.held) reader.fail('SOURCE_POLL', `the callbacks checkpoint ${task.snapshots.heldId} waits for`);
          if (!task.source) reader.fail(kind === Kind.SourcePoll ? 'SOURCE_POLL' : 'SOURCE_BARRIER', `a determinant a non-source task records`);
          const emitted = task.source!.replayNext(reader);
          if (emitted < 0) {
            // The recorded records are not readable yet; the source asked to be woken when they are.
            task.flushOutputs();
            return false;
          }
          spent += emitted;
          break;
        }
        default:
          // An answer (clock, random, external) that operator code did not ask for: the replay diverged.
          reader.fail(`a service answer (kind ${kind}) nobody asked for`, 'the next delivery or timer');
      }
    }
    task.flushOutputs();
    if (task.status !== 'running' || task.isSuspended || task.backpressured) return false;
    // Gone live in this activation: input that arrived while replaying is waiting, and no new arrival
    // may come to wake the task for it.
    if (!this.replaying) return gate.hasInput || task.source !== null;
    return spent >= budget;
  }
}
