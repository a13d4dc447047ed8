/**
 * One benchmark run in a process of its own, which reports the run's figures and its own peak resident
 * memory. A process's peak RSS (`process.resourceUsage().maxRSS`) never goes down, so in a process that
 * ran every mode it is the largest mode's, plus whatever garbage the earlier runs left: a per-mode figure
 * needs a process per mode. With worker processes the child is the coordinator, and the figure is its own
 * (the workers are its children and report none).
 *
 * The parent forks this module with `--bench-run-child`; the child reads one {@link ChildRunSpec} from
 * the IPC channel, runs it with `measureRun`, sends back {@link ChildRunFigures} and exits.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { measureRun, peakRssMB, type RunFigures, type RunSpec } from './harness.js';

/** The flag that makes this module a child: run one spec, report, exit. */
const CHILD_FLAG = '--bench-run-child';

/** A run the child can rebuild from JSON: a query, no closures (`observe`, `pipeline`). */
export type ChildRunSpec = Omit<RunSpec, 'observe' | 'pipeline'>;

/** What the child reports: the run's figures and its peak RSS. */
export interface ChildRunFigures extends RunFigures {
  /** Peak resident memory of the child process, which ran only this run (MB). */
  peakRssMB: number;
}

type ChildMessage = { ok: true; figures: ChildRunFigures } | { ok: false; error: string };

/**
 * Node flags of the child: this process's, and the tsx loader when this module is TypeScript and tsx
 * was registered by its API (as `bin/causalflow.js` does), which leaves no flag to inherit.
 */
function childExecArgv(): string[] {
  const inherited = process.execArgv.filter((arg) => !arg.startsWith('--inspect'));
  if (!import.meta.url.endsWith('.ts') || inherited.some((arg) => arg.includes('tsx'))) return inherited;
  return [...inherited, '--import', import.meta.resolve('tsx')];
}

/** Runs `spec` in a new process; resolves with its figures and the process's peak RSS. */
export function measureRunInChild(spec: ChildRunSpec): Promise<ChildRunFigures> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], { execArgv: childExecArgv(), stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let answer: ChildMessage | null = null;
    child.on('message', (message: ChildMessage) => {
      answer = message;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const a = answer as ChildMessage | null;
      if (a?.ok) resolve(a.figures);
      else reject(new Error(`benchmark run in a child process failed: ${a && !a.ok ? a.error : `exit ${code ?? signal} before reporting`}`));
    });
    child.send(spec);
  });
}

/** The child: one spec from the parent, one answer back, then exit (the job's timers must not hold it). */
async function childMain(): Promise<void> {
  const spec = await new Promise<ChildRunSpec>((resolve) => process.once('message', (m) => resolve(m as ChildRunSpec)));
  let message: ChildMessage;
  try {
    const figures = await measureRun(spec);
    message = { ok: true, figures: { ...figures, peakRssMB: peakRssMB() } };
  } catch (error) {
    message = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  process.send!(message, () => process.exit(0));
}

if (process.argv.includes(CHILD_FLAG) && process.argv[1] === fileURLToPath(import.meta.url)) void childMain();
