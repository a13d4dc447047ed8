/**
 * The local-recovery modes: a failed task is replaced by its standby, upstream tasks replay their
 * in-flight logs into it, and downstream tasks drop what they already have by sequence number. Sinks
 * deduplicate by output index, so output is visible at once.
 *
 * - `exactly-once`: the full causal protocol. Every nondeterministic event is a determinant, shipped
 *   downstream within the sharing depth; the standby replays them and regenerates exactly what the
 *   failed task produced. When they are gone, recovery escalates to a global rollback.
 * - `at-least-once`: the same without determinants. Nothing is lost and nothing is shown twice by
 *   sequence number, but a nondeterministic operator may regenerate different records than the ones
 *   downstream already has: the output is no longer that of one execution.
 */
import type { Task } from '../runtime/task.js';
import type { RecoveryRuntime, RecoveryStrategy, StrategyFeatures } from './strategy.js';

/** Standby replacement, with or without causal logging. */
export class LocalRecoveryStrategy implements RecoveryStrategy {
  readonly features: StrategyFeatures;

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

  async recover(runtime: RecoveryRuntime, failed: readonly Task[], cause: unknown): Promise<void> {
    await runtime.recoverLocally(failed, cause);
  }
}
