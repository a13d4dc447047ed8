/**
 * The function types users pass to the API. Operator code reaches the clock, randomness and external
 * services only through the context (`ctx.now()`, `ctx.random()`, `ctx.call()`), or inside `causal()`
 * (see `docs/determinism.md`): that is what makes its effects replayable.
 */
import type { CausalServices } from '../causal/services.js';
import type { KeyedStateStore, StateKey } from '../state/api.js';

/** Receives the records a flatMap produces. */
export interface Collector<T> {
  /** Emits a record (with the input record's timestamp). */
  collect(record: T): void;
}

/** Processing-time (and, on keyed streams, event-time) timers. */
export interface TimerService {
  /** Fires `onTimer` once the wall clock reaches `timestamp` (ms). */
  registerProcessingTime(timestamp: number): void;
  /** Cancels a processing-time timer. */
  deleteProcessingTime(timestamp: number): void;
  /** Fires `onTimer` once the watermark reaches `timestamp` (keyed streams only). */
  registerEventTime(timestamp: number): void;
  /** Cancels an event-time timer (keyed streams only). */
  deleteEventTime(timestamp: number): void;
}

/** What a process function sees: its output, its position, its state and timers, and the causal services (clocks, random numbers, external calls; each a determinant under exactly-once). */
export interface ProcessContext<O> extends CausalServices {
  /** Emits a record; its timestamp defaults to the current record's (or timer's). */
  emit(record: O, timestamp?: number): void;
  /** Event timestamp of the current record, or the timer's timestamp in `onTimer`; NaN for none. */
  readonly timestamp: number;
  /** The current event-time watermark. */
  readonly watermark: number;
  /** Index of this parallel instance. */
  readonly subtask: number;
  /** Number of parallel instances. */
  readonly parallelism: number;
  /** Keyed state (on non-keyed streams: one shared entry per instance). */
  readonly state: KeyedStateStore;
  /** Timers. */
  readonly timers: TimerService;
}

/** What a keyed process function sees. */
export interface KeyedProcessContext<K, O> extends ProcessContext<O> {
  /** Key of the current record or timer. */
  readonly key: K;
}

/** A low-level operator over one stream. */
export interface ProcessFunction<I, O> {
  /** Called once before the first record. */
  open?(ctx: ProcessContext<O>): void;
  /** Called for every record. */
  processElement(value: I, ctx: ProcessContext<O>): void | Promise<void>;
  /** Called when a timer fires. */
  onTimer?(timestamp: number, ctx: ProcessContext<O>, domain: 'event' | 'processing'): void;
  /** Called once when the task stops. */
  close?(): void;
}

/** A low-level operator over a keyed stream. */
export interface KeyedProcessFunction<K, I, O> {
  /** Called once before the first record. */
  open?(ctx: KeyedProcessContext<K, O>): void;
  /** Called for every record, with its key current. */
  processElement(value: I, ctx: KeyedProcessContext<K, O>): void | Promise<void>;
  /** Called when a timer fires, with its key current. */
  onTimer?(timestamp: number, ctx: KeyedProcessContext<K, O>, domain: 'event' | 'processing'): void;
  /** Called once when the task stops. */
  close?(): void;
}

/** A low-level operator over two streams. */
export interface CoProcessFunction<I1, I2, O> {
  /** Called once before the first record. */
  open?(ctx: KeyedProcessContext<StateKey, O>): void;
  /** Called for every record of the first stream. */
  processElement1(value: I1, ctx: KeyedProcessContext<StateKey, O>): void;
  /** Called for every record of the second stream. */
  processElement2(value: I2, ctx: KeyedProcessContext<StateKey, O>): void;
  /** Called when a timer fires. */
  onTimer?(timestamp: number, ctx: KeyedProcessContext<StateKey, O>, domain: 'event' | 'processing'): void;
  /** Called once when the task stops. */
  close?(): void;
}

/** Incremental aggregation of a window. */
export interface AggregateFunction<I, A, R> {
  /** A new, empty accumulator. */
  create(): A;
  /** Adds a record; may return a new accumulator or the same one updated. */
  add(accumulator: A, value: I): A;
  /** The result of a window. */
  result(accumulator: A): R;
  /** Merges two accumulators (needed for session windows). */
  merge?(a: A, b: A): A;
}

/** A window: [start, end) in ms. */
export interface Window {
  /** Inclusive start. */
  readonly start: number;
  /** Exclusive end. */
  readonly end: number;
}
