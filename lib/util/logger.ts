/**
 * The project's logger: four levels, one line per message on stderr, the threshold taken from
 * `CAUSALFLOW_LOG_LEVEL` (`error`, `warn` — the default —, `info`, `debug`, or `silent`).
 *
 * ```ts
 * const log = logger('kafka');
 * log.warn('broker unreachable, retrying', { broker: '127.0.0.1:9092', attempt: 3 });
 * ```
 *
 * Messages below the threshold cost one comparison: format nothing before checking `enabled(level)`
 * when building the message is expensive.
 */

/** Log levels, most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured fields printed after a message (`key=value`). */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A named logger. */
export interface Logger {
  /** Whether messages of `level` are printed. */
  enabled(level: LogLevel): boolean;
  /** Prints `message` and `fields` at `level`. */
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** Prints at `error`: something failed and was not retried. */
  error(message: string, fields?: LogFields): void;
  /** Prints at `warn` (the default threshold): something is wrong but handled, e.g. a retry that lasts. */
  warn(message: string, fields?: LogFields): void;
  /** Prints at `info`: progress worth knowing. */
  info(message: string, fields?: LogFields): void;
  /** Prints at `debug`: details, including routine retries. */
  debug(message: string, fields?: LogFields): void;
}

/** Where lines go; tests may replace it. Default: stderr. */
export let logSink: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

/** Replaces where log lines go (returns the previous sink). */
export function setLogSink(sink: (line: string) => void): (line: string) => void {
  const previous = logSink;
  logSink = sink;
  return previous;
}

/** Rank of the threshold: messages with a rank at or below it print (-1 prints nothing). */
function thresholdFromEnvironment(): number {
  const value = (process.env.CAUSALFLOW_LOG_LEVEL ?? 'warn').toLowerCase();
  if (value === 'silent' || value === 'none') return -1;
  const rank = (LOG_LEVELS as readonly string[]).indexOf(value);
  return rank < 0 ? 1 : rank;
}

let threshold = thresholdFromEnvironment();

/** Sets the threshold for every logger (overrides `CAUSALFLOW_LOG_LEVEL`). */
export function setLogLevel(level: LogLevel | 'silent'): void {
  threshold = level === 'silent' ? -1 : LOG_LEVELS.indexOf(level);
}

function format(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let out = '';
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === undefined) continue;
    out += ` ${key}=${typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : String(value)}`;
  }
  return out;
}

/** A logger whose lines start with `causalflow <name> <level>:`. */
export function logger(name: string): Logger {
  const log = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(level) > threshold) return;
    logSink(`causalflow ${name} ${level}: ${message}${format(fields)}`);
  };
  return {
    enabled: (level) => LOG_LEVELS.indexOf(level) <= threshold,
    log,
    error: (message, fields) => log('error', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    info: (message, fields) => log('info', message, fields),
    debug: (message, fields) => log('debug', message, fields),
  };
}
