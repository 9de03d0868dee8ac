#!/usr/bin/env node
/**
 * `daniel`: argv -> command. Only commander is loaded up front; each command imports its
 * implementation when it runs, so `daniel --help` and the CLI client start fast.
 */
import { Command, CommanderError } from 'commander';
import { registerClientCommands } from '../cli/commands.js';
import type { ServeFlags } from '../server/config.js';

const program = new Command('daniel')
  .description('Daniel: the Logging Aggregator server and its command-line client')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

program
  .command('serve')
  .description('run the server: ingest, storage, REST API and web UI')
  .option('--listen <host:port>', 'address to listen on, port 0 = any free port (env DANIEL_LISTEN, default 127.0.0.1:3032)')
  .option('--data-dir <dir>', 'data directory, created if missing (env DANIEL_DATA_DIR, default ./data)')
  .option('--store <kind>', 'sqlite or dynamodb (env DANIEL_STORE, default sqlite)')
  .option('--dynamodb-table <name>', 'DynamoDB table (env DANIEL_DYNAMODB_TABLE, default logging-aggregator)')
  .option('--dynamodb-endpoint <url>', 'DynamoDB endpoint (env DANIEL_DYNAMODB_ENDPOINT, default AWS)')
  .option('--region <region>', 'AWS region (env AWS_REGION, default us-east-1)')
  .option('--retention <duration>', 'keep lines this long after arrival (env DANIEL_RETENTION, default 30d)')
  .option('--tokens-file <file>', 'file with one scope:token a line (env DANIEL_TOKENS_FILE)')
  .option('--body-limit <size>', 'largest request body, raw and decompressed (env DANIEL_BODY_LIMIT, default 8MiB)')
  .action(async (flags: ServeFlags) => {
    const { runServe } = await import('../server/serve-command.js');
    await runServe(flags);
  });

registerClientCommands(program);

async function registerOptional(path: string, exportName: string): Promise<void> {
  try {
    const module = (await import(path)) as Record<string, unknown>;
    const factory = module[exportName];
    if (typeof factory === 'function') program.addCommand((factory as () => Command)().copyInheritedSettings(program));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
  }
}

async function main(): Promise<void> {
  const wanted = process.argv[2];
  // Load the optional commands only when asked for (or for help), to keep start-up fast.
  if (wanted === 'canary' || wanted === undefined || wanted.startsWith('-') || wanted === 'help') {
    await registerOptional('../canary/command.js', 'canaryCommand');
  }
  if (wanted === 'create-table' || wanted === undefined || wanted.startsWith('-') || wanted === 'help') {
    await registerOptional('../storage/dynamodb/create-table-command.js', 'createTableCommand');
  }
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version asked for exit 0; a usage error (or no command at all) exits 2.
      process.exit(error.exitCode === 0 ? 0 : 2);
    }
    process.stderr.write(`daniel: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

await main();
