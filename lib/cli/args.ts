/**
 * Argument parsers for the CLI: each turns a string into a typed value or throws commander's
 * `InvalidArgumentError`, which commander reports as one line and a non-zero exit.
 */
import { InvalidArgumentError } from 'commander';

/** Parses a number greater than zero. */
export function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError(`expected a number > 0, got ${JSON.stringify(value)}`);
  return parsed;
}

/** Parses an integer greater than zero. */
export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0) throw new InvalidArgumentError(`expected an integer > 0, got ${JSON.stringify(value)}`);
  return parsed;
}

/** Parses an integer greater than or equal to zero. */
export function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`expected an integer >= 0, got ${JSON.stringify(value)}`);
  return parsed;
}

/** Returns a parser accepting one of `choices`. */
export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
    return value as T;
  };
}
