/**
 * The stall detector: a job whose tasks hold work but make no progress for the stall timeout is
 * reported, with what every task waits for, and failed with {@link JobStalledError} rather than hang.
 *
 * Progress is anything that moves: elements delivered, records emitted by sources or made visible by
 * sinks, checkpoints completed, tasks finished, recoveries. A job that waits for its sources (an idle
 * Kafka topic) holds no work and is not stalled: only a job with queued input, a barrier being aligned or
 * a replay in progress, and nothing moving, is.
 */

/** What the detector reads of the job. */
export interface StallProbe {
  /** A number that grows whenever the job progresses. */
  progress(): number;
  /** Whether any task holds work it has not done. */
  holdsWork(): boolean;
}

/** Watches one job. */
export class StallDetector {
  private lastProgress = -1;
  private lastMoveAt = 0;
  private reported = false;

  constructor(
    private readonly probe: StallProbe,
    /** Milliseconds without progress, while holding work, that make a stall. */
    readonly timeoutMs: number,
  ) {}

  /**
   * Called from the scheduler with the job clock. Returns how long the job has been idle the first time it
   * counts as stalled (the caller then asks every task what it waits for), null otherwise.
   */
  check(now: number): number | null {
    const progress = this.probe.progress();
    if (progress !== this.lastProgress || !this.probe.holdsWork()) {
      this.lastProgress = progress;
      this.lastMoveAt = now;
      this.reported = false;
      return null;
    }
    if (this.reported || now - this.lastMoveAt < this.timeoutMs) return null;
    this.reported = true;
    return now - this.lastMoveAt;
  }
}
