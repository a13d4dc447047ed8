/**
 * What a recovery benchmark reads off a run's events: when each kill happened, how long until the
 * failure was detected, and how long until the job had taken over (as `../shared/contracts.md` defines
 * `detectionMs` and `takeoverMs`).
 *
 * - The kill: with worker processes the `worker-killed` event (the coordinator SIGKILLs the process right
 *   after it); embedded, the `task-failed` event, which the kill emits in the same call.
 * - `detectionMs`: with worker processes the `detectionMs` of the `worker-lost` events of the kill (the
 *   fleet measures it from its SIGKILL to the closed socket or exit it noticed), the longest when one kill
 *   took several workers; embedded 0 (the kill and the failure report are one call).
 * - `takeoverMs`: from the kill to the first `recovery-finished` (every replacement live) or
 *   `rollback-finished` (every task restarted) after it.
 */
import type { JobEvent } from '../lib/index.js';
import { round } from './harness.js';

/** Events less than this far apart (ms) are one kill: kills scheduled for one moment. */
const SAME_KILL_MS = 50;

/** One kill, as the events of the run show it. */
export interface KillRecord {
  /** Job-clock ms of the kill. */
  killAt: number;
  /** Kill to failure detected (ms), or null when nothing was detected. */
  detectionMs: number | null;
  /** Kill to every replacement live or every task restarted (ms), or null when that never happened. */
  takeoverMs: number | null;
  /** Worker processes lost to the kill (empty embedded). */
  workers: number[];
}

/** Groups times less than {@link SAME_KILL_MS} apart; returns the first of each group. */
function groupTimes(times: readonly number[]): number[] {
  const distinct: number[] = [];
  for (const t of [...times].sort((a, b) => a - b)) if (distinct.length === 0 || t - distinct[distinct.length - 1]! > SAME_KILL_MS) distinct.push(t);
  return distinct;
}

/**
 * When each group of kills actually happened (failure events less than 50 ms apart are one group, as
 * kills scheduled for one moment are), falling back to the distinct scheduled times.
 */
export function failureTimes(events: readonly JobEvent[], scheduled: readonly number[]): number[] {
  const failed = groupTimes(events.filter((e) => e.type === 'task-failed').map((e) => e.t));
  const planned = groupTimes(scheduled);
  return failed.length === planned.length ? failed : planned;
}

/**
 * The kills of a run: with worker processes from its `worker-killed` events, embedded from its
 * `task-failed` events (see {@link failureTimes}), each with its detection and takeover.
 */
export function killsOf(events: readonly JobEvent[], scheduled: readonly number[], workers: number): KillRecord[] {
  const planned = groupTimes(scheduled);
  const killedAt = groupTimes(events.filter((e) => e.type === 'worker-killed').map((e) => e.t));
  const times = workers > 0 ? (killedAt.length === planned.length ? killedAt : planned) : failureTimes(events, scheduled);
  return times.map((killAt, i) => {
    const until = times[i + 1] ?? Infinity;
    const within = events.filter((e) => e.t >= killAt - SAME_KILL_MS && e.t < until);
    const lost = within.filter((e): e is Extract<JobEvent, { type: 'worker-lost' }> => e.type === 'worker-lost');
    const failed = within.some((e) => e.type === 'task-failed');
    let detectionMs: number | null = null;
    if (workers > 0) {
      if (lost.length > 0 && lost.every((e) => e.detectionMs !== null)) detectionMs = round(Math.max(...lost.map((e) => e.detectionMs!)));
    } else if (failed) {
      detectionMs = 0;
    }
    const finished = events.find((e) => e.t >= killAt && (e.type === 'recovery-finished' || e.type === 'rollback-finished'));
    return { killAt: round(killAt), detectionMs, takeoverMs: finished ? round(finished.t - killAt) : null, workers: lost.map((e) => e.worker) };
  });
}

/** The largest of `values`, or null when any is null (a figure missing for one kill is missing for the run). */
export function worstOf(values: readonly (number | null)[]): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return Math.max(...(values as number[]));
}

/** Event types that mark a run's timeline (kills, detection, each step of a recovery). */
export const MARK_TYPES: ReadonlySet<string> = new Set([
  'worker-killed',
  'worker-lost',
  'worker-respawned',
  'task-failed',
  'standby-activated',
  'live',
  'recovery-finished',
  'rollback-started',
  'rollback-finished',
  'escalated',
]);
