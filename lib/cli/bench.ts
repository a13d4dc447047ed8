/**
 * `causalflow bench …`: the benchmarks. Each prints readable figures and, with `--json`, one JSON
 * object as the last line of stdout (`../shared/contracts.md`).
 */
import type { Command } from 'commander';
import { runDeterminantsBench } from '../../bench/determinants.js';
import { DEFAULT_ROUNDS, MIN_CHECKPOINT_INTERVALS, OVERHEAD_MODES, checkSampling, runOverheadBench } from '../../bench/overhead.js';
import { runMemoryBench } from '../../bench/memory.js';
import { INFLIGHT_RETENTIONS, RECOVERY_MODES, type InflightRetention, type RecoveryMode } from '../config.js';
import { QUERY_IDS, type QueryId } from '../../bench/nexmark/queries.js';
import { nonNegativeInteger, oneOf, positiveInteger, positiveNumber } from './args.js';
import { Progress, formatNumber, printJsonResult } from './output.js';
import { registerRecoveryBench } from './bench-recovery.js';
import { registerReportBench } from './bench-report.js';
import { registerKafkaBench } from './bench-kafka.js';
import { registerPeersBench } from './bench-peers.js';

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
        `ship ns/envelope (extract + ingest) ${result.shipNsPerEnvelopeBySize.map((e) => `${formatNumber(e.nsPerEnvelope)} at ${e.envelopeBytes} bytes`).join(', ')}`,
      ];
      (options.json ? process.stderr : process.stdout).write(`${lines.join('\n')}\n`);
      if (options.json) printJsonResult(result);
    });

  bench
    .command('overhead')
    .description('failure-free throughput and latency of a Nexmark query under each recovery mode (paired, interleaved runs)')
    .option('--query <id>', `query: ${QUERY_IDS.join(', ')}`, oneOf(QUERY_IDS), 'q3' as QueryId)
    .option(
      '--seconds <n>',
      `measured seconds of throughput per mode, over all rounds (warm-ups come on top); at least ${MIN_CHECKPOINT_INTERVALS} checkpoint intervals per round, which is also the default (30 with the defaults)`,
      positiveNumber,
    )
    .option('--parallelism <n>', 'parallelism of the source and every operator', positiveInteger, 2)
    .option('--checkpoint-interval <ms>', 'checkpoint interval in ms', positiveNumber, 1000)
    .option('--rounds <n>', 'rounds of throughput runs (each mode once per round)', positiveInteger, DEFAULT_ROUNDS)
    .option('--workers <n>', 'run the modes in N worker processes (0: embedded, in this process); each round also runs none embedded, for the ratio', nonNegativeInteger, 0)
    .option('--inflight-retention <policy>', "what in-flight logs keep of a complete chunk: 'references' (encoded only if it spills) or 'encoded' (msgpackr bytes at once)", oneOf(INFLIGHT_RETENTIONS), 'references' as InflightRetention)
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .action(async (options: { query: QueryId; seconds?: number; parallelism: number; checkpointInterval: number; rounds: number; workers: number; inflightRetention: InflightRetention; json?: boolean }) => {
      // Refused, not lengthened: a round shorter than ten checkpoint intervals measures where checkpoints fell.
      const refused = options.seconds === undefined ? null : checkSampling(options.seconds, options.rounds, options.checkpointInterval);
      if (refused !== null) {
        process.stderr.write(`causalflow bench overhead: ${refused}\n`);
        process.exitCode = 2;
        return;
      }
      const progress = new Progress();
      const started = Date.now();
      const result = await runOverheadBench({
        query: options.query,
        seconds: options.seconds,
        parallelism: options.parallelism,
        checkpointIntervalMs: options.checkpointInterval,
        rounds: options.rounds,
        workers: options.workers,
        inflightRetention: options.inflightRetention,
        onProgress: (message, done, total) => {
          const elapsed = (Date.now() - started) / 1000;
          const eta = done > 0 ? Math.round((elapsed / done) * (total - done)) : null;
          progress.update(`bench overhead ${options.query}: run ${done + 1}/${total} ${message}${eta === null ? '' : `, about ${eta}s left`}`, true);
        },
      });
      progress.done();
      const out = options.json ? process.stderr : process.stdout;
      out.write(
        `query ${result.query}, parallelism ${result.parallelism}, checkpoint every ${result.checkpointIntervalMs} ms, ` +
          `${result.workers > 0 ? `${result.workers} worker processes` : 'embedded'}, in-flight logs keep ${result.inflightRetention ?? 'references'}; ${result.rounds} rounds of ${(result.roundMs ?? 0) / 1000} s after ${(result.warmupMs ?? 0) / 1000} s of warm-up; ` +
          `latency at ${formatNumber(result.latencyRate)} events/s, each mode in a process of its own (its peak RSS)\n`,
      );
      out.write('mode                  events/s     ratio  (rounds min – max)   p50 ms    p99 ms  peak RSS MB\n');
      for (const m of OVERHEAD_MODES) {
        const f = result.modes[m.name];
        if (!f) {
          out.write(`${m.name.padEnd(20)}  (not implemented in this build)\n`);
          continue;
        }
        const spread = m.name === 'none' ? '' : `(${f.ratioMin} – ${f.ratioMax})`;
        out.write(
          `${m.name.padEnd(20)}  ${formatNumber(f.eventsPerSec).padStart(10)}  ${String(result.ratios[m.name]).padStart(6)}  ${spread.padEnd(18)}  ${String(f.p50Ms ?? 'missed').padStart(7)}  ` +
            `${String(f.p99Ms ?? 'missed').padStart(8)}  ${String(f.peakRssMB ?? 'n/a').padStart(11)}\n`,
        );
      }
      if (result.embeddedNone) {
        out.write(
          `none embedded         ${formatNumber(result.embeddedNone.eventsPerSec).padStart(10)}  workers none ÷ embedded none ${result.embeddedNoneRatio} ` +
            `(rounds ${result.embeddedNoneRatioMin} to ${result.embeddedNoneRatioMax})\n`,
        );
      }
      out.write(
        `peak RSS ${result.peakRssMB} MB: the largest mode's, each measured in a process that ran only that mode${result.workers > 0 ? ' (its coordinator)' : ''}; ` +
          `this invocation's own process ${result.invocationPeakRssMB} MB\n`,
      );
      if (options.json) printJsonResult(result);
    });

  registerRecoveryBench(bench);
  registerReportBench(bench);
  registerKafkaBench(bench);
  registerPeersBench(bench);

  bench
    .command('memory')
    .description('peak resident memory of a query running at a fixed rate with checkpoints')
    .option('--query <id>', `query: ${QUERY_IDS.join(', ')}`, oneOf(QUERY_IDS), 'q3' as QueryId)
    .option('--mode <mode>', `recovery mode: ${RECOVERY_MODES.join(', ')}`, oneOf(RECOVERY_MODES), 'global-rollback' as RecoveryMode)
    .option('--seconds <n>', 'how long to run', positiveNumber, 60)
    .option('--rate <events/s>', 'input rate (default: half of the maximum rate of mode none, measured first)', positiveNumber)
    .option('--parallelism <n>', 'parallelism of the source and every operator', positiveInteger, 2)
    .option('--checkpoint-interval <ms>', 'checkpoint interval in ms', positiveNumber, 1000)
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .action(async (options: { query: QueryId; mode: RecoveryMode; seconds: number; rate?: number; parallelism: number; checkpointInterval: number; json?: boolean }) => {
      const progress = new Progress();
      const ticker = setInterval(() => progress.update(`bench memory: RSS now ${Math.round(process.memoryUsage().rss / 1e6)} MB`), 1000);
      const result = await runMemoryBench({
        query: options.query,
        mode: options.mode,
        seconds: options.seconds,
        rate: options.rate,
        parallelism: options.parallelism,
        checkpointIntervalMs: options.checkpointInterval,
        onProgress: (message) => progress.log(message),
      });
      clearInterval(ticker);
      progress.done();
      const out = options.json ? process.stderr : process.stdout;
      out.write(
        `${result.query} ${result.mode} at ${formatNumber(result.rate)} events/s for ${result.seconds} s: achieved ${formatNumber(result.achievedEventsPerSec)} events/s, ` +
          `p99 ${result.p99Ms} ms, ${result.checkpoints} checkpoints, peak RSS ${result.peakRssMB} MB\n` +
          `largest determinant log + replicas of one task ${formatNumber(result.maxCausalLogBytes)} bytes; ` +
          `largest task state ${formatNumber(result.maxTaskStateBytes)} bytes, standby/task ${result.maxStandbyStateRatio ?? 'n/a'}\n`,
      );
      if (options.json) printJsonResult(result);
    });
}
