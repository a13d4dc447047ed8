/**
 * Seeded kills of worker processes (`causalflow verify --workers N`): every kill is a SIGKILL of one
 * worker process, and the first of a run falls at a fresh moment in the kill window. Each further kill
 * follows one of these patterns, drawn from the seed:
 *
 * | Pattern | Which worker, and when |
 * | --- | --- |
 * | `fresh` | a worker not killed lately, at a later fresh moment |
 * | `together` | another worker, in the same instant as the previous kill: two (or more) workers at once |
 * | `standby-together` | a worker holding the standby of a task of the previous kill's worker, in the same instant: the task and its standby die together |
 * | `during-recovery` | a worker holding such a standby, 1–150 ms after the previous kill: it dies while the first failure is detected, its standby activated, or its replay runs |
 * | `standbys-only` | after two or more workers died in one instant: the first of them to come back, 5–60 ms after its new process joined, when it holds the standbys that had to share their task's worker, and no task |
 *
 * Where tasks and standbys are is followed from the initial placement (`job.placement(N)`): a killed
 * worker's tasks move to their standbys' workers; where new standbys go is not known in advance. The
 * `worker-killed` events of the run tell what each kill really hit ({@link classifyWorkerKills}).
 */
import type { Placement } from '../runtime/placement.js';
import type { JobEvent, JobEventOf } from '../runtime/events.js';
import type { SeededRandom } from '../util/random.js';

/** How a kill was chosen. */
export type WorkerKillPattern = 'fresh' | 'together' | 'standby-together' | 'during-recovery' | 'standbys-only';

/** The patterns, in the order the seed picks them. */
export const WORKER_KILL_PATTERNS: readonly WorkerKillPattern[] = ['fresh', 'together', 'standby-together', 'during-recovery', 'standbys-only'];

/** One instant: the workers SIGKILLed together, ms after the start of the job clock (a fault of `job.start`). */
export interface WorkerFault {
  /** Targets, as `worker-N`. */
  task: string[];
  /** Job-clock ms. */
  afterMs: number;
}

/** A kill made when a lost worker comes back: the first of `of` to respawn, `afterRespawnMs` after. */
export interface RespawnKill {
  /** Workers killed in one instant. */
  of: number[];
  /** Delay after its `worker-respawned` event (ms). */
  afterRespawnMs: number;
}

/** One kill as drawn. */
export interface WorkerKill {
  /** How it was chosen. */
  pattern: WorkerKillPattern;
  /** A timed kill: the worker, and the job-clock ms. */
  at?: { worker: number; afterMs: number };
  /** A `standbys-only` kill: made when a worker comes back. */
  respawned?: RespawnKill;
}

/** A worker killed less than this long ago is probably still starting its new process (ms). */
const STARTING_MS = 700;

/** A kill in words: `worker-2@271ms`, or `worker-0|worker-1 respawned+12ms`. */
export function describeWorkerKill(kill: WorkerKill): string {
  if (kill.at) return `worker-${kill.at.worker}@${kill.at.afterMs}ms`;
  return `${kill.respawned!.of.map((w) => `worker-${w}`).join('|')} respawned+${kill.respawned!.afterRespawnMs}ms`;
}

/**
 * Draws `failures` worker kills for a job placed as `placement`, the first in `window` (ms of the job
 * clock; a later kill may fall after it, when it follows another). Timed kills in one instant are one
 * fault; `standbys-only` kills wait for a respawn.
 */
export function drawWorkerKills(
  random: SeededRandom,
  placement: Placement,
  failures: number,
  window: readonly [number, number],
): { faults: WorkerFault[]; respawnKills: RespawnKill[]; kills: WorkerKill[] } {
  const [from, to] = window;
  const all = [...Array(placement.workers).keys()];
  // Task → worker running it, and → worker holding its standby (-1: not known).
  const tasks = [...placement.tasks];
  const standbys = [...placement.standbys];
  const killedAt = new Array<number>(placement.workers).fill(-Infinity);
  const instants: { at: number; workers: number[] }[] = [];
  const kills: WorkerKill[] = [];
  const respawnKills: RespawnKill[] = [];
  const pick = (candidates: readonly number[]): number => candidates[random.nextInt(candidates.length)]!;
  /** Workers holding a standby of a task of `worker`, as far as is known. */
  const standbyHolders = (worker: number): number[] => [...new Set(tasks.flatMap((w, id) => (w === worker && standbys[id]! >= 0 && standbys[id] !== worker ? [standbys[id]!] : [])))];
  /** The instant's tasks move to their standbys; the standbys it held go elsewhere, where is not known. */
  const settle = (dead: ReadonlySet<number>): void => {
    for (let id = 0; id < tasks.length; id++) {
      if (dead.has(standbys[id]!)) standbys[id] = -1;
      if (dead.has(tasks[id]!)) [tasks[id], standbys[id]] = [standbys[id]!, -1];
    }
  };
  let current: { at: number; workers: number[] } | null = null;
  let previous = -1;
  let at = 0;
  for (let i = 0; i < failures; i++) {
    let pattern = i === 0 ? 'fresh' : WORKER_KILL_PATTERNS[random.nextInt(WORKER_KILL_PATTERNS.length)]!;
    let worker = -1;
    if (pattern === 'standbys-only') {
      if (current !== null && current.workers.length >= 2) {
        const kill: RespawnKill = { of: [...current.workers], afterRespawnMs: 5 + random.nextInt(56) };
        respawnKills.push(kill);
        kills.push({ pattern, respawned: kill });
        settle(new Set(current.workers));
        // Which worker comes back first, and when, is not known: later kills start afresh.
        current = null;
        previous = -1;
        at += 1200;
        continue;
      }
      pattern = 'fresh';
    }
    if (pattern !== 'fresh') {
      const others = current === null ? [] : all.filter((w) => !current!.workers.includes(w));
      const candidates = pattern === 'together' ? others : standbyHolders(previous).filter((w) => others.includes(w));
      if (candidates.length > 0) worker = pick(candidates);
      else pattern = 'fresh';
    }
    if (pattern === 'fresh') {
      at = i === 0 ? from + random.nextInt(Math.max(1, to - from)) : at + 40 + random.nextInt(Math.max(40, to - at));
      const ready = all.filter((w) => at - killedAt[w]! >= STARTING_MS);
      worker = pick(ready.length > 0 ? ready : all);
    } else if (pattern === 'during-recovery') {
      at += 1 + random.nextInt(150);
    }
    if (pattern === 'together' || pattern === 'standby-together') {
      current!.workers.push(worker);
    } else {
      if (current) settle(new Set(current.workers));
      current = { at, workers: [worker] };
      instants.push(current);
    }
    kills.push({ pattern, at: { worker, afterMs: at } });
    killedAt[worker] = at;
    previous = worker;
  }
  return { faults: instants.map((instant) => ({ task: instant.workers.map((w) => `worker-${w}`), afterMs: instant.at })), respawnKills, kills };
}

/** What the worker kills of a run hit, from its events. */
export interface WorkerKillTally {
  /** `worker-killed` events: SIGKILLs made. */
  killed: number;
  /** Instants in which two or more workers were killed. */
  together: number;
  /** Kills while an earlier failure was still being recovered (a failed task not live again yet). */
  duringRecovery: number;
  /** Of those, kills while a replacement was replaying (between its `replay-started` and `live`). */
  duringReplay: number;
  /** Kills of a worker holding the standby of a task that failed in the same instant or was still recovering. */
  standbyOfFailing: number;
  /** Kills of a worker that held standbys and no task. */
  standbysOnly: number;
}

/**
 * Counts, from a run's events, what its worker kills hit. Kills made in one instant are told by the
 * runtime's failure groups: their tasks fail in one group (`task-failed`'s `group`).
 */
export function classifyWorkerKills(events: readonly JobEvent[]): WorkerKillTally {
  const tally: WorkerKillTally = { killed: 0, together: 0, duringRecovery: 0, duringReplay: 0, standbyOfFailing: 0, standbysOnly: 0 };
  // The failure groups each kill's tasks fell into, and the workers of each group.
  const kills = events.filter((e): e is JobEventOf<'worker-killed'> => e.type === 'worker-killed');
  const groupsOf = new Map<JobEventOf<'worker-killed'>, Set<number>>(kills.map((k) => [k, new Set<number>()]));
  const workersOf = new Map<number, Set<number>>();
  const lastKill = new Map<number, JobEventOf<'worker-killed'>>();
  for (const event of events) {
    if (event.type === 'worker-killed') lastKill.set(event.worker, event);
    else if (event.type === 'task-failed' && event.worker !== undefined && lastKill.has(event.worker)) {
      groupsOf.get(lastKill.get(event.worker)!)!.add(event.group);
      if (!workersOf.has(event.group)) workersOf.set(event.group, new Set());
      workersOf.get(event.group)!.add(event.worker);
    }
  }
  for (const workers of workersOf.values()) if (workers.size > 1) tally.together++;
  const replaying = new Set<string>();
  const recovering = new Set<string>();
  for (const event of events) {
    if (event.type === 'replay-started') replaying.add(event.task);
    else if (event.type === 'live') {
      replaying.delete(event.task);
      recovering.delete(event.task);
    } else if (event.type === 'task-failed') recovering.add(event.task);
    else if (event.type === 'recovery-finished' || event.type === 'rollback-finished') {
      replaying.clear();
      recovering.clear();
    } else if (event.type === 'worker-killed') {
      tally.killed++;
      const groups = groupsOf.get(event)!;
      // The tasks that die with this kill: those of every kill whose tasks fell into the same groups.
      const dying = new Set(kills.filter((k) => [...groupsOf.get(k)!].some((g) => groups.has(g))).flatMap((k) => k.tasks));
      if (recovering.size > 0) tally.duringRecovery++;
      if (replaying.size > 0) tally.duringReplay++;
      if (event.standbys.length > 0 && event.tasks.length === 0) tally.standbysOnly++;
      if (event.standbys.some((task) => dying.has(task) || recovering.has(task))) tally.standbyOfFailing++;
    }
  }
  return tally;
}
