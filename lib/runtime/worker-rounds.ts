/**
 * A worker's share of a local recovery round: channels rewired to their new incarnations, the
 * replacements placed here built from a standby or a snapshot, live neighbours pointed at them (I8, I18),
 * and every replacement that replays a log held back until the coordinator's verdict lets it go live (I14).
 */
import { EntryDecoder } from '../../determinants/codec.js';
import { Kind } from '../../determinants/kinds.js';
import { RecoveryEscalationError } from '../errors.js';
import { decodeSnapshot } from '../state/snapshot.js';
import type { LocalChannel } from '../transport/channel.js';
import type { Transport } from '../transport/transport.js';
import type { PhysicalPlan } from './plan.js';
import { SinkOperator } from './sink-operator.js';
import type { TaskBuild } from './task-factory.js';
import type { Task } from './task.js';
import type { ChannelWiring } from './worker-wiring.js';
import type { WorkerStandbys } from './worker-standbys.js';
import type { ReplacementDeploy, ReplacementReport, RoundSpec } from './worker-api.js';

/** What a round changes and reads of its worker. */
export interface WorkerRoundHost {
  /** This worker's index. */
  readonly index: number;
  readonly plan: PhysicalPlan;
  readonly transport: Transport;
  /** Hosted tasks by id: a round removes dead ones placed elsewhere and adds replacements. */
  readonly tasks: Map<number, Task>;
  readonly standbys: WorkerStandbys;
  readonly wiring: ChannelWiring;
  /** A hosted task that is not dead, or null. */
  live(taskId: number): Task | null;
  /** Builds a task and hosts it here (not opened yet). */
  create(build: TaskBuild): Task;
  /** Opens a built task and schedules it. */
  start(task: Task): void;
  /** Schedules a task to run. */
  markRunnable(task: Task): void;
}

/** Recovery rounds on one worker (the executor's `ReplacementRounds` sends them), and the replacements that wait for a verdict. */
export class WorkerRounds {
  /** Replacements waiting for the coordinator's go-ahead after their log ran out (I14). */
  private readonly awaitingVerdict = new Set<number>();
  private readonly approved = new Set<number>();

  constructor(private readonly host: WorkerRoundHost) {}

  /** {@inheritDoc WorkerCommands.round} */
  round(spec: RoundSpec): ReplacementReport[] {
    const { host } = this;
    // Before anything changes: a replacement sent without a snapshot must find the standby it was sent for.
    for (const deploy of spec.replacements) {
      if (deploy.fromStandby && !host.standbys.holds(deploy.taskId, deploy.checkpoint)) {
        const name = host.plan.tasks[deploy.taskId]!.name;
        throw new RecoveryEscalationError(`the standby of task ${name} holding checkpoint ${deploy.checkpoint} is gone, and no snapshot was sent`, { task: name });
      }
    }
    host.wiring.placement = [...spec.placement];
    // A task that died here (a fault, or a move back, I33) and is replaced on another worker is gone from
    // this one: its state is freed, and neither traces nor figures show the dead copy beside the live one.
    for (const [id, task] of host.tasks) {
      if (task.status !== 'dead' || spec.placement[id] === host.index) continue;
      task.disposeState();
      host.tasks.delete(id);
    }
    const replaced = new Set(spec.replacements.map((r) => r.taskId));
    const replayAfter = new Map(spec.replayAfter.map((r) => [r.index, r.afterSeq]));
    const renumbered = new Set(spec.renumbered);
    // Phase 1: every rewired channel gets its new incarnation, before any replacement is built, so that
    // replacements of adjacent failed tasks are wired to each other. A live consumer drains the old end
    // first: what it holds there is its own, received before the failure.
    const movedProducers: { task: Task; input: number }[] = [];
    const movedConsumers: { task: Task; writer: number; index: number }[] = [];
    for (const rewire of spec.channels) {
      host.wiring.incarnations[rewire.index] = rewire.incarnation;
      const channel = host.plan.channels[rewire.index]!;
      const consumer = replaced.has(channel.to) ? null : host.live(channel.to);
      if (consumer && consumer.status === 'finished') {
        // A finished consumer read everything up to the end of the stream and reads nothing more: what the
        // replacement regenerates for it is dropped (a closed end), never left waiting for credit.
        host.wiring.inputEnd(rewire.index).close();
      } else if (consumer) {
        const input = consumer.inputs[channel.consumerInput]!;
        const fresh = host.wiring.inputEnd(rewire.index);
        if (renumbered.has(rewire.index)) input.renumberedIncarnations.add(rewire.incarnation);
        const newest = lastOfChain(input.channel);
        // A closed newest end is a stand-in for an end towards a worker that died meanwhile (a concurrent
        // recovery placed its producer there): the consumer reads on from the fresh end all the same.
        if (newest !== fresh) newest.successor = fresh;
        movedProducers.push({ task: consumer, input: channel.consumerInput });
      }
      const producer = replaced.has(channel.from) ? null : host.live(channel.from);
      if (producer) {
        const writer = producer.allWriters.findIndex((w) => w.channel.id.index === rewire.index);
        if (writer >= 0) movedConsumers.push({ task: producer, writer, index: rewire.index });
      }
      host.transport.retire(channel, rewire.incarnation);
    }
    // Phase 2: replacements, upstream first (the coordinator sends them in task-id order, which is topological).
    const reports: ReplacementReport[] = [];
    const created: Task[] = [];
    for (const deploy of spec.replacements) {
      const { task, report } = this.replace(deploy);
      created.push(task);
      reports.push(report);
    }
    for (const task of created) this.skipConsumedOutput(task, replaced, renumbered);
    // Live producers replay their in-flight logs into the new ends, after what each consumer's checkpoint
    // consumed; live consumers read the new producer once they drained the old channel.
    for (const { task, writer, index } of movedConsumers) {
      task.replayTo(task.allWriters[writer]!, host.wiring.outputEnd(index), replayAfter.get(index) ?? -1);
    }
    for (const { task, input } of movedProducers) task.producerReplaced(task.inputs[input]!);
    for (const task of created) host.start(task);
    return reports;
  }

  /** {@inheritDoc WorkerCommands.goLive} */
  goLive(taskId: number): void {
    if (!this.awaitingVerdict.has(taskId)) return;
    this.approved.add(taskId);
    const task = this.host.live(taskId);
    if (task) this.host.markRunnable(task);
  }

  /** Whether `taskId` is a replacement whose log ran or runs out before the coordinator's verdict (I14). */
  awaitsVerdict(taskId: number): boolean {
    return this.awaitingVerdict.has(taskId);
  }

  /**
   * A replacement's log ran out: whether it may go on live now (it needs no verdict, or has one). Once it
   * may, it flushes what it held back while replaying.
   */
  mayGoLive(task: Task): boolean {
    if (!this.awaitingVerdict.has(task.taskId)) return true;
    if (!this.approved.has(task.taskId)) return false;
    this.awaitingVerdict.delete(task.taskId);
    this.approved.delete(task.taskId);
    task.flushOutputs();
    return true;
  }

  /** The task died or was stopped: no verdict is waited for any more. */
  forget(taskId: number): void {
    this.awaitingVerdict.delete(taskId);
    this.approved.delete(taskId);
  }

  /** Every task stopped (a deployment or rollback follows). */
  clear(): void {
    this.awaitingVerdict.clear();
    this.approved.clear();
  }

  /**
   * A replacement regenerates from its checkpoint what its live consumers hosted here already consumed: those
   * elements go to its in-flight log only (a later failure of the consumer replays them), never over the
   * channel, where the consumer would drop them by number (I8). Remote consumers drop them on arrival.
   * A replacement without determinants skips nothing: its consumers take all it sends (I35).
   */
  private skipConsumedOutput(task: Task, replaced: ReadonlySet<number>, renumbered: ReadonlySet<number>): void {
    for (const writer of task.allWriters) {
      const channel = this.host.plan.channels[writer.channel.id.index]!;
      if (replaced.has(channel.to) || renumbered.has(channel.index)) continue;
      const consumer = this.host.live(channel.to);
      if (consumer === null || consumer.status !== 'running') continue;
      writer.skipThrough = consumer.inputs[channel.consumerInput]!.lastSeq;
    }
  }

  private replace(deploy: ReplacementDeploy): { task: Task; report: ReplacementReport } {
    const { host } = this;
    const plan = host.plan.tasks[deploy.taskId]!;
    const standby = host.standbys.take(deploy.taskId, deploy.checkpoint);
    const snapshot = standby?.snapshot ?? (deploy.snapshot ? decodeSnapshot(deploy.snapshot) : null);
    const previous = host.tasks.get(deploy.taskId);
    if (previous) previous.disposeState();
    const task = host.create({ plan, snapshot, backends: standby ? standby.backends : null, replay: deploy.replay, history: deploy.history });
    if (deploy.replay !== null) this.awaitingVerdict.add(plan.id);
    // A new execution of output its sinks already showed: shown after it, never dropped by index (I35).
    if (deploy.showAfterVisible) for (const op of task.operators) if (op instanceof SinkOperator) op.showAfterVisible();
    const recordedConsumption = task.inputs.map((input) => input.lastSeq);
    let replayEntries = 0;
    if (deploy.replay) {
      const decoder = new EntryDecoder();
      for (const segment of deploy.replay) {
        decoder.reset(segment.bytes);
        while (decoder.next()) {
          replayEntries++;
          if (decoder.kind === Kind.Order && decoder.channel < recordedConsumption.length) recordedConsumption[decoder.channel]! += decoder.count;
        }
      }
    }
    const state = standby ? 'standby' : snapshot ? 'checkpoint store' : 'empty (no checkpoint yet)';
    return { task, report: { taskId: plan.id, state, replayEntries, recordedConsumption } };
  }
}

/** The newest end of a chain of successors. */
function lastOfChain(channel: LocalChannel): LocalChannel {
  let end = channel;
  while (end.successor !== null) end = end.successor;
  return end;
}
