/** `causalflow bench recovery`: one failure pattern, each recovery mode, figures checked by the verifier. */
import type { Command } from 'commander';
import { FAILURE_PATTERNS, RECOVERY_BENCH_MODES, runRecoveryBench, type FailurePattern, type RecoveryBenchResult } from '../../bench/recovery.js';
import { QUERY_IDS, type QueryId } from '../../bench/nexmark/queries.js';
import { nonNegativeInteger, oneOf, positiveInteger, positiveNumber } from './args.js';
import { Progress, formatNumber, printJsonResult } from './output.js';

/** Adds `bench recovery` to the `bench` command group. */
export function registerRecoveryBench(bench: Command): void {
  bench
    .command('recovery')
    .description('kill tasks mid-run at a fixed input rate; compare global rollback with local recovery (figures checked against an oracle replay)')
    .option('--query <id>', `query: ${QUERY_IDS.join(', ')}`, oneOf(QUERY_IDS), 'q3' as QueryId)
    .option('--failures <pattern>', `${FAILURE_PATTERNS.join(', ')}`, oneOf(FAILURE_PATTERNS), 'single' as FailurePattern)
    .option('--rate <events/s>', 'input rate (default: half of the maximum rate of mode none, measured first)', positiveNumber)
    .option('--parallelism <n>', 'parallelism of the source and every operator', positiveInteger, 2)
    .option('--checkpoint-interval <ms>', 'checkpoint interval in ms', positiveNumber, 1000)
    .option('--warmup <s>', 'seconds before the first kill (the latency band is taken over the 5 s before it, after the first second)', positiveNumber, 6)
    .option('--after <s>', 'seconds after the last kill', positiveNumber, 6)
    .option('--dsd <d>', 'sharing depth of exactly-once (default 1; 3 for concurrent failures)', Number.parseInt)
    .option('--workers <n>', 'run the job in N worker processes (0: embedded); a kill is a SIGKILL of the worker holding the task', nonNegativeInteger, 0)
    .option('--rebalance', "with --workers: the killed worker's tasks move back to its new process once it is up (workers.rebalance)")
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .action(
      async (options: {
        query: QueryId;
        failures: FailurePattern;
        rate?: number;
        parallelism: number;
        checkpointInterval: number;
        warmup: number;
        after: number;
        dsd?: number;
        workers: number;
        rebalance?: boolean;
        json?: boolean;
      }) => {
        const progress = new Progress();
        const started = Date.now();
        const result = await runRecoveryBench({
          query: options.query,
          failures: options.failures,
          rate: options.rate,
          parallelism: options.parallelism,
          checkpointIntervalMs: options.checkpointInterval,
          warmupMs: options.warmup * 1000,
          afterMs: options.after * 1000,
          workers: options.workers,
          rebalance: options.rebalance === true,
          ...(options.dsd !== undefined && Number.isInteger(options.dsd) ? { dsd: options.dsd } : {}),
          onProgress: (message) => progress.log(`[${Math.round((Date.now() - started) / 1000)}s] ${message}`),
        });
        progress.done();
        (options.json ? process.stderr : process.stdout).write(formatRecoveryResult(result));
        if (options.json) printJsonResult(result);
      },
    );
}

/** The result as a readable table. */
export function formatRecoveryResult(result: RecoveryBenchResult): string {
  const lines = [
    `${result.query}, ${result.failures} failure (${result.killed.join(', ')} at ${result.killAtMs.map((t) => `${t / 1000}s`).join(', ')}), ` +
      `${formatNumber(result.rate)} events/s${result.maxRate ? ` (half of the measured maximum ${formatNumber(result.maxRate)})` : ''}, checkpoint every ${result.checkpointIntervalMs} ms, dsd ${result.dsd}, ` +
      (result.workers > 0 ? `${result.workers} worker processes (SIGKILL of worker ${[...new Set(result.killedWorkers)].join(', ')})` : 'embedded'),
    'mode              recovery ms     band ms  output gap ms  peak latency ms  detection ms  takeover ms  duplicates  lost  oracle',
  ];
  for (const mode of RECOVERY_BENCH_MODES) {
    const f = result.modes[mode];
    if (!f) continue;
    const cell = (v: number | null, width: number) => (v === null ? 'n/a' : String(Math.round(v * 10) / 10)).padStart(width);
    // A recovery that never settled, and a check that could not run, are misses, not blanks; at-least-once
    // promises no exactly-once output, so differing from the oracle is what it allows.
    const recovery = (f.recoveryMs === null ? 'MISSED' : String(Math.round(f.recoveryMs * 10) / 10)).padStart(11);
    const counted = (v: number | null, width: number) => (v !== null ? String(v) : f.oracleIdentical === null ? 'unchecked' : 'VIOLATION').padStart(width);
    lines.push(
      `${mode.padEnd(16)}  ${recovery}  ${cell(f.bandMs ?? null, 10)}  ${cell(f.outputGapMs, 13)}  ${cell(f.peakLatencyMs, 15)}  ${cell(f.detectionMs, 12)}  ${cell(f.takeoverMs, 11)}  ` +
        `${counted(f.duplicates, 10)}  ${counted(f.lost, 4)}  ${f.oracleIdentical === null ? 'not checked' : f.oracleIdentical ? 'identical' : mode === 'at-least-once' ? 'differs (allowed)' : 'DIFFERS (violation)'}` +
        (f.escalations > 0 ? `  (${f.escalations} escalation${f.escalations > 1 ? 's' : ''})` : ''),
    );
  }
  if (Object.values(result.modes).some((f) => f.recoveryMs === null)) lines.push('MISSED: latency never settled within the band before the run ended; that counts as a miss.');
  if (Object.values(result.modes).some((f) => f.checkedAgainst === 'failure-free-run')) {
    lines.push('at-least-once: duplicates and lost against a failure-free run of the same events (its replacements record no determinants to replay, I35); duplicates are allowed, lost records are not.');
  }
  return `${lines.join('\n')}\n`;
}
