/**
 * `KeyedTimers` (I15) against a model that shares no code with it: a set of (key, timestamp) pairs, fired
 * earliest first and, within a timestamp, in canonical key order (numbers ascending, then strings). Random
 * registrations, deletions, firings and restores (a new index rebuilt from the same state, as a replacement
 * builds it) must fire exactly the model's timers in the model's order.
 */
import test from 'ava';
import fc from 'fast-check';
import { KeyedTimers } from '../../lib/runtime/timers.js';
import { HeapStateBackend } from '../../lib/state/heap-backend.js';
import type { StateKey } from '../../lib/state/api.js';
import { checkProperty } from '../helpers/property.js';

const TIMERS = '__timers:event';

type Step =
  | { op: 'register'; key: StateKey; ts: number }
  | { op: 'delete'; key: StateKey; ts: number }
  | { op: 'fire'; upTo: number; exclusive: boolean }
  | { op: 'restore' };

/** Pending timers as the model keeps them: `key` → timestamps. */
class TimerModel {
  private readonly pending = new Map<StateKey, Set<number>>();

  register(key: StateKey, ts: number): void {
    if (!this.pending.has(key)) this.pending.set(key, new Set());
    this.pending.get(key)!.add(ts);
  }

  delete(key: StateKey, ts: number): void {
    this.pending.get(key)?.delete(ts);
  }

  /** The pairs due, in firing order; removes them. */
  fire(upTo: number, exclusive: boolean): [StateKey, number][] {
    const due: [StateKey, number][] = [];
    for (const [key, stamps] of this.pending) for (const ts of stamps) if (exclusive ? ts < upTo : ts <= upTo) due.push([key, ts]);
    due.sort(([ka, ta], [kb, tb]) => ta - tb || keyOrder(ka, kb));
    for (const [key, ts] of due) this.pending.get(key)!.delete(ts);
    return due;
  }
}

/** Canonical key order, written out again: numbers ascending, then strings by code unit. */
function keyOrder(a: StateKey, b: StateKey): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const keyArb: fc.Arbitrary<StateKey> = fc.oneof(fc.integer({ min: -2, max: 3 }), fc.constantFrom('a', 'b', 'ab', 'B'));
const tsArb = fc.integer({ min: 0, max: 12 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('register' as const), key: keyArb, ts: tsArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb, ts: tsArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fire' as const), upTo: tsArb, exclusive: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restore' as const }) },
);

test('timers fire as the model does, earliest first and in canonical key order within a timestamp, across deletions and restores (I15)', (t) => {
  checkProperty(
    t,
    fc.property(fc.array(stepArb, { maxLength: 120 }), (steps) => {
      const backend = new HeapStateBackend(false);
      let timers = new KeyedTimers(backend, TIMERS);
      const model = new TimerModel();
      for (const step of steps) {
        if (step.op === 'register' || step.op === 'delete') {
          backend.currentKey = step.key;
          if (step.op === 'register') {
            timers.register(step.ts);
            model.register(step.key, step.ts);
          } else {
            timers.delete(step.ts);
            model.delete(step.key, step.ts);
          }
        } else if (step.op === 'fire') {
          const fired: [StateKey, number][] = [];
          timers.fireUpTo(step.upTo, (key, ts) => fired.push([key, ts]), step.exclusive);
          const expected = model.fire(step.upTo, step.exclusive);
          if (JSON.stringify(fired) !== JSON.stringify(expected)) {
            throw new Error(`fired ${JSON.stringify(fired)}, the model ${JSON.stringify(expected)}`);
          }
        } else {
          timers = new KeyedTimers(backend, TIMERS);
          timers.rebuild();
        }
      }
      // Whatever is left fires last, from a rebuilt index too.
      const rest: [StateKey, number][] = [];
      const rebuilt = new KeyedTimers(backend, TIMERS);
      rebuilt.rebuild();
      rebuilt.fireUpTo(Infinity, (key, ts) => rest.push([key, ts]));
      const expected = model.fire(Infinity, false);
      if (JSON.stringify(rest) !== JSON.stringify(expected)) throw new Error(`left ${JSON.stringify(rest)}, the model ${JSON.stringify(expected)}`);
    }),
    300,
  );
});

test('a timer deleted and registered again at the same timestamp fires once, and the earliest pending timestamp is reported (I15)', (t) => {
  const backend = new HeapStateBackend(false);
  const timers = new KeyedTimers(backend, TIMERS);
  backend.currentKey = 7;
  timers.register(5);
  timers.delete(5);
  t.is(timers.next(), Infinity, 'nothing is pending once the only timer is deleted');
  timers.register(5);
  timers.register(5);
  backend.currentKey = 'k';
  timers.register(5);
  timers.register(9);
  t.is(timers.next(), 5);
  const fired: [StateKey, number][] = [];
  timers.fireUpTo(10, (key, ts) => fired.push([key, ts]));
  t.deepEqual(fired, [
    [7, 5],
    ['k', 5],
    ['k', 9],
  ]);
  t.is(timers.next(), Infinity);
});
