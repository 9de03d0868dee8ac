/**
 * `daniel token create|list|revoke`: manages the tokens of a store directly (the data dir for
 * sqlite, the table for dynamodb), so it works on the server's machine without a token of its
 * own. A running Daniel picks a change up within 2 s.
 *
 * `create` writes the new token alone on stdout (`T=$(daniel token create …)`) and its id on
 * stderr; `list` never shows a secret.
 */
import { Command, Option } from 'commander';
import { escapeForTerminal } from './format.js';

interface StoreFlags {
  dataDir?: string;
  store?: string;
  dynamodbTable?: string;
  dynamodbEndpoint?: string;
  region?: string;
}

function storeOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'data directory of the sqlite store (env DANIEL_DATA_DIR, default ./data)')
    .option('--store <kind>', 'sqlite or dynamodb (env DANIEL_STORE, default sqlite)')
    .option('--dynamodb-table <name>', 'DynamoDB table (env DANIEL_DYNAMODB_TABLE, default logging-aggregator)')
    .option('--dynamodb-endpoint <url>', 'DynamoDB endpoint (env DANIEL_DYNAMODB_ENDPOINT)')
    .option('--region <region>', 'AWS region (env AWS_REGION, default us-east-1)');
}

async function openStore(flags: StoreFlags) {
  const { parseServeConfig, ConfigError } = await import('../server/config.js');
  const { openTokenStore, tokenStoreLocation } = await import('../server/token-store.js');
  try {
    return await openTokenStore(tokenStoreLocation(parseServeConfig(flags, process.env)));
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 2);
    throw error;
  }
}

function fail(message: string, code = 1): never {
  process.stderr.write(`daniel: ${message}\n`);
  process.exit(code);
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function minute(ms: number | null): string {
  return ms === null ? 'never' : new Date(ms).toISOString().slice(0, 16) + 'Z';
}

export function tokenCommand(): Command {
  const token = new Command('token').description('create, list and revoke API tokens (stored hashed in the data dir or table)');

  storeOptions(
    token
      .command('create')
      .description('create a token and print it (alone, on stdout); its id goes to stderr')
      .addOption(new Option('--scope <scope>', 'what the token may do').choices(['read', 'ingest', 'admin']).makeOptionMandatory())
      .option('--host <name>', 'bind the token to this host (repeatable): it writes or reads only these hosts', collect)
      .option('--name <text>', 'a label shown by token list'),
  ).action(async (flags: StoreFlags & { scope: 'read' | 'ingest' | 'admin'; host?: string[]; name?: string }) => {
    const { createManagedToken, TokenSpecError } = await import('../server/token-store.js');
    const store = await openStore(flags);
    try {
      const created = await createManagedToken(store, { scope: flags.scope, hosts: flags.host ?? [], name: flags.name ?? '' });
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`token id ${created.record.id} (${created.record.scope}${created.record.hosts.length > 0 ? `, hosts ${created.record.hosts.map(escapeForTerminal).join(',')}` : ''}) in ${store.where}\n`);
    } catch (error) {
      if (error instanceof TokenSpecError) fail(error.message, 2);
      fail(`cannot create the token: ${(error as Error).message}`);
    } finally {
      await store.close();
    }
  });

  storeOptions(token.command('list').description('id, name, scope, hosts, created and last used of every token (never the secret)').option('--json', 'one JSON array')).action(
    async (flags: StoreFlags & { json?: boolean }) => {
      const { tokenInfo } = await import('../server/routes/tokens.js');
      const store = await openStore(flags);
      try {
        const records = await store.list();
        if (flags.json === true) {
          process.stdout.write(`${JSON.stringify(records.map(tokenInfo))}\n`);
          return;
        }
        if (records.length === 0) {
          process.stdout.write('no managed tokens\n');
          return;
        }
        const rows = records.map((r) => [r.id, escapeForTerminal(r.name) || '-', r.scope, r.hosts.length === 0 ? '*' : r.hosts.map(escapeForTerminal).join(','), minute(r.createdMs), minute(r.lastUsedMs)]);
        const header = ['ID', 'NAME', 'SCOPE', 'HOSTS', 'CREATED', 'LAST USED'];
        const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
        for (const cells of [header, ...rows]) process.stdout.write(`${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}\n`);
      } finally {
        await store.close();
      }
    },
  );

  storeOptions(token.command('revoke').description('revoke a token by id: every Daniel on the store refuses it within 2 s').argument('<id>')).action(
    async (id: string, flags: StoreFlags) => {
      const store = await openStore(flags);
      try {
        if (!(await store.remove(id))) fail(`no managed token has id ${escapeForTerminal(id)} (see daniel token list)`);
        process.stderr.write(`token ${id} revoked\n`);
      } finally {
        await store.close();
      }
    },
  );
  return token;
}
