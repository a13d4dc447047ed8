/** `causalflow bench report`: the whole suite, with a progress line and an ETA; writes results, charts and docs/benchmarks.md. */
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { relative, resolve } from 'node:path';
import { loadReportData, runReport, writeReport } from '../../bench/report.js';
import { positiveInteger } from './args.js';
import { Progress, printJsonResult } from './output.js';

/** Adds `bench report` to the `bench` command group. */
export function registerReportBench(bench: Command): void {
  bench
    .command('report')
    .description('run every benchmark (overhead, recovery, sweeps) and write bench/results/<date>/, the SVG charts and docs/benchmarks.md')
    .option('--quick', 'fewer rounds and points (about 7 minutes instead of about 30)')
    .option('--parallelism <n>', 'parallelism of the source and every operator', positiveInteger, 2)
    .option('--from <dir>', 'measure nothing: render the charts and docs/benchmarks.md again from the results in <dir> (bench/results/<date>), which are left as they are')
    .option('--workers-from <dir>', 'the worker-process section from the results in <dir> (default: the newest bench/results/*-workers/)')
    .option('--json', 'print a summary (files written, seconds) as one JSON object on the last line of stdout')
    .action(async (options: { quick?: boolean; parallelism: number; from?: string; workersFrom?: string; json?: boolean }) => {
      const progress = new Progress(500);
      const root = fileURLToPath(new URL('../../', import.meta.url));
      const workersDir = options.workersFrom === undefined ? undefined : relative(root, resolve(options.workersFrom));
      if (options.from !== undefined) {
        const data = loadReportData(resolve(options.from));
        const files = await writeReport(data, root, workersDir, false);
        (options.json ? process.stderr : process.stdout).write(`rendered docs/benchmarks.md and ${files.filter((f) => f.endsWith('.svg')).length} charts from ${options.from}\n`);
        if (options.json) printJsonResult({ bench: 'report', workers: 0, quick: data.quick, seconds: data.seconds, resultsDir: resolve(options.from), files });
        return;
      }
      const { data, resultsDir, files } = await runReport({
        quick: options.quick ?? false,
        root,
        parallelism: options.parallelism,
        ...(workersDir !== undefined ? { workersDir } : {}),
        onProgress: (step, done, total, left) =>
          progress.update(`bench report ${bar(done / total)} ${Math.min(done + 1, total)}/${total} ${step}${left === null ? '' : ` — about ${formatEta(left)} left`}`),
      });
      progress.done();
      const out = options.json ? process.stderr : process.stdout;
      out.write(`report written in ${data.seconds} s: docs/benchmarks.md, ${files.filter((f) => f.endsWith('.svg')).length} charts in docs/benchmarks/, raw figures in ${resultsDir}\n`);
      if (options.json) printJsonResult({ bench: 'report', workers: 0, quick: data.quick, seconds: data.seconds, resultsDir, files });
    });
}

/** A 20-character progress bar. */
function bar(fraction: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * 20);
  return `[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}]`;
}

function formatEta(seconds: number): string {
  return seconds >= 90 ? `${Math.round(seconds / 60)} min` : `${Math.max(0, Math.round(seconds))} s`;
}
