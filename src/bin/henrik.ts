#!/usr/bin/env node
/** `henrik`: argv/env -> config -> agent. Bad flags or config: one line on stderr, exit 2. */
import { Command, CommanderError } from 'commander';
import { Agent } from '../agent/agent.js';
import { ConfigError, resolveAgentConfig, type CliFlags } from '../agent/config.js';

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} henrik ${message}\n`);
}

async function main(): Promise<number> {
  const program = new Command('henrik')
    .description('Tails log files and ships every line, once, to Daniel.')
    .argument('[paths...]', 'paths and globs to tail (/var/log/*.log, /var/log/**/*.log)')
    .option('--server <url>', 'Daniel base URL (env HENRIK_SERVER, default http://127.0.0.1:3032)')
    .option('--token <token>', 'ingest token (env HENRIK_TOKEN, required)')
    .option('--host <name>', "this machine's name in Daniel (env HENRIK_HOST, default the hostname)")
    .option('--state-dir <dir>', 'checkpoints and disk spool (env HENRIK_STATE_DIR, default ./henrik-state)')
    .option('--once', 'read every file to its current end, ship, wait for acknowledgements, exit')
    .option('--config <file>', 'YAML or JSON settings: sources with paths, exclude, timezone, multiline')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text.split('\n')[0] + '\n') });
  try {
    program.parse(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  let options;
  try {
    options = resolveAgentConfig(program.opts<CliFlags>(), program.args, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`henrik: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let agent: Agent;
  try {
    agent = await Agent.create({ ...options, log });
  } catch (err) {
    process.stderr.write(`henrik: ${(err as Error).message}\n`);
    return 2;
  }
  if (options.once === true) return agent.once();
  agent.start();
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await agent.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`henrik: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
