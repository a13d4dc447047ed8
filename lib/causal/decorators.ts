/**
 * Decorators for class-based operators (TypeScript 5 standard decorators).
 *
 * ```ts
 * class FraudCheck implements KeyedProcessFunction<string, Payment, Alert> {
 *   @recorded() async score(p: Payment): Promise<number> { return (await fetch(riskUrl(p))).json(); }
 *   async processElement(p: Payment, ctx: KeyedProcessContext<string, Alert>) {
 *     if ((await this.score(p)) > 0.9) ctx.emit({ payment: p.id });
 *   }
 *   @onProcessingTimer() expire(timestamp: number, ctx: KeyedProcessContext<string, Alert>) { … }
 * }
 * stream.keyBy((p) => p.account).process(new FraudCheck(), { async: true });
 * ```
 *
 * - `@recorded(name?)`: the method's (async) result is an external-call determinant: recorded live,
 *   returned from the log while replaying, without calling the method. Methods of async operators only.
 * - `@onEventTimer()`, `@onProcessingTimer()`: the method handles timers of that domain, in place of
 *   (or besides) `onTimer`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { activeScope, captureScope } from './capture.js';
import type { CausalServices } from './services.js';

const operatorStorage = new AsyncLocalStorage<CausalServices>();

/** Runs an async operator function with `services` current in its async continuations too. */
export function runWithServices<T>(services: CausalServices, fn: () => T): T {
  return operatorStorage.run(services, fn);
}

/** The causal services of the operator running now, if any. */
export function currentServices(): CausalServices | null {
  return captureScope()?.services ?? operatorStorage.getStore() ?? activeScope.current?.services ?? null;
}

/** Makes a method's result a determinant (an external call named `name`, default the method's name). */
export function recorded(name?: string) {
  return function decorate<This, Args extends unknown[], R>(
    method: (this: This, ...args: Args) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
  ): (this: This, ...args: Args) => Promise<Awaited<R>> {
    const callName = name ?? String(context.name);
    return async function recordedMethod(this: This, ...args: Args): Promise<Awaited<R>> {
      const services = currentServices();
      if (services === null) return await method.apply(this, args);
      return (await services.call(callName, () => method.apply(this, args))) as Awaited<R>;
    };
  };
}

const TIMER_HANDLERS = Symbol('causalflow.timerHandlers');

type TimerHandler = (timestamp: number, ctx: unknown, domain: 'event' | 'processing') => void;

function timerDecorator(domain: 'event' | 'processing') {
  return function decorate<This extends object>(method: TimerHandler, context: ClassMethodDecoratorContext<This, TimerHandler>): void {
    context.addInitializer(function register(this: This) {
      const holder = this as unknown as Record<symbol, { event: TimerHandler[]; processing: TimerHandler[] }>;
      holder[TIMER_HANDLERS] ??= { event: [], processing: [] };
      holder[TIMER_HANDLERS][domain].push(method);
    });
  };
}

/** Marks a method as a handler of event-time timers. */
export function onEventTimer() {
  return timerDecorator('event');
}

/** Marks a method as a handler of processing-time timers. */
export function onProcessingTimer() {
  return timerDecorator('processing');
}

/** Calls the decorated timer handlers of `fn` for `domain`; returns whether it had any. */
export function dispatchTimer(fn: object, timestamp: number, ctx: unknown, domain: 'event' | 'processing'): boolean {
  const handlers = (fn as Record<symbol, { event: TimerHandler[]; processing: TimerHandler[] } | undefined>)[TIMER_HANDLERS];
  if (!handlers) return false;
  for (const handler of handlers[domain]) handler.call(fn, timestamp, ctx, domain);
  return handlers[domain].length > 0;
}
