/** The fingerprint of a plan: the coordinator and its workers check they built the same job. */
import { createHash } from 'node:crypto';
import type { PhysicalPlan } from './plan.js';

/**
 * A short hash of the plan's shape: every task's name, the channels between tasks and which nodes are
 * sinks. Two processes that built the same job from the same module agree on it; a worker whose module
 * built another job is refused before it runs anything.
 */
export function planFingerprint(plan: PhysicalPlan): string {
  const hash = createHash('sha256');
  for (const node of plan.nodes) hash.update(`n${node.id}:${node.name}:${node.parallelism}:${node.sink ? 's' : ''}${node.source ? 'r' : ''};`);
  for (const task of plan.tasks) hash.update(`t${task.id}:${task.name};`);
  for (const channel of plan.channels) hash.update(`c${channel.index}:${channel.from}>${channel.to};`);
  return hash.digest('hex').slice(0, 16);
}
