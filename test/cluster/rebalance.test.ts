import test from 'ava';
import type { JobEvent } from '../../lib/index.js';
import { RecoveryTimelines } from '../../lib/observe/recovery-timeline.js';
import { checkSums, type SumRecord } from './jobs.js';
import { assertRecoveredExactlyOnce, runCluster } from '../helpers/cluster.js';

// `workers.rebalance`: once a SIGKILLed worker's new process is up and its standbys hold a checkpoint, the
// tasks first placed on it move back from the survivor (I33). Each run is checked against an oracle replay
// of its traces and by `checkSums`, which shares no code with the runtime.

function eventsOf<K extends JobEvent['type']>(events: readonly JobEvent[], type: K): Extract<JobEvent, { type: K }>[] {
  return events.filter((e): e is Extract<JobEvent, { type: K }> => e.type === type);
}

test.serial('with rebalance, the tasks of a SIGKILLed worker move back to its new process once their standbys there hold a checkpoint: every task runs where it was first placed again, and the output is exactly once (sums, worker-0 at 600 ms)', async (t) => {
  let placementAfterMove: Map<string, number> | null = null;
  const run = await runCluster(t, 'sums', {
    workers: 2,
    rate: 20_000,
    count: 120_000,
    faults: [{ task: 'worker-0', afterMs: 600 }],
    workerOptions: { rebalance: true },
    arm: (handle) => {
      let moving = false;
      handle.onEvent((event) => {
        if (event.type === 'tasks-moving') moving = true;
        if (event.type === 'recovery-finished' && moving && placementAfterMove === null) {
          placementAfterMove = new Map();
          void handle.executor.taskFigures().then((workers) => {
            for (const worker of workers) for (const task of worker.tasks) placementAfterMove!.set(handle.taskNames()[task.taskId]!, worker.worker);
          });
        }
      });
    },
  });
  assertRecoveredExactlyOnce(t, run, 1);
  t.deepEqual(checkSums(run.records as SumRecord[], 120_000), [], 'every record once, with the running sum it had');
  const killed = eventsOf(run.events, 'worker-killed')[0]!;
  const respawned = eventsOf(run.events, 'worker-respawned')[0];
  t.truthy(respawned, 'worker-0 was respawned');
  const moves = eventsOf(run.events, 'tasks-moving');
  t.is(moves.length, 1, 'one move back');
  const move = moves[0]!;
  t.is(move.worker, 0);
  t.true(move.t > respawned!.t, 'after the respawn');
  t.deepEqual([...move.tasks].sort(), [...killed.tasks].sort(), 'exactly the tasks the kill took from worker-0');
  // The move fails those tasks on the survivor in one group, and their standbys on worker-0 take over.
  const failedByMove = eventsOf(run.events, 'task-failed').filter((e) => e.t >= move.t);
  t.deepEqual(failedByMove.map((e) => e.task).sort(), [...killed.tasks].sort());
  t.is(new Set(failedByMove.map((e) => e.group)).size, 1, 'in one failure group');
  for (const e of failedByMove) t.true(e.move, `${e.task}'s failure is marked as a move`);
  t.is(run.result.moves, killed.tasks.length, 'each moved task counts as a move');
  t.is(run.result.recoveries, killed.tasks.length, 'only the kill counts as recoveries');
  const timelines = new RecoveryTimelines();
  for (const event of run.events) timelines.add(event);
  t.deepEqual(
    timelines.all.map((timeline) => [timeline.outcome, timeline.move]),
    [
      ['live', false],
      ['live', true],
    ],
    'the dashboard and the metrics see the kill as a failure, the move as a move',
  );
  const activated = eventsOf(run.events, 'standby-activated').filter((e) => e.t >= move.t);
  t.deepEqual(activated.map((e) => e.task).sort(), [...killed.tasks].sort());
  for (const a of activated) t.is(a.state, 'standby', `${a.task} took over from its standby on worker-0`);
  t.not(placementAfterMove, null, 'the recovery of the move finished');
  for (const task of killed.tasks) t.is(placementAfterMove!.get(task), 0, `${task} runs on worker-0 again`);
});

test.serial('without rebalance (the default), the survivor keeps the tasks it took over and the new process holds standbys only', async (t) => {
  // The new process starts only once the recovery is over, and starting it (compiling the job module) takes
  // a second or two on a loaded machine: the job runs 6 s, as the test above, so that it is still running
  // when the process joins. With 3 s, CI saw the job end first, and no respawn to check.
  const run = await runCluster(t, 'sums', { workers: 2, rate: 20_000, count: 120_000, faults: [{ task: 'worker-0', afterMs: 600 }] });
  assertRecoveredExactlyOnce(t, run, 1);
  t.deepEqual(checkSums(run.records as SumRecord[], 120_000), []);
  t.truthy(eventsOf(run.events, 'worker-respawned')[0], 'worker-0 was respawned');
  t.deepEqual(eventsOf(run.events, 'tasks-moving'), [], 'nothing moved');
  t.is(run.result.moves, 0);
  t.is(eventsOf(run.events, 'task-failed').length, eventsOf(run.events, 'worker-killed')[0]!.tasks.length, 'only the kill failed tasks');
});
