import test from 'ava';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSums, type SumRecord } from './jobs.js';
import { RESUME_COUNT } from './resume-job.js';
import { jobDirectory } from '../helpers/jobs.js';
import { lastJsonLine, ROOT, runCli } from '../helpers/cli.js';

// The coordinator's own death ends the job: its workers exit with it. `causalflow run --resume` then
// continues from the latest completed checkpoint; the tasks replay the determinants the file sink stored
// beside its records (I20), so that what the sink showed before the crash is regenerated identically and
// skipped: every number exactly once, every running sum a chain.

const JOB = join(ROOT, 'test/cluster/resume-job.ts');

function lines(dir: string): string[] {
  const out = join(dir, 'out');
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l.length > 0));
}

function workerProcesses(dir: string): number {
  try {
    return execFileSync('pgrep', ['-f', 'worker-main'], { encoding: 'utf8' })
      .split('\n')
      .filter((pid) => pid.length > 0 && readFileSync(`/proc/${pid}/environ`, 'utf8').includes(dir)).length;
  } catch {
    return 0;
  }
}

test.serial('the coordinator SIGKILLed mid-run takes its workers down; --resume continues from the latest checkpoint and the output holds every number exactly once', async (t) => {
  const dir = jobDirectory(t);
  const env = { ...process.env, RESUME_TEST_DIR: dir };
  const coordinator = spawn(process.execPath, [`${ROOT}bin/causalflow.js`, 'run', JOB, '--workers', '2'], { cwd: ROOT, env, stdio: 'ignore' });
  // Kill it once the sink showed a good part of the output, past a few checkpoints.
  const deadline = Date.now() + 60_000;
  while (lines(dir).length < RESUME_COUNT / 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  coordinator.kill('SIGKILL');
  await new Promise((r) => coordinator.once('exit', r));
  const before = lines(dir).length;
  t.true(before > 0 && before < RESUME_COUNT, `killed with ${before} of ${RESUME_COUNT} records shown`);
  const until = Date.now() + 5000;
  while (workerProcesses(dir) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.is(workerProcesses(dir), 0, 'the workers exited with their coordinator');
  const resumed = await runCli(['run', JOB, '--workers', '2', '--resume', '--json'], { env: { RESUME_TEST_DIR: dir }, timeoutMs: 90_000 });
  t.is(resumed.code, 0, resumed.stderr);
  const result = lastJsonLine(resumed.stdout);
  t.deepEqual(result.guarantee, { kind: 'exactly-once' });
  const records = lines(dir).map((l) => JSON.parse(l) as SumRecord);
  t.deepEqual(checkSums(records, RESUME_COUNT), []);
  t.is(records.length, RESUME_COUNT);
});
