/**
 * The `causalflow` command: dispatches subcommands. Each subcommand lives in its own module and
 * registers itself on the program; every one takes `--help`.
 */
import v8 from 'node:v8';
import { Command, CommanderError } from 'commander';
import { registerBenchCommands } from './bench.js';
import { registerLogCommands } from './log.js';
import { registerRunCommand } from './run.js';
import { registerVerifyCommand } from './verify.js';
import { registerDemoCommand } from './demo.js';
import { registerKafkaCommands } from './kafka.js';
import { CausalflowError } from '../../determinants/errors.js';

// Streams allocate fast and keep little: let V8 grow the old generation by 50% of the live heap
// between full collections (its default allows up to 4x), which keeps resident memory near the live
// data (see docs/decisions.md). CAUSALFLOW_HEAP_GROWING_PERCENT overrides it; 0 restores V8's default.
v8.setFlagsFromString(`--heap-growing-percent=${Number(process.env.CAUSALFLOW_HEAP_GROWING_PERCENT ?? 50)}`);

const program = new Command('causalflow')
  .description('Stream processing with local, exactly-once recovery of failed tasks.')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerDemoCommand(program);
registerRunCommand(program);
registerVerifyCommand(program);
registerLogCommands(program);
registerBenchCommands(program);
registerKafkaCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already printed its one-line reason (or the help text).
    process.exitCode = error.exitCode;
  } else if (isCausalflowError(error)) {
    process.stderr.write(`causalflow: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}

/**
 * Whether `error` is one of causalflow's typed errors. A job file that imports `causalflow` by its package
 * name loads the compiled copy of the library, whose error classes are not this copy's: their shape
 * (code, retriable, context) tells them apart from an unexpected error, which keeps its stack.
 */
function isCausalflowError(error: unknown): error is CausalflowError {
  if (error instanceof CausalflowError) return true;
  if (!(error instanceof Error)) return false;
  const e = error as Error & Partial<CausalflowError>;
  return typeof e.code === 'string' && typeof e.retriable === 'boolean' && typeof e.context === 'object' && e.context !== null;
}
