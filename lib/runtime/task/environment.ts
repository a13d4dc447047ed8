/**
 * What a task needs from the worker that hosts it (`TaskEnvironment`), what fault tolerance asks of it
 * (`TaskFeatures`), and its lifecycle (`TaskStatus`). Types only: the parts of a task (this folder) and
 * the worker (`worker-host.ts`) meet here, and `task.ts` re-exports them.
 */
import type { InflightSpillStore } from '../../inflight/spill.js';
import type { ChunkRetention } from '../../inflight/retention.js';
import type { StateBackend } from '../../state/backend.js';
import type { TaskSnapshot } from '../../state/snapshot.js';
import type { Task } from '../task.js';

/** What fault tolerance asks of tasks (decided by the recovery strategy). */
export interface TaskFeatures {
  /** Whether checkpoints are taken. */
  readonly checkpoints: boolean;
  /** Whether output channels keep an in-flight log. */
  readonly inflightLog: boolean;
  /** Whether inputs drop elements already consumed (by sequence number). */
  readonly dedup: boolean;
}

/** What a task needs from the executor. */
export interface TaskEnvironment {
  /** Fault-tolerance features. */
  readonly features: TaskFeatures;
  /** Milliseconds on the job clock. */
  clock(): number;
  /** Asks the scheduler to run `task` soon. */
  markRunnable(task: Task): void;
  /** Runs `task` now if the scheduler is between slices (an async operator's promise settled), else soon. */
  resume(task: Task): void;
  /** Asks the scheduler to run `task` at job-clock time `jobMs`. */
  wakeAt(task: Task, jobMs: number): void;
  /** The task took its snapshot for `checkpointId`. */
  acknowledge(task: Task, checkpointId: number, snapshot: TaskSnapshot): void;
  /** Whether checkpoint `checkpointId` was abandoned (a replaying task may re-take one; a live task may meet its barrier). */
  checkpointAbandoned(checkpointId: number): boolean;
  /** Checkpoints after `epoch` that were abandoned, oldest first. */
  abortedAfter(epoch: number): number[];
  /** Every input ended and the task flushed its output. */
  finished(task: Task): void;
  /** `intervals` setInterval callbacks registered inside `causal()` were still active at the end of input, and were stopped. */
  timersCancelled(task: Task, intervals: number): void;
  /** The task's replayed log ran out, before it decided anything live (see `LocalRecovery.logEnded`). */
  replayLogEnded(task: Task): void;
  /**
   * The task replayed its whole log: may it go live? False means "not yet" (ask again shortly); an
   * orphan throws {@link RecoveryEscalationError}.
   */
  replayFinished(task: Task): boolean;
  /** Creates the keyed state backend of one operator of `task`. */
  createStateBackend(task: Task, operatorName: string): StateBackend;
  /** Counts records dropped as late. */
  countLate(task: Task, operatorName: string, count: number): void;
  /** How to handle a record an operator threw on; returns normally to skip the record. */
  operatorFailed(task: Task, operatorName: string, record: unknown, error: unknown): void;
  /** Where in-flight logs spill; null for no spilling. */
  readonly inflightSpill: InflightSpillStore | null;
  /** Records a task's in-flight logs may hold in memory. */
  readonly inflightMaxRecords: number;
  /** What in-flight logs keep of a complete chunk (`inflightRetention`). */
  readonly inflightRetention: ChunkRetention;
}

/** Lifecycle of a task. */
export type TaskStatus = 'running' | 'finished' | 'dead';
