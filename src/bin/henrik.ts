#!/usr/bin/env node
/**
 * `henrik`: argv/env -> config -> agent. Bad flags or config: one line on stderr, exit 2.
 * Flags are read with node:util's parseArgs rather than commander: the agent runs for
 * months, and commander's ~3 MiB of resident memory bought nothing it needs.
 */
import './henrik-v8.js';
import { parseArgs } from 'node:util';
import { Agent } from '../agent/agent.js';
import { ConfigError, resolveAgentConfig, type CliFlags } from '../agent/config.js';
import { eventWriter, LOG_FORMATS, type AgentLog, type LogFormat } from '../agent/events.js';
import { replayDeadLetters } from '../agent/replay.js';
import { makePrivate, privateUmask } from '../common/private-files.js';

const USAGE = `Usage: henrik [options] [paths...]
       app | henrik --stdin --name app [options]
       henrik replay-dead-letter [--server URL] [--token TOKEN] [--state-dir DIR] [--config FILE]

Tails log files (and the systemd journal, or a pipe) and ships every line, once, to Daniel.
replay-dead-letter sends the lines in the state dir's dead-letter file to Daniel again
(after fixing what made Daniel refuse them); lines refused again stay in the file.

Arguments:
  paths              paths and globs to tail (/var/log/*.log, /var/log/**/*.log)

Options:
  --server <url>     Daniel base URL (env HENRIK_SERVER, default http://127.0.0.1:3032)
  --token-file <f>   file holding the ingest token (env HENRIK_TOKEN_FILE); keeps it out of ps
  --token <token>    ingest token (env HENRIK_TOKEN); visible to every local user in ps
  --ca <file>        PEM CA that signed Daniel's certificate (env HENRIK_CA; NODE_EXTRA_CA_CERTS too)
  --cert <file>      client certificate, for a Daniel with --tls-client-ca (env HENRIK_CERT)
  --key <file>       its private key (env HENRIK_KEY)
  --host <name>      this machine's name in Daniel (env HENRIK_HOST, default the hostname)
  --state-dir <dir>  checkpoints and disk spool (env HENRIK_STATE_DIR, default ./henrik-state)
  --journal          ship the system journal too (journalctl; the user needs group systemd-journal or adm)
  --journal-dir <d>  ship the journal files in this directory (repeatable)
  --stdin            ship standard input; at its end, ship what is left and exit
  --name <name>      the file name stdin's lines get in Daniel (default stdin)
  --once             read every file to its current end, ship, wait for acknowledgements, exit
  --config <file>    YAML or JSON settings: sources with paths, exclude, timezone, multiline
  --log-format <f>   text (default) or json: one JSON object per event (env HENRIK_LOG_FORMAT)
  --follow-symlinks  follow symlinks under the paths' globs that point outside the directory
                     the glob starts from (default: skipped, and said; see docs/agent.md)
  -h, --help         this text
`;

function parseCommandLine(argv: string[]): { flags: CliFlags; paths: string[]; replay: boolean; logFormat: LogFormat } | 'help' {
  const replay = argv[0] === 'replay-dead-letter';
  if (replay) argv = argv.slice(1);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      host: { type: 'string' },
      'state-dir': { type: 'string' },
      once: { type: 'boolean' },
      config: { type: 'string' },
      journal: { type: 'boolean' },
      'journal-dir': { type: 'string', multiple: true },
      stdin: { type: 'boolean' },
      name: { type: 'string' },
      'log-format': { type: 'string' },
      'follow-symlinks': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  if (replay && (positionals.length > 0 || values.once === true || values.journal === true || values['journal-dir'] !== undefined || values.stdin === true)) {
    throw new Error('replay-dead-letter takes no paths, no --once, no --journal and no --stdin');
  }
  const flags: CliFlags = {
    server: values.server, token: values.token, tokenFile: values['token-file'], ca: values.ca, cert: values.cert, key: values.key, host: values.host,
    stateDir: values['state-dir'], once: values.once, config: values.config,
    journal: values.journal, journalDir: values['journal-dir'], stdin: values.stdin, name: values.name, followSymlinks: values['follow-symlinks'],
  };
  const logFormat = values['log-format'] ?? (process.env.HENRIK_LOG_FORMAT || 'text');
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) throw new Error(`--log-format / HENRIK_LOG_FORMAT '${logFormat}' must be text or json`);
  return { flags, paths: positionals, replay, logFormat: logFormat as LogFormat };
}

async function main(): Promise<number> {
  // Spool and dead-letter files hold copies of the logs: owner-only, like the state dir.
  privateUmask();
  let command: ReturnType<typeof parseCommandLine>;
  try {
    command = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`henrik: ${(err as Error).message.split('\n')[0]?.split('. To specify')[0]} (see henrik --help)\n`);
    return 2;
  }
  if (command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const log: AgentLog = eventWriter(command.logFormat);
  let options;
  try {
    // A replay needs no paths: a placeholder satisfies the check that something is tailed.
    options = resolveAgentConfig(command.replay ? { ...command.flags, journal: false, journalDir: [] } : command.flags, command.replay ? ['(replay)'] : command.paths, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`henrik: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (command.replay) {
    const result = await replayDeadLetters({ server: options.server, token: options.token, stateDir: options.stateDir, log });
    return result.refused + result.left > 0 ? 1 : 0;
  }
  // A daemon's SIGTERM/SIGINT while its state loads (a supervisor stopping a unit that is
  // still starting) is kept, and stops the agent as soon as it runs: a clean stop, exit 0.
  const signalled = new Promise<void>((resolve) => {
    if (options.once === true) return;
    const onSignal = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  let agent: Agent;
  try {
    await makePrivate(options.stateDir);
    agent = await Agent.create({ ...options, log });
  } catch (err) {
    process.stderr.write(`henrik: ${(err as Error).message}\n`);
    return 2;
  }
  if (options.once === true) return agent.once();
  agent.start();
  let inputEnded = false;
  const failure = await new Promise<string | undefined>((resolve) => {
    // stdin at its end: what was read is shipped, then Henrik exits.
    void agent.inputsEnded?.then(() => {
      inputEnded = true;
      resolve(undefined);
    });
    void signalled.then(() => resolve(undefined));
    void agent.failed.then(resolve);
  });
  await agent.stop();
  if (failure !== undefined) {
    // A supervisor (systemd Restart=on-failure) starts Henrik again; the restart resumes
    // from the checkpoints and the spool's whole records.
    log('exiting_for_restart', { reason: failure });
    return 1;
  }
  if (inputEnded && agent.unacknowledgedBatches > 0) {
    log('input_unacknowledged', { batches: agent.unacknowledgedBatches, state: options.stateDir });
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`henrik: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
