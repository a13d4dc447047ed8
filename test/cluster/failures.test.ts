import test from 'ava';
import { ExactlyOnceLostError, type JobEvent } from '../../lib/index.js';
import { buildClusterJob, checkSums, CLUSTER_JOBS, type ClusterJobArgs, type SumRecord } from './jobs.js';
import { assertRecoveredExactlyOnce, runCluster } from '../helpers/cluster.js';
import { jobDirectory } from '../helpers/jobs.js';
import { CheckpointStore } from '../../lib/state/checkpoint-store.js';

// Worker processes that really die: SIGKILL (the socket closes), SIGSTOP (missed heartbeats), several at
// once, one during another's replay, and the worker that holds only standbys. Every run is checked twice:
// against an oracle replay of its final traces, and by `checkSums`, which shares no code with the runtime.

const COUNT = 20_000;

function eventsOf<K extends JobEvent['type']>(events: readonly JobEvent[], type: K): Extract<JobEvent, { type: K }>[] {
  return events.filter((e): e is Extract<JobEvent, { type: K }> => e.type === type);
}

test.serial('a SIGKILLed worker: its socket closes, every task on it fails in one group, and standbys in the other processes take over exactly once', async (t) => {
  const run = await runCluster(t, 'sums', { workers: 3, faults: [{ task: 'sum[0]', afterMs: 600 }] });
  assertRecoveredExactlyOnce(t, run);
  t.deepEqual(checkSums(run.records as SumRecord[], COUNT), []);
  const killed = eventsOf(run.events, 'worker-killed')[0]!;
  const lost = eventsOf(run.events, 'worker-lost')[0]!;
  t.is(lost.worker, killed.worker);
  t.true(lost.detectedBy === 'connection closed' || lost.detectedBy === 'process exit', lost.detectedBy);
  t.true(lost.detectionMs !== null && lost.detectionMs >= 0, 'the detection time is measured from the kill');
  const failed = eventsOf(run.events, 'task-failed');
  t.deepEqual(failed.map((e) => e.task).sort(), [...killed.tasks].sort(), 'exactly the tasks of the killed worker failed');
  t.true(new Set(failed.map((e) => e.group)).size === 1, 'in one failure group');
  for (const activated of eventsOf(run.events, 'standby-activated')) t.is(activated.state, 'standby', `${activated.task} took over from its standby`);
});

test.serial("the worker holding a task's standby dies: the task lives on, gets a new standby elsewhere, and its own worker's later death still recovers from a standby, exactly once", async (t) => {
  const probe = buildClusterJob({ job: 'sums', options: { parallelism: 2, recovery: { mode: 'exactly-once', dsd: 'auto' } } }).job;
  const placement = probe.placement(3)!;
  const plan = probe.plan();
  const guarded = plan.tasks.find((task) => task.name === 'sum[0]')!.id;
  const standbyWorker = placement.standbys[guarded]!;
  t.not(standbyWorker, placement.tasks[guarded], 'anti-affinity: the standby lives on another worker than its task');
  const run = await runCluster(t, 'sums', { workers: 3, faults: [{ task: `worker-${standbyWorker}`, afterMs: 400 }, { task: 'sum[0]', afterMs: 1200 }] });
  assertRecoveredExactlyOnce(t, run, 2);
  t.deepEqual(checkSums(run.records as SumRecord[], COUNT), []);
  const lost = eventsOf(run.events, 'worker-lost');
  const failed = eventsOf(run.events, 'task-failed');
  const firstGroup = failed.filter((e) => e.t < lost[1]!.t);
  t.false(firstGroup.some((e) => e.task === 'sum[0]'), 'sum[0] did not fail with its standby');
  const secondGroup = failed.filter((e) => e.t >= lost[1]!.t);
  t.true(secondGroup.some((e) => e.task === 'sum[0]'), 'sum[0] failed with its own worker');
  const activated = eventsOf(run.events, 'standby-activated').filter((e) => e.task === 'sum[0]');
  t.is(activated.at(-1)?.state, 'standby', 'the new standby took over');
});

test.serial('two workers, one SIGKILLed: the survivor activates the standbys and holds no standby of its own tasks; once the lost worker is back every task has its standby there, and the survivor\'s death recovers from them exactly once', async (t) => {
  let secondKill: NodeJS.Timeout | null = null;
  // What the coordinator read from the checkpoint store, and when: a replacement that activates its standby
  // needs nothing from it (the standby's worker gives its positions), so its chain is never merged for it.
  const marks: string[] = [];
  const restore = CheckpointStore.prototype.restore;
  CheckpointStore.prototype.restore = function (this: CheckpointStore, taskId: number) {
    marks.push(`restore ${taskId}`);
    return restore.call(this, taskId);
  };
  t.teardown(() => {
    CheckpointStore.prototype.restore = restore;
  });
  let survivorStandbys: number[] | null = null;
  const run = await runCluster(t, 'sums', {
    workers: 2,
    rate: 20_000,
    // 8 s of input: the respawn and the kill 400 ms after it fall inside the job on a loaded machine too (with
    // 5 s, runs beside four other test files, two of them with worker processes, ended before the kill, 1 in 3).
    count: 160_000,
    faults: [{ task: 'worker-0', afterMs: 600 }],
    arm: (handle) =>
      handle.onEvent((event) => {
        marks.push(event.type);
        if (event.type === 'recovery-finished' && survivorStandbys === null) {
          survivorStandbys = [];
          void handle.executor.taskFigures().then((figures) => {
            survivorStandbys = figures.filter((f) => f.worker === 1).flatMap((f) => f.standbys.map((s) => s.taskId));
          });
        }
        // The respawned worker receives its standbys right after this event; kill the survivor once they are there.
        if (event.type === 'worker-respawned' && secondKill === null) secondKill = setTimeout(() => handle.kill('worker-1'), 400);
      }),
  });
  t.not(secondKill, null, 'worker-0 was respawned');
  t.deepEqual(survivorStandbys, [], 'while worker-0 was down, the survivor held no standby (one there would die with its task)');
  const rounds = marks.slice(marks.indexOf('task-failed'), marks.indexOf('standby-activated'));
  t.deepEqual(rounds.filter((m) => m.startsWith('restore')), [], 'no chain was merged between the failure and the activations');
  assertRecoveredExactlyOnce(t, run, 2);
  t.deepEqual(checkSums(run.records as SumRecord[], 100_000), []);
  const [first, second] = eventsOf(run.events, 'worker-killed');
  t.is(first!.worker, 0);
  t.is(second?.worker, 1, 'the survivor was killed second');
  // Every task ran on the survivor by then, and their standbys were all on the respawned worker-0.
  t.deepEqual([...second!.standbys], [], 'the survivor held no standby of its own tasks');
  t.is(second!.tasks.length, first!.tasks.length + first!.standbys.length, 'the survivor ran every task');
  const afterSecond = eventsOf(run.events, 'standby-activated').filter((e) => e.t > second!.t);
  t.is(afterSecond.length, second!.tasks.length, 'every task of the survivor was replaced');
  for (const activated of eventsOf(run.events, 'standby-activated')) t.is(activated.state, 'standby', `${activated.task} took over from its standby`);
});

test.serial('two workers SIGKILLed in one instant, within the sharing depth (full sharing): one group, recovered exactly once', async (t) => {
  const run = await runCluster(t, 'sums', { workers: 3, faults: [{ task: ['worker-0', 'worker-1'], afterMs: 600 }], job: { recovery: { mode: 'exactly-once', dsd: -1 } } });
  assertRecoveredExactlyOnce(t, run, 2);
  t.deepEqual(checkSums(run.records as SumRecord[], COUNT), []);
  t.is(new Set(eventsOf(run.events, 'task-failed').map((e) => e.group)).size, 1, 'the tasks of both workers failed as one group');
});

test.serial('two workers SIGKILLed in one instant beyond the sharing depth (dsd 1, adjacent stages on them): the escalation is visible, never silent', async (t) => {
  const options = { parallelism: 2, recovery: { mode: 'exactly-once' as const, dsd: 1, checkpointIntervalMs: 1000 } };
  const probe = buildClusterJob({ job: 'chain', options }).job;
  const placement = probe.placement(3)!;
  const plan = probe.plan();
  // The pair of workers whose deaths take a task and every consumer of it: its log is gone (dsd 1).
  const consumers = (id: number): number[] => plan.tasks[id]!.outputs.flat().map((c) => plan.channels[c]!.to);
  let pair: [number, number] | null = null;
  for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as [number, number][]) {
    const dead = (id: number): boolean => placement.tasks[id] === a || placement.tasks[id] === b;
    if (plan.tasks.some((task) => dead(task.id) && consumers(task.id).length > 0 && consumers(task.id).every(dead))) pair = [a, b];
  }
  t.not(pair, null, `two workers holding a task and all its consumers (${probe.describePlan(3).join('; ')})`);
  // With onEscalation 'fail' the job stops rather than show regenerated records twice.
  const directory = jobDirectory(t);
  const args: ClusterJobArgs = { job: 'chain', options: { ...options, directory, stallTimeoutMs: 20_000 } };
  const built = buildClusterJob(args);
  const handle = await built.job.start({ faults: [{ task: pair!.map((w) => `worker-${w}`), afterMs: 700 }], workers: { count: 3, module: CLUSTER_JOBS, export: 'buildClusterJob', args } });
  const error = await t.throwsAsync(handle.done);
  t.true(error instanceof ExactlyOnceLostError || (error as { code?: string }).code === 'EXACTLY_ONCE_LOST', `stopped with ExactlyOnceLostError: ${error?.message}`);
  const events = handle.events();
  t.true(events.some((e) => e.type === 'escalated' || e.type === 'failed'), 'the escalation is an event');
  // With onEscalation 'rollback' it rolls back and says which sinks showed records at least once.
  const run = await runCluster(t, 'chain', {
    workers: 3,
    noOracle: true,
    faults: [{ task: pair!.map((w) => `worker-${w}`), afterMs: 700 }],
    job: { recovery: { ...options.recovery, onEscalation: 'rollback' } },
  });
  t.true(run.result.escalations >= 1, 'recovery escalated to a global rollback');
  t.true(eventsOf(run.events, 'rollback-started').length >= 1);
  t.is(run.result.guarantee.kind, 'at-least-once', 'the job reports the guarantee it kept');
  t.true(eventsOf(run.events, 'guarantee-degraded').length >= 1, 'a guarantee-degraded event says so');
});

test.serial('a worker killed while another worker replays a replacement: the replacement fails anew and the job still ends exactly once', async (t) => {
  let second: string | null = null;
  const run = await runCluster(t, 'sums', {
    workers: 3,
    rate: 20_000,
    count: 40_000,
    job: { recovery: { mode: 'exactly-once', dsd: -1, checkpointIntervalMs: 1500 } },
    faults: [{ task: 'sum[0]', afterMs: 1400 }],
    arm: (handle) =>
      handle.onEvent((event) => {
        if (second !== null || event.type !== 'replay-started') return;
        // The replacement's worker dies in the middle of its replay.
        second = event.task;
        handle.kill(event.task);
      }),
  });
  t.not(second, null, 'a replay started');
  const live = run.events.findIndex((e) => e.type === 'live' && e.task === second);
  const lost = run.events.map((e, i) => (e.type === 'worker-lost' ? i : -1)).filter((i) => i >= 0);
  t.true(lost.length >= 2, 'two workers were lost');
  t.true(live < 0 || lost[1]! < live, `the second worker died before ${second} went live`);
  assertRecoveredExactlyOnce(t, run, 2);
  t.deepEqual(checkSums(run.records as SumRecord[], 40_000), []);
});

test.serial('a hung worker (SIGSTOP) is caught by missed heartbeats, SIGKILLed for good, and its tasks recover exactly once', async (t) => {
  let stopped: number | null = null;
  const run = await runCluster(t, 'sums', {
    workers: 2,
    workerOptions: { heartbeatTimeoutMs: 400 },
    arm: (handle) => {
      setTimeout(() => {
        stopped = handle.workerPids()[1] ?? null;
        if (stopped !== null) process.kill(stopped, 'SIGSTOP');
      }, 500);
    },
  });
  t.not(stopped, null);
  const lost = eventsOf(run.events, 'worker-lost')[0]!;
  t.is(lost.detectedBy, 'heartbeat timeout');
  t.true(lost.detectionMs !== null && lost.detectionMs >= 400, `silent for ${lost.detectionMs} ms before it was declared hung`);
  assertRecoveredExactlyOnce(t, run);
  t.deepEqual(checkSums(run.records as SumRecord[], COUNT), []);
  t.throws(() => process.kill(stopped!, 0), undefined, 'the hung process was killed');
});

test.serial('every worker dies, one after another, while recoveries overlap: the replacements wait for a new process, and the job still ends exactly once', async (t) => {
  // Concurrent rounds place a producer on a worker that dies before the round is applied: its consumer
  // must read on from the producer's next replacement (found by this scenario: a stall before the fix).
  const run = await runCluster(t, 'chain', {
    workers: 3,
    count: 16_000,
    rate: 8000,
    job: { recovery: { mode: 'exactly-once', dsd: -1, checkpointIntervalMs: 100 } },
    faults: [
      { task: 'worker-0', afterMs: 425 },
      { task: 'worker-2', afterMs: 1050 },
      { task: 'worker-1', afterMs: 1099 },
    ],
  });
  assertRecoveredExactlyOnce(t, run, 3);
  t.true(eventsOf(run.events, 'worker-respawned').length >= 1, 'a new process took over');
});
