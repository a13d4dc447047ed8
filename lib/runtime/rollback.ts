/**
 * Global rollback: every task of every worker stops and restarts from the latest completed checkpoint.
 * As the Flink baseline (`global-rollback`), and as the escalation of local recovery (I16), where tasks
 * that neither lost their log nor consume from one that did replay their own logs, so that only the part of
 * the job downstream of the loss decides anew; sinks there that had already shown output since the
 * checkpoint either fail the job or show the regenerated records after it (I23).
 */
import { ReplicaStore, type EpochSegment } from '../../determinants/replica.js';
import { ExactlyOnceLostError } from '../errors.js';
import type { CheckpointStore } from '../state/checkpoint-store.js';
import { encodeSnapshot } from '../state/snapshot.js';
import type { CheckpointCoordinator } from './coordinator.js';
import { describeExposure, taintedTasks, type ShownSinceCheckpoint } from './escalation.js';
import type { JobEventDetails, JobEventType } from './events.js';
import { degraded, type Guarantee } from './guarantee.js';
import type { PhysicalPlan } from './plan.js';
import type { DeploySpec, TaskDeploy, WorkerCommands } from './worker-api.js';

/** What a rollback needs from the coordinator. */
export interface RollbackHost {
  readonly plan: PhysicalPlan;
  readonly store: CheckpointStore;
  readonly coordinator: CheckpointCoordinator;
  /** Live workers, by index (null where a worker is gone). */
  readonly links: readonly (WorkerCommands | null)[];
  /** Task id → worker index. */
  readonly placement: readonly number[];
  /** Task id → worker index of its standby, when standbys are kept. */
  standbyHome(taskId: number): number | null;
  /** Channel index → incarnation (bumped here: a rollback wires every channel anew). */
  readonly incarnations: number[];
  /** The job's run identity (`SinkContext.runId`). */
  readonly runId: string;
  readonly onEscalation: 'fail' | 'rollback';
  readonly retainAll: boolean;
  /** Whether tasks keep determinants (their own logs can be replayed). */
  readonly recordsDeterminants: boolean;
  /** Sink tasks of `tainted` whose partitions show more than the latest checkpoint covers. */
  shownSinceCheckpoint(tainted: ReadonlySet<number>): Promise<ShownSinceCheckpoint[]>;
  /** A failed task's trace before `beforeEpoch` (retained traces). */
  historyOf(taskId: number, beforeEpoch: number): Promise<EpochSegment[]>;
  getGuarantee(): Guarantee;
  setGuarantee(guarantee: Guarantee): void;
  event<K extends JobEventType>(type: K, details: JobEventDetails[K]): void;
  failJob(error: unknown): void;
  clock(): number;
  /** Every task restarted: reset the coordinator's view of task states. */
  restarted(): void;
  /** Places the tasks and standbys of lost worker processes on live ones (worker processes only). */
  placeLostTasks?(): Promise<void>;
}

/**
 * Rolls the whole job back to the latest completed checkpoint. With `lost` (an escalation), the tasks that
 * are not downstream of a lost log replay their own logs (I16). Returns false when the job failed instead
 * (`onEscalation: 'fail'` with shown output at stake).
 */
export async function rollBack(host: RollbackHost, reason: string, lost: ReadonlySet<number> | null): Promise<boolean> {
  const started = host.clock();
  const coordinator = host.coordinator;
  coordinator.pause();
  const aborted = coordinator.abortPending();
  await coordinator.settle();
  const latest = host.store.latest;
  const fromEpoch = Math.max(0, latest);
  const tainted = lost ? taintedTasks(host.plan, lost) : null;
  // Sinks downstream of a lost log that already showed output since the checkpoint: the rollback
  // regenerates it, perhaps differently. Exactly-once is gone there; say so, or fail if asked to.
  const exposed = tainted ? await host.shownSinceCheckpoint(tainted) : [];
  if (exposed.length > 0) {
    const detail = describeExposure(exposed, host.plan, fromEpoch);
    if (host.onEscalation === 'fail') {
      coordinator.resume();
      host.failJob(new ExactlyOnceLostError(`${reason}; rolling back would show records again that sinks already showed (${detail})`, [...new Set(exposed.map((e) => e.sink))], fromEpoch));
      return false;
    }
    host.setGuarantee(degraded(host.getGuarantee(), fromEpoch, exposed.map((e) => e.sink), `escalation: ${detail}`));
    host.event('guarantee-degraded', { guarantee: host.getGuarantee() });
  }
  // I16: survivors' own logs from the checkpoint, and with retained traces every task's trace so far.
  const ownLogs = new Map<number, { replay: EpochSegment[]; history: EpochSegment[] | null }>();
  const histories = new Map<number, EpochSegment[]>();
  if (host.recordsDeterminants) {
    for (const link of host.links) {
      if (!link) continue;
      for (const [taskId, logs] of await link.ownLogs(null, fromEpoch, host.retainAll)) {
        const survives = tainted !== null && !tainted.has(taskId) && logs.replay.length > 0;
        if (survives) ownLogs.set(taskId, logs);
        else if (host.retainAll && logs.history) histories.set(taskId, logs.history.filter((segment) => segment.epoch < fromEpoch));
      }
    }
    if (host.retainAll) {
      for (const task of host.plan.tasks) {
        if (!ownLogs.has(task.id) && !histories.has(task.id)) histories.set(task.id, await host.historyOf(task.id, fromEpoch));
      }
    }
  }
  for (const link of host.links) await link?.stopTasks();
  await host.store.discardIncomplete();
  coordinator.resetFinished();
  for (let i = 0; i < host.incarnations.length; i++) host.incarnations[i]!++;
  const checkpoint = host.store.latest;
  host.event('rollback-started', {
    reason,
    checkpoint,
    abortedCheckpoint: aborted,
    ...(lost ? { replayingOwnLogs: [...ownLogs.keys()].map((id) => host.plan.tasks[id]!.name) } : {}),
  });
  host.restarted();
  await host.placeLostTasks?.();
  const restored = await deployAll(host, checkpoint >= 0 ? checkpoint : null, ownLogs, histories, new Set(exposed.map((e) => e.taskId)));
  coordinator.resume();
  host.event('rollback-finished', { checkpoint, tasks: restored, durationMs: host.clock() - started });
  return true;
}

/**
 * Deploys every task, restored from `checkpoint` (or fresh), on its worker, with a standby on its
 * standby's worker. Returns how many tasks were restored from a snapshot.
 */
export async function deployAll(
  host: Pick<RollbackHost, 'plan' | 'store' | 'links' | 'placement' | 'standbyHome' | 'incarnations' | 'runId'>,
  checkpoint: number | null,
  ownLogs: ReadonlyMap<number, { replay: EpochSegment[]; history: EpochSegment[] | null }>,
  histories: ReadonlyMap<number, EpochSegment[]>,
  showAfterVisible: ReadonlySet<number>,
  replayTraces: ReadonlyMap<number, EpochSegment[]> | null = null,
  /** The first deployment of a run that does not resume: nothing of the run was written yet. */
  fresh = false,
): Promise<number> {
  let restored = 0;
  const specs = host.links.map(
    (): DeploySpec => ({
      checkpoint,
      tasks: [],
      standbys: [],
      placement: [...host.placement],
      incarnations: [...host.incarnations],
      showAfterVisible: [...showAfterVisible],
      run: { id: host.runId, fresh },
    }),
  );
  for (const task of host.plan.tasks) {
    const merged = checkpoint !== null ? host.store.restore(task.id) : null;
    const snapshot = merged ? encodeSnapshot(merged) : null;
    if (snapshot) restored++;
    const own = ownLogs.get(task.id);
    const deploy: TaskDeploy = {
      taskId: task.id,
      snapshot,
      replay: own?.replay ?? replayTraces?.get(task.id) ?? null,
      history: own?.history ?? histories.get(task.id) ?? null,
    };
    specs[host.placement[task.id]!]?.tasks.push(deploy);
    const home = host.standbyHome(task.id);
    if (home !== null) specs[home]?.standbys.push({ taskId: task.id, snapshot });
  }
  await Promise.all(host.links.map((link, i) => link?.deploy(specs[i]!)));
  return restored;
}

/**
 * Continues a job from the latest completed checkpoint after its coordinator died (`resume`). Every task
 * restarts from the checkpoint. A task whose determinants since the checkpoint the sinks stored (I20)
 * replays them, so that what the sinks already showed is regenerated identically and skipped; sinks
 * downstream of a task with no stored log that showed output since the checkpoint are judged as in an
 * escalation (I16, I23): the job fails with `ExactlyOnceLostError`, or shows the records again after
 * what it showed (`onEscalation: 'rollback'`).
 */
export async function resume(host: RollbackHost, storedDeterminants: Promise<Uint8Array[]>): Promise<boolean> {
  const checkpoint = host.store.latest;
  await host.store.discardIncomplete();
  const stored = new ReplicaStore({ dsd: -1 });
  // Stored envelopes may also hold slices of older epochs (pruning keeps whole envelopes): skip them.
  stored.truncateBefore(checkpoint);
  for (const envelope of await storedDeterminants) stored.ingest(envelope);
  const logs = new Map<number, { replay: EpochSegment[]; history: EpochSegment[] | null }>();
  const lost = new Set<number>();
  for (const task of host.plan.tasks) {
    const log = stored.logOf(task.id, checkpoint);
    if (log.length > 0) logs.set(task.id, { replay: log, history: null });
    else lost.add(task.id);
  }
  const exposed = await host.shownSinceCheckpoint(taintedTasks(host.plan, lost));
  if (exposed.length > 0) {
    const detail = describeExposure(exposed, host.plan, checkpoint);
    if (host.onEscalation === 'fail') {
      host.failJob(new ExactlyOnceLostError(`resuming from checkpoint ${checkpoint}: the sinks stored no determinants of some tasks upstream of output they showed since (${detail})`, [...new Set(exposed.map((e) => e.sink))], checkpoint));
      return false;
    }
    host.setGuarantee(degraded(host.getGuarantee(), checkpoint, exposed.map((e) => e.sink), `resume: ${detail}`));
    host.event('guarantee-degraded', { guarantee: host.getGuarantee() });
  }
  await deployAll(host, checkpoint, logs, new Map(), new Set(exposed.map((e) => e.taskId)));
  return true;
}
