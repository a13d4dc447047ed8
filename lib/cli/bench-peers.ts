/** `causalflow bench peers`: Apache Flink and causalflow side by side on one Nexmark workload (see `bench/peers/peers.ts`). */
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { flinkProjectDir } from '../../bench/peers/flink-driver.js';
import { PEER_MAX_ROUNDS, PEER_QUERIES, runPeersBench, type PeerQuery } from '../../bench/peers/peers.js';
import { formatPeersTable, writePeersReport } from '../../bench/peers/peers-report.js';
import { oneOf, positiveInteger } from './args.js';
import { Progress, printJsonResult } from './output.js';

/** Adds `bench peers` to the `bench` command group. */
export function registerPeersBench(bench: Command): void {
  bench
    .command('peers')
    .description('Apache Flink (a local MiniCluster, built from bench/peers/flink with Maven) and causalflow (exactly-once, 2 workers) on the same Nexmark workload and failure')
    .option('--query <id>', `query: ${PEER_QUERIES.join(', ')}`, oneOf(PEER_QUERIES), 'q3' as PeerQuery)
    .option('--seconds <n>', 'measured seconds of each maximum-rate run, and of latency before the kill (after 1 s of warm-up)', positiveInteger, 10)
    .option('--after <s>', 'seconds each failure run goes on after the kill (default: twice --seconds, at least 8)', positiveInteger)
    .option('--rounds <n>', 'rounds of the maximum-rate runs, Flink then causalflow in each; the throughput ratio is the median of the rounds', positiveInteger, PEER_MAX_ROUNDS)
    .option('--rebalance', "causalflow's killed worker gets its tasks back once its new process is up (workers.rebalance)")
    .option('--no-write', 'write neither bench/results/<date>-peers/ nor docs/benchmarks.md')
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .action(async (options: { query: PeerQuery; seconds: number; after?: number; rounds: number; rebalance?: boolean; write: boolean; json?: boolean }) => {
      const progress = new Progress();
      const started = Date.now();
      const outcome = await runPeersBench({
        query: options.query,
        seconds: options.seconds,
        afterSeconds: options.after ?? Math.max(8, 2 * options.seconds),
        rebalance: options.rebalance === true,
        maxRounds: options.rounds,
        onProgress: (message) => progress.log(`[${Math.round((Date.now() - started) / 1000)}s] ${message}`),
      });
      progress.done();
      const out = options.json ? process.stderr : process.stdout;
      if ('bench' in outcome) {
        process.stderr.write(`bench peers: skipped: ${outcome.skipped}\n`);
        if (options.json) printJsonResult(outcome);
        return;
      }
      out.write(formatPeersTable(outcome));
      const project = flinkProjectDir();
      if (options.write && project !== null) {
        const files = await writePeersReport(dirname(dirname(dirname(project))), outcome);
        out.write(`wrote ${files.join(', ')}\n`);
      }
      if (options.json) printJsonResult(outcome.result);
    });
}
