/**
 * The recovery timeline of each failure, folded from the job's events as they arrive: detected → standby
 * activated → determinants collected → replay → live, or escalated (and why) → rolled back. One timeline
 * per failure group (tasks that died in one instant recover together, I25); a global rollback is one
 * timeline too. The fold is pure bookkeeping over {@link JobEvent}s, so the dashboard and the metrics read
 * the same steps, and a test can feed it a recorded event log.
 */
import type { JobEvent } from '../runtime/events.js';

/** The steps of a recovery, in order. */
export const RECOVERY_STEPS = ['detected', 'standby-activated', 'determinants-collected', 'replayed', 'live'] as const;

/** A step of a recovery. */
export type RecoveryStep = (typeof RECOVERY_STEPS)[number];

/** How one task of a recovery got on. */
export interface TaskRecovery {
  /** Task name. */
  task: string;
  /** Job-clock ms of each step reached, by step. */
  steps: Partial<Record<RecoveryStep, number>>;
  /** Determinant entries to replay (known once the replay started). */
  replayEntries: number | null;
  /** Entries replayed so far (from the task's figures while it replays; the total once it finished). */
  replayedEntries: number;
  /** Records it replayed (once finished). */
  replayedRecords: number | null;
  /** How the failure was noticed (worker processes: connection closed, process exit, heartbeat timeout). */
  detectedBy: string | null;
  /** From the kill (or last sign of life) until detection, when known. */
  detectionMs: number | null;
}

/** The recovery of one failure group. */
export interface RecoveryTimeline {
  /** Failure group (tasks that died in one instant). */
  group: number;
  /** Job-clock ms the first failure was reported. */
  startedAt: number;
  /** `recovering`, `live` (every task live), `escalated` (a rollback follows), `rolled-back` (the rollback finished). */
  outcome: 'recovering' | 'live' | 'escalated' | 'rolled-back';
  /** Why local recovery gave up, when it did. */
  escalationReason: string | null;
  /** When it ended (every task live, or the rollback finished), job-clock ms; null while recovering. */
  endedAt: number | null;
  /** The tasks that failed and what each went through. */
  tasks: TaskRecovery[];
  /** With a global rollback: the checkpoint restored. */
  rollbackCheckpoint: number | null;
  /** Its tasks did not fail: they moved back to their respawned first worker (`workers.rebalance`, I33). */
  move: boolean;
}

/** Folds job events into recovery timelines. */
export class RecoveryTimelines {
  /** Every recovery, oldest first. */
  readonly all: RecoveryTimeline[] = [];
  private readonly byGroup = new Map<number, RecoveryTimeline>();

  /** Takes one event. */
  add(event: JobEvent): void {
    switch (event.type) {
      case 'task-failed': {
        let timeline = this.byGroup.get(event.group);
        if (!timeline) {
          timeline = { group: event.group, startedAt: event.t, outcome: 'recovering', escalationReason: null, endedAt: null, tasks: [], rollbackCheckpoint: null, move: event.move === true };
          this.byGroup.set(event.group, timeline);
          this.all.push(timeline);
        }
        timeline.tasks.push({
          task: event.task,
          steps: { detected: event.t },
          replayEntries: null,
          replayedEntries: 0,
          replayedRecords: null,
          detectedBy: event.detectedBy ?? null,
          detectionMs: event.detectionMs ?? null,
        });
        return;
      }
      case 'standby-activated':
        this.step(event.task, 'standby-activated', event.t);
        return;
      case 'replay-started': {
        const task = this.step(event.task, 'determinants-collected', event.t);
        if (task) task.replayEntries = event.entries;
        return;
      }
      case 'replay-finished': {
        const task = this.step(event.task, 'replayed', event.t);
        if (task) {
          task.replayedEntries = event.entries;
          task.replayEntries ??= event.entries;
          task.replayedRecords = event.records;
        }
        return;
      }
      case 'live': {
        const task = this.latestOf(event.task);
        if (!task) return;
        // A replacement with nothing to replay (a source whose log was empty) reports no replay events:
        // going live is when its determinants were collected and replayed, all none of them.
        for (const step of RECOVERY_STEPS) task.steps[step] ??= event.t;
        task.replayEntries ??= event.entries;
        task.replayedEntries = Math.max(task.replayedEntries, event.entries);
        if (task.replayedRecords === null) task.replayedRecords = event.records;
        return;
      }
      case 'recovery-finished':
        for (const timeline of this.open()) {
          timeline.outcome = 'live';
          timeline.endedAt = event.t;
        }
        return;
      case 'escalated':
        for (const timeline of this.open()) {
          timeline.outcome = 'escalated';
          timeline.escalationReason = event.reason;
        }
        return;
      case 'rollback-started':
        // Global rollback is the mode's recovery, or what an escalation led to (the escalation said why).
        for (const timeline of this.open(true)) timeline.rollbackCheckpoint = event.checkpoint;
        return;
      case 'rollback-finished':
        for (const timeline of this.open(true)) {
          timeline.outcome = 'rolled-back';
          timeline.endedAt = event.t;
          for (const task of timeline.tasks) task.steps.live ??= event.t;
        }
        return;
      default:
        return;
    }
  }

  /** A replaying task's figures: entries replayed so far (the progress bar). */
  replayProgress(taskName: string, entriesRead: number): void {
    const task = this.latestOf(taskName);
    if (task && task.steps.replayed === undefined) task.replayedEntries = Math.max(task.replayedEntries, entriesRead);
  }

  /** Recoveries still going on (with `escalated`, those escalated and not rolled back yet too). */
  private open(escalated = false): RecoveryTimeline[] {
    return this.all.filter((t) => t.endedAt === null && (t.outcome === 'recovering' || (escalated && t.outcome === 'escalated')));
  }

  private step(taskName: string, step: RecoveryStep, t: number): TaskRecovery | null {
    const task = this.latestOf(taskName);
    if (task) task.steps[step] ??= t;
    return task;
  }

  /** The latest open recovery's record of `taskName`. */
  private latestOf(taskName: string): TaskRecovery | null {
    for (let i = this.all.length - 1; i >= 0; i--) {
      const timeline = this.all[i]!;
      if (timeline.endedAt !== null) continue;
      const task = timeline.tasks.find((x) => x.task === taskName);
      if (task) return task;
    }
    return null;
  }
}
