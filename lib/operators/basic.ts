/**
 * Stateless record-at-a-time operators. Each wraps the user function in its own try/catch, so that a
 * throw is attributed to the right operator and record and handed to the job's error policy.
 */
import type { Collector } from './functions.js';
import { Operator } from '../runtime/operator.js';

/** Applies a function to every record. */
export class MapOperator extends Operator {
  constructor(
    name: string,
    private readonly fn: (value: any) => unknown,
  ) {
    super(name);
  }

  processElement(record: unknown, timestamp: number): void {
    let result: unknown;
    try {
      result = this.fn(record);
    } catch (error) {
      this.task.operatorFailed(this.name, record, error);
      return;
    }
    this.output.collect(result, timestamp);
  }
}

/** Keeps the records a predicate accepts. */
export class FilterOperator extends Operator {
  constructor(
    name: string,
    private readonly predicate: (value: any) => boolean,
  ) {
    super(name);
  }

  processElement(record: unknown, timestamp: number): void {
    let keep: boolean;
    try {
      keep = this.predicate(record);
    } catch (error) {
      this.task.operatorFailed(this.name, record, error);
      return;
    }
    if (keep) this.output.collect(record, timestamp);
  }
}

/** Emits zero or more records per record. */
export class FlatMapOperator extends Operator implements Collector<unknown> {
  private timestamp = NaN;

  constructor(
    name: string,
    private readonly fn: (value: any, out: Collector<any>) => void,
  ) {
    super(name);
  }

  processElement(record: unknown, timestamp: number): void {
    this.timestamp = timestamp;
    try {
      this.fn(record, this);
    } catch (error) {
      this.task.operatorFailed(this.name, record, error);
    }
  }

  /** {@inheritDoc Collector.collect} */
  collect(record: unknown): void {
    this.output.collect(record, this.timestamp);
  }
}
