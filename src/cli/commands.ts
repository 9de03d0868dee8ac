/**
 * The client commands of `daniel`: hosts, files HOST, logs [HOST]. Exit codes: 0 ok,
 * 1 the server answered with an error (code and message printed), 2 usage, 3 cannot connect.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { FileEntry, HostEntry } from '../protocol/api.js';
import { ApiClient, CliError, EXIT } from './client.js';
import { formatCounts, formatFiles, formatHosts } from './format.js';
import { runFollow, runSearch, type LogsOptions, type OutputFormat } from './logs.js';

interface ConnectionOptions {
  server: string;
  token?: string;
  dataDir?: string;
  output: OutputFormat;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:3032';

/** --token, else DANIEL_TOKEN (via commander's env), else the token file of the local data dir. */
export function resolveToken(options: { token?: string; dataDir?: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (options.token !== undefined && options.token !== '') return options.token;
  const dataDir = resolve(options.dataDir ?? env.DANIEL_DATA_DIR ?? './data');
  try {
    const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/** Where Daniel is and which token to send: the options every client command takes. */
export function connectionFlags(command: Command, tokenHelp = 'API token (default: DATA_DIR/token)'): Command {
  return command
    .addOption(new Option('--server <url>', 'Daniel URL').env('DANIEL_URL').default(DEFAULT_SERVER))
    .addOption(new Option('--token <token>', tokenHelp).env('DANIEL_TOKEN'))
    .addOption(new Option('--data-dir <dir>', "where to find the server's token file").env('DANIEL_DATA_DIR'));
}

function connectionOptions(command: Command): Command {
  return connectionFlags(command).addOption(new Option('--output <format>', 'output format').choices(['text', 'json', 'ndjson']).default('text'));
}

/** --count: 1 to 10,000,000; 0 is allowed for --follow (no backlog), which the action checks. */
function nonNegativeCount(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed > 10_000_000) throw new InvalidArgumentError('expected a whole number from 1 to 10000000');
  return parsed;
}

function contextLines(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed > 1000) throw new InvalidArgumentError('expected a whole number from 0 to 1000');
  return parsed;
}

/** A repeatable option's values, in order. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function writeStdout(text: string): void {
  process.stdout.write(text);
}

/** Runs a command body and turns failures into one stderr line and the exit code. */
export async function run(body: () => Promise<void>): Promise<void> {
  // `daniel logs | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok);
  });
  try {
    await body();
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`daniel: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}

function clientFor(options: ConnectionOptions): ApiClient {
  return new ApiClient(options.server, resolveToken(options));
}

function printJson(value: unknown, format: OutputFormat): void {
  if (format === 'ndjson' && Array.isArray(value)) for (const item of value) writeStdout(JSON.stringify(item) + '\n');
  else writeStdout(JSON.stringify(value, null, 2) + '\n');
}

export function registerClientCommands(program: Command): void {
  connectionOptions(program.command('hosts').description('list the hosts Daniel has received lines from')).action(
    (options: ConnectionOptions) =>
      run(async () => {
        const { data } = await clientFor(options).getJson<{ data: HostEntry[] }>('/hosts/');
        if (options.output === 'text') writeStdout(formatHosts(data) + '\n');
        else printJson(data, options.output);
      }),
  );

  connectionOptions(program.command('files').description("list a host's files").argument('<host>', 'host name')).action(
    (host: string, options: ConnectionOptions) =>
      run(async () => {
        const { data } = await clientFor(options).getJson<{ data: FileEntry[] }>(`/hosts/${encodeURIComponent(host)}/`);
        if (options.output === 'text') writeStdout(formatFiles(data) + '\n');
        else printJson(data, options.output);
      }),
  );

  connectionOptions(
    program
      .command('fields')
      .description("the fields of the matching lines, or with NAME that field's top values")
      .argument('[name]', 'a field name')
      .option('-q, --query <q>', 'only lines matching this query (docs/query.md)')
      .option('--host <name>', 'only this host (repeatable)', collect)
      .option('--since <time>', "RFC 3339, epoch, or a duration ago ('15m', '2h', '7d')")
      .option('--until <time>', 'like --since; exclusive')
      .option('--limit <n>', 'with NAME: how many values (default 10)'),
  ).action((name: string | undefined, options: ConnectionOptions & { query?: string; host?: string[]; since?: string; until?: string; limit?: string }) =>
    run(async () => {
      const params = { q: options.query, host: options.host, since: options.since, until: options.until };
      const client = clientFor(options);
      const note = (body: { lines_examined: number; partial?: boolean }): string[] =>
        body.partial === true ? [`(from the newest ${body.lines_examined} matching lines)`] : [];
      if (name === undefined) {
        const body = await client.getJson<{ data: Array<{ name: string; lines: number }>; lines_examined: number; partial?: boolean }>('/logs/fields', params);
        if (options.output === 'text') writeStdout(formatCounts(['FIELD', 'LINES'], body.data.map((f) => [f.name, f.lines]), note(body)) + '\n');
        else printJson(body.data, options.output);
      } else {
        const body = await client.getJson<{ data: Array<{ value: string; lines: number }>; other_lines: number; lines_examined: number; partial?: boolean }>(
          `/logs/fields/${encodeURIComponent(name)}/values`,
          { ...params, limit: options.limit },
        );
        const other = body.other_lines > 0 ? [`(${body.other_lines} more lines have other values)`] : [];
        if (options.output === 'text') writeStdout(formatCounts(['VALUE', 'LINES'], body.data.map((v) => [v.value, v.lines]), [...other, ...note(body)]) + '\n');
        else printJson(body.data, options.output);
      }
    }),
  );

  connectionOptions(
    program
      .command('logs')
      .description('search lines (newest first), of one host or of all; --follow for a live tail')
      .argument('[host]', 'only this host (default: every host)')
      .option('-q, --query <q>', 'a query: words, "phrases", AND/OR/NOT/-, field:value, field:>=N, /regex/ (docs/query.md)')
      .option('--fields', "print each line's fields under it")
      .option('--file <name>', 'only this file (repeatable)', collect)
      .option('--filter <text>', 'lines containing this text (repeatable: all must match)', collect)
      .option('--regex <pattern>', 'lines matching this regular expression (repeatable)', collect)
      .option('-i, --ignore-case', 'case-insensitive --filter and --regex')
      .option('--since <time>', "RFC 3339, epoch, or a duration ago ('15m', '2h', '7d')")
      .option('--until <time>', 'like --since; exclusive')
      .addOption(new Option('--order <order>', 'desc: newest first; asc: oldest first').choices(['desc', 'asc']))
      .option('--count <n>', 'at most N lines (with --follow: the newest N first, default 10; 0 for none)', nonNegativeCount, 100)
      .option('-f, --follow', 'print the newest lines, then new matching lines as they arrive (Ctrl-C stops)')
      .option('--context <n>', 'show N lines before and after each hit (by file order)', contextLines),
  ).action((host: string | undefined, options: ConnectionOptions & LogsOptions, command: Command) =>
    run(async () => {
      if (options.follow === true && options.context !== undefined) {
        throw new CliError('--follow and --context cannot be combined', EXIT.usage);
      }
      if (options.follow !== true && options.count === 0) throw new CliError('--count must be at least 1 (0 only with --follow)', EXIT.usage);
      // Like tail -f: the newest 10 lines first, unless --count says how many.
      options.backlog = command.getOptionValueSource('count') === 'cli' ? options.count : 10;
      const client = clientFor(options);
      if (options.follow !== true) {
        await runSearch(client, host, options, writeStdout);
        return;
      }
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await runFollow(client, host, options, writeStdout, stop.signal);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }),
  );
}
