/**
 * What a task waits for, in words, for the stall report (`JobStalledError`, `causalflow run` progress):
 * an operator getting ready, an async operator's promise, its replay, callbacks a checkpoint waits for,
 * barrier alignment, credit, an in-flight replay to a replacement, or input. It only reads the task (and
 * peeks at the log it replays, as the replay driver does next); cheap enough for a report, not for a hot
 * path.
 */
import { Kind } from '../../../determinants/kinds.js';
import type { Task } from '../task.js';

/** Describes what `task` waits for; `nameOf` names other tasks. */
export function describeWait(task: Task, nameOf: (taskId: number) => string): string {
  if (task.status !== 'running') return task.status;
  if (task.isOpening) return 'an operator getting ready (a sink partition reading its tail)';
  if (task.isSuspended) return "an async operator's promise";
  const reader = task.recorder.reader;
  if (reader !== null) {
    // Credit first: the replay loop checks it before it looks at the next determinant.
    if (task.backpressured) {
      const full = task.allWriters.filter((w) => !w.writable() && !w.channel.consumerReplaying).map((w) => nameOf(w.channel.id.to));
      return `replaying, held by credit on its channels to ${full.join(', ') || '(none full: a lost wake-up)'}`;
    }
    const next = reader.peek();
    if (next === -1) return 'going live: the orphan check waits for a consumer to be replaced (I14)';
    const run = task.gate.runInput;
    if (run !== null) return `replaying ORDER: ${task.gate.runRemaining} more from ${nameOf(run.channel.id.from)} (input ${run.index}, last seq ${run.lastSeq})`;
    if (next === Kind.SourcePoll && task.source) return task.source.describeReplayWait(reader);
    return `replaying: next determinant of kind ${next}`;
  }
  const parts: string[] = [];
  if (task.snapshots.held) parts.push(`setTimeout callbacks to run before it takes checkpoint ${task.snapshots.heldId}`);
  const aligning = task.aligner.aligning;
  if (aligning >= 0) {
    const waiting = task.inputs.filter((i) => !i.blocked && !i.ended).map((i) => `${nameOf(i.channel.id.from)} (input ${i.index}, last seq ${i.lastSeq})`);
    parts.push(`barrier ${aligning} from ${waiting.join(', ') || 'no input (it should have completed)'}`);
  }
  if (task.backpressured) {
    const full = task.allWriters.filter((w) => !w.writable()).map((w) => nameOf(w.channel.id.to));
    parts.push(`credit on its channels to ${full.join(', ') || '(none full: a lost wake-up)'}`);
  }
  if (task.outputs.replaying > 0) parts.push(`replaying its in-flight log to ${task.allWriters.filter((w) => w.replaying).map((w) => nameOf(w.channel.id.to)).join(', ')}`);
  if (task.gate.hasInput && !task.queued && parts.length === 0) parts.push('nothing: it has input queued but is not scheduled (a lost wake-up)');
  if (parts.length === 0) {
    const open = task.inputs.filter((i) => !i.ended);
    parts.push(open.length === 0 ? (task.source ? 'its source to have more records' : 'nothing (all inputs ended)') : `input from ${open.map((i) => `${nameOf(i.channel.id.from)} (input ${i.index}, last seq ${i.lastSeq})`).join(', ')}`);
  }
  return parts.join('; ');
}
