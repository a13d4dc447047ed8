/**
 * The oracle "mode", for verification only: every task replays a given determinant trace from the
 * start of the job, with no checkpoints and no failures. The output is what the traced execution must
 * have produced; the verifier compares it with the output of the real, failure-ridden run.
 */
import { JobFailedError } from '../errors.js';
import type { JobControl } from '../runtime/job-control.js';
import type { RecoveryStrategy, StrategyFeatures } from '../runtime/strategy.js';

/** Replays traces; a failure is an error of the verifier's own making. */
export class OracleReplay implements RecoveryStrategy {
  readonly mode = 'exactly-once' as const;
  readonly features: StrategyFeatures = {
    checkpoints: false,
    inflightLog: false,
    dedup: true,
    sinkMode: 'deduplicating',
    standbys: 0,
    causal: { dsd: 0, retainAll: true },
    local: false,
  };

  async recover(control: JobControl, failed: readonly number[], cause: unknown): Promise<void> {
    control.failJob(new JobFailedError(`oracle replay failed in ${failed.map((id) => control.plan.tasks[id]!.name).join(', ')}: ${cause instanceof Error ? cause.message : String(cause)}`, cause));
  }
}
