/**
 * The events a job reports while it runs: lifecycle, checkpoints, failures and every step of a recovery.
 * `JobEvent` is a discriminated union on `type`; {@link JobEventDetails} maps each type to its fields, so
 * an emitter that forgets a field, or a consumer that switches on a type that does not exist, fails to
 * compile.
 *
 * ```ts
 * handle.onEvent((event) => {
 *   if (event.type === 'live') console.log(`${event.task} live after ${event.replayMs} ms`);
 * });
 * ```
 */
import type { RecoveryMode } from '../config.js';
import type { Guarantee } from './guarantee.js';

/** What a task was waiting for when the job stalled (see the `stalled` event). */
export interface TaskWait {
  /** Task name. */
  task: string;
  /** `running`, `finished` or `dead`. */
  status: string;
  /** What it waits for, in words: "input from numbers[1] (channel 3, last seq 511)", "credit on …", "an async operator's promise", … */
  waitingFor: string;
}

/** The fields of each event type, besides `t` and `type`. */
export interface JobEventDetails {
  /** The job started its tasks. */
  started: { tasks: number; mode: RecoveryMode; dsd: number | null; workers: number; resumedFrom?: number };
  /** A worker process was SIGKILLed (fault injection): the tasks and standbys it held. */
  'worker-killed': { worker: number; tasks: string[]; standbys: string[] };
  /**
   * A worker process is gone: how that was noticed, and how long after the kill (for a kill the job made)
   * or after its last sign of life (a missed heartbeat); null when neither is known (it crashed).
   */
  'worker-lost': { worker: number; detectedBy: 'connection closed' | 'process exit' | 'heartbeat timeout'; detectionMs: number | null; tasks: string[] };
  /**
   * A connection to the coordinator was refused (wrong secret, wrong peer) or failed on a frame that did
   * not pass its checks: the job goes on; a worker whose control connection failed is lost.
   */
  'transport-warning': { event: string; message: string; code: string | null };
  /** A new process took the lost worker's place (it holds no task until placement gives it some). */
  'worker-respawned': { worker: number; ms: number };
  /** The coordinator asked the sources to inject barrier `id`. */
  'checkpoint-triggered': { id: number };
  /** Every task acknowledged checkpoint `id`; its snapshots are being persisted. */
  'checkpoint-acknowledged': { id: number; bytes: number };
  /** Checkpoint `id` is durable and complete. */
  checkpoint: { id: number; durationMs: number; bytes: number };
  /** Checkpoint `id` was abandoned (a task failed before acknowledging it). */
  'checkpoint-aborted': { id: number };
  /** A kill was scheduled (fault injection). */
  'kill-scheduled': { task: string; afterMs?: number; afterRecords?: number };
  /**
   * Tasks first placed on `worker`, which its loss had moved onto the survivors, move back to its new process
   * (`workers.rebalance`): they fail on the survivors now, in one group, and their standbys on `worker`, which
   * hold checkpoint `checkpoint`, take over (I33).
   */
  'tasks-moving': { worker: number; checkpoint: number; tasks: string[] };
  /**
   * A task died. Tasks that died in one instant share `group`, and are recovered together. `move`: it did not
   * fail, it moves back to its first worker (`workers.rebalance`, I33), and counts in `moves`, not `recoveries`.
   */
  'task-failed': { task: string; cause: string; group: number; worker?: number; detectedBy?: string; detectionMs?: number | null; move?: true };
  /** A failed task's standby took over its state. */
  'standby-activated': { task: string; checkpoint: number; state: string; replayEntries: number; replayBytes: number };
  /** The replacement started replaying its determinants. */
  'replay-started': { task: string; entries: number };
  /** The replacement replayed its whole log. */
  'replay-finished': { task: string; entries: number; records: number; replayMs: number };
  /** The replacement passed the orphan check and went live (I14). */
  live: { task: string; replayMs: number; entries: number; records: number };
  /** Every replacement is live; checkpoints resume. */
  'recovery-finished': Record<string, never>;
  /** Local recovery gave up: determinants were lost or could not be followed (I16). */
  escalated: { reason: string; lost: string[] };
  /** A global rollback restarts every task from `checkpoint`. */
  'rollback-started': { reason: string; checkpoint: number; abortedCheckpoint: number; replayingOwnLogs?: string[] };
  /** Every task restarted. */
  'rollback-finished': { checkpoint: number; tasks: number; durationMs: number };
  /**
   * The job can no longer promise exactly-once on some sinks: a rollback regenerates output those sinks had
   * already shown. From here the result's guarantee says what was kept.
   */
  'guarantee-degraded': { guarantee: Guarantee };
  /** Nothing progressed for the stall timeout while tasks were unfinished: what each task waits for. */
  stalled: { idleMs: number; waiting: TaskWait[] };
  /** `setInterval` callbacks captured by `causal()` were still active when the task's input ended; they were stopped. */
  'timers-cancelled': { task: string; intervals: number };
  /** Every input of a task ended and it flushed its output. */
  'task-finished': { task: string };
  /** Every task finished. */
  finished: Record<string, never>;
  /** The job was stopped (`handle.stop()`, Ctrl-C). */
  stopped: { reason: string };
  /** The job failed for good. */
  failed: { error: string; code: string };
}

/** The type of a {@link JobEvent}. */
export type JobEventType = keyof JobEventDetails;

/** A recovery or lifecycle event: `t` is job-clock ms, `type` says which, and the rest depends on it. */
export type JobEvent = { [K in JobEventType]: { t: number; type: K } & JobEventDetails[K] }[JobEventType];

/** The event of one type. */
export type JobEventOf<K extends JobEventType> = Extract<JobEvent, { type: K }>;

/** The task an event is about, if it is about one. */
export function eventTask(event: JobEvent): string | undefined {
  return 'task' in event ? event.task : undefined;
}
