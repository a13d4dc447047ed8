/**
 * The orphan check (I14), judged when a replacement's log runs out: before anything it decides live
 * reaches a consumer or a sink. What it regenerated, per output channel, is compared with what each live
 * consumer holds from the failed task (channel incarnations before the replacement's), or will consume
 * according to its own recorded log if it replays too; what each of its sinks shows is compared with the
 * sink's next output index. A consumer that is dead at that moment is judged later, once replaced, against
 * what its own log consumes (`waitingFor`).
 */
import { RecoveryEscalationError } from '../errors.js';
import type { SinkProgress } from '../runtime/worker-api.js';
import type { JobControl } from '../runtime/job-control.js';

/** The outcome of the check at a replacement's log end. */
export interface Verdict {
  /** Per output channel (plan order): the last sequence number regenerated from the log. */
  regenerated: readonly number[];
  /** An orphan, if one was found: recovery escalates. */
  orphan: RecoveryEscalationError | null;
  /** Channels whose consumer was dead: channel index → consumer task id, to judge once it is replaced. */
  waitingFor: Map<number, number>;
}

/** Judges the replacement `taskId` whose log just ran out. */
export async function judgeAtLogEnd(
  control: JobControl,
  taskId: number,
  regenerated: readonly number[],
  sinks: readonly SinkProgress[],
  recordedConsumption: ReadonlyMap<number, readonly number[]>,
): Promise<Verdict> {
  const verdict: Verdict = { regenerated, orphan: null, waitingFor: new Map() };
  const name = control.plan.tasks[taskId]!.name;
  for (const sink of sinks) {
    if (sink.regenerated < sink.visible) {
      verdict.orphan = new RecoveryEscalationError(`orphan: sink ${sink.sink} shows ${sink.visible} records, the replacement regenerated ${sink.regenerated}`, {
        task: name,
        visible: sink.visible,
        regenerated: sink.regenerated,
      });
      return verdict;
    }
  }
  if (!control.causal) return verdict;
  const outputs = control.plan.tasks[taskId]!.outputs.flat();
  // What each live consumer holds from the failed task (older incarnations): asked of every consumer's worker
  // at once. Each answer is final once the round installed the new incarnations and the fences (I34): no
  // element of an older incarnation reaches a consumer any more, so asking one after another bought nothing
  // but a message round trip per consumer before the replacement could go live.
  const live = outputs.map((index) => !control.isDead(control.plan.channels[index]!.to));
  const held = await Promise.all(outputs.map((index, w) => (live[w] ? control.holdings(index, control.incarnationOf(index)) : -1)));
  for (let w = 0; w < outputs.length; w++) {
    const index = outputs[w]!;
    const channel = control.plan.channels[index]!;
    // A consumer that died meanwhile took what it held: its replacement is judged once it exists.
    if (!live[w] || control.isDead(channel.to)) {
      verdict.waitingFor.set(index, channel.to);
      continue;
    }
    // And what its own recorded log will consume if it is a replacement of this episode replaying it.
    const consumed = Math.max(held[w]!, recordedConsumption.get(channel.to)?.[channel.consumerInput] ?? -1);
    if (regenerated[w]! < consumed) {
      verdict.orphan = new RecoveryEscalationError(
        `orphan: ${control.plan.tasks[channel.to]!.name} holds elements up to seq ${consumed} from ${name}, whose determinants are lost; the replacement regenerated up to ${regenerated[w]}`,
        { task: name, consumer: control.plan.tasks[channel.to]!.name, consumed, regenerated: regenerated[w]! },
      );
      return verdict;
    }
  }
  return verdict;
}
