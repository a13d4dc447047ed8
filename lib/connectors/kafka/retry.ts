/**
 * The one retry helper of the Kafka connectors: exponential backoff with full jitter, used at the
 * edges only (connecting, fetching, reading a tail, sending, committing), never inside a record loop.
 *
 * ```ts
 * const offsets = await withRetry(() => client.listOffsets(topic), { what: `list offsets of ${topic}`, retries: 5 });
 * ```
 */
import { CausalflowError } from '../../errors.js';
import type { Logger } from '../../util/logger.js';

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** What is being tried, for logs ("fetch orders[2]"). */
  what: string;
  /** Retries after the first attempt (default 5; `Infinity` retries until `stopped()`). */
  retries?: number;
  /** Delay before the first retry, ms (default 100). */
  initialMs?: number;
  /** Largest delay, ms (default 2000). */
  maxMs?: number;
  /** Growth of the delay per retry (default 2). */
  factor?: number;
  /** Whether `error` may go away on a retry (default: {@link isRetriable}). */
  retriable?: (error: unknown) => boolean;
  /** Checked before each retry: when true, the last error is thrown at once. */
  stopped?: () => boolean;
  /** Logs each retry at `warn` (the first ones at `debug`: a broker restart is routine). */
  log?: Logger;
  /** Random numbers in [0, 1) for the jitter (default `Math.random`; this is not job logic). */
  random?: () => number;
}

/** Whether an error says it may go away when tried again: `retriable` flags of ours and of kafkajs. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof CausalflowError) return error.retriable;
  if (error !== null && typeof error === 'object' && 'retriable' in error) return (error as { retriable: unknown }).retriable === true;
  // Socket-level failures (ECONNREFUSED, ECONNRESET, timeouts) carry no flag: a broker may come back.
  return error instanceof Error && /ECONN|ETIMEDOUT|EPIPE|socket|Connection|timed out|not connected/i.test(`${error.name} ${error.message}`);
}

/** The delay before retry number `attempt` (0-based): a uniform draw in [0, min(max, initial·factor^attempt)]. */
export function backoffMs(attempt: number, options: Pick<RetryOptions, 'initialMs' | 'maxMs' | 'factor' | 'random'> = {}): number {
  const initial = options.initialMs ?? 100;
  const ceiling = Math.min(options.maxMs ?? 2000, initial * (options.factor ?? 2) ** attempt);
  return Math.round(ceiling * (0.5 + 0.5 * (options.random ?? Math.random)()));
}

/** Runs `fn` until it succeeds, it fails with an error that is not retriable, or the retries run out. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retries = options.retries ?? 5;
  const retriable = options.retriable ?? isRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= retries || !retriable(error) || options.stopped?.() === true) throw error;
      const delay = backoffMs(attempt, options);
      options.log?.log(attempt < 3 ? 'debug' : 'warn', `${options.what} failed, retrying`, {
        attempt: attempt + 1,
        delayMs: delay,
        error: error instanceof Error ? error.message : String(error),
      });
      await sleep(delay);
    }
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
