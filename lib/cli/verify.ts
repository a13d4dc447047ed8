/**
 * `causalflow verify`: chaos verification of exactly-once output against oracle replays
 * (`lib/verify/chaos.ts`). Exits 0 only when no run violated exactly-once.
 */
import type { Command } from 'commander';
import { RECOVERY_MODES, type RecoveryMode } from '../api/config.js';
import { verifyRuns } from '../verify/chaos.js';
import { VERIFY_JOBS } from '../verify/jobs.js';
import { nonNegativeInteger, oneOf, positiveInteger } from './args.js';
import { InvalidArgumentError } from 'commander';
import { Progress, printJsonResult } from './output.js';

/** Adds `verify` to `program`. */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('kill tasks of nondeterministic jobs at random moments and check the output equals an oracle replay of the final determinant trace')
    .option('--runs <n>', 'runs (the built-in jobs take turns)', positiveInteger, 20)
    .option('--seed <s>', 'seed of the first run; run i uses seed + i', nonNegativeInteger, 1)
    .option('--failures <k>', 'tasks killed per run (some at once, some during a recovery)', nonNegativeInteger, 2)
    .option(
      '--mode <mode>',
      `recovery mode: exactly-once; global-rollback (transactional sinks); or at-least-once, to see the verifier fail`,
      oneOf(RECOVERY_MODES.filter((m) => m !== 'none')),
      'exactly-once' as RecoveryMode,
    )
    .option('--dsd <d>', 'determinant sharing depth (-1: full)', parseDsd, -1)
    .option('--jobs <names>', `comma-separated subset of: ${VERIFY_JOBS.map((j) => j.name).join(', ')}`, parseJobs)
    .option('--checkpoint-interval <ms>', 'checkpoint interval in ms', positiveInteger, 40)
    .option('--verbose', 'print the recovery events of every violating run')
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .action(
      async (options: { runs: number; seed: number; failures: number; mode: RecoveryMode; dsd: number; jobs?: string[]; checkpointInterval: number; verbose?: boolean; json?: boolean }) => {
        const progress = new Progress();
        const out = options.json ? process.stderr : process.stdout;
        const started = Date.now();
        const result = await verifyRuns({
          runs: options.runs,
          seed: options.seed,
          failures: options.failures,
          mode: options.mode,
          dsd: options.dsd,
          checkpointIntervalMs: options.checkpointInterval,
          jobs: options.jobs,
          onRun: (report, done, total) => {
            const eta = Math.round(((Date.now() - started) / done) * (total - done) / 1000);
            const line =
              `run ${done}/${total} ${report.job} seed ${report.seed}: killed ${report.kills.join(', ') || 'nothing'}; ` +
              `${report.recoveries} recoveries, ${report.escalations} escalations, ${report.records} records: ` +
              (report.violation ? `VIOLATION (${report.reason})` : 'exactly-once') +
              (done < total ? ` — about ${eta}s left` : '');
            if (report.violation) {
              progress.log(line);
              if (options.verbose) for (const e of report.events) progress.log(`    ${e.t.toFixed(1)} ms ${e.type} ${JSON.stringify({ ...e, t: undefined, type: undefined })}`);
            } else {
              progress.update(line, true);
            }
          },
        });
        progress.done();
        out.write(
          `${result.runs} runs, ${result.failuresInjected} tasks killed, ${result.recoveries} recoveries, ${result.escalations} escalations, ${result.records} records checked: ` +
            `${result.violations} violations${result.failedSeeds.length > 0 ? ` (seeds ${result.failedSeeds.join(', ')})` : ''}\n`,
        );
        if (options.json) printJsonResult(result);
        if (result.violations > 0) process.exitCode = 1;
      },
    );
}

function parseDsd(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < -1) throw new InvalidArgumentError(`expected an integer >= -1, got ${JSON.stringify(value)}`);
  return parsed;
}

function parseJobs(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!VERIFY_JOBS.some((j) => j.name === name)) throw new InvalidArgumentError(`unknown job ${JSON.stringify(name)}; expected some of ${VERIFY_JOBS.map((j) => j.name).join(', ')}`);
  }
  return names;
}
