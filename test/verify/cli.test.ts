import test from 'ava';
import { lastJsonLine, runCli } from '../helpers/cli.js';
import { verifyJobFile } from '../../lib/index.js';

// `causalflow verify` as users and CI drive it: the JSON contract of ../shared/contracts.md on the last
// line of stdout, exit 0 only without violations, a one-line reason on bad arguments.

const SEED = 20261121;
const CONTRACT = ['verify', 'runs', 'failuresInjected', 'violations', 'escalations', 'failedSeeds'];

test(`verify --json on the built-in jobs: the contract fields on the last line, exit 0, the witness checked every record (seed ${SEED})`, async (t) => {
  const { code, stdout, stderr } = await runCli(['verify', '--runs', '2', '--seed', String(SEED), '--json'], { timeoutMs: 90_000 });
  t.is(code, 0, stderr);
  const last = lastJsonLine(stdout);
  for (const field of CONTRACT) t.true(field in last, field);
  t.like(last, { verify: 'chaos', runs: 2, violations: 0, escalations: 0, failedSeeds: [], jobFile: null, onEscalation: 'fail', workers: 0, workerKills: null });
  t.is(last.witness.records, last.records);
  t.regex(stderr, /run 2\/2 /, 'progress goes to stderr');
});

test(`verify --mode at-least-once exits 1 and names the failing seeds (seed ${SEED})`, async (t) => {
  const { code, stdout } = await runCli(['verify', '--runs', '3', '--seed', String(SEED), '--mode', 'at-least-once', '--jobs', 'racing-inputs,random-sampling', '--json'], {
    timeoutMs: 90_000,
  });
  const last = lastJsonLine(stdout);
  t.true(last.violations > 0);
  t.is(last.failedSeeds.length, last.violations);
  t.is(code, 1);
});

test(`verify --job docs/examples/verify-job.ts: the example job recovers exactly once under seeded kills (seed ${SEED})`, async (t) => {
  const { code, stdout, stderr } = await runCli(['verify', '--job', 'docs/examples/verify-job.ts', '--runs', '5', '--seed', String(SEED), '--json'], { timeoutMs: 300_000 });
  t.is(code, 0, stderr);
  const last = lastJsonLine(stdout);
  // The 300 s are for the concurrent pass on two cores: CI once killed it at 120 s, one run done and 17 s estimated left.
  // 5 runs, not 3: the kills are timed against a failure-free run, and on a loaded machine some fall after the
  // tasks they aim at have finished (CI once saw 1 recovery from 6 kills in 3 runs).
  t.like(last, { verify: 'chaos', runs: 5, violations: 0, failuresInjected: 10, jobFile: 'docs/examples/verify-job.ts', witness: null, oracleFailures: 0 });
  t.true(last.recoveries >= 3, `recoveries: ${last.recoveries}`);
  t.regex(stderr, /priced-orders: a failure-free run took \d+ ms and showed 3000 records/);
});

test(`verify --job on the example in at-least-once mode finds the prices asked twice: the job-agnostic checks can fail (seed ${SEED})`, async (t) => {
  // A kill re-asks prices only when it falls after output it has to redo; on a loaded machine two runs did not always
  // place one so (CI, once): four seeded runs.
  const { code, stdout } = await runCli(['verify', '--job', 'docs/examples/verify-job.ts', '--runs', '4', '--seed', String(SEED), '--mode', 'at-least-once', '--json'], { timeoutMs: 300_000 });
  const last = lastJsonLine(stdout);
  t.true(last.violations > 0, `violations: ${last.violations}`);
  t.is(code, 1);
});

test(`a job file exporting a plain build function is verified, records counted as their JSON (seed ${SEED})`, async (t) => {
  const result = await verifyJobFile('test/verify/fixtures/build-function.ts', { runs: 2, seed: SEED, failures: 2, mode: 'exactly-once', dsd: -1, checkpointIntervalMs: 40 });
  t.like(result, { runs: 2, violations: 0, jobFile: 'test/verify/fixtures/build-function.ts' });
  t.is(result.records, 4000);
});

test('a job file that ignores the options it is given is refused with a one-line reason', async (t) => {
  const { code, stderr } = await runCli(['verify', '--job', 'test/verify/fixtures/ignores-options.ts', '--runs', '1']);
  t.is(code, 2);
  t.regex(stderr, /build\(options\).*new Job\(\{ \.\.\.options, name \}\).*retainDeterminants false/);
  t.is(stderr.trim().split('\n').length, 1);
});

test('bad arguments exit non-zero with a one-line reason each', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--runs', '0'], /--runs <n>.*expected an integer > 0/],
    [['--dsd', 'x'], /--dsd <d>.*expected an integer >= -1/],
    [['--on-escalation', 'maybe'], /expected one of fail, rollback/],
    [['--jobs', 'nope'], /unknown job "nope"/],
    [['--job', 'docs/examples/verify-job.ts', '--jobs', 'timers'], /--job and --jobs exclude each other/],
    [['--job', 'no/such/file.ts'], /--job: expected an existing \.ts or \.js module/],
  ];
  for (const [args, reason] of cases) {
    const { code, stderr } = await runCli(['verify', ...args]);
    t.not(code, 0, args.join(' '));
    t.regex(stderr.split('\n')[0]!, reason, args.join(' '));
  }
});

test('verify --help names every flag, --job, --on-escalation and --workers included', async (t) => {
  const { code, stdout } = await runCli(['verify', '--help']);
  t.is(code, 0);
  for (const flag of ['--runs', '--seed', '--failures', '--job', '--mode', '--dsd', '--on-escalation', '--jobs', '--workers', '--json']) t.true(stdout.includes(flag), flag);
});
