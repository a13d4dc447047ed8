/**
 * Placement: which worker runs each task, and which holds its standby.
 *
 * - A forward chain is one task, so it stays in one worker.
 * - Tasks spread evenly, and each goes, where it can, to a worker that holds none of its producers: a
 *   worker is a failure domain, and two adjacent tasks on one worker fail together, which `dsd: 1` cannot
 *   recover exactly once.
 * - Each task's standby lives on another worker than the task (anti-affinity), spread evenly too.
 *
 * The sharing depth the placement needs for every single-worker failure to recover exactly once follows
 * from it (`lib/runtime/sharing-depth.ts`); the plan says when `dsd` falls short, and `dsd: 'auto'` picks it.
 */
import type { PhysicalPlan } from './plan.js';
import { domainNeed, FULL_SHARING, type DomainNeed } from './sharing-depth.js';

/** Where tasks and standbys run. */
export interface Placement {
  /** Number of workers. */
  readonly workers: number;
  /** Task id → worker index. */
  readonly tasks: number[];
  /** Task id → worker index of its standby. */
  readonly standbys: number[];
}

/** What a worker's failure needs, per worker. */
export interface PlacementNeeds {
  /** Per worker: the depth (and the path that needs it) for its failure to recover exactly once. */
  perWorker: DomainNeed[];
  /** The largest: the `dsd` that recovers every single-worker failure (or -1 for full sharing). */
  required: number;
}

/**
 * Places the tasks of `plan` on `workers` workers. Several placements are tried (task by task, vertex by
 * vertex with an offset, whole vertices on one worker); the one whose single-worker failures need the
 * smallest sharing depth wins, then the most even.
 */
export function placeTasks(plan: PhysicalPlan, workers: number): Placement {
  const candidates = [greedyByTask(plan, workers), byVertex(plan, workers, false), byVertex(plan, workers, true)];
  let best = candidates[0]!;
  let bestScore = score(plan, best, workers);
  for (const candidate of candidates.slice(1)) {
    const s = score(plan, candidate, workers);
    if (s[0] < bestScore[0] || (s[0] === bestScore[0] && s[1] < bestScore[1])) {
      best = candidate;
      bestScore = s;
    }
  }
  return { workers, tasks: best, standbys: standbysFor(plan, best, workers) };
}

/** Sharing depth needed (full sharing counts as the most), then the load difference between workers. */
function score(plan: PhysicalPlan, tasks: number[], workers: number): [number, number] {
  // Every worker counts, an empty one too: leaving one idle is the worst imbalance.
  const needs = placementNeeds(plan, { workers, tasks, standbys: [] });
  const load = new Array<number>(workers).fill(0);
  for (const w of tasks) load[w]!++;
  return [needs.required === FULL_SHARING ? Infinity : needs.required, Math.max(...load) - Math.min(...load)];
}

function producersOf(plan: PhysicalPlan): number[][] {
  return plan.tasks.map((task) => [...new Set(task.inputs.map((c) => plan.channels[c]!.from))]);
}

/** Task by task, in topological order: the least loaded worker holding none (or fewest) of its producers. */
function greedyByTask(plan: PhysicalPlan, workers: number): number[] {
  const tasks = plan.tasks.map(() => 0);
  const load = new Array<number>(workers).fill(0);
  const producers = producersOf(plan);
  for (const task of plan.tasks) {
    let best = 0;
    let bestScore = Infinity;
    for (let w = 0; w < workers; w++) {
      // A producer on the same worker costs more than any imbalance the even spread would accept.
      const s = producers[task.id]!.filter((p) => tasks[p] === w).length * plan.tasks.length + load[w]!;
      if (s < bestScore) {
        bestScore = s;
        best = w;
      }
    }
    tasks[task.id] = best;
    load[best]!++;
  }
  return tasks;
}

/**
 * Vertex by vertex: subtask `s` of a vertex goes to worker `(offset + s) mod workers`, or (`whole`) every
 * subtask to worker `offset`; the offset is the one sharing fewest workers with the vertex's producers.
 */
function byVertex(plan: PhysicalPlan, workers: number, whole: boolean): number[] {
  const tasks = plan.tasks.map(() => 0);
  const load = new Array<number>(workers).fill(0);
  const producers = producersOf(plan);
  for (const vertex of plan.vertices) {
    let bestOffset = 0;
    let bestScore = Infinity;
    for (let offset = 0; offset < workers; offset++) {
      let sharing = 0;
      let added = 0;
      for (let s = 0; s < vertex.parallelism; s++) {
        const w = whole ? offset : (offset + s) % workers;
        sharing += producers[vertex.firstTask + s]!.filter((p) => tasks[p] === w).length;
        added += load[w]!;
      }
      const sc = sharing * plan.tasks.length * plan.tasks.length + added;
      if (sc < bestScore) {
        bestScore = sc;
        bestOffset = offset;
      }
    }
    for (let s = 0; s < vertex.parallelism; s++) {
      const w = whole ? bestOffset : (bestOffset + s) % workers;
      tasks[vertex.firstTask + s] = w;
      load[w]!++;
    }
  }
  return tasks;
}

/** Each task's standby on the least loaded worker other than the task's. */
function standbysFor(plan: PhysicalPlan, tasks: readonly number[], workers: number): number[] {
  const standbyLoad = new Array<number>(workers).fill(0);
  return plan.tasks.map((task) => {
    if (workers === 1) return 0;
    let best = -1;
    for (let w = 0; w < workers; w++) {
      if (w === tasks[task.id]) continue;
      if (best < 0 || standbyLoad[w]! < standbyLoad[best]!) best = w;
    }
    standbyLoad[best]!++;
    return best;
  });
}

/** The failure domains of a placement: the tasks of each worker. */
export function workerDomains(placement: Placement): Set<number>[] {
  const domains = Array.from({ length: placement.workers }, () => new Set<number>());
  placement.tasks.forEach((worker, taskId) => domains[worker]!.add(taskId));
  return domains;
}

/** What each worker's failure needs, and the depth that covers them all (full sharing past `fullAt` hops). */
export function placementNeeds(plan: PhysicalPlan, placement: Placement, fullAt = plan.vertices.length): PlacementNeeds {
  const perWorker = workerDomains(placement).map((domain) => domainNeed(plan, domain));
  let required = 1;
  for (const need of perWorker) required = Math.max(required, need.depth);
  return { perWorker, required: required > fullAt ? FULL_SHARING : required };
}

/** Readable lines: each worker's tasks and standbys, and whether `dsd` covers every single-worker failure. */
export function describePlacement(plan: PhysicalPlan, placement: Placement, dsd: number | null): string[] {
  const lines: string[] = [];
  const name = (id: number): string => plan.tasks[id]!.name;
  for (let w = 0; w < placement.workers; w++) {
    const tasks = placement.tasks.flatMap((worker, id) => (worker === w ? [name(id)] : []));
    const standbys = placement.standbys.flatMap((worker, id) => (worker === w && placement.workers > 1 ? [name(id)] : []));
    lines.push(`worker-${w}: ${tasks.join(', ') || '(no task)'}${standbys.length > 0 ? `; standbys of ${standbys.join(', ')}` : ''}`);
  }
  if (dsd === null) return lines;
  const needs = placementNeeds(plan, placement);
  const covered = dsd === FULL_SHARING || (needs.required !== FULL_SHARING && dsd >= needs.required);
  if (covered) {
    lines.push(`dsd ${dsd === FULL_SHARING ? 'full' : dsd} recovers the failure of any one worker exactly once`);
  } else {
    needs.perWorker.forEach((need, w) => {
      if (dsd !== FULL_SHARING && need.depth > dsd) {
        lines.push(
          `warning: with dsd ${dsd}, a failure of worker-${w} loses determinants along ${need.path.map(name).join(' → ')} (${need.depth} hops on or through worker-${w}); ` +
            `dsd ${needs.required === FULL_SHARING ? '-1 (full)' : needs.required} (or 'auto') recovers every single-worker failure exactly once`,
        );
      }
    });
  }
  return lines;
}
