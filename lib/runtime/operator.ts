/**
 * The operator contract inside a task. A task runs a chain of operators; the head receives input
 * elements, each operator pushes its output into the next through an {@link Output}, and the last
 * one's output goes to the task's channel writers.
 *
 * Event timestamps travel beside records (never wrapped around them): `processElement(record,
 * timestamp)`, `collect(record, timestamp)`, NaN meaning "no timestamp".
 */
import type { OperatorSnapshot } from '../state/snapshot.js';
import type { TaskContext } from './task-context.js';

/** Where an operator sends what it produces. */
export interface Output {
  /** Emits a record with its event timestamp (NaN for none). */
  collect(record: unknown, timestamp: number): void;
  /** Emits a watermark. */
  emitWatermark(timestamp: number): void;
}

/** An operator inside a task's chain. */
export abstract class Operator {
  /** Where results go; set by the task before `open`. */
  output!: Output;
  /** The task's services and identity; set by the task before `open`. */
  task!: TaskContext;
  /** Position in the chain (0 = head); set by the task. */
  chainIndex = 0;

  constructor(
    /** Operator name, unique in the job (used in errors, metrics and state). */
    readonly name: string,
  ) {}

  /** Called once before any element, after state was restored. */
  open(): void {}

  /**
   * After `open`: a promise the task awaits before it processes anything (a sink partition reading its
   * tail, say), or null when the operator is ready at once.
   */
  whenReady(): Promise<void> | null {
    return null;
  }

  /** One record from the first (or only) input. May return a promise only for operators declared async. */
  abstract processElement(record: unknown, timestamp: number): void | Promise<void>;

  /** One record from the second input (two-input operators only). */
  processElement2(_record: unknown, _timestamp: number): void | Promise<void> {
    throw new Error(`${this.name} has one input`);
  }

  /** The combined input watermark advanced. Default: pass it on. */
  processWatermark(watermark: number): void {
    this.output.emitWatermark(watermark);
  }

  /** Processing-time timers due strictly before `now` (wall-clock ms) fire. */
  onProcessingTime(_now: number): void {}

  /** Wall-clock ms of this operator's earliest processing-time timer, or Infinity. */
  nextProcessingTimer(): number {
    return Infinity;
  }

  /** End of an activation: hand buffered output on (sinks buffer records per activation). */
  flush(): void {}

  /** Every input ended: flush whatever waits for more input (e.g. open windows). */
  endInput(): void {}

  /** The operator's state for checkpoint `checkpointId`, or null when it has none. */
  snapshot(_checkpointId: number): OperatorSnapshot | null {
    return null;
  }

  /** Restores state captured by `snapshot` (merged over a chain, see `mergeSnapshots`). Called before `open`. */
  restore(_snapshot: OperatorSnapshot): void {}

  /** Checkpoint `checkpointId` completed everywhere. */
  checkpointCompleted(_checkpointId: number): void {}

  /** Checkpoint `checkpointId` was abandoned. */
  checkpointAborted(_checkpointId: number): void {}

  /** Called once when the task stops (finished, failed or killed). */
  close(): void {}
}

/** Output that feeds the next operator of the chain directly. */
export class ChainedOutput implements Output {
  constructor(private readonly next: Operator) {}

  collect(record: unknown, timestamp: number): void {
    this.next.processElement(record, timestamp);
  }

  emitWatermark(timestamp: number): void {
    this.next.processWatermark(timestamp);
  }
}

/** Output that feeds the second input of the next operator (a chained two-input operator). */
export class ChainedSecondOutput implements Output {
  constructor(private readonly next: Operator) {}

  collect(record: unknown, timestamp: number): void {
    this.next.processElement2(record, timestamp);
  }

  emitWatermark(timestamp: number): void {
    this.next.processWatermark(timestamp);
  }
}

/** Output that copies to several outputs (an operator with several consumers). */
export class FanOutput implements Output {
  constructor(private readonly outputs: readonly Output[]) {}

  collect(record: unknown, timestamp: number): void {
    for (const output of this.outputs) output.collect(record, timestamp);
  }

  emitWatermark(timestamp: number): void {
    for (const output of this.outputs) output.emitWatermark(timestamp);
  }
}

/** Output of an operator with no consumer. */
export const DISCARDING_OUTPUT: Output = {
  collect() {},
  emitWatermark() {},
};
