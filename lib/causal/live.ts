/**
 * Live causal services: answers come straight from the world and nothing is recorded. Used by the
 * recovery modes that need no determinants (`none`, `global-rollback`, `at-least-once`).
 */
import { randomBytes } from 'node:crypto';
import { SeededRandom } from '../util/random.js';
import { monotonicClock, wallClock } from '../util/clock.js';
import { uuidFrom, type CausalServices } from './services.js';
import { runUncaptured } from './capture.js';

/** Services that act live and record nothing. */
export class LiveServices implements CausalServices {
  private readonly random_ = new SeededRandom(randomBytes(4).readUInt32LE(0));

  /** `clock` is the task's cached clock, which the task ticks between deliveries (a `LiveClock`). */
  constructor(private readonly clock: { readonly cachedClock: number }) {}

  now(): number {
    return wallClock();
  }

  cachedNow(): number {
    return this.clock.cachedClock;
  }

  monotonicNow(): number {
    return monotonicClock();
  }

  random(): number {
    return this.random_.next();
  }

  randomUUID(): string {
    return uuidFrom(() => this.random_.nextUint32());
  }

  async call<T>(_name: string, fn: () => T | Promise<T>): Promise<T> {
    return await runUncaptured(fn);
  }
}
