/**
 * Windowed join of two keyed streams: records of both sides with equal keys that fall into the same
 * window are paired when the window fires; each pair goes through the join function.
 */
import type { Window } from './functions.js';
import type { StateKey } from '../state/api.js';
import { WindowedOperatorBase } from './windowed-base.js';
import type { WindowAssigner } from './window.js';
import { ConfigError } from '../errors.js';

const LEFT = 'join:left';
const RIGHT = 'join:right';

/** Joins two streams per key and window. */
export class WindowJoinOperator extends WindowedOperatorBase {
  constructor(
    name: string,
    private readonly keyOf1: (record: any) => StateKey,
    private readonly keyOf2: (record: any) => StateKey,
    private readonly assigner: WindowAssigner,
    private readonly join: (left: any, right: any, window: Window) => unknown,
  ) {
    super(name);
    if (assigner.type === 'session') throw new ConfigError(`${name}.window`, 'a tumbling or sliding window', 'a session window');
  }

  protected openFunction(): void {}

  processElement(record: unknown, timestamp: number): void {
    this.add(LEFT, this.keyOf1, record, timestamp);
  }

  override processElement2(record: unknown, timestamp: number): void {
    this.add(RIGHT, this.keyOf2, record, timestamp);
  }

  private add(side: string, keyOf: (record: any) => StateKey, record: unknown, timestamp: number): void {
    try {
      this.backend.currentKey = keyOf(record);
      const a = this.assigner as Exclude<WindowAssigner, { type: 'session' }>;
      const eventTime = a.time === 'event';
      const ts = eventTime ? timestamp : this.processingTimeOfArrival();
      const period = a.type === 'tumbling' ? a.size : a.slide;
      const last = ts - ((((ts - a.offset) % period) + period) % period);
      const state = this.backend.map<number, unknown[]>(side);
      let assigned = 0;
      for (let start = last; start > ts - a.size; start -= period) {
        const fireAt = start + a.size - 1;
        if (eventTime && fireAt <= this.task.watermark) continue;
        assigned++;
        const list = state.get(start);
        if (list) {
          list.push(record);
          state.put(start, list);
        } else {
          state.put(start, [record]);
        }
        if (eventTime) this.registerEventTime(fireAt);
        else this.registerProcessingTime(fireAt);
      }
      if (assigned === 0) this.task.countLate(this.name, 1);
    } catch (error) {
      this.task.operatorFailed(this.name, record, error);
    }
  }


  protected onTimer(timestamp: number): void {
    const size = (this.assigner as { size: number }).size;
    const start = timestamp + 1 - size;
    const left = this.backend.map<number, unknown[]>(LEFT);
    const right = this.backend.map<number, unknown[]>(RIGHT);
    const ls = left.get(start);
    const rs = right.get(start);
    left.remove(start);
    right.remove(start);
    if (!ls || !rs) return;
    const window: Window = { start, end: start + size };
    for (const l of ls) {
      for (const r of rs) {
        const joined = this.join(l, r, window);
        if (joined !== undefined) this.output.collect(joined, timestamp);
      }
    }
  }
}
