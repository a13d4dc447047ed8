/**
 * The port through which recovery acts on a job: everything a strategy does to the rest of the job goes
 * through here. The coordinator implements it (`lib/runtime/executor.ts`), with plain calls to the one
 * worker of the embedded runtime, or RPCs to worker processes. A strategy never touches a task, a channel
 * or a worker itself, so one strategy serves both.
 */
import type { EpochSegment } from '../../determinants/replica.js';
import type { JobEventDetails, JobEventType } from './events.js';
import type { PhysicalPlan } from './plan.js';
import type { ReplacementReport } from './worker-api.js';

/** A replacement for a failed task, as recovery decided it. */
export interface ReplacementSpec {
  /** Task id. */
  taskId: number;
  /** The longest copy of its log from the checkpoint on (exactly-once; possibly empty), or null (at-least-once). */
  replay: EpochSegment[] | null;
  /** With retained traces (verification): its trace before the checkpoint, which its new log continues. */
  history: EpochSegment[] | null;
  /** Without determinants, a sink task whose sinks showed output since the checkpoint: shown after it (I35). */
  showAfterVisible?: boolean;
}

/** What recovery may do to a job. */
export interface JobControl {
  /** The physical plan. */
  readonly plan: PhysicalPlan;
  /** Whether tasks record determinants that recovery can replay (exactly-once with a sharing depth). */
  readonly causal: boolean;
  /** Whether every determinant is kept (verification): replacements continue whole traces. */
  readonly retainAll: boolean;
  /** Milliseconds on the job clock. */
  clock(): number;
  /** Records an event. */
  event<K extends JobEventType>(type: K, details: JobEventDetails[K]): void;
  /** Fails the job for good. */
  failJob(error: unknown): void;

  /** Stops checkpoint triggering and abandons the checkpoint in flight; resolves once nothing is completing. */
  pauseCheckpoints(): Promise<void>;
  /** Resumes checkpoint triggering. */
  resumeCheckpoints(): void;
  /** The latest completed checkpoint, or -1. */
  latestCheckpoint(): number;

  /** Whether task `taskId` is dead (and not replaced yet). */
  isDead(taskId: number): boolean;
  /** Every determinant envelope stored by the job's sink partitions, from epoch `fromEpoch` on. */
  sinkDeterminants(fromEpoch: number): Promise<Uint8Array[]>;
  /** For each of `taskIds`: the copies of its log from `fromEpoch` that live tasks hold (longest per worker). */
  collectCopies(taskIds: readonly number[], fromEpoch: number): Promise<Map<number, EpochSegment[][]>>;
  /** With retained traces: a failed task's trace before epoch `beforeEpoch`. */
  historyOf(taskId: number, beforeEpoch: number): Promise<EpochSegment[]>;

  /**
   * One round of local recovery: every channel of the `replacements`' tasks is wired anew, each is created
   * from its standby (or the checkpoint store) on a worker other than the one it failed on where possible,
   * live producers replay their in-flight logs into it and live consumers read from it. Returns, per
   * replacement, where its state came from and what its log will consume.
   */
  replace(replacements: readonly ReplacementSpec[]): Promise<ReplacementReport[]>;
  /** The current incarnation of channel `index`. */
  incarnationOf(index: number): number;
  /** What the consumer of channel `index` holds from incarnations before `before` (-1 when it is dead). */
  holdings(index: number, before: number): Promise<number>;
  /** The replacement `taskId` passed the orphan check: it goes live. */
  goLive(taskId: number): void;
  /** Builds a new standby for `taskId` from the checkpoint store, on another worker than the task's. */
  addStandby(taskId: number): void;

  /**
   * A global rollback from the latest checkpoint. With `lost` (an escalation, I16), tasks that neither lost
   * their log nor consume from one that did replay their own logs; the rest decide anew.
   */
  rollback(reason: string, lost: ReadonlySet<number> | null): Promise<void>;
  /**
   * Without determinants: `failed` are replaced from `checkpoint` and decide anew (the guarantee may degrade,
   * I23). Returns the sink tasks, failed or downstream, that showed output since the checkpoint.
   */
  regenerated(failed: ReadonlySet<number>, checkpoint: number): Promise<ReadonlySet<number>>;
}
