/**
 * `causal(fn)`: runs an existing operator function, unmodified, with its nondeterminism captured.
 *
 * While a wrapped function runs — and in the async continuations it starts — these globals answer
 * through the task's causal services, so that under exactly-once recovery they are recorded and
 * replayed:
 *
 * | Global | Answers with |
 * | --- | --- |
 * | `Date.now()`, `new Date()`, `Date()` | `ctx.now()` |
 * | `performance.now()` | `ctx.monotonicNow()` |
 * | `Math.random()` | `ctx.random()` |
 * | `crypto.randomUUID()` (global and `node:crypto`) | `ctx.randomUUID()` |
 * | `setTimeout`, `setInterval` (and their `clear…`) | the task's captured timers: fired between deliveries, at recorded positions |
 * | `fetch(…)` | `ctx.call('fetch <method> <url>', …)`: status, headers and body recorded, a `Response` rebuilt on replay |
 *
 * Outside wrapped functions every global behaves as usual, and the runtime itself always uses the real
 * ones (`lib/util/clock.ts`). The globals are patched once, the first time `causal()` is called.
 *
 * Not captured: worker threads, native addons, child processes, the file system, and state shared
 * between operators through module globals. See `docs/determinism.md`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { CausalServices } from './services.js';

/** What runs a captured function: the task's services, and its captured timers. */
export interface CaptureScope {
  /** The task's causal services. */
  readonly services: CausalServices;
  /**
   * Registers a captured timer callback armed at wall-clock `armedAt` (a recorded clock read) to run once
   * `delay` ms have passed, and every `delay` ms after that if `interval`; returns its handle.
   */
  addTimer(armedAt: number, delay: number, callback: () => void, interval: boolean): number;
  /** Cancels a captured timer. */
  clearTimer(handle: number): void;
}

/** The scope of the task currently running (set by the task for each activation). */
export const activeScope: { current: CaptureScope | null } = { current: null };

const storage = new AsyncLocalStorage<CaptureScope>();
/** Scope of the wrapped function running synchronously right now (a field read is cheaper than the ALS). */
let capturing: CaptureScope | null = null;

/** The scope capturing the code running now, if any. */
export function captureScope(): CaptureScope | null {
  return capturing ?? storage.getStore() ?? null;
}

let installed = false;

/**
 * Wraps an operator function so that the clocks, randomness, timers and `fetch` it uses are captured
 * (see the module comment). Works for map, filter, flatMap and process functions (objects with
 * `processElement` are wrapped method by method).
 */
export function causal<F extends (...args: any[]) => any>(fn: F): F;
export function causal<T extends object>(processFunction: T): T;
export function causal(target: unknown): unknown {
  install();
  if (typeof target === 'function') return wrap(target as (...args: unknown[]) => unknown);
  if (target !== null && typeof target === 'object') {
    const wrapped = Object.create(Object.getPrototypeOf(target)) as Record<string, unknown>;
    for (const key of Reflect.ownKeys(target)) (wrapped as any)[key] = (target as any)[key];
    for (const method of ['open', 'processElement', 'processElement1', 'processElement2', 'onTimer', 'close']) {
      const original = (target as Record<string, unknown>)[method];
      // Not bound to `target`: the method runs on the object it is called on, so a per-subtask copy of the
      // wrapper (see lib/api/instances.ts) keeps its fields to itself.
      if (typeof original === 'function') wrapped[method] = wrap(original as (...args: unknown[]) => unknown);
    }
    return wrapped;
  }
  throw new TypeError('causal() wraps a function or a process-function object');
}

function wrap(fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  const isAsync = fn.constructor?.name === 'AsyncFunction';
  return function captured(this: unknown, ...args: unknown[]): unknown {
    const scope = activeScope.current;
    if (scope === null) return fn.apply(this, args);
    if (isAsync) return storage.run(scope, () => fn.apply(this, args));
    const previous = capturing;
    capturing = scope;
    try {
      return fn.apply(this, args);
    } finally {
      capturing = previous;
    }
  };
}

/**
 * Runs `fn` with nothing captured, including its async continuations: the body of an external call,
 * whose result is recorded as a whole, must see the real clocks and timers (a client library's socket
 * timeouts are not the operator's timers).
 */
export function runUncaptured<T>(fn: () => T): T {
  const previous = capturing;
  capturing = null;
  try {
    return storage.exit(fn);
  } finally {
    capturing = previous;
  }
}

/** Runs `fn` with `scope` capturing, including its async continuations (async process functions). */
export function runCaptured<T>(scope: CaptureScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** Patches the globals once. Each patched function defers to the original outside a capture scope. */
function install(): void {
  if (installed) return;
  installed = true;
  const RealDate = Date;
  const realDateNow = Date.now;
  RealDate.now = function now(): number {
    const scope = captureScope();
    return scope ? scope.services.now() : realDateNow.call(RealDate);
  };
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      if (args.length === 0) {
        const scope = captureScope();
        if (scope) return Reflect.construct(target, [scope.services.now()], newTarget);
      }
      return Reflect.construct(target, args, newTarget);
    },
    apply(target, self, args) {
      const scope = captureScope();
      return scope ? new RealDate(scope.services.now()).toString() : Reflect.apply(target, self, args);
    },
  });

  const realPerformanceNow = performance.now.bind(performance);
  performance.now = function now(): number {
    const scope = captureScope();
    return scope ? scope.services.monotonicNow() : realPerformanceNow();
  };

  const realRandom = Math.random;
  Math.random = function random(): number {
    const scope = captureScope();
    return scope ? scope.services.random() : realRandom();
  };

  const patchUUID = (holder: { randomUUID: () => string }): void => {
    const real = holder.randomUUID.bind(holder);
    holder.randomUUID = function randomUUID(): string {
      const scope = captureScope();
      return scope ? scope.services.randomUUID() : real();
    } as typeof holder.randomUUID;
  };
  if (typeof globalThis.crypto?.randomUUID === 'function') patchUUID(globalThis.crypto as unknown as { randomUUID: () => string });
  const require = createRequire(import.meta.url);
  patchUUID(require('node:crypto') as { randomUUID: () => string });
  syncBuiltinESMExports();

  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  const realSetInterval = globalThis.setInterval;
  const realClearInterval = globalThis.clearInterval;
  const captured = new WeakSet<object>();
  // Shaped like Node's Timeout, so code that calls unref() or refresh() on it keeps working; a captured
  // timer never holds the process open (the task does), so ref/unref change nothing.
  const timerHandle = (scope: CaptureScope, id: number): object => {
    const handle = {
      [Symbol.toPrimitive]: () => id,
      scope,
      id,
      ref: () => handle,
      unref: () => handle,
      hasRef: () => false,
      refresh: () => handle,
    };
    captured.add(handle);
    return handle;
  };
  globalThis.setTimeout = function setTimeout(callback: (...a: unknown[]) => void, delay?: number, ...args: unknown[]) {
    const scope = captureScope();
    if (!scope || typeof callback !== 'function') return realSetTimeout(callback as never, delay, ...args);
    // Armed from a recorded clock read (a replay computes the same due time), never from the cached clock,
    // which may lag: a callback must not run earlier than asked.
    return timerHandle(scope, scope.addTimer(scope.services.now(), Number(delay) || 0, () => callback(...args), false));
  } as typeof globalThis.setTimeout;
  globalThis.setInterval = function setInterval(callback: (...a: unknown[]) => void, delay?: number, ...args: unknown[]) {
    const scope = captureScope();
    if (!scope || typeof callback !== 'function') return realSetInterval(callback as never, delay, ...args);
    return timerHandle(scope, scope.addTimer(scope.services.now(), Number(delay) || 0, () => callback(...args), true));
  } as typeof globalThis.setInterval;
  const clear = (real: (h: never) => void) =>
    function clear(handle: unknown): void {
      if (handle !== null && typeof handle === 'object' && captured.has(handle)) {
        const { scope, id } = handle as { scope: CaptureScope; id: number };
        scope.clearTimer(id);
        return;
      }
      real(handle as never);
    };
  globalThis.clearTimeout = clear(realClearTimeout) as typeof globalThis.clearTimeout;
  globalThis.clearInterval = clear(realClearInterval) as typeof globalThis.clearInterval;

  const realFetch = globalThis.fetch;
  if (typeof realFetch === 'function') {
    globalThis.fetch = async function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
      const scope = captureScope();
      if (!scope) return realFetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      const recorded = await scope.services.call(`fetch ${method} ${url}`, async () => {
        const response = await realFetch(input, init);
        return {
          status: response.status,
          statusText: response.statusText,
          headers: [...response.headers.entries()],
          body: new Uint8Array(await response.arrayBuffer()),
        };
      });
      return new Response(recorded.body.length > 0 ? recorded.body : null, { status: recorded.status, statusText: recorded.statusText, headers: recorded.headers });
    } as typeof globalThis.fetch;
  }
}
