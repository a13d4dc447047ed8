/** Mode `none`: no checkpoints; a failed task fails the job with a clear error. */
import { JobFailedError } from '../errors.js';
import type { JobControl } from '../runtime/job-control.js';
import type { RecoveryStrategy, StrategyFeatures } from '../runtime/strategy.js';

/** No fault tolerance. */
export class NoRecovery implements RecoveryStrategy {
  readonly mode = 'none' as const;
  readonly features: StrategyFeatures = { checkpoints: false, inflightLog: false, dedup: false, sinkMode: 'immediate', standbys: 0, causal: null, local: false };

  async recover(control: JobControl, failed: readonly number[], cause: unknown): Promise<void> {
    const names = failed.map((id) => control.plan.tasks[id]!.name).join(', ');
    const reason = cause instanceof Error ? cause.message : String(cause);
    control.failJob(new JobFailedError(`task ${names} failed and recovery mode is "none": ${reason}. Set recovery.mode to recover from failures.`, cause, { tasks: names }));
  }
}
