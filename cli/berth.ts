#!/usr/bin/env node
/**
 * The `berth` command. Exit codes: 0 success, 1 failure, 2 bad usage or configuration.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_USAGE, version } from './cli-util.js';
import { registerStart } from './commands/start.js';

const program = new Command('berth')
  .description('Berth: a Kafka-compatible log broker for Node.js')
  .version(version(), '-V, --version')
  .showHelpAfterError()
  .exitOverride();

registerStart(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else {
    console.error(`berth: ${(err as Error).message}`);
    process.exitCode = process.exitCode || 1;
  }
}
