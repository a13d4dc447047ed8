/**
 * The `causalflow` command: dispatches subcommands. Each subcommand lives in its own module and
 * registers itself on the program; every one takes `--help`.
 */
import { Command, CommanderError } from 'commander';
import { registerBenchCommands } from './bench.js';
import { registerLogCommands } from './log.js';
import { registerRunCommand } from './run.js';
import { CausalflowError } from '../../determinants/errors.js';

const program = new Command('causalflow')
  .description('Stream processing with local, exactly-once recovery of failed tasks.')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerRunCommand(program);
registerLogCommands(program);
registerBenchCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already printed its one-line reason (or the help text).
    process.exitCode = error.exitCode;
  } else if (error instanceof CausalflowError) {
    process.stderr.write(`causalflow: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
