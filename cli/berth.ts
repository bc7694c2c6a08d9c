#!/usr/bin/env node
/**
 * The `berth` command. Exit codes: 0 success, 1 failure, 2 bad usage or configuration, 3 corruption found by
 * `segments verify`.
 */
import { Command, CommanderError } from 'commander';
import { KafkaError } from '../protocol/error-codes.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE, version } from './cli-util.js';
import { registerConsume } from './commands/consume.js';
import { registerGroups } from './commands/groups.js';
import { registerProduce } from './commands/produce.js';
import { registerSegments } from './commands/segments.js';
import { registerStart } from './commands/start.js';
import { registerTopics } from './commands/topics.js';

const program = new Command('berth')
  .description('Berth: a Kafka-compatible log broker for Node.js')
  .version(version(), '-V, --version')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes:
  0  success
  1  failure (the broker refused a request, a connection failed, ...)
  2  bad usage or configuration (unknown option, invalid setting, bad argument)
  3  corruption found by \`berth segments verify\`

Commands that talk to a broker take --bootstrap host:port (default localhost:9092, or BERTH_BOOTSTRAP) and
--json for machine-readable output.`,
  );

registerStart(program);
registerTopics(program);
registerGroups(program);
registerProduce(program);
registerConsume(program);
registerSegments(program);

// Subcommands inherit exitOverride so that usage errors reach the catch below with a CommanderError.
for (const cmd of program.commands) {
  cmd.exitOverride();
  for (const sub of cmd.commands) sub.exitOverride();
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else if (err instanceof CliError) {
    console.error(`berth: ${err.message}`);
    process.exitCode = err.exitCode;
  } else if (err instanceof KafkaError) {
    console.error(`berth: ${err.message}`);
    process.exitCode = EXIT_FAILURE;
  } else {
    const e = err as NodeJS.ErrnoException;
    console.error(`berth: ${e.code === 'ECONNREFUSED' ? `cannot connect to the broker (${e.message})` : e.message}`);
    process.exitCode = process.exitCode || EXIT_FAILURE;
  }
}
