import test from 'ava';
import { lastJsonLine, runCli } from '../helpers/cli.js';
import { ProcessFleet } from '../../lib/cluster/process-fleet.js';
import { verifyJobFile } from '../../lib/index.js';
import { verifyBuiltIn, WORKER_PACE } from '../../lib/verify/chaos.js';
import { VERIFY_JOBS } from '../../lib/verify/jobs.js';
import { jsonSafe } from '../../lib/verify/worker-jobs.js';
import type { RunSettings } from '../../lib/verify/run.js';

// `verify --workers N`: the run's job in real worker processes, SIGKILLed at seeded moments; the oracle
// replays embedded, the witness checks every record. Seeds are fixed and printed; the checkpoint interval
// is verify's default (40 ms), so checkpoints complete, abort and compact while workers die.

const CONTRACT = ['verify', 'runs', 'failuresInjected', 'violations', 'escalations', 'failedSeeds'];
/** Its two runs each kill two workers in one instant: `random-sampling` worker-0 and worker-1 at 1316 ms, `call-keyed-totals-p1-chained` worker-2 and worker-0 at 1329 ms. */
const CLI_SEED = 20261122;

test.serial(`verify --workers 3 --json: two built-in jobs in worker processes, workers SIGKILLed at seeded moments, no violation, the witness checks every record and finds nothing (seed ${CLI_SEED})`, async (t) => {
  const args = ['verify', '--workers', '3', '--runs', '2', '--seed', String(CLI_SEED), '--jobs', 'random-sampling,call-keyed-totals-p1-chained', '--json'];
  const { code, stdout, stderr } = await runCli(args, { timeoutMs: 110_000 });
  t.log(stderr.split(/\r|\n/).filter((line) => line.startsWith('run ')).join('\n'));
  t.is(code, 0, stderr);
  const last = lastJsonLine(stdout);
  for (const field of CONTRACT) t.true(field in last, field);
  t.like(last, { verify: 'chaos', runs: 2, workers: 3, failuresInjected: 4, violations: 0, escalations: 0, failedSeeds: [], oracleFailures: 0, exactlyOnceLost: 0 });
  t.true(last.workerKills.killed >= 2, `worker kills made: ${JSON.stringify(last.workerKills)}`);
  t.true(last.workerKills.together >= 1, 'two workers died in one instant');
  t.true(last.tasksFailed >= 4, `tasks failed: ${last.tasksFailed}`);
  t.is(last.recoveries, last.tasksFailed, 'every failed task was replaced by a standby');
  t.is(last.witness.records, last.records, 'the witness checked every record');
  t.is(last.witness.problems, 0);
  t.regex(stderr, /killed worker-0@1316ms \(fresh\), worker-1@1316ms \(standby-together\)/, 'the kill list names the workers, moments and patterns');
});

/** Half the pace of jobs in worker processes: for tests whose moment comes only once a respawned worker is up. */
const SLOWER_PACE = WORKER_PACE / 2;

/** Settings of a scenario: `kills` instead of seeded ones, everything else as `verify --workers 3`. */
const scenario = (kills: RunSettings['kills']): RunSettings => ({ failures: 0, mode: 'exactly-once', dsd: -1, checkpointIntervalMs: 40, onEscalation: 'fail', workers: 3, kills });

test.serial('two workers SIGKILLed in one instant, with tasks and standbys of each other: their tasks fail as one group and recover exactly once, from the survivor and the checkpoint store (random-sampling, worker-0 and worker-2 at 700 ms)', async (t) => {
  // worker-0 holds numbers[0], rank[0] and the standby of sample[0]; worker-2 holds sample[0], sample[1] and the standby of rank[0].
  const spec = VERIFY_JOBS.find((j) => j.name === 'random-sampling')!;
  const report = await verifyBuiltIn(spec, 0, 0, scenario([{ task: ['worker-0', 'worker-2'], afterMs: 700 }]));
  t.log(`${report.kills.join(', ')}: ${report.recoveries} recoveries, ${report.records} records; ${report.reason ?? 'exactly-once'}`);
  t.false(report.violation, report.reason);
  t.deepEqual(report.events.flatMap((e) => (e.type === 'worker-killed' ? [e.worker] : [])).sort(), [0, 2]);
  const failed = report.events.filter((e) => e.type === 'task-failed');
  t.true(failed.length >= 4, `tasks failed: ${failed.map((e) => e.task).join(', ')}`);
  t.is(new Set(failed.map((e) => e.group)).size, 1, 'one failure group');
  t.like(report.workerKills, { killed: 2, together: 1 });
  t.true(report.workerKills!.standbyOfFailing >= 1, 'a standby of a dying task died with it');
  t.true(report.comparison.identical!, 'the output equals the oracle replay');
  t.is(report.witness!.problems, 0);
  t.is(report.witness!.records, report.records);
});

test.serial('I32: global rollback in worker processes, two workers SIGKILLed one after another: the oracle follows every task\'s whole trace, though no determinant was shipped and the killed processes took their logs (processing-time-windows, worker-1 at 300 ms, worker-2 at 700 ms)', async (t) => {
  // Before I32 the oracle could not replay such a run (`oracle replay failed in windows[0]: recorded TIMER …`).
  const spec = VERIFY_JOBS.find((j) => j.name === 'processing-time-windows')!;
  const report = await verifyBuiltIn(spec, 0, 0, { ...scenario([{ task: ['worker-1'], afterMs: 300 }, { task: ['worker-2'], afterMs: 700 }]), mode: 'global-rollback' });
  t.log(`${report.kills.join(', ')}: ${report.recoveries} recoveries, ${report.records} records; ${report.reason ?? 'exactly-once'}`);
  t.false(report.violation, report.reason);
  t.true(report.recoveries >= 2, `recoveries: ${report.recoveries}`);
  t.true(report.comparison.identical!, 'the output equals the oracle replay');
  t.is(report.witness!.problems, 0);
  t.is(report.witness!.records, report.records);
});

test.serial('a worker SIGKILLed while it holds the replacement of a task lost with another worker, and that task\'s consumer: recovered exactly once, no orphan found in what the new consumer took from the replacement (call-keyed-totals-p2-chained, worker-2 at 271 ms, worker-1 at 702 ms: the kills of seed 16)', async (t) => {
  // worker-2 holds call[0] and call[1]; call[1]'s replacement goes to worker-1, which holds totals[1] (its consumer, with the sink).
  const spec = VERIFY_JOBS.find((j) => j.name === 'call-keyed-totals-p2-chained')!;
  const report = await verifyBuiltIn(spec, 0, 16, scenario([{ task: ['worker-2'], afterMs: 271 }, { task: ['worker-1'], afterMs: 702 }]));
  t.log(`${report.kills.join(', ')}: ${report.recoveries} recoveries, ${report.escalations} escalations, ${report.records} records; ${report.reason ?? 'exactly-once'}`);
  t.false(report.violation, report.reason);
  t.is(report.escalations, 0);
  const second = report.events.find((e) => e.type === 'worker-killed' && e.worker === 1);
  t.true(second !== undefined && second.type === 'worker-killed' && second.tasks.includes('call[1]') && second.tasks.includes('totals[1]'), `the second kill hit: ${JSON.stringify(second)}`);
  t.is(report.records, 2400);
  t.is(report.witness!.problems, 0);
});

test.serial('a worker SIGKILLed while a respawned worker connects to its peers: the respawn stands, both workers come back, the run is exactly once (timers, worker-0 at 400 ms, worker-1 as the new worker-0 connects)', async (t) => {
  // The moment cannot be timed from outside (seed 19 of `verify --workers 3` hit it on a loaded machine):
  // the coordinator's fleet kills worker-1 as the respawn of worker-0 starts connecting the peers.
  const fleet = ProcessFleet.prototype as unknown as { connectPeers(): Promise<void>; respawn(worker: number): Promise<unknown>; kill(worker: number): void };
  const { connectPeers, respawn } = fleet;
  let armed = false;
  let killedAsPeersConnect = false;
  fleet.respawn = function (this: typeof fleet, worker) {
    if (worker === 0) armed = true;
    return respawn.call(this, worker);
  };
  fleet.connectPeers = async function (this: typeof fleet) {
    if (armed) {
      armed = false;
      killedAsPeersConnect = true;
      this.kill(1);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return connectPeers.call(this);
  };
  t.teardown(() => Object.assign(fleet, { connectPeers, respawn }));
  const spec = VERIFY_JOBS.find((j) => j.name === 'timers')!;
  // At the usual pace of worker processes the job (about 2 s) ended before worker-0's new process was up on a loaded
  // machine (CI, several times, three attempts in a row once): then worker-1 is killed as the job shuts down, or not
  // at all, and the moment this test is about never came. The job runs at half that pace (about 4 s), and the run
  // is still made again, up to three times, if it ends first all the same.
  const lossesOf = (r: { events: readonly { type: string }[] }): string[] =>
    r.events.flatMap((e) => (e.type === 'worker-lost' || e.type === 'worker-respawned' ? [`${e.type}(${(e as unknown as { worker: number }).worker})`] : []));
  let report = await verifyBuiltIn(spec, 0, 0, scenario([{ task: ['worker-0'], afterMs: 400 }]), SLOWER_PACE);
  for (let attempt = 2; !lossesOf(report).includes('worker-lost(1)') && attempt <= 3; attempt++) {
    t.log(`worker-1 was not lost while the job ran (${lossesOf(report).join(', ')}); attempt ${attempt}`);
    armed = false;
    killedAsPeersConnect = false;
    report = await verifyBuiltIn(spec, 0, 0, scenario([{ task: ['worker-0'], afterMs: 400 }]), SLOWER_PACE);
  }
  t.true(killedAsPeersConnect, 'worker-1 was killed as the new worker-0 connected to its peers');
  const workerEvents = lossesOf(report);
  t.log(`${workerEvents.join(', ')}: ${report.recoveries} recoveries, ${report.records} records; ${report.reason ?? 'exactly-once'}`);
  t.false(report.violation, report.reason);
  t.deepEqual(workerEvents.filter((e) => e.startsWith('worker-lost')).sort(), ['worker-lost(0)', 'worker-lost(1)']);
  // The respawn the kill interrupted stands. Worker-1's own respawn comes too, unless the job (short) finished
  // first, which a loaded machine makes happen: then it never had to come back.
  const respawned = workerEvents.filter((e) => e.startsWith('worker-respawned')).sort();
  const finishedFirst = !respawned.includes('worker-respawned(1)') && report.events.some((e) => e.type === 'finished');
  if (finishedFirst) t.log('the job finished before worker-1 was respawned');
  t.deepEqual(respawned, finishedFirst ? ['worker-respawned(0)'] : ['worker-respawned(0)', 'worker-respawned(1)']);
  t.is(report.witness!.problems, 0);
});

test.serial('a peer lost as a respawned worker connects, noticed only after the connecting failed: the respawn still stands, and the run is exactly once (timers, worker-1 noticed 300 ms late)', async (t) => {
  // The CI run of 2190e2e: worker-0's new process failed to reach the SIGKILLed worker-1 before the coordinator
  // had noticed worker-1's loss; the respawn was retried on a worker that had joined, and the job failed with
  // "worker-0 is alive: only a lost worker is respawned". Here the notice of worker-1's loss comes 300 ms late.
  const fleet = ProcessFleet.prototype as unknown as {
    connectPeers(): Promise<void>;
    respawn(worker: number): Promise<unknown>;
    kill(worker: number): void;
    lost(slot: { index: number }, ...rest: unknown[]): void;
  };
  const { connectPeers, respawn, lost } = fleet;
  let armed = false;
  let delayed = 0;
  fleet.respawn = function (this: typeof fleet, worker) {
    if (worker === 0) armed = true;
    return respawn.call(this, worker);
  };
  fleet.connectPeers = async function (this: typeof fleet & { slots: { child: { once(event: 'exit', listener: () => void): void } | null }[] }) {
    if (armed) {
      armed = false;
      // Worker-1 is dead (its process exited) before worker-0 dials it, so the dial fails for sure.
      const exited = new Promise<void>((resolve) => this.slots[1]!.child!.once('exit', () => resolve()));
      this.kill(1);
      await exited;
    }
    return connectPeers.call(this);
  };
  // Every notice of worker-1's first loss (its exit, its closed connection) comes 300 ms late.
  let late = false;
  fleet.lost = function (this: typeof fleet, slot, ...rest) {
    if (slot.index !== 1 || late) return lost.call(this, slot, ...rest);
    delayed++;
    setTimeout(() => {
      late = true;
      lost.call(this, slot, ...rest);
    }, 300);
  };
  t.teardown(() => Object.assign(fleet, { connectPeers, respawn, lost }));
  const spec = VERIFY_JOBS.find((j) => j.name === 'timers')!;
  const losses = (r: { events: readonly { type: string }[] }): string[] => r.events.flatMap((e) => (e.type === 'worker-lost' ? [`worker-lost(${(e as unknown as { worker: number }).worker})`] : []));
  let report = await verifyBuiltIn(spec, 0, 0, scenario([{ task: ['worker-0'], afterMs: 400 }]), SLOWER_PACE);
  // As above: on a loaded machine the job may end before worker-0's new process is up, hence the slower pace.
  for (let attempt = 2; !losses(report).includes('worker-lost(1)') && attempt <= 3; attempt++) {
    armed = false;
    delayed = 0;
    late = false;
    report = await verifyBuiltIn(spec, 0, 0, scenario([{ task: ['worker-0'], afterMs: 400 }]), SLOWER_PACE);
  }
  t.true(delayed >= 1, "worker-1's loss was noticed late");
  t.false(report.violation, report.reason);
  t.deepEqual(losses(report).sort(), ['worker-lost(0)', 'worker-lost(1)']);
  t.true(report.events.some((e) => e.type === 'worker-respawned' && (e as unknown as { worker: number }).worker === 0), 'the respawn of worker-0 stands');
  t.is(report.witness!.problems, 0);
});

/** Its one run kills two workers of the example job in one instant. */
const JOB_SEED = 20261123;

test.serial(`verify --job with --workers: worker processes import the job file and call its build with the (JSON) options; the example recovers exactly once (seed ${JOB_SEED})`, async (t) => {
  const result = await verifyJobFile('docs/examples/verify-job.ts', { runs: 1, seed: JOB_SEED, failures: 2, mode: 'exactly-once', dsd: -1, checkpointIntervalMs: 40, workers: 3 });
  t.like(result, { runs: 1, workers: 3, failuresInjected: 2, violations: 0, oracleFailures: 0, jobFile: 'docs/examples/verify-job.ts', witness: null });
  t.true(result.workerKills!.killed >= 1, JSON.stringify(result.workerKills));
  t.is(result.records, 3000);
});

test('options that do not survive JSON cannot go to worker processes: refused with the field named', (t) => {
  t.deepEqual(jsonSafe('options', { a: 1, b: { c: 'x', d: [1, null] } }), { a: 1, b: { c: 'x', d: [1, null] } });
  t.throws(() => jsonSafe('options', { errors: { deadLetter: { write() {} } } }), { message: /options\.errors\.deadLetter\.write does not survive JSON/ });
  t.throws(() => jsonSafe('options', { at: new Date(0) }), { message: /options\.at/ });
  t.throws(() => jsonSafe('options', { n: Number.NaN }), { message: /options\.n/ });
});

test('bad --workers values exit non-zero with a one-line reason, and --help documents the flag', async (t) => {
  for (const value of ['0', 'abc', '1.5', '65']) {
    const { code, stderr } = await runCli(['verify', '--workers', value, '--runs', '1']);
    t.not(code, 0, value);
    const [reason, ...rest] = stderr.trim().split('\n');
    t.regex(reason!, /--workers <n>.*expected a number of worker processes from 1 to 64/, value);
    t.deepEqual(rest, ['(run with --help for usage)'], `one line of reason for ${value}, then the usage hint`);
  }
  const { code, stdout } = await runCli(['verify', '--help']);
  t.is(code, 0);
  t.regex(stdout.replace(/\s+/g, ' '), /--workers <n> run every job in n worker processes \(1 to 64\) and make each kill a SIGKILL of a worker/);
});
