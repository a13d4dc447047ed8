/**
 * The local-recovery modes: a failed task is replaced by its standby while every other task keeps running,
 * upstream tasks replay their in-flight logs into it, and downstream tasks drop what they already have by
 * sequence number. Sinks deduplicate by output index, so output is visible at once.
 *
 * - `exactly-once`: the full causal protocol. The replacement replays the failed task's determinants (the
 *   longest copy among live tasks and sink stores, I4) and regenerates exactly what it produced. It goes
 *   live only without orphans (I14); when determinants are gone, recovery escalates to a global rollback
 *   (I16), never silently (I23).
 * - `at-least-once`: the same without determinants; a nondeterministic operator may regenerate different
 *   records than downstream has, and the job's guarantee says so.
 *
 * One *episode* runs from the first failure until every replacement is live; failures during it (a
 * standby, an upstream serving a replay) join it as further rounds. Checkpoints stay paused for the whole
 * episode, and every round restores from the same checkpoint (I17).
 */
import { ReplicaStore, longestCopy, type EpochSegment } from '../../determinants/replica.js';
import { CausalflowError, DeterminantMismatchError, LogDivergenceError, RecoveryEscalationError, TaskKilledError } from '../errors.js';
import type { SinkProgress } from '../runtime/worker-api.js';
import type { JobControl, ReplacementSpec } from '../runtime/job-control.js';
import { judgeAtLogEnd, type Verdict } from './orphans.js';
import type { RecoveryStrategy, StrategyFeatures } from '../runtime/strategy.js';

/** Bookkeeping of one replacement of the episode. */
interface Replacement {
  startedAt: number;
  replayEntries: number;
  /** The verdict once its log ran out (waiting for dead consumers to be replaced). */
  verdict: Verdict | null;
  records: number;
}

/** Errors that mean the determinants cannot be trusted to reproduce the failed task: escalate. */
function needsEscalation(cause: unknown): boolean {
  return cause instanceof DeterminantMismatchError || cause instanceof RecoveryEscalationError || cause instanceof LogDivergenceError;
}

/** Standby replacement, with or without causal logging. */
export class LocalRecoveryStrategy implements RecoveryStrategy {
  readonly features: StrategyFeatures;
  private readonly replacements = new Map<number, Replacement>();
  /** Per replacement of the episode: the last sequence number, per input, that its recorded log consumes. */
  private readonly recordedConsumption = new Map<number, number[]>();
  private paused = false;
  private pausing: Promise<void> = Promise.resolve();
  private escalating = false;
  private roundsInProgress = 0;

  constructor(
    readonly mode: 'at-least-once' | 'exactly-once',
    standbys: number,
    dsd: number,
    retainAll: boolean,
  ) {
    // At-least-once records determinants only when the verifier asks for the trace (never shipped: dsd 0).
    const causal = mode === 'exactly-once' ? { dsd, retainAll } : retainAll ? { dsd: 0, retainAll } : null;
    this.features = { checkpoints: true, inflightLog: true, dedup: true, sinkMode: 'deduplicating', standbys, causal, local: true };
  }

  async recover(control: JobControl, failed: readonly number[], cause: unknown): Promise<void> {
    if (this.escalating) return;
    for (const id of failed) this.replacements.delete(id);
    if (needsEscalation(cause)) {
      await this.escalate(control, `task ${failed.map((id) => control.plan.tasks[id]!.name).join(', ')} could not replay its determinants: ${(cause as Error).message}`, failed);
      return;
    }
    // Every round waits for the same pause: a failure noticed while an earlier round waits for the
    // checkpoint in flight to settle must not pick the checkpoint before it settled (I17).
    if (!this.paused) {
      this.paused = true;
      this.pausing = control.pauseCheckpoints();
    }
    // Checkpoints stay paused until this round has replaced its tasks too, even if every replacement of an
    // earlier round goes live meanwhile.
    this.roundsInProgress++;
    try {
      await this.round(control, failed);
    } finally {
      this.roundsInProgress--;
    }
    this.maybeFinishEpisode(control);
  }

  private async round(control: JobControl, failed: readonly number[]): Promise<void> {
    await this.pausing;
    if (this.escalating) return;
    const checkpoint = control.latestCheckpoint();
    const fromEpoch = Math.max(0, checkpoint);
    const ids = [...failed].sort((a, b) => a - b);
    let specs: ReplacementSpec[];
    try {
      specs = control.causal ? await this.logsOf(control, ids, fromEpoch) : ids.map((taskId) => ({ taskId, replay: null, history: null }));
    } catch (error) {
      if (!(error instanceof CausalflowError)) throw error;
      await this.escalate(control, `collecting the logs of ${ids.map((id) => control.plan.tasks[id]!.name).join(', ')} failed: ${error.message}`, ids);
      return;
    }
    if (this.escalating) return;
    if (!control.causal) {
      // A new execution: sinks that showed output since the checkpoint show what it regenerates after
      // that, and consumers take all of it (I35); nothing is dropped as a duplicate of a different record.
      const exposed = await control.regenerated(new Set(ids), fromEpoch);
      for (const spec of specs) if (exposed.has(spec.taskId)) spec.showAfterVisible = true;
    }
    if (control.retainAll) {
      // Verification only: the replacement's log continues its predecessor's whole trace, so that the oracle
      // can replay every task from the job's start (recovery never needs the epochs before the checkpoint).
      for (const spec of specs) spec.history = [...(await control.historyOf(spec.taskId, fromEpoch)), ...(spec.replay ?? [])];
    }
    let reports;
    try {
      reports = await control.replace(specs);
    } catch (error) {
      // Errors that retrying cannot mend (a snapshot that cannot be restored faithfully) fail the job.
      if (!(error instanceof CausalflowError) || error instanceof TaskKilledError || !error.retriable) throw error;
      await this.escalate(control, `replacing ${ids.map((id) => control.plan.tasks[id]!.name).join(', ')} failed: ${error.message}`, ids);
      return;
    }
    for (const report of reports) {
      const spec = specs.find((s) => s.taskId === report.taskId)!;
      this.replacements.set(report.taskId, { startedAt: control.clock(), replayEntries: report.replayEntries, verdict: null, records: 0 });
      this.recordedConsumption.set(report.taskId, report.recordedConsumption);
      control.event('standby-activated', {
        task: control.plan.tasks[report.taskId]!.name,
        checkpoint,
        state: report.state,
        replayEntries: report.replayEntries,
        replayBytes: spec.replay ? spec.replay.reduce((n, s) => n + s.bytes.length, 0) : 0,
      });
      if (report.replayEntries > 0) control.event('replay-started', { task: control.plan.tasks[report.taskId]!.name, entries: report.replayEntries });
    }
    // Without determinants a replacement goes live at once; with them, only through the orphan check.
    if (!control.causal) for (const report of reports) this.wentLive(control, report.taskId);
    // Producers whose verdict waited for one of these to exist can be judged now.
    await this.judgeWaiting(control);
  }

  /**
   * The longest copy of each failed task's log from `fromEpoch` on, among live tasks' replicas and the
   * sinks' stores (I4, I20); an empty log where none survives (the orphan check decides, I14).
   */
  private async logsOf(control: JobControl, ids: readonly number[], fromEpoch: number): Promise<ReplacementSpec[]> {
    const stored = new ReplicaStore({ dsd: -1 });
    // Stored envelopes may also hold slices of older epochs (pruning keeps whole envelopes): skip them.
    stored.truncateBefore(fromEpoch);
    for (const envelope of await control.sinkDeterminants(fromEpoch)) stored.ingest(envelope);
    const copies = await control.collectCopies(ids, fromEpoch);
    return ids.map((taskId) => {
      const all = [...(copies.get(taskId) ?? [])];
      const fromSinks = stored.logOf(taskId, fromEpoch);
      if (fromSinks.length > 0) all.push(fromSinks);
      const replay: EpochSegment[] = all.length > 0 ? longestCopy(taskId, all) : [];
      return { taskId, replay, history: null };
    });
  }

  logEnded(control: JobControl, taskId: number, regenerated: readonly number[], sinks: readonly SinkProgress[], records: number): void {
    const replacement = this.replacements.get(taskId);
    if (!replacement || replacement.verdict !== null || this.escalating) return;
    replacement.records = records;
    void judgeAtLogEnd(control, taskId, regenerated, sinks, this.recordedConsumption).then(
      (verdict) => {
        if (this.replacements.get(taskId) !== replacement) return;
        replacement.verdict = verdict;
        return this.settle(control, taskId, replacement);
      },
      (error: unknown) => control.failJob(error),
    );
  }

  /** Acts on a replacement's verdict: escalate, wait for a dead consumer, or go live. */
  private async settle(control: JobControl, taskId: number, replacement: Replacement): Promise<void> {
    const verdict = replacement.verdict!;
    if (verdict.orphan !== null) {
      await this.escalate(control, verdict.orphan.message, [taskId]);
      return;
    }
    for (const [index, consumer] of verdict.waitingFor) {
      if (control.isDead(consumer)) return;
      // Replaced since: what its predecessor held is what its own log consumes.
      const channel = control.plan.channels[index]!;
      const consumed = Math.max(this.recordedConsumption.get(consumer)?.[channel.consumerInput] ?? -1, await control.holdings(index, control.incarnationOf(index)));
      const regenerated = verdict.regenerated[control.plan.tasks[taskId]!.outputs.flat().indexOf(index)]!;
      if (regenerated < consumed) {
        await this.escalate(
          control,
          `orphan: ${control.plan.tasks[consumer]!.name} holds elements up to seq ${consumed} from ${control.plan.tasks[taskId]!.name}, whose determinants are lost; the replacement regenerated up to ${regenerated}`,
          [taskId],
        );
        return;
      }
      verdict.waitingFor.delete(index);
    }
    this.wentLive(control, taskId);
  }

  private async judgeWaiting(control: JobControl): Promise<void> {
    for (const [taskId, replacement] of [...this.replacements]) {
      if (replacement.verdict !== null && replacement.verdict.waitingFor.size > 0) await this.settle(control, taskId, replacement);
      if (this.escalating) return;
    }
  }

  private wentLive(control: JobControl, taskId: number): void {
    const replacement = this.replacements.get(taskId);
    if (!replacement) return;
    this.replacements.delete(taskId);
    const name = control.plan.tasks[taskId]!.name;
    const replayMs = Math.round((control.clock() - replacement.startedAt) * 1000) / 1000;
    if (replacement.replayEntries > 0) control.event('replay-finished', { task: name, entries: replacement.replayEntries, records: replacement.records, replayMs });
    control.goLive(taskId);
    control.event('live', { task: name, replayMs, entries: replacement.replayEntries, records: replacement.records });
    control.addStandby(taskId);
    this.maybeFinishEpisode(control);
  }

  /** Every replacement of every round is live: checkpoints resume. */
  private maybeFinishEpisode(control: JobControl): void {
    if (this.replacements.size === 0 && this.paused && !this.escalating && this.roundsInProgress === 0) {
      this.paused = false;
      this.recordedConsumption.clear();
      control.resumeCheckpoints();
      control.event('recovery-finished', {});
    }
  }

  /** Escalates to a global rollback; `failed` and every replacement still replaying count as lost. */
  private async escalate(control: JobControl, reason: string, failed: readonly number[]): Promise<void> {
    if (this.escalating) return;
    this.escalating = true;
    const lost = new Set<number>([...this.replacements.keys(), ...failed]);
    control.event('escalated', { reason, lost: [...lost].map((id) => control.plan.tasks[id]!.name) });
    this.replacements.clear();
    this.recordedConsumption.clear();
    try {
      if (this.paused) {
        this.paused = false;
        control.resumeCheckpoints();
      }
      await control.rollback(`escalation: ${reason}`, lost);
    } finally {
      this.escalating = false;
    }
  }
}
