/**
 * Recovery strategies: one interface, one implementation per mode. A strategy decides what tasks do
 * while healthy (its {@link StrategyFeatures}) and what happens when tasks fail (`recover`). The
 * task code asks the features, never the mode, so adding a mode touches no task code.
 */
import type { RecoveryMode } from '../api/config.js';
import type { SinkMode } from '../operators/sink.js';
import type { Task, TaskFeatures } from '../runtime/task.js';
import type { JobEventDetails, JobEventType } from '../runtime/events.js';

/** What a strategy asks of healthy tasks. */
export interface StrategyFeatures extends TaskFeatures {
  /** How sinks make output visible. */
  readonly sinkMode: SinkMode;
  /** Standbys to keep per task. */
  readonly standbys: number;
  /** Causal logging: the sharing depth, and whether to keep every epoch (the verifier's oracle); null for none. */
  readonly causal: { readonly dsd: number; readonly retainAll: boolean } | null;
  /** Whether failed tasks are replaced by standbys (local recovery). */
  readonly local: boolean;
}

/** What a strategy may do to a job when tasks fail (implemented by the executor). */
export interface RecoveryRuntime {
  /** Fails the job for good. */
  failJob(error: unknown): void;
  /** Stops every task and restarts the job from its latest completed checkpoint (or from scratch). */
  rollbackToLatestCheckpoint(reason: string): Promise<void>;
  /** Replaces failed tasks by their standbys while the rest of the job runs (see `local-recovery.ts`). */
  recoverLocally(failed: readonly Task[], cause: unknown): Promise<void>;
  /** Records a recovery event. */
  event<K extends JobEventType>(type: K, details: JobEventDetails[K]): void;
}

/** A recovery mode. */
export interface RecoveryStrategy {
  /** The mode this strategy implements. */
  readonly mode: RecoveryMode;
  /** What healthy tasks do. */
  readonly features: StrategyFeatures;
  /** Called with tasks that died (already stopped); resolves when the job runs again. */
  recover(runtime: RecoveryRuntime, failed: readonly Task[], cause: unknown): Promise<void>;
}
