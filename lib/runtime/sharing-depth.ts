/**
 * Which determinant sharing depth a placement needs (`dsd: 'auto'`, and the plan's warnings).
 *
 * A *failure domain* is a set of tasks that fail together: one task in the embedded runtime, every task
 * of one worker process with `--workers`. When a domain fails, the determinants its tasks held in memory
 * are gone. What survives: the memory of tasks in other domains, and every sink's store (a sink persists
 * the determinants it holds with its output, and its store outlives the sink task).
 *
 * A failed task T must be replayed exactly only as far as some surviving effect depends on it. Effects
 * survive at the first task X on a path T → A1 → … → Ak → X whose A1…Ak all failed with T: X is either
 * outside the domain (alive, holding records of Ak) or a sink (its shown output). X holds T's log only if
 * the log travelled k + 1 hops, or the sink store got it within the depth: so the depth must be at least
 * k + 1. The depth a domain needs is the longest such path from any of its tasks; the depth a placement
 * needs is the largest over its domains. See the regimes in `docs/protocol.md`.
 */
import type { PhysicalPlan } from './plan.js';

/** Full sharing, as a `dsd` value. */
export const FULL_SHARING = -1;

/** The depth needed to recover every failure of one domain exactly once, and the path that needs it. */
export interface DomainNeed {
  /** Hops the longest path needs (0: nothing in the domain has downstream effects). */
  depth: number;
  /** Task ids of that path, from the failed task to the surviving holder. */
  path: number[];
}

/** Whether task `taskId` ends in a sink operator (its store survives it). */
export function isSinkTask(plan: PhysicalPlan, taskId: number): boolean {
  const vertex = plan.vertices[plan.tasks[taskId]!.vertex]!;
  return vertex.nodes.some((id) => plan.nodes[id]!.sink);
}

/** The depth one domain (a set of task ids that fail together) needs. */
export function domainNeed(plan: PhysicalPlan, domain: ReadonlySet<number>): DomainNeed {
  const consumers = plan.tasks.map((task) => [...new Set(task.outputs.flat().map((c) => plan.channels[c]!.to))]);
  // The longest path from each failed task, through failed tasks, to the first survivor or sink. The graph
  // is acyclic, so one memoised pass per task is linear in the channels.
  const memo = new Map<number, DomainNeed>();
  const longestFrom = (task: number): DomainNeed => {
    const known = memo.get(task);
    if (known) return known;
    let best: DomainNeed = { depth: 0, path: [task] };
    for (const next of consumers[task]!) {
      const candidate: DomainNeed = !domain.has(next) || isSinkTask(plan, next) ? { depth: 1, path: [task, next] } : extend(task, longestFrom(next));
      if (candidate.depth > best.depth) best = candidate;
    }
    memo.set(task, best);
    return best;
  };
  const extend = (task: number, rest: DomainNeed): DomainNeed => (rest.depth === 0 ? { depth: 0, path: [task] } : { depth: rest.depth + 1, path: [task, ...rest.path] });
  let best: DomainNeed = { depth: 0, path: [] };
  for (const id of domain) {
    const need = longestFrom(id);
    if (need.depth > best.depth) best = need;
  }
  return best;
}

/**
 * The smallest sharing depth that recovers every failure of any one domain exactly once, or
 * {@link FULL_SHARING} when only full sharing does (a path longer than `fullAt` hops).
 */
export function requiredSharingDepth(plan: PhysicalPlan, domains: readonly ReadonlySet<number>[], fullAt = Number.POSITIVE_INFINITY): number {
  let depth = 1;
  for (const domain of domains) depth = Math.max(depth, domainNeed(plan, domain).depth);
  return depth > fullAt ? FULL_SHARING : depth;
}

/** The failure domains of the embedded runtime: every task fails on its own. */
export function embeddedDomains(plan: PhysicalPlan): Set<number>[] {
  return plan.tasks.map((task) => new Set([task.id]));
}

/** Whether sharing depth `dsd` covers `need` hops. */
export function covers(dsd: number, need: number): boolean {
  return dsd === FULL_SHARING || dsd >= need;
}
