/**
 * The recovery timeline fold: fed the events of a local recovery of two tasks that died in one instant,
 * of an escalation, and of a global rollback, it reaches each step in order and says how each ended.
 */
import test from 'ava';
import type { JobEvent } from '../../lib/runtime/events.js';
import { RecoveryTimelines } from '../../lib/observe/recovery-timeline.js';

const local: JobEvent[] = [
  { t: 100, type: 'task-failed', task: 'a[0]', cause: 'killed', group: 1, worker: 0, detectedBy: 'connection closed', detectionMs: 12 },
  { t: 100, type: 'task-failed', task: 'b[0]', cause: 'killed', group: 1, worker: 0, detectedBy: 'connection closed', detectionMs: 12 },
  { t: 150, type: 'standby-activated', task: 'a[0]', checkpoint: 3, state: 'standby', replayEntries: 40, replayBytes: 900 },
  { t: 151, type: 'standby-activated', task: 'b[0]', checkpoint: 3, state: 'standby', replayEntries: 10, replayBytes: 200 },
  { t: 160, type: 'replay-started', task: 'a[0]', entries: 40 },
  { t: 161, type: 'replay-started', task: 'b[0]', entries: 10 },
  { t: 180, type: 'replay-finished', task: 'b[0]', entries: 10, records: 300, replayMs: 19 },
  { t: 181, type: 'live', task: 'b[0]', replayMs: 20, entries: 10, records: 300 },
  { t: 190, type: 'replay-finished', task: 'a[0]', entries: 40, records: 1200, replayMs: 30 },
  { t: 191, type: 'live', task: 'a[0]', replayMs: 31, entries: 40, records: 1200 },
  { t: 191, type: 'recovery-finished' } as JobEvent,
];

test('a local recovery of two tasks of one failure group: one timeline, every step in order, then live', (t) => {
  const timelines = new RecoveryTimelines();
  for (const event of local.slice(0, 6)) timelines.add(event);
  timelines.replayProgress('a[0]', 25);
  t.is(timelines.all.length, 1, 'tasks that died in one instant recover together (I25)');
  const [timeline] = timelines.all;
  t.is(timeline!.outcome, 'recovering');
  t.is(timeline!.tasks.find((x) => x.task === 'a[0]')!.replayedEntries, 25, 'replay progress from the task figures');
  for (const event of local.slice(6)) timelines.add(event);
  t.is(timeline!.outcome, 'live');
  t.is(timeline!.endedAt, 191);
  const a = timeline!.tasks.find((x) => x.task === 'a[0]')!;
  t.deepEqual(a.steps, { detected: 100, 'standby-activated': 150, 'determinants-collected': 160, replayed: 190, live: 191 });
  t.is(a.replayedEntries, 40);
  t.is(a.detectedBy, 'connection closed');
  t.is(a.detectionMs, 12);
});

test('a replacement with nothing to replay goes live without replay events: its timeline still reaches every step', (t) => {
  const timelines = new RecoveryTimelines();
  timelines.add({ t: 10, type: 'task-failed', task: 's[0]', cause: 'killed', group: 1 });
  timelines.add({ t: 30, type: 'standby-activated', task: 's[0]', checkpoint: 2, state: 'standby', replayEntries: 0, replayBytes: 0 });
  timelines.add({ t: 31, type: 'live', task: 's[0]', replayMs: 0, entries: 0, records: 0 });
  t.deepEqual(timelines.all[0]!.tasks[0]!.steps, { detected: 10, 'standby-activated': 30, 'determinants-collected': 31, replayed: 31, live: 31 });
  t.is(timelines.all[0]!.tasks[0]!.replayEntries, 0);
});

test('an escalation says why, and the rollback that follows ends the timeline as rolled back', (t) => {
  const timelines = new RecoveryTimelines();
  timelines.add({ t: 10, type: 'task-failed', task: 'a[0]', cause: 'killed', group: 4 });
  timelines.add({ t: 12, type: 'escalated', reason: 'determinants of a[0] lost with b[0]', lost: ['a[0]'] });
  timelines.add({ t: 13, type: 'rollback-started', reason: 'escalation', checkpoint: 2, abortedCheckpoint: 3 });
  const [timeline] = timelines.all;
  t.is(timeline!.outcome, 'escalated');
  t.is(timeline!.escalationReason, 'determinants of a[0] lost with b[0]');
  timelines.add({ t: 90, type: 'rollback-finished', checkpoint: 2, tasks: 4, durationMs: 77 });
  t.is(timeline!.outcome, 'rolled-back');
  t.is(timeline!.rollbackCheckpoint, 2);
  t.is(timeline!.tasks[0]!.steps.live, 90);
  // A later failure opens a new timeline; the ended one is left alone.
  timelines.add({ t: 200, type: 'task-failed', task: 'a[0]', cause: 'killed', group: 5 });
  t.is(timelines.all.length, 2);
  t.is(timelines.all[1]!.outcome, 'recovering');
});

test('the global rollback of mode global-rollback is a recovery, not an escalation', (t) => {
  const timelines = new RecoveryTimelines();
  timelines.add({ t: 10, type: 'task-failed', task: 'a[0]', cause: 'killed', group: 1 });
  timelines.add({ t: 11, type: 'rollback-started', reason: 'task failed', checkpoint: 5, abortedCheckpoint: 6 });
  t.is(timelines.all[0]!.outcome, 'recovering');
  timelines.add({ t: 60, type: 'rollback-finished', checkpoint: 5, tasks: 4, durationMs: 49 });
  t.is(timelines.all[0]!.outcome, 'rolled-back');
  t.is(timelines.all[0]!.escalationReason, null);
});
