/**
 * The runtime's own clocks and timer functions, captured when this module loads. `causal()` patches the
 * globals so that operator code inside it reads recorded values; the runtime itself must keep reading
 * the real ones, whatever code it is called from.
 */

/** Wall-clock ms (the real `Date.now`). */
export const wallClock: () => number = Date.now.bind(Date);
/** Monotonic ms (the real `performance.now`). */
export const monotonicClock: () => number = performance.now.bind(performance);
/** The real `setTimeout`. */
export const realSetTimeout: typeof setTimeout = globalThis.setTimeout;
/** The real `clearTimeout`. */
export const realClearTimeout: typeof clearTimeout = globalThis.clearTimeout;
/** The real `setImmediate`. */
export const realSetImmediate: typeof setImmediate = globalThis.setImmediate;
