/**
 * The sink operator: hands records to a sink partition according to the recovery mode.
 *
 * - `immediate`: written as they come (no fault tolerance, or output that is deduplicated elsewhere).
 * - `transactional` (global rollback): staged in the transaction of the current epoch; visible when the
 *   checkpoint closing that epoch completes, or when the job ends. A restored task commits what its
 *   checkpoint covers and discards the rest.
 * - `deduplicating` (local recovery): every record has an output index; indexes the partition already
 *   shows are dropped, so regenerated output is written once (I12).
 *
 * Latency is measured when records become visible, from the ingest time of the input behind them.
 */
import type { Sink, SinkPartition } from '../connectors/sink.js';
import { GrowableBytes } from '../../determinants/bytes.js';
import { readEnvelope } from '../../determinants/envelope.js';
import { Operator } from './operator.js';
import { runUncaptured } from '../causal/capture.js';
import type { OperatorSnapshot } from '../state/snapshot.js';

/** How a sink makes output visible. */
export type SinkMode = 'immediate' | 'transactional' | 'deduplicating';

/** State of a sink task in a snapshot. */
interface SinkState {
  /** Output index of the next record. */
  outputIndex: number;
  /** Epoch whose transaction is open. */
  epoch: number;
}

/** Reports records that became visible, for metrics. */
export type VisibilityReporter = (count: number, ingestTime: number) => void;

/** What a sink partition is told of the job when it opens (see `SinkContext`). */
export interface SinkRunContext {
  readonly jobDirectory: string;
  readonly runId: string;
  readonly fresh: boolean;
}

/** Writes a stream to a sink partition. */
export class SinkOperator extends Operator {
  private partition!: SinkPartition<unknown>;
  private readonly buffer: unknown[] = [];
  /** Pairs (count, ingest time) of the buffered records. */
  private runs: number[] = [];
  private outputIndex = 0;
  private epoch = 0;
  private readonly staged = new Map<number, number[]>();
  private restoredState: SinkState | null = null;
  private readonly envelope = new GrowableBytes(256);
  private resumeAfterVisible = false;

  constructor(
    name: string,
    private readonly sink: Sink<unknown>,
    private readonly mode: SinkMode,
    /** The job's directory and run (read when the partition opens). */
    private readonly run: () => SinkRunContext,
    private readonly report: VisibilityReporter,
  ) {
    super(name);
  }

  override restore(snapshot: OperatorSnapshot): void {
    this.restoredState = snapshot.state as SinkState;
  }

  override open(): void {
    const restored = this.restoredState;
    const run = this.run();
    this.partition = this.sink.open({
      subtask: this.task.subtask,
      parallelism: this.task.parallelism,
      jobDirectory: run.jobDirectory,
      restoredEpoch: restored?.epoch ?? 0,
      mode: this.mode,
      runId: run.runId,
      fresh: run.fresh,
    });
    if (restored) {
      this.outputIndex = restored.outputIndex;
      this.epoch = restored.epoch;
    }
    if (this.mode === 'transactional') {
      // Transactions the restored checkpoint covers are committed (again: commit is idempotent);
      // later ones will be regenerated, so they are dropped.
      this.partition.commit(this.epoch - 1);
      this.partition.abortAfter(this.epoch - 1);
    }
  }

  override whenReady(): Promise<void> | null {
    return this.partition.ready?.() ?? null;
  }

  processElement(record: unknown): void {
    this.buffer.push(record);
    const runs = this.runs;
    const ingest = this.task.ingestTime;
    const n = runs.length;
    if (n > 0 && runs[n - 1] === ingest) runs[n - 2]!++;
    else runs.push(1, ingest);
    if (this.buffer.length >= 1024) this.flush();
  }

  /**
   * Hands buffered records to the partition. The partition is the connector's code, not the operator's:
   * it runs with nothing captured, even when a full buffer is flushed from inside operator code that
   * `causal()` captures (a client library's clock reads are not the job's determinants).
   */
  override flush(): void {
    if (this.buffer.length === 0) return;
    runUncaptured(this.flushBuffer);
  }

  private readonly flushBuffer = (): void => {
    const buffer = this.buffer;
    const runs = this.runs;
    this.runs = [];
    switch (this.mode) {
      case 'immediate':
        this.partition.write(buffer, this.outputIndex, undefined, this.epoch);
        this.reportRuns(runs);
        break;
      case 'deduplicating': {
        const visible = this.partition.visibleCount();
        if (this.resumeAfterVisible) {
          this.resumeAfterVisible = false;
          this.outputIndex = Math.max(this.outputIndex, visible);
        }
        const skip = Math.max(0, Math.min(buffer.length, visible - this.outputIndex));
        if (skip < buffer.length) {
          // I1 at the last hop: the task's determinants are stored with the first output they cause.
          let determinants: Uint8Array | undefined;
          this.envelope.length = 0;
          const length = this.task.recorder.deltaForSink(this.envelope);
          if (length > 0) determinants = this.envelope.view(0, length);
          this.partition.write(skip === 0 ? buffer : buffer.slice(skip), this.outputIndex + skip, determinants, this.epoch);
        }
        this.reportRuns(dropLeading(runs, skip));
        break;
      }
      case 'transactional': {
        this.partition.stage(this.epoch, buffer);
        const pending = this.staged.get(this.epoch);
        if (pending) pending.push(...runs);
        else this.staged.set(this.epoch, runs);
        break;
      }
    }
    this.outputIndex += buffer.length;
    buffer.length = 0;
  };

  override snapshot(checkpointId: number): OperatorSnapshot {
    this.flush();
    this.epoch = checkpointId;
    return { state: { outputIndex: this.outputIndex, epoch: checkpointId } satisfies SinkState };
  }

  override checkpointCompleted(checkpointId: number): void {
    if (this.mode === 'transactional') this.commitUpTo(checkpointId - 1);
    // Stored determinants of epochs before the completed checkpoint are needed by no recovery (I2).
    if (this.task.recorder.truncates) {
      this.partition.pruneDeterminants?.((envelope) => maxEpoch(envelope) >= checkpointId);
    }
  }

  /**
   * After an escalation that regenerates output this partition already showed: the regenerated records
   * are shown after the visible ones instead of being dropped by output index (at-least-once, where
   * dropping them could lose records of the new execution).
   */
  showAfterVisible(): void {
    this.resumeAfterVisible = true;
  }

  /** Output index of the next record: how far this task's output has been regenerated. */
  get nextOutputIndex(): number {
    return this.outputIndex + this.buffer.length;
  }

  /** The partition this sink writes (recovery reads its stored determinants and visible count). */
  get sinkPartition(): SinkPartition<unknown> {
    return this.partition;
  }

  override endInput(): void {
    this.flush();
  }

  /** The job finished: nothing can roll back any more, so every staged transaction becomes visible. */
  finalCommit(): void {
    this.flush();
    if (this.mode === 'transactional') this.commitUpTo(Number.MAX_SAFE_INTEGER);
  }

  /** Resolves once everything written is in the external system (the partition's `flush`). */
  async drain(): Promise<void> {
    await this.partition?.flush?.();
  }

  override close(): void {
    void this.partition?.close?.();
  }

  private commitUpTo(txn: number): void {
    this.partition.commit(txn);
    for (const [epoch, runs] of this.staged) {
      if (epoch > txn) continue;
      this.reportRuns(runs);
      this.staged.delete(epoch);
    }
  }

  private reportRuns(runs: readonly number[]): void {
    for (let i = 0; i < runs.length; i += 2) this.report(runs[i]!, runs[i + 1]!);
  }
}

/** The newest epoch any slice of an envelope belongs to. */
function maxEpoch(envelope: Uint8Array): number {
  let max = -1;
  readEnvelope(envelope, (_task, epoch) => {
    if (epoch > max) max = epoch;
  });
  return max;
}

function dropLeading(runs: number[], skip: number): number[] {
  if (skip === 0) return runs;
  const out: number[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    const drop = Math.min(skip, runs[i]!);
    skip -= drop;
    if (runs[i]! > drop) out.push(runs[i]! - drop, runs[i + 1]!);
  }
  return out;
}
