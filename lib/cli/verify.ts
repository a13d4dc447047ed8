/**
 * `causalflow verify`: chaos verification of exactly-once output (`lib/verify/`). Runs the built-in
 * jobs, checked by the oracle and the independent witness, or a user's job file (`--job`), checked by
 * the oracle and duplicates by identity. Exits 0 only when no run violated exactly-once.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { RECOVERY_MODES, type RecoveryMode } from '../config.js';
import { describeGuarantee } from '../runtime/guarantee.js';
import { verifyRuns, type RunReport, type VerifyOptions, type VerifyResult } from '../verify/chaos.js';
import { verifyJobFile } from '../verify/job-file.js';
import { VERIFY_JOBS } from '../verify/jobs.js';
import { nonNegativeInteger, oneOf, positiveInteger } from './args.js';
import { Progress, printJsonResult } from './output.js';

interface VerifyFlags {
  runs: number;
  seed: number;
  failures: number;
  mode: RecoveryMode;
  dsd: number | 'auto';
  onEscalation: 'fail' | 'rollback';
  jobs?: string[];
  job?: string;
  checkpointInterval: number;
  workers: number;
  verbose?: boolean;
  json?: boolean;
}

/** Adds `verify` to `program`. */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      'kill tasks of nondeterministic jobs at seeded moments; check the output against an oracle replay of the final determinant trace and, ' +
        'for the built-in jobs, against an independent witness',
    )
    .option('--runs <n>', 'runs (the built-in jobs take turns)', positiveInteger, 20)
    .option('--seed <s>', 'seed of the first run; run i uses seed + i', nonNegativeInteger, 1)
    .option('--failures <k>', 'kills per run, of tasks or, with --workers, of worker processes (some in one instant, some during a recovery)', nonNegativeInteger, 2)
    .option('--job <file>', "verify your own job: a module whose default export is { build(options), identity?(record) } or a build function (see docs/verify.md)")
    .option(
      '--mode <mode>',
      'recovery mode: exactly-once; global-rollback (transactional sinks); or at-least-once, to see the verifier fail',
      oneOf(RECOVERY_MODES.filter((m) => m !== 'none')),
      'exactly-once' as RecoveryMode,
    )
    .option('--dsd <d>', 'determinant sharing depth: 1, 2, …, -1 (full) or auto (0 only in at-least-once mode)', parseDsd, -1)
    .option(
      '--on-escalation <what>',
      "fail: an escalation over shown output stops the job, a violation; rollback: the job goes on at-least-once, reported, and checked for losses only",
      oneOf(['fail', 'rollback'] as const),
      'fail' as const,
    )
    .option('--jobs <names>', `comma-separated subset of the built-in jobs: ${VERIFY_JOBS.map((j) => j.name).join(', ')}`, parseJobs)
    .option('--checkpoint-interval <ms>', 'checkpoint interval in ms', positiveInteger, 40)
    .option(
      '--workers <n>',
      'run every job in n worker processes (1 to 64) and make each kill a SIGKILL of a worker at a seeded moment: two at once, ' +
        "one while another's standby replays, one holding standbys; without it, the jobs run embedded and tasks are killed",
      parseWorkers,
      0,
    )
    .option('--verbose', 'print the recovery events of every violating run')
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .action(async (flags: VerifyFlags, command: Command) => {
      if (flags.job !== undefined && flags.jobs !== undefined) command.error('error: --job and --jobs exclude each other: verify either your job file or built-in jobs');
      const progress = new Progress();
      const out = flags.json ? process.stderr : process.stdout;
      const started = Date.now();
      const options: VerifyOptions = {
        runs: flags.runs,
        seed: flags.seed,
        failures: flags.failures,
        mode: flags.mode,
        dsd: flags.dsd,
        checkpointIntervalMs: flags.checkpointInterval,
        onEscalation: flags.onEscalation,
        workers: flags.workers,
        jobs: flags.jobs,
        onRun: (report, done, total) => {
          const eta = Math.round((((Date.now() - started) / done) * (total - done)) / 1000);
          const line = `run ${done}/${total} ${describeRun(report)}${done < total ? ` — about ${eta}s left` : ''}`;
          if (report.violation || report.degraded) {
            progress.log(line);
            if (flags.verbose && report.violation) for (const e of report.events) progress.log(`    ${e.t.toFixed(1)} ms ${e.type} ${JSON.stringify({ ...e, t: undefined, type: undefined })}`);
          } else {
            progress.update(line, true);
          }
        },
      };
      const result = flags.job !== undefined ? await verifyJobFile(flags.job, options, (line) => progress.log(line)) : await verifyRuns(options);
      progress.done();
      out.write(`${summary(result)}\n`);
      if (flags.json) printJsonResult(result);
      if (result.violations > 0) process.exitCode = 1;
    });
}

/** One line about a run: job, seed, kills, what recovery did, and the verdict. */
function describeRun(report: RunReport): string {
  const verdict = report.violation
    ? `VIOLATION (${report.reason})`
    : report.degraded && report.guarantee
      ? `${describeGuarantee(report.guarantee)}, as asked; nothing lost`
      : 'exactly-once';
  return (
    `${report.job} seed ${report.seed}: killed ${report.kills.map((kill, i) => (report.killPatterns ? `${kill} (${report.killPatterns[i]})` : kill)).join(', ') || 'nothing'}; ` +
    `${report.recoveries} recoveries, ${report.escalations} escalations, ${report.records} records: ${verdict}`
  );
}

function summary(result: VerifyResult): string {
  const witness = result.witness ? `, witness checked ${result.witness.records} records (${result.witness.problems} problems)` : '';
  const degraded = result.degraded.length > 0 ? `, ${result.degraded.length} runs at-least-once as asked` : '';
  const workers = result.workers > 0 ? ` of ${result.workers} worker processes` : '';
  return (
    `${result.runs} runs, ${result.failuresInjected} kills${workers} (${result.tasksFailed} task failures), ${result.recoveries} recoveries, ${result.escalations} escalations` +
    `${result.exactlyOnceLost > 0 ? ` (${result.exactlyOnceLost} runs stopped with ExactlyOnceLostError)` : ''}, ${result.records} records${witness}${degraded}: ` +
    `${result.violations} violations${result.failedSeeds.length > 0 ? ` (seeds ${result.failedSeeds.join(', ')})` : ''}`
  );
}

/** `--workers`: 1 to 64. Zero is refused rather than read as "embedded": leaving the flag out says that. */
function parseWorkers(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || parsed < 1 || parsed > 64) {
    throw new InvalidArgumentError(`expected a number of worker processes from 1 to 64 (leave --workers out to run embedded), got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function parseDsd(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < -1) throw new InvalidArgumentError(`expected an integer >= -1 (-1: full) or auto, got ${JSON.stringify(value)}`);
  return parsed;
}

function parseJobs(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!VERIFY_JOBS.some((j) => j.name === name)) throw new InvalidArgumentError(`unknown job ${JSON.stringify(name)}; expected some of ${VERIFY_JOBS.map((j) => j.name).join(', ')}`);
  }
  return names;
}
