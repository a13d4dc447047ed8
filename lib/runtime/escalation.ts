/**
 * What an escalation (I16) costs the output. When determinants are lost, every task downstream of a lost
 * log decides anew after the rollback: its output since the checkpoint may differ from what it produced
 * before. Sinks among those *tainted* tasks that had already shown output since the checkpoint cannot be
 * exactly-once any more: they either fail the job (`onEscalation: 'fail'`) or, rolling back, show every
 * record since the checkpoint again after what they showed (at-least-once, reported in the guarantee).
 */
import type { PhysicalPlan } from './plan.js';

/** The tasks downstream of (and including) `lost`, which decide anew after a rollback. */
export function taintedTasks(plan: PhysicalPlan, lost: ReadonlySet<number>): Set<number> {
  const tainted = new Set(lost);
  // Task ids are topological: one pass in id order reaches every descendant.
  for (const task of plan.tasks) {
    if (tainted.has(task.id)) continue;
    if (task.inputs.some((index) => tainted.has(plan.channels[index]!.from))) tainted.add(task.id);
  }
  return tainted;
}

/** A sink partition that showed output a rollback would regenerate. */
export interface ShownSinceCheckpoint {
  /** Task id of the sink task. */
  taskId: number;
  /** The sink operator's name. */
  sink: string;
  /** Records visible now. */
  visible: number;
  /** Records the checkpoint covers (the restored output index). */
  atCheckpoint: number;
}

/** Describes the exposed sinks for an error or an event: "out[0] showed 412 records since checkpoint 3 (covering 300)". */
export function describeExposure(exposed: readonly ShownSinceCheckpoint[], plan: PhysicalPlan, checkpoint: number): string {
  return exposed
    .map((e) => `${e.sink}[${plan.tasks[e.taskId]!.subtask}] shows ${e.visible} records, checkpoint ${checkpoint} covers ${e.atCheckpoint}`)
    .join('; ');
}
