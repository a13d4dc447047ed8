/**
 * Watching a job for stalls: the coordinator's side of the stall detector (`stall-detector.ts`). On every
 * tick of the coordinator's scheduler the detector learns how far the job moved (records read and shown,
 * tasks finished, recoveries, checkpoints completed, elements every worker delivered) and whether some task
 * holds work. Once it reports a stall, every worker says what each of its tasks waits for; that report is
 * the `stalled` event, and the job fails with {@link JobStalledError} rather than hang.
 */
import { JobStalledError } from '../../errors.js';
import type { TaskWait } from '../events.js';
import { StallDetector } from '../stall-detector.js';
import type { CheckpointController } from './checkpoint-controller.js';
import type { JobMetrics } from './job-metrics.js';
import type { JobView } from './job-view.js';

/** What the watch reads of the job besides the {@link JobView}. */
export interface StallWatchHost extends JobView {
  /** Records read and shown, recoveries. */
  readonly metrics: JobMetrics;
  /** Checkpoints completed. */
  readonly checkpoints: CheckpointController;
  /** Tasks finished. */
  finishedTasks(): number;
  /** Runs `ticker` on every tick of the coordinator's scheduler. */
  addTicker(ticker: (now: number) => void): void;
}

/** Fails the job with a report of what each task waits for once it held work without progress for `timeoutMs`. */
export function watchForStalls(host: StallWatchHost, timeoutMs: number): void {
  const { links, metrics, checkpoints } = host;
  const detector = new StallDetector(
    {
      progress: () => {
        let moved = metrics.recordsIn + metrics.recordsOut + host.finishedTasks() + metrics.recoveries + (checkpoints.stats?.completed ?? 0);
        for (const link of links) if (link) moved += link.figures().elementsIn;
        return moved;
      },
      holdsWork: () => links.some((link) => link !== null && link.figures().holdsWork),
    },
    timeoutMs,
  );
  host.addTicker((now) => {
    const idleMs = detector.check(now);
    if (idleMs !== null) void reportStall(host, idleMs);
  });
}

/** The job made no progress while holding work: report what every task waits for, and fail. */
async function reportStall(host: StallWatchHost, idleMs: number): Promise<void> {
  const waiting: TaskWait[] = [];
  for (const link of host.links) if (link) waiting.push(...(await link.waits()));
  host.event('stalled', { idleMs, waiting });
  const lines = waiting.filter((w) => w.status === 'running').map((w) => `  ${w.task}: ${w.waitingFor}`);
  host.failJob(new JobStalledError(`the job made no progress for ${Math.round(idleMs)} ms while its tasks held work; what each waits for:\n${lines.join('\n')}`, waiting));
}
