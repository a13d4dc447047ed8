/**
 * `causalflow demo`: the first thing to run. Nexmark Q3 on the embedded runtime with exactly-once
 * causal recovery: live progress, a task killed midway, its standby taking over, and a summary checked
 * against an oracle replay of the run's determinants. With `--workers N` the tasks run in N worker
 * processes, and the kill is a SIGKILL of the process holding the join: every task on it dies, and
 * standbys in the other processes take over.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { recoveryFigures } from '../runtime/recovery-metrics.js';
import { compareOutputs, describeComparison, outputOf } from '../verify/compare.js';
import { nonNegativeInteger, positiveInteger, positiveNumber } from './args.js';
import { buildDemoJob, DEMO_JOB_MODULE, type DemoJobArgs } from './demo-job.js';
import { Progress, formatNumber, printJsonResult } from './output.js';
import type { JobHandle } from '../api/job.js';
import { addEndpointOptions, describeEndpoints, endpointRunOptions, type EndpointFlags } from './endpoints.js';

/** Adds `demo` to `program`. */
export function registerDemoCommand(program: Command): void {
  const command = program
    .command('demo')
    .description('run Nexmark Q3 with exactly-once causal recovery, kill a task midway, and check the output against an oracle')
    .option('--rate <events/s>', 'input rate', positiveNumber, 200_000)
    .option('--seconds <n>', 'length of the run', positiveNumber, 8)
    .option('--kill-at <s>', 'when to kill a join task, in seconds (default: midway through the run, between two checkpoints)', positiveNumber)
    .option('--parallelism <n>', 'parallelism of every operator', positiveInteger, 2)
    .option('--workers <n>', 'run the tasks in N worker processes; the kill is then a SIGKILL of the process holding q3-join[0]', nonNegativeInteger, 0)
    .option('--dashboard-wait <s>', 'with --dashboard: seconds the dashboard stays up after the run (default: until Ctrl-C)', positiveNumber)
    .option('--json', 'print the summary as one JSON object on the last line of stdout');
  addEndpointOptions(command).action(
    async (options: EndpointFlags & { endpointToken?: string; dashboardWait?: number; rate: number; seconds: number; killAt?: number; parallelism: number; workers: number; json?: boolean }) => {
      const out = options.json ? process.stderr : process.stdout;
      const progress = new Progress(1000);
      const directory = mkdtempSync(join(tmpdir(), 'causalflow-demo-'));
      // Midway between two checkpoints, so that the standby has half an epoch of determinants to replay.
      const killAt = (options.killAt ?? Math.floor(options.seconds / 2) + 0.5) * 1000;
      const maxEvents = Math.round(options.rate * options.seconds);
      const argsFor = (dir: string): DemoJobArgs => ({ parallelism: options.parallelism, rate: options.rate, maxEvents, directory: dir });
      const build = (dir: string): ReturnType<typeof buildDemoJob> => buildDemoJob(argsFor(dir));
      const workers = options.workers;
      try {
        out.write(
          `causalflow demo: Nexmark Q3 (sellers in OR/ID/CA joined with their category-10 auctions), ${formatNumber(options.rate)} events/s for ${options.seconds} s,\n` +
            `parallelism ${options.parallelism}, exactly-once causal recovery (checkpoint every 1 s, one standby per task). ` +
            (workers > 0
              ? `The tasks run in ${workers} worker processes; the one holding q3-join[0] is SIGKILLed at ${(killAt / 1000).toFixed(1)} s.\n\n`
              : `q3-join[0] is killed at ${(killAt / 1000).toFixed(1)} s.\n\n`),
        );
        const { job, sink } = build(join(directory, 'run'));
        if (workers > 0) out.write(`placement:\n${job.describePlan(workers).filter((line) => !line.startsWith('task ')).map((line) => `  ${line}`).join('\n')}\n\n`);
        const handle = await job.start({
          faults: [{ task: 'q3-join[0]', afterMs: killAt }],
          ...(workers > 0 ? { workers: { count: workers, module: DEMO_JOB_MODULE, export: 'buildDemoJob', args: argsFor(join(directory, 'run')) } } : {}),
          ...(endpointRunOptions(options) ? { endpoints: endpointRunOptions(options, 'keep') } : {}),
        });
        for (const line of describeEndpoints(handle)) out.write(`${line}\n`);
        const pids = handle.workerPids();
        const where = (task: string): string => {
          if (workers === 0) return '';
          const id = handle.taskNames().indexOf(task);
          return ` in worker-${handle.executor.currentPlacement()[id]}`;
        };
        handle.onEvent((event) => {
          const at = `${(event.t / 1000).toFixed(3)}s`;
          if (event.type === 'worker-killed') progress.log(`${at}  ☠ worker-${event.worker} (pid ${pids[event.worker] ?? '?'}) SIGKILLed, holding ${event.tasks.join(', ') || 'no task'}${event.standbys.length > 0 ? ` and the standbys of ${event.standbys.join(', ')}` : ''}`);
          if (event.type === 'worker-lost') progress.log(`${at}  ✗ worker-${event.worker} is gone: ${event.detectedBy}, detected ${event.detectionMs === null ? '' : `${event.detectionMs.toFixed(1)} ms `}after the kill`);
          if (event.type === 'worker-respawned') progress.log(`${at}  + a new worker-${event.worker} process joined (${event.ms.toFixed(0)} ms); it will hold standbys`);
          if (event.type === 'tasks-moving') progress.log(`${at}  ⇄ ${event.tasks.join(', ')} move back to worker-${event.worker}, whose standbys hold checkpoint ${event.checkpoint}`);
          if (event.type === 'task-failed') progress.log(`${at}  ✗ ${event.task} failed (${event.cause})`);
          if (event.type === 'standby-activated') progress.log(`${at}  ↻ standby of ${event.task}${where(event.task)} took over: state of checkpoint ${event.checkpoint} from the ${event.state}, ${event.replayEntries} determinants to replay`);
          if (event.type === 'live') progress.log(`${at}  ✓ ${event.task} replayed its log in ${Number(event.replayMs).toFixed(1)} ms and is live; nothing else stopped`);
          if (event.type === 'escalated') progress.log(`${at}  ! escalated to a global rollback: ${event.reason}`);
        });
        let last = { at: 0, in: 0, out: 0 };
        const ticker = setInterval(() => {
          const p = handle.progress();
          const dt = (p.elapsedMs - last.at) / 1000;
          progress.update(
            `${(p.elapsedMs / 1000).toFixed(1)}s  in ${formatNumber((p.recordsIn - last.in) / dt)}/s  results ${formatNumber(p.recordsOut)}  ` +
              `latency p50 ${p.latencyP50Ms?.toFixed(1) ?? '-'} ms p99 ${p.latencyP99Ms?.toFixed(1) ?? '-'} ms  checkpoints ${p.checkpoints}`,
            true,
          );
          last = { at: p.elapsedMs, in: p.recordsIn, out: p.recordsOut };
        }, 1000);
        const result = await handle.done;
        clearInterval(ticker);
        progress.done();
        const executor = handle.executor;
        const figures = recoveryFigures(executor.timeline.slotsSoFar(), executor.outputTimes.toArray(), { killAt, warmupMs: 1000 });
        const band = figures.bandMs === null ? '' : `, ${figures.bandMs.toFixed(1)} ms`;
        const live = result.events.find((e) => e.type === 'live');
        const failedAt = result.events.find((e) => e.type === 'task-failed')?.t ?? killAt;

        out.write('\nchecking the output against an oracle replay of every task’s determinants…\n');
        const oracleBuild = build(join(directory, 'oracle'));
        let oracleOutput: unknown[][] | null = null;
        let oracleFailure: string | null = null;
        try {
          const oracle = await oracleBuild.job.replay(executor.traces());
          await oracle.done;
          oracleOutput = outputOf(oracleBuild.sink);
        } catch (error) {
          // The trace cannot be followed: a violation, never "not measured".
          oracleFailure = error instanceof Error ? error.message.split('\n')[0]! : String(error);
        }
        const comparison = compareOutputs(outputOf(sink), oracleOutput);
        const { duplicates, lost } = comparison;
        const identical = comparison.identical === true;
        const lostEvent = result.events.find((e) => e.type === 'worker-lost');
        const summary = {
          demo: 'q3',
          workers,
          detectionMs: lostEvent && lostEvent.type === 'worker-lost' ? lostEvent.detectionMs : null,
          events: result.recordsIn,
          results: sink.size,
          recoveries: result.recoveries,
          escalations: result.escalations,
          takeoverMs: live ? Math.round((live.t - failedAt) * 1000) / 1000 : null,
          recoveryMs: figures.recoveryMs,
          outputGapMs: figures.outputGapMs === null ? null : Math.round(figures.outputGapMs * 1000) / 1000,
          peakLatencyMs: figures.peakLatencyMs,
          duplicates,
          lost,
          oracleIdentical: identical,
        };
        out.write(
          `\nsummary\n` +
            `  events read ............ ${formatNumber(summary.events)} (includes replays)\n` +
            `  results ................ ${formatNumber(summary.results)}\n` +
            (workers > 0 ? `  worker loss detected ... ${summary.detectionMs === null ? 'n/a' : `${summary.detectionMs.toFixed(1)} ms after the SIGKILL`}\n` : '') +
            `  standby takeover ....... ${summary.takeoverMs === null ? 'n/a' : `${summary.takeoverMs.toFixed(1)} ms from failure to live`}\n` +
            `  recovery time .......... ${
              summary.recoveryMs === null
                ? 'MISSED: latency never settled back within the band it showed before the kill'
                : `${summary.recoveryMs} ms until latency was back within the band before the kill (p95 + 10%${band}) for 1 s`
            }\n` +
            `  output gap ............. ${summary.outputGapMs === null ? 'n/a' : `${summary.outputGapMs.toFixed(1)} ms`}\n` +
            `  duplicates ............. ${summary.duplicates ?? 'not counted: no oracle (a violation)'}\n` +
            `  lost ................... ${summary.lost ?? 'not counted: no oracle (a violation)'}\n` +
            `  oracle ................. ${oracleFailure !== null ? `FAILED: ${oracleFailure}` : summary.oracleIdentical ? 'identical, partition by partition, record by record' : `DIFFERENT: ${describeComparison(comparison)}`}\n`,
        );
        if (handle.endpoints.dashboard) await lingerForTheDashboard(handle, options.dashboardWait, out);
        await handle.closeEndpoints();
        if (options.json) printJsonResult(summary);
        if (!identical) process.exitCode = 1;
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  );
}

/** Keeps the dashboard up after the run, so that its last state can be looked at: `seconds`, or until Ctrl-C. */
async function lingerForTheDashboard(handle: JobHandle, seconds: number | undefined, out: NodeJS.WritableStream): Promise<void> {
  out.write(`\nthe dashboard stays up ${seconds !== undefined ? `for ${seconds} s` : 'until Ctrl-C'}: ${handle.endpoints.dashboard}\n`);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.removeListener('SIGINT', done);
      if (timer) clearTimeout(timer);
      resolve();
    };
    const timer = seconds !== undefined ? setTimeout(done, seconds * 1000) : null;
    process.once('SIGINT', done);
  });
}
