/**
 * What a task offers the operators of its chain: identity, causal services, keyed state, the
 * current watermark, and ways to report late records and errors.
 */
import type { CausalServices } from '../causal/services.js';
import type { CausalRecorder } from '../causal/recorder.js';
import type { StateBackend } from '../state/backend.js';

/** A task as its operators see it. */
export interface TaskContext {
  /** Job-wide task id. */
  readonly taskId: number;
  /** Display name, e.g. `window[2]`. */
  readonly taskName: string;
  /** Index of this parallel instance. */
  readonly subtask: number;
  /** Number of parallel instances of the task's vertex. */
  readonly parallelism: number;
  /** Clock, randomness and external calls. */
  readonly services: CausalServices;
  /** Combined watermark of the task's inputs (−Infinity before the first). */
  readonly watermark: number;
  /** The keyed state backend of operator `operatorName` (created on first use). */
  stateBackend(operatorName: string): StateBackend;
  /** Asks to be woken at wall-clock time `wallMs` to fire processing-time timers. */
  wakeAt(wallMs: number): void;
  /** Counts records dropped because they arrived after their window fired. */
  countLate(operatorName: string, count: number): void;
  /**
   * Hands an operator's failure on a record to the job's error policy: returns to skip the record
   * (dead-letter policy) or throws to fail the task.
   */
  operatorFailed(operatorName: string, record: unknown, error: unknown): void;
  /** Ingest time of the input being processed (job-clock ms), for latency accounting. */
  readonly ingestTime: number;
  /** Where the task's determinants go: the causal log under exactly-once recovery, else a `LiveClock` (records nothing). */
  readonly recorder: CausalRecorder;
}
