/**
 * Property tests run with a fixed seed, printed with every run, so a failure reproduces exactly.
 * Override it with CAUSALFLOW_SEED=<n> to explore other inputs.
 */
import fc from 'fast-check';
import type { ExecutionContext } from 'ava';

/** The seed of every property test in this run. */
export const SEED = Number(process.env.CAUSALFLOW_SEED ?? 20261121);

/** Runs a fast-check property with {@link SEED}; logs the seed, and names it in the failure message. */
export function checkProperty<Ts extends [unknown, ...unknown[]]>(
  t: ExecutionContext,
  property: fc.IPropertyWithHooks<Ts> | fc.IProperty<Ts>,
  numRuns = 100,
): void {
  t.log(`property seed ${SEED} (set CAUSALFLOW_SEED to change it), ${numRuns} runs`);
  const details = fc.check(property, { seed: SEED, numRuns });
  if (details.failed) {
    const cause = details.errorInstance instanceof Error ? `\n${details.errorInstance.stack ?? details.errorInstance.message}` : '';
    t.fail(`property failed with seed ${SEED}, path ${details.counterexamplePath}: ${fc.defaultReportMessage(details)}${cause}`);
  } else {
    t.pass();
  }
}
