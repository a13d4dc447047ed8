/** Picks the recovery strategy of a job's mode. */
import type { ResolvedJobOptions } from '../api/config.js';
import { ConfigError } from '../errors.js';
import { GlobalRollback } from './global-rollback.js';
import { NoRecovery } from './none.js';
import type { RecoveryStrategy } from './strategy.js';

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
