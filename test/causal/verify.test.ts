import test from 'ava';
import { verifyRuns } from '../../lib/index.js';
import { runCli } from '../helpers/cli.js';

// The verifier must pass on exactly-once and fail on at-least-once: a verifier that cannot fail proves
// nothing. Seeds are fixed, so a failing run can be repeated with `causalflow verify --seed`.

const SEED = 20261121;

test(`exactly-once: every built-in job, two kills per run (some at once, some during recovery), no violation (seed ${SEED})`, async (t) => {
  const result = await verifyRuns({ runs: 6, seed: SEED, failures: 2, mode: 'exactly-once', dsd: -1, checkpointIntervalMs: 40 });
  t.log(`seed ${SEED}: ${result.recoveries} recoveries, ${result.records} records`);
  t.is(result.runs, 6);
  t.is(result.failuresInjected, 12);
  t.true(result.recoveries >= 6, `recoveries: ${result.recoveries}`);
  t.deepEqual(result.failedSeeds, []);
  t.is(result.violations, 0);
});

test(`at-least-once on the same jobs shows violations: the verifier can fail (seed ${SEED})`, async (t) => {
  const result = await verifyRuns({ runs: 6, seed: SEED, failures: 2, mode: 'at-least-once', dsd: -1, checkpointIntervalMs: 40 });
  t.true(result.violations > 0, `violations: ${result.violations} of ${result.runs}`);
});

test(`global-rollback with transactional sinks is exactly-once too: the rolled-back traces replay to the committed output (seed ${SEED})`, async (t) => {
  const result = await verifyRuns({ runs: 6, seed: SEED, failures: 2, mode: 'global-rollback', dsd: -1, checkpointIntervalMs: 40 });
  t.true(result.recoveries >= 6, `recoveries: ${result.recoveries}`);
  t.is(result.violations, 0);
});

test('causalflow verify --json prints the contract fields on its last line and exits 0 without violations', async (t) => {
  const { code, stdout, stderr } = await runCli(['verify', '--runs', '2', '--seed', String(SEED), '--json'], { timeoutMs: 90_000 });
  t.is(code, 0, stderr);
  const last = JSON.parse(stdout.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;
  t.like(last, { verify: 'chaos', runs: 2, violations: 0, failedSeeds: [] });
  t.is(typeof last.failuresInjected, 'number');
});

test('causalflow verify --mode at-least-once exits 1 and names the failing seeds', async (t) => {
  const { code, stdout } = await runCli(['verify', '--runs', '3', '--seed', String(SEED), '--mode', 'at-least-once', '--jobs', 'racing-inputs,random-sampling', '--json'], {
    timeoutMs: 90_000,
  });
  const last = JSON.parse(stdout.trimEnd().split('\n').at(-1)!) as { violations: number; failedSeeds: number[] };
  t.true(last.violations > 0);
  t.is(last.failedSeeds.length, last.violations);
  t.is(code, 1);
});
