/**
 * The intake of task failures, as the coordinator hears of them (a worker's report, a lost worker, a
 * replacement lost with its worker during a round): which failures recovery can help with, and the
 * batches it gets them in.
 *
 * - A failure that is not a `CausalflowError` is a bug of the runtime: the job fails, naming the task.
 * - The same operator failure repeating with no checkpoint completing in between is a poison record:
 *   recovery would loop forever on it, so the job fails. Injected kills never count.
 * - Failures noticed in one go (one instant, before the next microtask) form one failure group, handed to
 *   the strategy together, so that adjacent replacements are wired to each other. Under a global rollback,
 *   failures during a recovery are covered by it.
 */
import { CausalflowError, JobFailedError, TaskKilledError } from '../../errors.js';
import type { RecoveryStrategy } from '../strategy.js';
import type { CheckpointController } from './checkpoint-controller.js';
import type { JobMetrics } from './job-metrics.js';
import type { JobView } from './job-view.js';
import type { WorkerLoss } from './worker-supervisor.js';

/** An operator failure repeating this often with no checkpoint in between fails the job (a poison record). */
const MAX_REPEATED_FAILURES = 3;

/** What the intake needs from the coordinator besides the {@link JobView}. */
export interface FailureIntakeHost extends JobView {
  /** The recovery mode (`global-rollback` covers failures during a recovery). */
  readonly mode: RecoveryStrategy['mode'];
  /** Completed checkpoints (a failure repeating across one is not a poison record). */
  readonly checkpoints: CheckpointController;
  /** Counts recoveries. */
  readonly metrics: JobMetrics;
  /** Whether `taskId` is being moved back to its first worker (I33); true once per move. */
  movedBack(taskId: number): boolean;
  /** Task `taskId` is dead from now on (a finished task no longer counts as finished). */
  markDead(taskId: number): void;
  /** Hands a failure group to the recovery strategy. */
  recover(taskIds: readonly number[], cause: unknown): Promise<void>;
}

/** Takes in task failures and hands them to recovery in groups. */
export class FailureIntake {
  /** The recovery in progress, if any. */
  private recovering: Promise<void> | null = null;
  private lastFailure: { signature: string; checkpoint: number; count: number } | null = null;
  private pendingFailures: { taskId: number; cause: unknown }[] = [];
  /** Failures noticed in one instant form a group, recovered together (numbered from 1). */
  private failureGroups = 0;

  constructor(private readonly host: FailureIntakeHost) {}

  /** Task `taskId` failed with `cause` (`loss`: its worker was lost, and how that was noticed). */
  taskDied(taskId: number, cause: unknown, loss: WorkerLoss | null = null): void {
    const host = this.host;
    if (host.ended() || host.isDead(taskId)) return;
    if (!(cause instanceof CausalflowError)) {
      host.failJob(new JobFailedError(`internal error in task ${host.plan.tasks[taskId]!.name}: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`, cause));
      return;
    }
    if (this.repeatsWithoutProgress(cause)) {
      host.failJob(
        new JobFailedError(`the same failure happened ${MAX_REPEATED_FAILURES} times in a row without a checkpoint completing in between, so retrying cannot help: ${cause.message}`, cause),
      );
      return;
    }
    // A move kills its tasks in their process: any other cause (their worker died meanwhile) is a failure.
    const move = host.movedBack(taskId) && cause instanceof TaskKilledError;
    host.markDead(taskId);
    if (this.pendingFailures.length === 0) this.failureGroups++;
    host.event('task-failed', { task: host.plan.tasks[taskId]!.name, cause: cause.message, group: this.failureGroups, ...(loss ?? {}), ...(move ? { move: true as const } : {}) });
    if (this.recovering && host.mode === 'global-rollback') return;
    if (move) host.metrics.moves++;
    else host.metrics.recoveries++;
    // Failures noticed in one go are recovered together, so that adjacent replacements are wired to each other.
    this.pendingFailures.push({ taskId, cause });
    if (this.pendingFailures.length === 1) queueMicrotask(() => this.recoverPending());
  }

  private recoverPending(): void {
    const batch = this.pendingFailures;
    this.pendingFailures = [];
    if (batch.length === 0 || this.host.ended()) return;
    const cause = batch.find((f) => !(f.cause instanceof TaskKilledError))?.cause ?? batch[0]!.cause;
    const recovery: Promise<void> = this.host
      .recover(
        batch.map((f) => f.taskId),
        cause,
      )
      .then(
        () => {
          if (this.recovering === recovery) this.recovering = null;
        },
        (error: unknown) => this.host.failJob(error),
      );
    this.recovering = recovery;
  }

  /**
   * Whether `cause` is an operator failure that keeps repeating with no checkpoint completing in
   * between (a poison record): recovery would loop forever on it. Injected kills never count.
   */
  private repeatsWithoutProgress(cause: unknown): boolean {
    // By code: a failure in a worker process arrives as a RemoteTaskError carrying the operator's code.
    if (!(cause instanceof CausalflowError) || cause.code !== 'OPERATOR_FAILED') return false;
    const signature = cause.message;
    const latest = this.host.checkpoints.stats?.latest ?? 0;
    if (this.lastFailure && this.lastFailure.signature === signature && this.lastFailure.checkpoint === latest) {
      this.lastFailure.count++;
    } else {
      this.lastFailure = { signature, checkpoint: latest, count: 1 };
    }
    return this.lastFailure.count >= MAX_REPEATED_FAILURES;
  }
}
