/**
 * Process operators: user functions with a context (state, timers, causal services), over one keyed
 * stream, or over two streams sharing keyed state (`connect`). A non-keyed process function runs as a
 * keyed one whose every record has the same key, which gives it per-instance state and timers.
 */
import type { CoProcessFunction, KeyedProcessContext, KeyedProcessFunction, TimerService } from './functions.js';
import type { KeyedStateStore, StateKey } from '../state/api.js';
import type { StateBackend } from '../state/backend.js';
import { Operator } from '../runtime/operator.js';
import { KeyedTimers } from '../runtime/timers.js';
import { dispatchTimer, runWithServices } from '../causal/decorators.js';

const EVENT_TIMERS = '__timers:event';
const PROCESSING_TIMERS = '__timers:processing';

/** Shared machinery: state backend, the two timer services, and the context handed to user code. */
export abstract class KeyedOperatorBase extends Operator implements KeyedProcessContext<StateKey, unknown>, TimerService {
  /** Keyed state of this operator. */
  protected backend!: StateBackend;
  /** Event-time timers. */
  protected eventTimers!: KeyedTimers;
  /** Processing-time timers. */
  protected processingTimers!: KeyedTimers;
  /** Event timestamp of the current record or timer. */
  timestamp = NaN;

  override open(): void {
    this.backend = this.task.stateBackend(this.name);
    this.eventTimers = new KeyedTimers(this.backend, EVENT_TIMERS);
    this.processingTimers = new KeyedTimers(this.backend, PROCESSING_TIMERS);
    this.eventTimers.rebuild();
    this.processingTimers.rebuild();
    this.openFunction();
  }

  /** Opens the user function. */
  protected abstract openFunction(): void;

  // ------------------------------------------------------------ KeyedProcessContext

  get key(): StateKey {
    return this.backend.currentKey;
  }

  get state(): KeyedStateStore {
    return this.backend;
  }

  get timers(): TimerService {
    return this;
  }

  get watermark(): number {
    return this.task.watermark;
  }

  get subtask(): number {
    return this.task.subtask;
  }

  get parallelism(): number {
    return this.task.parallelism;
  }

  emit(record: unknown, timestamp?: number): void {
    this.output.collect(record, timestamp ?? this.timestamp);
  }

  now(): number {
    return this.task.services.now();
  }

  cachedNow(): number {
    return this.task.services.cachedNow();
  }

  monotonicNow(): number {
    return this.task.services.monotonicNow();
  }

  random(): number {
    return this.task.services.random();
  }

  randomUUID(): string {
    return this.task.services.randomUUID();
  }

  call<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return this.task.services.call(name, fn);
  }

  // ------------------------------------------------------------ TimerService

  registerProcessingTime(timestamp: number): void {
    this.processingTimers.register(timestamp);
    this.task.wakeAt(timestamp);
  }

  deleteProcessingTime(timestamp: number): void {
    this.processingTimers.delete(timestamp);
  }

  registerEventTime(timestamp: number): void {
    this.eventTimers.register(timestamp);
  }

  deleteEventTime(timestamp: number): void {
    this.eventTimers.delete(timestamp);
  }

  // ------------------------------------------------------------ operator hooks

  /** Timer callbacks made once: a closure per watermark or clock tick would be garbage on every one. */
  private readonly fireEvent = (_key: StateKey, ts: number): void => this.fire(ts, 'event');
  private readonly fireProcessing = (_key: StateKey, ts: number): void => this.fire(ts, 'processing');

  override processWatermark(watermark: number): void {
    this.eventTimers.fireUpTo(watermark, this.fireEvent);
    this.output.emitWatermark(watermark);
  }

  override nextProcessingTimer(): number {
    return this.processingTimers ? this.processingTimers.next() : Infinity;
  }

  /**
   * Fires processing-time timers strictly before `now`: a timer at `t` fires once the clock has passed
   * `t`, so a record processed during millisecond `t` still belongs to a window ending at `t + 1`
   * without reopening it after it fired.
   */
  override onProcessingTime(now: number): void {
    this.processingTimers.fireUpTo(now, this.fireProcessing, true);
  }

  override snapshot(checkpointId: number) {
    return { keyed: this.backend.snapshot(checkpointId) };
  }

  override restore(snapshot: { keyed?: import('../state/backend.js').KeyedDelta }): void {
    if (snapshot.keyed) this.task.stateBackend(this.name).apply(snapshot.keyed);
  }

  /** Calls the user's timer callback. */
  protected abstract onTimer(timestamp: number, domain: 'event' | 'processing'): void;

  private fire(timestamp: number, domain: 'event' | 'processing'): void {
    this.timestamp = timestamp;
    try {
      this.onTimer(timestamp, domain);
    } catch (error) {
      this.task.operatorFailed(this.name, { timer: timestamp, domain, key: this.backend.currentKey }, error);
    }
  }
}

/** A keyed (or, with a constant key, non-keyed) process function. */
export class KeyedProcessOperator extends KeyedOperatorBase {
  constructor(
    name: string,
    private readonly keyOf: (record: any) => StateKey,
    private readonly fn: KeyedProcessFunction<any, any, any>,
    /** The function returns promises (declared `async: true`): its continuations keep its services. */
    private readonly async = false,
  ) {
    super(name);
  }

  protected openFunction(): void {
    this.fn.open?.(this);
  }

  processElement(record: unknown, timestamp: number): void | Promise<void> {
    this.timestamp = timestamp;
    try {
      this.backend.currentKey = this.keyOf(record);
      const result = this.async ? runWithServices(this.task.services, () => this.fn.processElement(record, this)) : this.fn.processElement(record, this);
      if (result !== undefined) return result.catch((error: unknown) => this.task.operatorFailed(this.name, record, error));
    } catch (error) {
      this.task.operatorFailed(this.name, record, error);
    }
  }

  protected onTimer(timestamp: number, domain: 'event' | 'processing'): void {
    if (this.fn.onTimer) this.fn.onTimer(timestamp, this, domain);
    dispatchTimer(this.fn, timestamp, this, domain);
  }

  override close(): void {
    this.fn.close?.();
  }
}

/** Two streams, keyed alike, processed by one function with shared keyed state. */
export class CoProcessOperator extends KeyedOperatorBase {
  constructor(
    name: string,
    private readonly keyOf1: (record: any) => StateKey,
    private readonly keyOf2: (record: any) => StateKey,
    private readonly fn: CoProcessFunction<any, any, any>,
  ) {
    super(name);
  }

  protected openFunction(): void {
    this.fn.open?.(this);
  }

  processElement(record: unknown, timestamp: number): void {
    this.timestamp = timestamp;
    try {
      this.backend.currentKey = this.keyOf1(record);
      this.fn.processElement1(record, this);
    } catch (error) {
      this.task.operatorFailed(this.name, record, error);
    }
  }

  override processElement2(record: unknown, timestamp: number): void {
    this.timestamp = timestamp;
    try {
      this.backend.currentKey = this.keyOf2(record);
      this.fn.processElement2(record, this);
    } catch (error) {
      this.task.operatorFailed(this.name, record, error);
    }
  }

  protected onTimer(timestamp: number, domain: 'event' | 'processing'): void {
    if (this.fn.onTimer) this.fn.onTimer(timestamp, this, domain);
    dispatchTimer(this.fn, timestamp, this, domain);
  }

  override close(): void {
    this.fn.close?.();
  }
}
