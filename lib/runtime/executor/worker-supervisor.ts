/**
 * The worker processes of a job, as the coordinator supervises them:
 *
 * - **Start.** The fleet starts a process per worker, each told the plan's fingerprint (a worker whose
 *   module builds another job is refused); sinks whose partitions live in the coordinator stay here.
 * - **Kills.** Fault injection kills a worker process (SIGKILL) with every task it holds. Workers killed in
 *   one instant are expected to die together: their sockets close a moment apart, and their tasks fail as
 *   one group, recovered together (so adjacent replacements are wired to each other).
 * - **Losses.** A worker that is gone (its connection closed, its process exited, it missed heartbeats)
 *   fails every task it held; the standbys it held are made anew elsewhere (`standby-pool.ts`).
 * - **Respawns.** A lost worker is brought back as a new process once the recovery of its tasks is over
 *   (starting a process competes with the replays for the cores), at once when no worker is left; a start
 *   that fails is tried again a few times.
 * - **Moving back** (`workers.rebalance`). Once a respawned worker's standbys hold a checkpoint, the tasks first
 *   placed on it fail on the survivors that took them over, in one group, and their standbys there take over
 *   (I33): otherwise the job would run on fewer processes for the rest of its life.
 * - **Placing anew.** A global rollback that finds workers gone deploys their tasks on the live ones.
 *
 * In the embedded runtime there is no fleet: nothing is lost or respawned, and {@link someWorkerAlive}
 * returns at once.
 */
import type { EventEmitter } from 'node:events';
import type { ResolvedJobOptions } from '../../config.js';
import type { Sink } from '../../connectors/sink.js';
import { WorkerLostError } from '../../errors.js';
import type { JobEvent } from '../events.js';
import type { DetectedBy, WorkerFleet } from '../fleet.js';
import { planFingerprint } from '../plan-fingerprint.js';
import type { LogicalNode } from '../plan.js';
import type { StrategyFeatures } from '../strategy.js';
import type { WorkerCommands, WorkerReports } from '../worker-api.js';
import type { JobView } from './job-view.js';
import type { StandbyPool } from './standby-pool.js';

/** How the loss of a worker was noticed, as told with each task it failed. */
export interface WorkerLoss {
  /** The worker lost. */
  worker: number;
  /** What noticed it. */
  detectedBy: DetectedBy;
  /** Ms from the kill (or the last sign of life) to noticing; null when neither is known. */
  detectionMs: number | null;
}

/**
 * What the supervisor needs from the coordinator besides the {@link JobView}, whose `links` it changes (a
 * lost worker's is cleared, a respawned one's set) as it does `placement` (see {@link WorkerSupervisor.placeLostTasks}).
 */
export interface WorkerSupervisorHost extends JobView {
  /** The worker processes; null for the embedded runtime. */
  readonly fleet: WorkerFleet | null;
  /** Where the standbys are. */
  readonly standbys: StandbyPool;
  /** The job's events, as they happen (a respawn waits for the end of a recovery). */
  readonly events: EventEmitter;
  /** Task `taskId` failed: its worker was lost. */
  taskDied(taskId: number, cause: unknown, loss: WorkerLoss): void;
  /** The job clock's origin on the `performance` timeline, which a respawned worker's clock starts from. */
  clockOrigin(): number;
  /** Whether task `taskId` finished (its input ended): a finished task is not moved. */
  isFinished(taskId: number): boolean;
}

/** Events that end a recovery, after which a lost worker is respawned. */
const RECOVERY_ENDS: ReadonlySet<string> = new Set(['recovery-finished', 'rollback-finished', 'finished', 'failed', 'stopped']);
/** Events after which the job runs no more. */
const JOB_ENDS: ReadonlySet<string> = new Set(['finished', 'failed', 'stopped']);
/** A SIGKILLed process's socket closes within milliseconds; a group killed together never waits longer than this. */
const GROUP_DEATH_MS = 500;
/** A respawn waits at most this long for the recovery of its worker's tasks to end. */
const RESPAWN_AFTER_RECOVERY_MAX_MS = 10_000;
/** Attempts to start a lost worker's process, and the pause between them. */
const RESPAWN_ATTEMPTS = 3;
const RESPAWN_RETRY_MS = 200;
/** A move back waits at most this many completed checkpoints for the respawned worker's standbys to hold one. */
const MOVE_BACK_CHECKPOINTS = 5;
/** How often a move back asks whether the standbys hold the checkpoint that just completed, and for how long. */
const MOVE_BACK_POLL_MS = 20;
const MOVE_BACK_POLLS = 25;

/** Supervises the worker processes of one job. */
export class WorkerSupervisor {
  /** Lost workers being brought back, by index. */
  private readonly respawning = new Map<number, Promise<void>>();
  /** Tasks killed to move back (I33) whose failure has not been reported yet. */
  private readonly moving = new Set<number>();
  /** Workers killed together whose deaths are still being noticed: their tasks fail as one group. */
  private dyingTogether: { workers: Set<number>; noticed: WorkerLoss[]; timer: NodeJS.Timeout } | null = null;
  /** Task id → the worker it was first placed on; empty unless tasks move back to respawned workers. */
  private firstPlacement: readonly number[] = [];

  constructor(private readonly host: WorkerSupervisorHost) {}

  /** Starts the worker processes of the job of `nodes`: their reports go to `reports`, their deaths to {@link workerLost}. */
  async start(reports: WorkerReports, nodes: readonly LogicalNode[], options: ResolvedJobOptions, features: StrategyFeatures): Promise<void> {
    const { fleet, links, plan } = this.host;
    if (options.workers?.rebalance && features.standbys > 0) this.firstPlacement = [...this.host.placement];
    const coordinatorSinks = new Map<number, Sink<unknown>>();
    for (const node of nodes) if (node.sink && node.sinkConnector?.location === 'coordinator') coordinatorSinks.set(node.id, node.sinkConnector);
    const started = await fleet!.start({
      reports,
      lost: (worker, detectedBy, detectionMs) => this.workerLost(worker, detectedBy, detectionMs),
      options,
      features,
      fingerprint: planFingerprint(plan),
      coordinatorSinks,
      clockOrigin: () => this.host.clockOrigin(),
      transportWarning: (warning) => this.host.event('transport-warning', warning),
    });
    started.forEach((link, i) => (links[i] = link));
  }

  /**
   * Kills the live ones of `workers` (SIGKILL) in one instant, with every task they hold: their deaths
   * are expected, and their tasks fail as one group.
   */
  kill(workers: Iterable<number>): void {
    const { links, placement, plan, fleet } = this.host;
    // A task whose worker is already gone is being recovered; a worker being respawned is not there yet.
    const live = new Set([...workers].filter((w) => links[w] !== null));
    const name = (id: number): string => plan.tasks[id]!.name;
    for (const worker of live) {
      this.host.event('worker-killed', {
        worker,
        tasks: placement.flatMap((w, id) => (w === worker && !this.host.isDead(id) ? [name(id)] : [])),
        standbys: this.host.standbys.heldBy(worker).map(name),
      });
    }
    this.expectDeaths([...live].filter((w) => links[w] !== null));
    for (const worker of live) fleet!.kill(worker);
  }

  /**
   * Worker `worker` is gone: every task on it failed, in one group with the other workers killed in the
   * same instant (their sockets close a moment apart); standbys it held are placed anew; a new process
   * takes its place.
   */
  workerLost(worker: number, detectedBy: DetectedBy, detectionMs: number | null): void {
    const { links } = this.host;
    if (!links[worker]) return;
    links[worker] = null;
    if (this.host.ended()) return;
    const group = this.dyingTogether;
    if (group && group.workers.has(worker)) {
      group.noticed.push({ worker, detectedBy, detectionMs });
      if (group.noticed.length === group.workers.size) this.failDeadWorkers();
      return;
    }
    this.failWorkerTasks(worker, detectedBy, detectionMs);
    this.respawnWhenRecovered(worker);
  }

  /** Waits until some worker is alive (every one died: their replacements wait for new processes). */
  async someWorkerAlive(): Promise<void> {
    const { links } = this.host;
    while (!this.host.ended() && links.every((link) => link === null) && this.respawning.size > 0) await Promise.race(this.respawning.values());
  }

  /** Tasks placed on lost workers go to the least loaded live ones, as do standbys there (a global rollback). */
  async placeLostTasks(): Promise<void> {
    await this.someWorkerAlive();
    const { links, placement } = this.host;
    const live = links.flatMap((link, i) => (link ? [i] : []));
    if (live.length === 0) return;
    const load = new Map(live.map((w) => [w, placement.filter((p) => p === w).length]));
    placement.forEach((worker, taskId) => {
      if (links[worker]) return;
      const target = live.reduce((a, b) => (load.get(b)! < load.get(a)! ? b : a));
      load.set(target, load.get(target)! + 1);
      placement[taskId] = target;
    });
    this.host.standbys.placeAnew(live);
  }

  /** Expects the deaths of `workers` (killed in one instant) and fails their tasks together. */
  private expectDeaths(workers: readonly number[]): void {
    if (workers.length < 2) return;
    if (this.dyingTogether) this.failDeadWorkers();
    const timer = setTimeout(() => this.failDeadWorkers(), GROUP_DEATH_MS);
    this.dyingTogether = { workers: new Set(workers), noticed: [], timer };
  }

  private failDeadWorkers(): void {
    const group = this.dyingTogether;
    if (!group) return;
    this.dyingTogether = null;
    clearTimeout(group.timer);
    for (const lost of group.noticed) this.failWorkerTasks(lost.worker, lost.detectedBy, lost.detectionMs);
    for (const lost of group.noticed) this.respawnWhenRecovered(lost.worker);
  }

  private failWorkerTasks(worker: number, detectedBy: DetectedBy, detectionMs: number | null): void {
    const host = this.host;
    if (host.ended()) return;
    const tasks = host.placement.flatMap((w, id) => (w === worker && !host.isDead(id) ? [id] : []));
    host.event('worker-lost', { worker, detectedBy, detectionMs, tasks: tasks.map((id) => host.plan.tasks[id]!.name) });
    for (const id of tasks) host.taskDied(id, new WorkerLostError(worker, detectedBy), { worker, detectedBy, detectionMs });
    // Standbys the worker held for tasks that live on: new ones, from the checkpoint store, elsewhere.
    host.standbys.workerLost(worker);
  }

  /**
   * Brings a lost worker back once the recovery of its tasks is over: starting a process (and compiling
   * the job module) costs a core for a second or two, which the replays need more. With no worker left
   * alive, at once: the replacements need somewhere to run.
   */
  private respawnWhenRecovered(worker: number): void {
    const { events } = this.host;
    if (this.host.links.every((link) => link === null)) {
      this.respawn(worker);
      return;
    }
    // The recovery ends when its replacements are live (or the rollback is done); a safety timer bounds it.
    const onEvent = (event: JobEvent): void => {
      if (!RECOVERY_ENDS.has(event.type)) return;
      clearTimeout(timer);
      events.off('event', onEvent);
      this.respawn(worker);
    };
    const timer = setTimeout(() => onEvent({ t: 0, type: 'recovery-finished' } as JobEvent), RESPAWN_AFTER_RECOVERY_MAX_MS);
    events.on('event', onEvent);
  }

  /** Brings lost worker `worker` back as a new process (it holds nothing until placement gives it some). */
  private respawn(worker: number): void {
    const host = this.host;
    const fleet = host.fleet;
    if (host.ended() || this.respawning.has(worker) || !fleet) return;
    const started = host.clock();
    // A process may die while it starts (killed, or the machine is short of memory): try again, a few times.
    const attempt = async (tries: number): Promise<WorkerCommands> => {
      try {
        return await fleet.respawn(worker);
      } catch (error) {
        if (tries <= 1 || host.ended()) throw error;
        await new Promise((resolve) => setTimeout(resolve, RESPAWN_RETRY_MS));
        return attempt(tries - 1);
      }
    };
    const done = attempt(RESPAWN_ATTEMPTS).then(
      (link) => {
        this.respawning.delete(worker);
        if (host.ended()) return;
        host.links[worker] = link;
        link.run(host.clockOrigin());
        host.event('worker-respawned', { worker, ms: Math.round((host.clock() - started) * 1000) / 1000 });
        // Standbys that had to share their task's worker (no other was alive) move to the new one.
        host.standbys.workerRespawned();
        if (this.firstPlacement.length > 0) void this.moveBack(worker);
      },
      (error: unknown) => {
        this.respawning.delete(worker);
        host.failJob(error);
      },
    );
    this.respawning.set(worker, done);
  }

  /**
   * Moves the tasks first placed on `worker` (just respawned) back to it from the survivors running them
   * (I33). Their standbys are on `worker` (`StandbyPool.workerRespawned`); once every one holds a completed
   * checkpoint, the tasks fail on their survivors in one group, as the worker's death failed them, and the
   * recovery runs each replacement on its standby's worker: this one. Right after that checkpoint the
   * replay is short. Nothing moves while a recovery is under way, nor once the job ended or the worker is
   * gone again; a task whose standby is elsewhere (three or more workers) stays.
   */
  private async moveBack(worker: number): Promise<void> {
    const host = this.host;
    for (let checkpoints = 0; checkpoints < MOVE_BACK_CHECKPOINTS; checkpoints++) {
      const checkpoint = await this.nextCheckpoint(worker);
      if (checkpoint === null) return;
      for (let poll = 0; poll < MOVE_BACK_POLLS; poll++) {
        const link = host.links[worker];
        if (!link || host.ended()) return;
        const tasks = this.tasksToMoveBack(worker);
        if (tasks.length === 0) return;
        if (this.recoveryUnderWay()) break;
        const held = await link.standbyPositions(tasks, checkpoint).catch(() => null);
        if (held === null) return;
        if (tasks.every((id) => held.has(id))) {
          // Asked and answered across a turn of the event loop: look again before acting.
          const still = this.tasksToMoveBack(worker);
          if (host.ended() || this.recoveryUnderWay() || still.length !== tasks.length) break;
          const from = new Map<number, number[]>();
          for (const id of tasks) {
            const survivor = host.placement[id]!;
            if (!from.has(survivor)) from.set(survivor, []);
            from.get(survivor)!.push(id);
          }
          host.event('tasks-moving', { worker, checkpoint, tasks: tasks.map((id) => host.plan.tasks[id]!.name) });
          for (const id of tasks) this.moving.add(id);
          for (const [survivor, ids] of from) host.links[survivor]!.killTasks(ids);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, MOVE_BACK_POLL_MS));
      }
    }
  }

  /** Whether a recovery is under way: some task is dead and not yet replaced. */
  private recoveryUnderWay(): boolean {
    const host = this.host;
    return host.placement.some((_, id) => host.isDead(id));
  }

  /** Whether `taskId` was killed to move back (I33) and this is the first time its failure is asked about. */
  movedBack(taskId: number): boolean {
    return this.moving.delete(taskId);
  }

  /** Tasks first placed on `worker` that run, unfinished, on another live worker, with their standbys on `worker`. */
  private tasksToMoveBack(worker: number): number[] {
    const host = this.host;
    return this.firstPlacement.flatMap((first, id) => {
      const now = host.placement[id]!;
      const movable = first === worker && now !== worker && host.links[now] !== null && !host.isDead(id) && !host.isFinished(id);
      return movable && host.standbys.homeOf(id) === worker ? [id] : [];
    });
  }

  /** The id of the next checkpoint to complete; null if the job ends or `worker` is lost first. */
  private nextCheckpoint(worker: number): Promise<number | null> {
    const { events } = this.host;
    return new Promise((resolve) => {
      const onEvent = (event: JobEvent): void => {
        const gone = (event.type === 'worker-lost' && event.worker === worker) || JOB_ENDS.has(event.type);
        if (event.type !== 'checkpoint' && !gone) return;
        events.off('event', onEvent);
        resolve(event.type === 'checkpoint' ? event.id : null);
      };
      events.on('event', onEvent);
    });
  }
}
