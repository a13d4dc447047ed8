/** Picks the recovery strategy of a job's mode. */
import type { RecoveryMode, ResolvedJobOptions } from '../api/config.js';
import { ConfigError } from '../errors.js';
import { GlobalRollback } from './global-rollback.js';
import { NoRecovery } from './none.js';
import type { RecoveryStrategy } from './strategy.js';

/** The recovery modes this build implements. */
export const IMPLEMENTED_MODES: readonly RecoveryMode[] = ['none', 'global-rollback'];

/** The strategy for the job's recovery options. */
export function strategyFor(options: ResolvedJobOptions): RecoveryStrategy {
  const { mode, standbys } = options.recovery;
  switch (mode) {
    case 'none':
      return new NoRecovery();
    case 'global-rollback':
      return new GlobalRollback(standbys);
    default:
      throw new ConfigError('recovery.mode', 'a mode this build implements ("none" or "global-rollback")', mode);
  }
}
