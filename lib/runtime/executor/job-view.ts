/**
 * The view of a job that the parts of its coordinator share (`executor.ts` builds it once and hands it to
 * each): the plan, the workers, where each task runs and whether it is dead, whether the job ended, the
 * job clock, its events, and failing it. The arrays are the coordinator's own and change in place, so a
 * part sees a lost worker or a moved task at once, as the coordinator does.
 */
import type { JobEventDetails, JobEventType } from '../events.js';
import type { PhysicalPlan } from '../plan.js';
import type { WorkerCommands } from '../worker-api.js';

/** What every part of the coordinator reads of the job. */
export interface JobView {
  /** The physical plan. */
  readonly plan: PhysicalPlan;
  /** The workers, by index; null where one is gone. */
  readonly links: (WorkerCommands | null)[];
  /** Task id → worker index, as placed now. */
  readonly placement: number[];
  /** Whether task `taskId` is dead (failed, and not replaced yet). */
  isDead(taskId: number): boolean;
  /** Whether the job ended (stopped, finished or failed): nothing more is started. */
  ended(): boolean;
  /** Milliseconds on the job clock. */
  clock(): number;
  /** Records a job event and tells listeners. */
  event<K extends JobEventType>(type: K, details: JobEventDetails[K]): void;
  /** Fails the job for good. */
  failJob(error: unknown): void;
}
