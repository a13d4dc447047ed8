/**
 * Windows on keyed streams: tumbling, sliding and session windows, each on event time (fired by the
 * watermark) or processing time (fired by the wall clock, assigned with the task's cached clock).
 *
 * Per key, open windows live in keyed state with their accumulators; a timer at `end - 1` fires each
 * window, which emits its result with timestamp `end - 1` and is cleared. Records for a window the
 * watermark already passed are late: they are counted (`lateRecordsDropped`) and dropped, never
 * silently.
 */
import type { AggregateFunction, Window } from './functions.js';
import { ConfigError } from '../errors.js';
import type { StateKey } from '../state/api.js';
import { WindowedOperatorBase } from './windowed-base.js';

/** Which clock drives a window. */
export type TimeDomain = 'event' | 'processing';

/** How records are assigned to windows. */
export type WindowAssigner =
  | { readonly type: 'tumbling'; readonly size: number; readonly offset: number; readonly time: TimeDomain }
  | { readonly type: 'sliding'; readonly size: number; readonly slide: number; readonly offset: number; readonly time: TimeDomain }
  | { readonly type: 'session'; readonly gap: number; readonly time: TimeDomain };

/** Tumbling windows of `sizeMs`. */
export function tumbling(sizeMs: number, options: { offsetMs?: number; time?: TimeDomain } = {}): WindowAssigner {
  checkDuration('tumbling.size', sizeMs);
  return { type: 'tumbling', size: sizeMs, offset: options.offsetMs ?? 0, time: checkDomain(options.time) };
}

/** Sliding windows of `sizeMs`, one starting every `slideMs`. */
export function sliding(sizeMs: number, slideMs: number, options: { offsetMs?: number; time?: TimeDomain } = {}): WindowAssigner {
  checkDuration('sliding.size', sizeMs);
  checkDuration('sliding.slide', slideMs);
  if (slideMs > sizeMs) throw new ConfigError('sliding.slide', `at most the window size ${sizeMs}`, slideMs);
  return { type: 'sliding', size: sizeMs, slide: slideMs, offset: options.offsetMs ?? 0, time: checkDomain(options.time) };
}

/**
 * Session windows: a key's window closes after `gapMs` without records. On event time by default; with
 * `time: 'processing'`, on the wall clock (records are assigned with the task's cached clock).
 */
export function session(gapMs: number, options: { time?: TimeDomain } = {}): WindowAssigner {
  checkDuration('session.gap', gapMs);
  return { type: 'session', gap: gapMs, time: checkDomain(options.time) };
}

function checkDuration(field: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(field, 'a duration in ms > 0', value);
}

function checkDomain(time: TimeDomain | undefined): TimeDomain {
  if (time === undefined) return 'event';
  if (time !== 'event' && time !== 'processing') throw new ConfigError('window.time', '"event" or "processing"', time);
  return time;
}

/** Start of the latest window of length `period` containing `ts`. */
function windowStart(ts: number, period: number, offset: number): number {
  return ts - ((((ts - offset) % period) + period) % period);
}

/** An accumulator strategy: how records of a window combine. */
export interface WindowAggregation<A> {
  /** Accumulator of a window's first record. */
  first(value: unknown): A;
  /** Adds a record; returns the (possibly same) accumulator. */
  add(accumulator: A, value: unknown): A;
  /** Combines two windows' accumulators (session merges). */
  merge(a: A, b: A): A;
  /** What the window emits. */
  result(accumulator: A, key: StateKey, window: Window): unknown;
}

/** `reduce`: the accumulator is a record. */
export function reduceAggregation(fn: (a: any, b: any) => unknown): WindowAggregation<unknown> {
  return { first: (v) => v, add: (a, v) => fn(a, v), merge: (a, b) => fn(a, b), result: (a) => a };
}

/** `aggregate`: an {@link AggregateFunction}, optionally projected with key and window. */
export function aggregateAggregation(
  fn: AggregateFunction<any, any, any>,
  project?: (key: any, window: Window, result: any) => unknown,
): WindowAggregation<unknown> {
  return {
    first: (v) => fn.add(fn.create(), v),
    add: (a, v) => fn.add(a, v),
    merge: (a, b) => {
      if (!fn.merge) throw new ConfigError('aggregate.merge', 'a merge function (session windows merge accumulators)', undefined);
      return fn.merge(a, b);
    },
    result: (a, key, window) => (project ? project(key, window, fn.result(a)) : fn.result(a)),
  };
}

/** `process`: the accumulator is the list of records, handed whole to the function. */
export function processAggregation(fn: (key: any, window: Window, values: any[]) => unknown): WindowAggregation<unknown[]> {
  return {
    first: (v) => [v],
    add: (a, v) => {
      a.push(v);
      return a;
    },
    merge: (a, b) => a.concat(b),
    result: (a, key, window) => fn(key, window, a),
  };
}

interface Session {
  start: number;
  end: number;
  acc: unknown;
}

const WINDOWS = 'windows';
const SESSIONS = 'sessions';

/** A keyed window operator. */
export class WindowOperator extends WindowedOperatorBase {
  private readonly starts: number[] = [];

  constructor(
    name: string,
    private readonly keyOf: (record: any) => StateKey,
    private readonly assigner: WindowAssigner,
    private readonly aggregation: WindowAggregation<any>,
    /** If set, window results that are arrays are emitted element by element (window `process` functions emit lists). */
    private readonly flatten = false,
  ) {
    super(name);
  }

  protected openFunction(): void {}

  processElement(record: unknown, timestamp: number): void {
    try {
      const key = this.keyOf(record);
      this.backend.currentKey = key;
      const eventTime = this.assigner.time === 'event';
      const ts = eventTime ? timestamp : this.processingTimeOfArrival();
      if (Number.isNaN(ts)) throw new ConfigError(`${this.name}.timestamps`, 'records with event timestamps (set watermarks on the source)', 'a record without one');
      if (this.assigner.type === 'session') {
        this.addToSession(record, ts, eventTime);
        return;
      }
      const windows = this.backend.map<number, unknown>(WINDOWS);
      const size = this.assigner.size;
      const starts = this.assignStarts(ts);
      let late = 0;
      for (let i = 0; i < starts.length; i++) {
        const start = starts[i]!;
        const fireAt = start + size - 1;
        if (eventTime && fireAt <= this.task.watermark) {
          late++;
          continue;
        }
        const acc = windows.get(start);
        windows.put(start, acc === undefined ? this.aggregation.first(record) : this.aggregation.add(acc, record));
        if (acc === undefined) {
          if (eventTime) this.registerEventTime(fireAt);
          else this.registerProcessingTime(fireAt);
        }
      }
      if (late > 0 && late === starts.length) this.task.countLate(this.name, 1);
    } catch (error) {
      this.task.operatorFailed(this.name, record, error);
    }
  }

  protected onTimer(timestamp: number): void {
    if (this.assigner.type === 'session') {
      this.fireSession(timestamp);
      return;
    }
    const size = this.assigner.size;
    const start = timestamp + 1 - size;
    const windows = this.backend.map<number, unknown>(WINDOWS);
    const acc = windows.get(start);
    if (acc === undefined) return;
    windows.remove(start);
    this.emitResult(acc, { start, end: start + size }, timestamp);
  }


  override endInput(): void {
    // Processing-time windows still open when input ends fire now: their results are complete.
    if (this.assigner.time === 'processing') this.onProcessingTime(Infinity);
  }

  private assignStarts(ts: number): number[] {
    const starts = this.starts;
    starts.length = 0;
    const a = this.assigner;
    if (a.type === 'tumbling') {
      starts.push(windowStart(ts, a.size, a.offset));
    } else if (a.type === 'sliding') {
      for (let start = windowStart(ts, a.slide, a.offset); start > ts - a.size; start -= a.slide) starts.push(start);
    }
    return starts;
  }

  private addToSession(record: unknown, ts: number, eventTime: boolean): void {
    const gap = (this.assigner as { gap: number }).gap;
    if (eventTime && ts + gap - 1 <= this.task.watermark) {
      this.task.countLate(this.name, 1);
      return;
    }
    const state = this.backend.list<Session>(SESSIONS);
    let merged: Session = { start: ts, end: ts + gap, acc: this.aggregation.first(record) };
    const kept: Session[] = [];
    for (const s of state.get()) {
      if (s.start < merged.end && merged.start < s.end) {
        if (eventTime) this.deleteEventTime(s.end - 1);
        else this.deleteProcessingTime(s.end - 1);
        merged = {
          start: Math.min(s.start, merged.start),
          end: Math.max(s.end, merged.end),
          acc: this.aggregation.merge(s.acc, merged.acc),
        };
      } else {
        kept.push(s);
      }
    }
    kept.push(merged);
    state.update(kept);
    if (eventTime) this.registerEventTime(merged.end - 1);
    else this.registerProcessingTime(merged.end - 1);
  }

  private fireSession(timestamp: number): void {
    const state = this.backend.list<Session>(SESSIONS);
    const sessions = state.get();
    const due = sessions.find((s) => s.end - 1 === timestamp);
    if (!due) return;
    const rest = sessions.filter((s) => s !== due);
    if (rest.length === 0) state.clear();
    else state.update(rest);
    this.emitResult(due.acc, { start: due.start, end: due.end }, timestamp);
  }

  private emitResult(acc: unknown, window: Window, timestamp: number): void {
    const result = this.aggregation.result(acc, this.backend.currentKey, window);
    if (this.flatten && Array.isArray(result)) {
      for (const item of result) this.output.collect(item, timestamp);
    } else if (result !== undefined) {
      this.output.collect(result, timestamp);
    }
  }
}
