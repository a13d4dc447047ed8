/**
 * `causalflow bench …`: the benchmarks. Each prints readable figures and, with `--json`, one JSON
 * object as the last line of stdout (`../shared/contracts.md`).
 */
import type { Command } from 'commander';
import { runDeterminantsBench } from '../../bench/determinants.js';
import { positiveNumber } from './args.js';
import { Progress, formatNumber, printJsonResult } from './output.js';

/** Adds the `bench` command group to `program`. */
export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('run a benchmark');

  bench
    .command('determinants')
    .description('micro-benchmark of the determinant log library (appends, order encoding, delta shipping)')
    .option('--seconds <n>', 'time budget in seconds', positiveNumber, 10)
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .action(async (options: { seconds: number; json?: boolean }) => {
      const progress = new Progress();
      const result = await runDeterminantsBench({
        seconds: options.seconds,
        onProgress: (phase, fraction) => progress.update(`bench determinants: ${phase} ${Math.round(fraction * 100)}%`),
      });
      progress.done();
      const lines = [
        `appends/s (mixed workload)          ${formatNumber(result.appendsPerSec)}`,
        `order bytes/record, batched (256)   ${result.orderBytesPerRecordBatched}`,
        `order bytes/record, interleaved     ${result.orderBytesPerRecordInterleaved}`,
        `ship MB/s (extract + ingest)        ${formatNumber(result.shipMBps, 1)}  (${result.shipDeltaBytes} bytes per delta)`,
      ];
      (options.json ? process.stderr : process.stdout).write(`${lines.join('\n')}\n`);
      if (options.json) printJsonResult(result);
    });
}
