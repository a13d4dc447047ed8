/**
 * Recovery strategies: one interface, one implementation per mode. A strategy decides what tasks do
 * while healthy (its {@link StrategyFeatures}) and what happens when tasks fail (`recover`), acting only
 * through the {@link JobControl} port. The task code asks the features, never the mode, so adding a mode
 * touches no task code.
 */
import type { RecoveryMode } from '../config.js';
import type { SinkMode } from './sink-operator.js';
import type { TaskFeatures } from './task.js';
import type { SinkProgress } from './worker-api.js';
import type { JobControl } from './job-control.js';

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

/** A recovery mode. */
export interface RecoveryStrategy {
  /** The mode this strategy implements. */
  readonly mode: RecoveryMode;
  /** What healthy tasks do. */
  readonly features: StrategyFeatures;
  /** Called with tasks that died together (already stopped); resolves when the job runs again. */
  recover(control: JobControl, failed: readonly number[], cause: unknown): Promise<void>;
  /**
   * A replacement's log ran out: `regenerated` is, per output channel in plan order, the last sequence
   * number it regenerated; `sinks` what its sink partitions show against what it regenerated (I14).
   */
  logEnded?(control: JobControl, taskId: number, regenerated: readonly number[], sinks: readonly SinkProgress[], records: number): void;
}
