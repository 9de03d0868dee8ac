#!/usr/bin/env -S node --enable-experimental-regexp-engine
/**
 * `daniel`: argv -> command. Up front only commander and the commands' definitions load
 * (the CLI client, canary and create-table are light); the server and the DynamoDB SDK are
 * imported when their command runs, so `daniel --help` and the CLI client start fast.
 */
import { Command, CommanderError } from 'commander';
import { canaryCommand } from '../canary/command.js';
import { registerClientCommands } from '../cli/commands.js';
import type { ServeFlags } from '../server/config.js';
import { createTableCommand } from '../storage/dynamodb/create-table-command.js';
import { tokenCommand } from '../cli/token-command.js';
import { alertsCommand } from '../cli/alerts-command.js';
import { backupCommands } from '../cli/backup-command.js';

const program = new Command('daniel')
  .description('Daniel: the Logging Aggregator server and its command-line client')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)');

program
  .command('serve')
  .description('run the server: ingest, storage, REST API and web UI')
  .option('--config <file>', 'YAML file of these settings, keys in camelCase (dataDir: /var/lib/daniel); flags and environment win over it; read again on SIGHUP (env DANIEL_CONFIG)')
  .option('--listen <host:port>', 'address to listen on, port 0 = any free port (env DANIEL_LISTEN, default 127.0.0.1:3032)')
  .option('--data-dir <dir>', 'data directory, created if missing (env DANIEL_DATA_DIR, default ./data)')
  .option('--store <kind>', 'sqlite or dynamodb (env DANIEL_STORE, default sqlite)')
  .option('--dynamodb-table <name>', 'DynamoDB table (env DANIEL_DYNAMODB_TABLE, default logging-aggregator)')
  .option('--dynamodb-endpoint <url>', 'DynamoDB endpoint (env DANIEL_DYNAMODB_ENDPOINT, default AWS)')
  .option('--dynamodb-shards <n>', 'segment partitions per host, 1..1000, same for every Daniel on the table (env DANIEL_DYNAMODB_SHARDS, default 1)')
  .option('--dynamodb-settle <duration>', 'live tail shows a line this late so it is exact with several Daniels, 0 = off (env DANIEL_DYNAMODB_SETTLE, default 1s)')
  .option('--dynamodb-head-lines <n>', "lines each host's head item keeps so its newest page is one cheap read, 0..1000, 0 = off; costs write units per append (env DANIEL_DYNAMODB_HEAD_LINES, default 0)")
  .option('--region <region>', 'AWS region (env AWS_REGION, default us-east-1)')
  .option('--retention <duration>', 'keep lines this long after arrival (env DANIEL_RETENTION, default 30d)')
  .option('--tokens-file <file>', 'file with one scope:token a line (env DANIEL_TOKENS_FILE)')
  .option('--body-limit <size>', 'largest request body, raw and decompressed (env DANIEL_BODY_LIMIT, default 8MiB)')
  .option('--log-level <level>', 'debug, info, warn, error or silent; JSON lines on stderr (env DANIEL_LOG_LEVEL, default warn)')
  .option('--log-requests', 'log every request, not only errors, 5xx and slow ones (env DANIEL_LOG_REQUESTS=1)')
  .option('--shutdown-grace <duration>', 'on SIGTERM, how long in-flight requests may finish (env DANIEL_SHUTDOWN_GRACE, default 10s)')
  .option('--max-connections <n>', 'open HTTP connections at most; more are closed at once (env DANIEL_MAX_CONNECTIONS, default 512)')
  .option('--max-queries <n>', 'searches and histograms running at once, in all (env DANIEL_MAX_QUERIES, default 16)')
  .option('--max-queries-per-token <n>', 'searches and histograms running at once per token (env DANIEL_MAX_QUERIES_PER_TOKEN, default 8)')
  .option('--headers-timeout <duration>', 'time a client has to send a request\'s headers (env DANIEL_HEADERS_TIMEOUT, default 10s)')
  .option('--request-timeout <duration>', 'time a client has to send a whole request, body included (env DANIEL_REQUEST_TIMEOUT, default 60s)')
  .option('--keep-alive-timeout <duration>', 'how long an idle keep-alive connection stays open (env DANIEL_KEEP_ALIVE_TIMEOUT, default 5s)')
  .option('--max-files-per-host-day <n>', 'distinct file identities one host may write per UTC day; past it new ones are refused (env DANIEL_MAX_FILES_PER_HOST_DAY, default 10000)')
  .option('--tls-cert <file>', 'PEM certificate (chain): serve HTTPS; reloaded on SIGHUP (env DANIEL_TLS_CERT)')
  .option('--tls-key <file>', 'PEM private key of --tls-cert (env DANIEL_TLS_KEY)')
  .option('--tls-client-ca <file>', 'PEM CA: every client must show a certificate it signed (env DANIEL_TLS_CLIENT_CA)')
  .option('--trusted-proxy <address>', 'believe X-Forwarded-Proto/-For from this IP or CIDR (repeatable; env DANIEL_TRUSTED_PROXIES, comma-separated)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
  .option('--syslog-udp <host:port>', 'receive syslog over UDP, e.g. 0.0.0.0:514 (env DANIEL_SYSLOG_UDP)')
  .option('--syslog-tcp <host:port>', 'receive syslog over TCP, octet-counted or LF-framed (env DANIEL_SYSLOG_TCP)')
  .option('--syslog-tls <host:port>', 'receive syslog over TLS, e.g. 0.0.0.0:6514 (env DANIEL_SYSLOG_TLS)')
  .option('--syslog-tls-cert <file>', 'PEM certificate of the syslog TLS listener; default --tls-cert (env DANIEL_SYSLOG_TLS_CERT)')
  .option('--syslog-tls-key <file>', 'PEM private key of --syslog-tls-cert; default --tls-key (env DANIEL_SYSLOG_TLS_KEY)')
  .option('--syslog-tls-client-ca <file>', 'PEM CA: syslog TLS senders must show a certificate it signed; default --tls-client-ca (env DANIEL_SYSLOG_TLS_CLIENT_CA)')
  .action(async (flags: ServeFlags) => {
    // Before anything else: regex search runs on V8's linear-time engine, set at start-up (shebang).
    const { assertLinearRegex } = await import('../query/matcher.js');
    assertLinearRegex();
    const { runServe } = await import('../server/serve-command.js');
    await runServe(flags);
  });

registerClientCommands(program);
program.addCommand(canaryCommand().copyInheritedSettings(program));
program.addCommand(createTableCommand().copyInheritedSettings(program));
const token = tokenCommand().copyInheritedSettings(program);
for (const sub of token.commands) sub.copyInheritedSettings(token);
program.addCommand(token);
const alerts = alertsCommand().copyInheritedSettings(program);
for (const sub of alerts.commands) sub.copyInheritedSettings(alerts);
program.addCommand(alerts);
for (const command of backupCommands()) program.addCommand(command.copyInheritedSettings(program));

async function main(): Promise<void> {
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
