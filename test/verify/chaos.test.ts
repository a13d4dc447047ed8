import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectLog } from '../../determinants/index.js';
import { verifyRuns } from '../../lib/index.js';
import { verifyBuiltIn } from '../../lib/verify/chaos.js';
import { VERIFY_JOBS } from '../../lib/verify/jobs.js';
import { WitnessServer } from '../../lib/verify/witness/server.js';
import type { RunSettings } from '../../lib/verify/run.js';

// The verifier must pass on exactly-once and fail on at-least-once: a verifier that cannot fail proves
// nothing. Seeds are fixed, so a failing run can be repeated with `causalflow verify --seed`.

const SEED = 20261121;
const JOBS = VERIFY_JOBS.length;

test(`exactly-once, full sharing: every built-in job once, two kills per run (some at once, some during recovery), no violation, the witness finds nothing (seed ${SEED})`, async (t) => {
  const result = await verifyRuns({ runs: JOBS, seed: SEED, failures: 2, mode: 'exactly-once', dsd: -1, checkpointIntervalMs: 40 });
  t.log(`seed ${SEED}: ${result.recoveries} recoveries, ${result.records} records, witness ${JSON.stringify(result.witness)}`);
  t.is(result.runs, JOBS);
  t.is(result.failuresInjected, 2 * JOBS);
  t.true(result.recoveries >= JOBS, `recoveries: ${result.recoveries}`);
  t.deepEqual(result.failedSeeds, []);
  t.is(result.violations, 0);
  t.is(result.oracleFailures, 0);
  t.is(result.witness!.records, result.records, 'the witness checked every record');
  t.is(result.witness!.problems, 0);
});

test(`at-least-once on the same jobs shows violations, and the witness sees them on its own (seed ${SEED})`, async (t) => {
  const result = await verifyRuns({ runs: JOBS, seed: SEED, failures: 2, mode: 'at-least-once', dsd: -1, checkpointIntervalMs: 40 });
  t.log(`seed ${SEED}: ${result.violations} violations of ${result.runs}, witness ${JSON.stringify(result.witness)}`);
  t.true(result.violations > 0, `violations: ${result.violations} of ${result.runs}`);
  t.true(result.witness!.problems > 0, 'calls made twice and broken chains, found without the oracle');
});

test(`global-rollback with transactional sinks is exactly-once too: the rolled-back traces replay to the committed output, which passes the witness (seed ${SEED})`, async (t) => {
  const result = await verifyRuns({ runs: JOBS, seed: SEED, failures: 2, mode: 'global-rollback', dsd: -1, checkpointIntervalMs: 40 });
  t.true(result.recoveries >= JOBS, `recoveries: ${result.recoveries}`);
  t.is(result.violations, 0);
  t.is(result.witness!.problems, 0);
});

const defect1 = VERIFY_JOBS.find((j) => j.name === 'call-keyed-totals-p1-sink-task')!;
/** The producer and its consumer die in one instant at dsd 1: their determinants are lost together (I16). */
const adjacent = (afterMs: number): RunSettings => ({
  failures: 0,
  mode: 'exactly-once',
  dsd: 1,
  checkpointIntervalMs: 40,
  onEscalation: 'fail',
  kills: [{ task: ['call[0]', 'totals[0]'], afterMs }],
});

/** Kill times within the job's 600 ms: the later ones always find output shown since the checkpoint. */
const ADJACENT_KILLS = [200, 300, 400];

test('I16: adjacent failures beyond dsd 1 with shown output: the job stops with ExactlyOnceLostError, and verify counts the run as a violation (kill times 200, 300, 400 ms)', async (t) => {
  let escalated = 0;
  for (const afterMs of ADJACENT_KILLS) {
    const report = await verifyBuiltIn(defect1, 0, afterMs, adjacent(afterMs));
    t.log(`kill at ${afterMs} ms: ${report.ended}, ${report.escalations} escalations: ${report.reason ?? 'no violation'}`);
    t.is(report.witness!.problems, 0, 'what the sink showed before the job stopped is one consistent execution');
    if (report.escalations === 0) {
      // Nothing the lost determinants decided had been consumed since the checkpoint: recovered exactly once.
      t.false(report.violation, report.reason);
      t.true(report.comparison.identical!, 'a local recovery without escalation is exact');
      continue;
    }
    escalated++;
    t.is(report.ended, 'exactly-once-lost');
    t.true(report.violation);
    t.regex(report.reason!, /ExactlyOnceLostError/);
  }
  t.true(escalated >= 1, `${escalated} of ${ADJACENT_KILLS.length} kill times escalated`);
});

test('I16: the same failures with onEscalation "rollback": no violation, the run reports its at-least-once guarantee, and nothing is lost (kill times 200, 300, 400 ms)', async (t) => {
  let escalated = 0;
  for (const afterMs of ADJACENT_KILLS) {
    const report = await verifyBuiltIn(defect1, 0, afterMs, { ...adjacent(afterMs), onEscalation: 'rollback' });
    t.log(`kill at ${afterMs} ms: ${JSON.stringify(report.guarantee)}; ${report.comparison.duplicates} duplicates, ${report.comparison.unexpected} unexpected, ${report.comparison.lost} lost`);
    if (report.escalations >= 1) escalated++;
    t.false(report.violation, report.reason);
    t.is(report.comparison.lost, 0, 'every record of the final execution is shown');
    t.is(report.witness!.problems, 0, 'the final execution passes the witness; the abandoned records recompute on their own');
    if (report.guarantee!.kind === 'at-least-once') {
      t.true(report.degraded);
      t.deepEqual(report.guarantee!.sinks, ['out']);
    } else {
      t.true(report.comparison.identical!, 'no output was shown since the checkpoint: exactly-once was kept');
    }
  }
  t.true(escalated >= 1, `${escalated} of ${ADJACENT_KILLS.length} kill times escalated`);
});

test('across the built-in jobs every determinant kind is recorded (each job run once with a kill)', async (t) => {
  const kinds = new Set<string>();
  const directory = mkdtempSync(join(tmpdir(), 'causalflow-kinds-'));
  try {
    for (const spec of VERIFY_JOBS) {
      const server = await WitnessServer.start();
      try {
        const { job } = spec.build({ parallelism: 2, retainDeterminants: true, directory: join(directory, spec.name), recovery: { mode: 'exactly-once', checkpointIntervalMs: 40, dsd: -1 } }, server);
        const names = job.plan().tasks.map((task) => task.name);
        const handle = await job.start({ faults: [{ task: names[names.length - 1]!, afterMs: 200 }] });
        await handle.done;
        for (const [taskId, segments] of handle.traces()) for (const entry of inspectLog(taskId, segments)) kinds.add(entry.determinant.kind);
      } finally {
        await server.close();
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  t.log([...kinds].sort().join(', '));
  t.deepEqual([...kinds].sort(), ['ABORT_CHECKPOINT', 'CLOCK', 'EXTERNAL', 'MONOTONIC_CLOCK', 'ORDER', 'RANDOM_SEED', 'SOURCE_BARRIER', 'SOURCE_POLL', 'TIMER']);
});
