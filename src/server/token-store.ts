/**
 * Managed tokens: created, listed and revoked at run time (`daniel token …`, `/tokens`) and
 * kept only as SHA-256 digests of their secrets. The secret is 32 random bytes, so a digest
 * without salt is as strong as the token itself; it is shown once, at creation.
 *
 * Where they live follows the store: `DATA_DIR/tokens.db` (SQLite, mode 0600) for sqlite and
 * memory, items under the partition `TOKENS` of the table for dynamodb. A running Daniel
 * re-reads the list every second (TokenRegistry), so a create or revoke made by the CLI, by
 * `/tokens` or by another Daniel on the same table is honoured within 2 s.
 */
import { nameProblem } from '../protocol/names.js';
import { lookAlikeProblem } from './plugins/ingest-guard.js';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureSqliteFormat } from '../storage/data-format.js';
import type { Scope } from './tokens.js';

export interface TokenRecord {
  id: string;
  name: string;
  scope: Scope;
  /** Hosts the token is bound to; empty = every host. */
  hosts: string[];
  /** SHA-256 of the secret. */
  hash: Buffer;
  /** Epoch milliseconds. */
  createdMs: number;
  lastUsedMs: number | null;
}

export interface TokenSpec {
  scope: Scope;
  hosts?: readonly string[];
  name?: string;
}

export interface CreatedToken {
  token: string;
  record: TokenRecord;
}

export interface ManagedTokenStore {
  readonly where: string;
  list(): Promise<TokenRecord[]>;
  insert(record: TokenRecord): Promise<void>;
  /** False when no token has that id. */
  remove(id: string): Promise<boolean>;
  /** Records last use (coarse: a Daniel writes it at most every few seconds per token). */
  touch(id: string, atMs: number): Promise<void>;
  close(): Promise<void>;
}

export const TOKEN_PREFIX = 'dnl_';
export const MAX_TOKEN_NAME = 200;
export const MAX_TOKEN_HOSTS = 1000;

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class TokenSpecError extends Error {
  override readonly name = 'TokenSpecError';
}

export function newToken(spec: TokenSpec, nowMs: number = Date.now()): CreatedToken {
  if (!['read', 'ingest', 'admin'].includes(spec.scope)) throw new TokenSpecError('scope must be read, ingest or admin');
  const hosts = [...new Set(spec.hosts ?? [])];
  if (hosts.length > MAX_TOKEN_HOSTS) throw new TokenSpecError(`a token can be bound to at most ${MAX_TOKEN_HOSTS} hosts`);
  // The rules /ingest applies to a host name: a token bound to a name no line can carry would be useless.
  for (const host of hosts) {
    const problem = nameProblem(host) ?? lookAlikeProblem(host);
    if (problem !== undefined) throw new TokenSpecError(`host ${JSON.stringify(host)} ${problem}`);
  }
  if (spec.scope === 'admin' && hosts.length > 0) throw new TokenSpecError('an admin token cannot be bound to hosts: use read or ingest');
  const name = spec.name ?? '';
  if (name.length > MAX_TOKEN_NAME || /[\p{Cc}\p{Cf}]/u.test(name)) {
    throw new TokenSpecError(`the name must be at most ${MAX_TOKEN_NAME} characters without control or invisible characters`);
  }
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const record: TokenRecord = {
    id: randomBytes(6).toString('hex'),
    name,
    scope: spec.scope,
    hosts,
    hash: tokenDigest(token),
    createdMs: nowMs,
    lastUsedMs: null,
  };
  return { token, record };
}

export async function createManagedToken(store: ManagedTokenStore, spec: TokenSpec): Promise<CreatedToken> {
  const created = newToken(spec);
  await store.insert(created.record);
  return created;
}

// ---------- SQLite (sqlite and memory stores) ----------

interface TokenRow {
  id: string;
  name: string;
  scope: string;
  hosts: string;
  hash: Buffer;
  created_ms: number;
  last_used_ms: number | null;
}

export const TOKENS_DB = 'tokens.db';

export async function openSqliteTokenStore(dataDir: string): Promise<ManagedTokenStore> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { default: Database } = await import('better-sqlite3');
  const path = join(dataDir, TOKENS_DB);
  const previousMask = process.umask(0o077);
  let db: import('better-sqlite3').Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    // Versioned like daniel.db: a tokens.db of a newer Daniel is refused, not misread.
    try {
      ensureSqliteFormat(
        db,
        path,
        `CREATE TABLE IF NOT EXISTS tokens (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, scope TEXT NOT NULL, hosts TEXT NOT NULL,
      hash BLOB NOT NULL UNIQUE, created_ms INTEGER NOT NULL, last_used_ms INTEGER)`,
      );
    } catch (error) {
      db.close();
      throw error;
    }
  } finally {
    process.umask(previousMask);
  }
  await chmod(path, 0o600);
  const select = db.prepare('SELECT id, name, scope, hosts, hash, created_ms, last_used_ms FROM tokens ORDER BY created_ms, id');
  const insert = db.prepare('INSERT INTO tokens (id, name, scope, hosts, hash, created_ms, last_used_ms) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const remove = db.prepare('DELETE FROM tokens WHERE id = ?');
  const touch = db.prepare('UPDATE tokens SET last_used_ms = ? WHERE id = ? AND (last_used_ms IS NULL OR last_used_ms < ?)');
  return {
    where: path,
    list: () =>
      Promise.resolve(
        (select.all() as TokenRow[]).map((row) => ({
          id: row.id,
          name: row.name,
          scope: row.scope as Scope,
          hosts: JSON.parse(row.hosts) as string[],
          hash: row.hash,
          createdMs: row.created_ms,
          lastUsedMs: row.last_used_ms,
        })),
      ),
    insert(record) {
      insert.run(record.id, record.name, record.scope, JSON.stringify(record.hosts), record.hash, record.createdMs, record.lastUsedMs);
      return Promise.resolve();
    },
    remove: (id) => Promise.resolve(remove.run(id).changes > 0),
    touch(id, atMs) {
      touch.run(atMs, id, atMs);
      return Promise.resolve();
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}

// ---------- DynamoDB ----------

export const TOKENS_PK = 'TOKENS';

export async function openDynamoTokenStore(connection: import('../storage/dynamodb/dynamo-client.js').DynamoConnection): Promise<ManagedTokenStore> {
  const { DeleteItemCommand, PutItemCommand, UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
  const { attr, createClient, mapDynamoError, queryAll, readN, readS } = await import('../storage/dynamodb/dynamo-client.js');
  const client = createClient(connection);
  const table = connection.table;
  const key = (id: string) => ({ pk: attr.s(TOKENS_PK), sk: attr.s(`T#${id}`) });
  const call = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw mapDynamoError(error, table);
    }
  };
  return {
    where: `DynamoDB table ${table}`,
    list: () =>
      call(async () => {
        const items = await queryAll(client, {
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': attr.s(TOKENS_PK) },
          ConsistentRead: true,
        });
        return items
          .map((item) => ({
            id: readS(item, 'sk').slice(2),
            name: readS(item, 'name'),
            scope: readS(item, 'scope') as Scope,
            hosts: item.hosts?.SS ?? [],
            hash: Buffer.from(item.hash?.B ?? new Uint8Array()),
            createdMs: readN(item, 'created_ms'),
            lastUsedMs: item.last_used_ms?.N === undefined ? null : Number(item.last_used_ms.N),
          }))
          .sort((a, b) => a.createdMs - b.createdMs || a.id.localeCompare(b.id));
      }),
    insert: (record) =>
      call(async () => {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: {
              ...key(record.id),
              name: attr.s(record.name),
              scope: attr.s(record.scope),
              ...(record.hosts.length > 0 ? { hosts: { SS: record.hosts } } : {}),
              hash: attr.b(record.hash),
              created_ms: attr.n(record.createdMs),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      }),
    remove: (id) =>
      call(async () => {
        const answer = await client.send(new DeleteItemCommand({ TableName: table, Key: key(id), ReturnValues: 'ALL_OLD' }));
        return answer.Attributes !== undefined;
      }),
    touch: (id, atMs) =>
      call(async () => {
        try {
          await client.send(
            new UpdateItemCommand({
              TableName: table,
              Key: key(id),
              UpdateExpression: 'SET last_used_ms = :at',
              ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(last_used_ms) OR last_used_ms < :at)',
              ExpressionAttributeValues: { ':at': attr.n(atMs) },
            }),
          );
        } catch (error) {
          if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
        }
      }),
    close() {
      client.destroy();
      return Promise.resolve();
    },
  };
}

export interface TokenStoreLocation {
  store: 'sqlite' | 'dynamodb' | 'memory';
  dataDir: string;
  dynamodb?: import('../storage/dynamodb/dynamo-client.js').DynamoConnection;
}

export async function openTokenStore(location: TokenStoreLocation): Promise<ManagedTokenStore> {
  if (location.store === 'dynamodb') {
    if (location.dynamodb === undefined) throw new Error('The dynamodb token store needs its table.');
    return openDynamoTokenStore(location.dynamodb);
  }
  return openSqliteTokenStore(location.dataDir);
}

/** Where the tokens of a `daniel serve` configuration live. */
export function tokenStoreLocation(config: {
  store: TokenStoreLocation['store'];
  dataDir: string;
  dynamodbTable: string;
  region: string;
  dynamodbEndpoint: string | undefined;
}): TokenStoreLocation {
  return {
    store: config.store,
    dataDir: config.dataDir,
    dynamodb: {
      table: config.dynamodbTable,
      region: config.region,
      ...(config.dynamodbEndpoint === undefined ? {} : { endpoint: config.dynamodbEndpoint }),
    },
  };
}
