/**
 * Rounds of local recovery (`JobControl.replace`), as the coordinator runs them on its workers. A round
 * replaces a set of failed tasks at once:
 *
 * - each replacement is placed first (on its standby's worker, `standby-pool.ts`), before any round is
 *   sent: rounds of concurrent recoveries each send the whole placement, and a later one must not undo
 *   where an earlier one put its replacements;
 * - every channel of a failed task is wired anew, with a new incarnation;
 * - producers replay to a replacement what its checkpoint did not consume (its input sequence numbers);
 * - every live worker gets the round at once and builds the replacements it hosts, upstream first.
 *
 * A worker process may replay a short log to its end before the round's answer is read here: the strategy
 * hears of a replacement's log end only after it learned of the replacement, so such log ends are held
 * until the round has returned. A worker that died during the round took the replacements it was
 * building: they fail anew.
 */
import { WorkerLostError } from '../../errors.js';
import { encodeSnapshot } from '../../state/snapshot.js';
import type { ReplacementSpec } from '../job-control.js';
import type { ReplacementReport, RoundSpec } from '../worker-api.js';
import type { CheckpointController } from './checkpoint-controller.js';
import type { JobView } from './job-view.js';
import type { StandbyPool } from './standby-pool.js';

/** What rounds need from the coordinator besides the {@link JobView}, whose `placement` they change. */
export interface ReplacementRoundsHost extends JobView {
  /** Channel index → incarnation: a round bumps those of every channel of a failed task. */
  readonly incarnations: number[];
  /** The checkpoint the replacements restore. */
  readonly checkpoints: CheckpointController;
  /** Where the replacements run. */
  readonly standbys: StandbyPool;
  /** Waits until some worker is alive. */
  someWorkerAlive(): Promise<void>;
  /** The replacement of `taskId` was built: the coordinator sees the task running again. */
  replaced(taskId: number): void;
  /** Task `taskId` failed (its replacement's worker died during the round). */
  taskDied(taskId: number, cause: unknown): void;
}

/** Runs rounds of local recovery, and holds the log ends of replacements whose round has not returned. */
export class ReplacementRounds {
  /** Tasks being replaced by a round that has not returned yet. */
  private readonly inRound = new Set<number>();
  /** Log ends reported by replacements of a round that has not returned yet. */
  private earlyLogEnds: (() => void)[] = [];

  constructor(private readonly host: ReplacementRoundsHost) {}

  /** Whether `taskId` is being replaced by a round that has not returned yet (its log end must wait). */
  isInRound(taskId: number): boolean {
    return this.inRound.has(taskId);
  }

  /** Delivers `deliver` (a replacement's log end) once the round that replaces its task has returned. */
  holdLogEnd(deliver: () => void): void {
    this.earlyLogEnds.push(deliver);
  }

  /** One round of local recovery on every worker (`JobControl.replace`): the replacements' reports, by task id. */
  async replace(specs: readonly ReplacementSpec[]): Promise<ReplacementReport[]> {
    const host = this.host;
    await host.someWorkerAlive();
    const { plan, links, incarnations, checkpoints } = host;
    const checkpoint = checkpoints.latest;
    const failed = new Set(specs.map((s) => s.taskId));
    // The placement changes now, before any round is sent: rounds of concurrent recoveries each send the
    // whole placement, and a later one must not undo where an earlier one put its replacements.
    for (const spec of specs) host.placement[spec.taskId] = host.standbys.replacementWorker(spec.taskId);
    const placement = [...host.placement];
    // Every channel of a failed task is wired anew.
    const rewired = new Set<number>();
    for (const id of failed) {
      const task = plan.tasks[id]!;
      for (const index of [...task.inputs, ...task.outputs.flat()]) rewired.add(index);
    }
    for (const index of rewired) incarnations[index]!++;
    // Producers replay what the failed consumer's checkpoint did not consume. A replacement that activates
    // its standby takes the positions from it; only the others get the merged state from the store (merging
    // and encoding a large state took tens of ms of the recovery, for bytes the standby's worker dropped).
    const fromStandby = checkpoint >= 0 ? await this.standbyPositions([...failed], placement, checkpoint) : new Map<number, number[]>();
    const replayAfter: { index: number; afterSeq: number }[] = [];
    const snapshots = new Map<number, Uint8Array | null>();
    for (const id of failed) {
      const positions = fromStandby.get(id);
      const merged = positions || checkpoint < 0 ? null : checkpoints.store!.restore(id);
      const inputSeqs = positions ?? merged?.inputSeqs;
      plan.tasks[id]!.inputs.forEach((index, i) => replayAfter.push({ index, afterSeq: inputSeqs?.[i] ?? -1 }));
      snapshots.set(id, merged ? encodeSnapshot(merged) : null);
    }
    const channels = [...rewired].sort((a, b) => a - b).map((index) => ({ index, incarnation: incarnations[index]! }));
    // A replacement without determinants (no log to replay) regenerates anew: its consumers number it anew (I35).
    const renumbered = specs.filter((s) => s.replay === null).flatMap((s) => plan.tasks[s.taskId]!.outputs.flat());
    const reports: ReplacementReport[] = [];
    for (const id of failed) this.inRound.add(id);
    try {
      await Promise.all(
        links.map(async (link, worker) => {
          if (!link) return;
          const spec: RoundSpec = {
            placement,
            channels,
            replayAfter,
            renumbered,
            replacements: specs
              .filter((s) => placement[s.taskId] === worker)
              .sort((a, b) => a.taskId - b.taskId)
              .map((s) => ({
                taskId: s.taskId,
                checkpoint,
                snapshot: snapshots.get(s.taskId) ?? null,
                ...(fromStandby.has(s.taskId) ? { fromStandby: true } : {}),
                replay: s.replay,
                history: s.history,
                ...(s.showAfterVisible ? { showAfterVisible: true } : {}),
              })),
          };
          reports.push(...(await link.round(spec)));
        }),
      );
    } finally {
      this.releaseEarlyLogEnds(failed);
    }
    for (const id of failed) host.replaced(id);
    // A worker that died during the round took the replacements it was building: they fail anew.
    for (const id of failed) {
      const worker = placement[id]!;
      if (!links[worker]) host.taskDied(id, new WorkerLostError(worker, 'died during recovery'));
    }
    return reports.sort((a, b) => a.taskId - b.taskId);
  }

  /** Per failed task that runs on its standby's worker, the input positions of that standby, if it holds `checkpoint`. */
  private async standbyPositions(failed: readonly number[], placement: readonly number[], checkpoint: number): Promise<Map<number, number[]>> {
    const { links, standbys } = this.host;
    const byWorker = new Map<number, number[]>();
    for (const id of failed) {
      const worker = placement[id]!;
      if (standbys.homeOf(id) !== worker || !links[worker]) continue;
      byWorker.set(worker, [...(byWorker.get(worker) ?? []), id]);
    }
    const positions = new Map<number, number[]>();
    await Promise.all(
      [...byWorker].map(async ([worker, ids]) => {
        for (const [id, seqs] of (await links[worker]?.standbyPositions(ids, checkpoint)) ?? []) positions.set(id, seqs);
      }),
    );
    return positions;
  }

  /** Delivers the held log ends once the strategy has read this round's reports (its continuation is a microtask). */
  private releaseEarlyLogEnds(failed: ReadonlySet<number>): void {
    for (const id of failed) this.inRound.delete(id);
    const early = this.earlyLogEnds;
    this.earlyLogEnds = [];
    if (early.length > 0) setImmediate(() => early.forEach((deliver) => deliver()));
  }
}
