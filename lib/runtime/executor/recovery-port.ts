/**
 * How recovery reaches the job: the {@link JobControl} port the strategies act through (`job-control.ts`)
 * and the {@link RollbackHost} a global rollback runs on (`rollback.ts`), both made of the coordinator's
 * parts. Neither holds state of its own: each call goes to the part that does the job (the checkpoint
 * controller, the replacement rounds, the standby pool, the recovery queries, the worker supervisor) or to
 * the coordinator's task states and guarantee.
 */
import { taintedTasks } from '../escalation.js';
import { degraded, type Guarantee } from '../guarantee.js';
import type { JobControl } from '../job-control.js';
import { rollBack, type RollbackHost } from '../rollback.js';
import type { StrategyFeatures } from '../strategy.js';
import type { CheckpointController } from './checkpoint-controller.js';
import type { JobMetrics } from './job-metrics.js';
import type { JobView } from './job-view.js';
import type { RecoveryQueries } from './recovery-queries.js';
import type { ReplacementRounds } from './replacement-rounds.js';
import type { StandbyPool } from './standby-pool.js';
import type { WorkerSupervisor } from './worker-supervisor.js';

/** The coordinator's parts and state that recovery acts on, besides the {@link JobView}. */
export interface RecoveryPortHost extends JobView {
  /** What the recovery strategy asks of tasks. */
  readonly features: StrategyFeatures;
  /** What an escalation does when sinks already showed output it would regenerate. */
  readonly onEscalation: RollbackHost['onEscalation'];
  /** Channel index → incarnation. */
  readonly incarnations: number[];
  /** Pausing and resuming checkpoints, the latest one. */
  readonly checkpoints: CheckpointController;
  /** New standbys, where standbys are. */
  readonly standbys: StandbyPool;
  /** Rounds of local recovery. */
  readonly rounds: ReplacementRounds;
  /** Log copies, histories, sink-stored determinants, what sinks showed. */
  readonly queries: RecoveryQueries;
  /** The worker processes' supervisor; null for the embedded runtime (nothing is lost there). */
  readonly workers: WorkerSupervisor | null;
  /** Counts escalations. */
  readonly metrics: JobMetrics;
  /** This run's identity. */
  runId(): string;
  /** What the job has kept of its exactly-once promise so far. */
  guarantee(): Guarantee;
  /** The job keeps less of its promise from now on. */
  setGuarantee(guarantee: Guarantee): void;
  /** Task `taskId` runs again (a replacement went live). */
  running(taskId: number): void;
  /** Every task restarted (a global rollback): none is finished or dead any more. */
  restarted(): void;
}

/** The JobControl port of a job, for its recovery strategy. */
export function jobControlOf(host: RecoveryPortHost): JobControl {
  const { plan, links, placement, checkpoints, queries, incarnations } = host;
  const causal = host.features.causal;
  return {
    plan,
    causal: causal !== null && causal.dsd !== 0,
    retainAll: causal?.retainAll ?? false,
    clock: () => host.clock(),
    event: (type, details) => host.event(type, details),
    failJob: (error) => host.failJob(error),
    pauseCheckpoints: () => checkpoints.pause(),
    resumeCheckpoints: () => checkpoints.resume(),
    latestCheckpoint: () => checkpoints.latest,
    isDead: (taskId) => host.isDead(taskId),
    sinkDeterminants: (fromEpoch) => queries.sinkDeterminants(fromEpoch),
    collectCopies: (taskIds, fromEpoch) => queries.collectCopies(taskIds, fromEpoch),
    historyOf: (taskId, beforeEpoch) => queries.historyOf(taskId, beforeEpoch),
    replace: (specs) => host.rounds.replace(specs),
    incarnationOf: (index) => incarnations[index]!,
    holdings: async (index, before) => {
      const consumer = plan.channels[index]!.to;
      return (await links[placement[consumer]!]?.holdings(index, before)) ?? -1;
    },
    goLive: (taskId) => {
      host.running(taskId);
      links[placement[taskId]!]?.goLive(taskId);
    },
    addStandby: (taskId) => host.standbys.add(taskId),
    rollback: async (reason, lost) => {
      if (lost) host.metrics.escalations++;
      await rollBack(rollbackHostOf(host), reason, lost);
    },
    regenerated: async (failed, checkpoint) => {
      // Without determinants (at-least-once) a replacement may regenerate different records than those
      // sinks downstream already showed since the checkpoint: exactly-once is not kept there (I23).
      const exposed = await queries.shownSinceCheckpoint(taintedTasks(plan, failed));
      if (exposed.length === 0) return new Set<number>();
      host.setGuarantee(degraded(host.guarantee(), checkpoint, exposed.map((e) => e.sink), `at-least-once recovery of ${[...failed].map((id) => plan.tasks[id]!.name).join(', ')}`));
      host.event('guarantee-degraded', { guarantee: host.guarantee() });
      return new Set(exposed.map((e) => e.taskId));
    },
  };
}

/** What a global rollback (or the first deployment, or a resume) of the job runs on. */
export function rollbackHostOf(host: RecoveryPortHost): RollbackHost {
  const { checkpoints, queries, workers } = host;
  return {
    plan: host.plan,
    // Read when the rollback runs: the store opens when the job starts.
    get store() {
      return checkpoints.store!;
    },
    get coordinator() {
      return checkpoints.coordinator!;
    },
    links: host.links,
    placement: host.placement,
    standbyHome: (taskId) => host.standbys.homeOf(taskId),
    incarnations: host.incarnations,
    get runId() {
      return host.runId();
    },
    onEscalation: host.onEscalation,
    retainAll: host.features.causal?.retainAll ?? false,
    recordsDeterminants: host.features.causal !== null,
    shownSinceCheckpoint: (tainted) => queries.shownSinceCheckpoint(tainted),
    historyOf: (taskId, beforeEpoch) => queries.historyOf(taskId, beforeEpoch),
    getGuarantee: () => host.guarantee(),
    setGuarantee: (guarantee) => host.setGuarantee(guarantee),
    event: (type, details) => host.event(type, details),
    failJob: (error) => host.failJob(error),
    clock: () => host.clock(),
    restarted: () => host.restarted(),
    ...(workers ? { placeLostTasks: () => workers.placeLostTasks() } : {}),
  };
}
