/**
 * Causal services: the only way operator code reaches the clock, randomness and the outside world
 * (habit 1 of the style guide). In a mode without causal logging they act live; under exactly-once
 * recovery the same interface records each answer as a determinant and replays it.
 */

/** What operator code may ask of the nondeterministic world. */
export interface CausalServices {
  /** Wall-clock milliseconds (an integer, like `Date.now()`). */
  now(): number;
  /**
   * A cheap clock for hot loops: the wall clock as of the last tick of the task's clock timer
   * (refreshed every `clockTickMs`). Reading it records nothing.
   */
  cachedNow(): number;
  /** Monotonic milliseconds with microsecond resolution (like `performance.now()`). */
  monotonicNow(): number;
  /** A uniform float in [0, 1) from the task's seeded generator. */
  random(): number;
  /** A random RFC 4122 version-4 UUID from the task's seeded generator. */
  randomUUID(): string;
  /** Calls the outside world; the result is recorded and, during recovery, replayed without calling. */
  call<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
}

/** Formats 16 random bytes drawn from `next32` as a version-4 UUID. */
export function uuidFrom(next32: () => number): string {
  const words = [next32(), next32(), next32(), next32()];
  words[1] = (words[1]! & 0xffff0fff) | 0x00004000;
  words[2] = (words[2]! & 0x3fffffff) | 0x80000000;
  const hex = words.map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
