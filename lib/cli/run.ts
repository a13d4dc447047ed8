/**
 * `causalflow run <job-file>`: runs a job defined in a module whose default export is a `Job` (or a
 * function returning one, possibly async). Shows live progress, stops cleanly on Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import type { JobHandle } from '../api/job.js';
import type { JobProgress } from '../runtime/executor.js';
import { ConfigError } from '../errors.js';
import { nonNegativeInteger, positiveNumber } from './args.js';
import { Progress, formatNumber, printJsonResult } from './output.js';
import { addEndpointOptions, describeEndpoints, endpointRunOptions, type EndpointFlags } from './endpoints.js';

/** What a job module may export by default. */
type JobExport = { start(options?: unknown): Promise<JobHandle>; describePlan?(workers?: number): string[] };

/** Adds `run` to `program`. */
export function registerRunCommand(program: Command): void {
  const command = program
    .command('run')
    .description('run the job exported by default from <job-file>, with live progress; Ctrl-C stops it cleanly')
    .argument('<job-file>', 'a .ts or .js module whose default export is a Job, or a function returning one')
    .option('--duration <seconds>', 'stop after this many seconds (default: run until the sources end)', positiveNumber)
    .option('--kill <tasks@ms>', 'kill tasks after some milliseconds (repeatable); tasks named together, or at the same ms, die in one instant: --kill "window-1[0]@2000", --kill "a[0],b[0]@2000"', collectKill, [])
    .option('--workers <n>', 'run the tasks in N worker processes (each loads <job-file>); kills are then SIGKILLs of the process holding the task, and --kill also takes "worker-N@ms"', nonNegativeInteger)
    .option('--rebalance', "with --workers: a lost worker's tasks move back to its new process once it is up (workers.rebalance)")
    .option('--resume', 'continue from the latest completed checkpoint in the job directory (after the coordinator died) instead of starting afresh')
    .option('--json', 'print the final figures as one JSON object on the last line of stdout');
  addEndpointOptions(command).action(
    async (file: string, options: EndpointFlags & { endpointToken?: string; duration?: number; json?: boolean; workers?: number; rebalance?: boolean; resume?: boolean; kill: { task: string[]; afterMs: number }[] }) => {
      const job = await loadJob(file);
      const workers = options.workers ?? 0;
      if (workers > 0 && job.describePlan) {
        // Which task and which standby lives where, and what a worker's failure needs.
        for (const line of job.describePlan(workers)) process.stderr.write(`${line}\n`);
      }
      const handle = await job.start({
        faults: options.kill,
        ...(workers > 0 ? { workers: { count: workers, module: resolve(file), ...(options.rebalance ? { rebalance: true } : {}) } } : {}),
        ...(options.resume ? { resume: true } : {}),
        ...(endpointRunOptions(options) ? { endpoints: endpointRunOptions(options) } : {}),
      });
      for (const line of describeEndpoints(handle)) process.stderr.write(`${line}\n`);
      const progress = new Progress(1000);
      const started = Date.now();
      let last: { at: number; in: number; out: number } = { at: 0, in: 0, out: 0 };
      const ticker = setInterval(() => {
        const p = handle.progress();
        const dt = (p.elapsedMs - last.at) / 1000;
        progress.update(describe(p, (p.recordsIn - last.in) / dt, (p.recordsOut - last.out) / dt), true);
        last = { at: p.elapsedMs, in: p.recordsIn, out: p.recordsOut };
      }, 1000);
      handle.onEvent((event) => {
        if (event.type === 'task-failed' || event.type.startsWith('rollback') || event.type.startsWith('recovery') || event.type.startsWith('worker-') || event.type === 'escalated') {
          progress.log(`[${(event.t / 1000).toFixed(3)}s] ${event.type} ${JSON.stringify({ ...event, t: undefined, type: undefined })}`);
        }
      });
      const stop = (): void => {
        progress.log('stopping (Ctrl-C)…');
        void handle.stop('interrupted');
      };
      process.once('SIGINT', stop);
      const timer = options.duration ? setTimeout(() => void handle.stop('duration reached'), options.duration * 1000) : null;
      try {
        const result = await handle.done;
        progress.done();
        const summary = { ...result, events: undefined, wallSeconds: (Date.now() - started) / 1000 };
        if (options.json) printJsonResult(summary);
        else process.stdout.write(`${describe(result, result.recordsIn / (result.elapsedMs / 1000), result.recordsOut / (result.elapsedMs / 1000))}\n`);
      } finally {
        clearInterval(ticker);
        if (timer) clearTimeout(timer);
        process.removeListener('SIGINT', stop);
      }
    },
  );
}

function collectKill(value: string, previous: { task: string[]; afterMs: number }[]): { task: string[]; afterMs: number }[] {
  const match = /^(.+)@(\d+(?:\.\d+)?)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected <task>[,<task>…]@<ms>, e.g. "window-1[0]@2000" or "a[0],b[1]@2000", got ${JSON.stringify(value)}`);
  // Tasks named together die in one instant (one failure group); so do kills given the same time.
  const tasks = match[1]!.split(/,(?![^[]*\])/).map((name) => name.trim());
  if (tasks.some((name) => name.length === 0)) throw new InvalidArgumentError(`expected task names separated by commas, got ${JSON.stringify(match[1])}`);
  return [...previous, { task: tasks, afterMs: Number(match[2]) }];
}

async function loadJob(file: string): Promise<JobExport> {
  const path = resolve(file);
  if (!existsSync(path)) throw new ConfigError('job-file', 'an existing .ts or .js module', file);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    throw new ConfigError('job-file', 'a module that loads', `${file} (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
  }
  let exported = module.default;
  if (typeof exported === 'function') exported = await (exported as () => unknown)();
  if (exported === null || typeof exported !== 'object' || typeof (exported as JobExport).start !== 'function') {
    throw new ConfigError(`${file} default export`, 'a Job, or a function returning one', exported);
  }
  return exported as JobExport;
}

function describe(p: JobProgress, inRate: number, outRate: number): string {
  const latency = p.latencyP50Ms === null ? 'n/a' : `p50 ${p.latencyP50Ms.toFixed(1)} ms, p99 ${p.latencyP99Ms!.toFixed(1)} ms`;
  return (
    `${(p.elapsedMs / 1000).toFixed(1)}s  in ${formatNumber(inRate)}/s  out ${formatNumber(outRate)}/s  ` +
    `total in ${formatNumber(p.recordsIn)} out ${formatNumber(p.recordsOut)}  latency ${latency}  ` +
    `checkpoints ${p.checkpoints}  recoveries ${p.recoveries}  tasks ${p.tasksFinished}/${p.tasks} done`
  );
}
