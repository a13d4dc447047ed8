/** Picks the recovery strategy of a job's mode. */
import type { RecoveryMode, ResolvedJobOptions } from '../config.js';
import { ConfigError } from '../errors.js';
import { GlobalRollback } from './global-rollback.js';
import { NoRecovery } from './none.js';
import { LocalRecoveryStrategy } from './local.js';
import { RECOVERY_MODES } from '../config.js';
import type { RecoveryStrategy } from '../runtime/strategy.js';
import type { PhysicalPlan } from '../runtime/plan.js';
import { embeddedDomains, requiredSharingDepth } from '../runtime/sharing-depth.js';

/** The recovery modes this build implements. */
export const IMPLEMENTED_MODES: readonly RecoveryMode[] = ['none', 'global-rollback', 'at-least-once', 'exactly-once'];

/**
 * The strategy for the job's recovery options. `domains` are the placement's failure domains, which
 * `dsd: 'auto'` covers (see `lib/runtime/sharing-depth.ts`).
 */
export function strategyFor(options: ResolvedJobOptions, plan: PhysicalPlan, domains: readonly ReadonlySet<number>[] = embeddedDomains(plan)): RecoveryStrategy {
  const { mode, standbys } = options.recovery;
  const dsd = options.recovery.dsd === 'auto' ? requiredSharingDepth(plan, domains, plan.vertices.length) : options.recovery.dsd;
  switch (mode) {
    case 'none':
      return new NoRecovery();
    case 'global-rollback':
      return new GlobalRollback(options.retainDeterminants);
    case 'at-least-once':
    case 'exactly-once':
      return new LocalRecoveryStrategy(mode, standbys, dsd, options.retainDeterminants);
    default:
      throw new ConfigError('recovery.mode', RECOVERY_MODES.map((m) => `"${m}"`).join(', '), mode);
  }
}
