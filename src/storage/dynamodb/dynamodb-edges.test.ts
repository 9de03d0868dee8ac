/**
 * The dynamodb store at its edges: table creation, a missing table, an endpoint that does
 * not answer, items near the size limit, and retention on reads and in the TTL attribute.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { appendFile, fileLines, T0 } from '../store.case.js';
import { StoreUnavailableError } from '../store.js';
import { createTable } from './create-table.js';
import { createClient, TableMissingError } from './dynamo-client.js';
import { TEST_CREDENTIALS, useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';
import { segmentPk, TTL_ATTRIBUTE } from './table-design.js';

const dynalite = useDynalite();

const SECOND = 1_000_000_000n;

describe('dynamodb store: table and endpoint', () => {
  it('create-table creates once and then says the table exists', async () => {
    const connection = await dynalite().freshTable();
    expect(await createTable(connection)).toEqual({ created: false, ttl: 'unsupported' });
    const fresh = { ...connection, table: `${connection.table}-again` };
    expect((await createTable(fresh)).created).toBe(true);
    expect((await createTable(fresh)).created).toBe(false);
  });

  it('refuses to open on a missing table with a message naming daniel create-table', async () => {
    const options = { table: 'no-such-table', endpoint: dynalite().endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS };
    const opening = DynamoDbStore.open(options);
    await expect(opening).rejects.toBeInstanceOf(TableMissingError);
    await expect(opening).rejects.toThrow(/daniel create-table --dynamodb-table no-such-table/);
    // A store already running when the table goes away answers 503 with the same advice.
    const store = new DynamoDbStore(options);
    try {
      await expect(store.hosts()).rejects.toThrow(/daniel create-table/);
      await expect(store.append({ host: 'h', files: [appendFile('1', 'a', fileLines(['x']))], receivedAt: T0 })).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  it('answers StoreUnavailableError quickly when the endpoint does not answer, and never leaks the secret', async () => {
    // A port that accepts connections and never answers, and one that refuses them.
    const held: Socket[] = [];
    const silent: Server = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    const refused: Server = createServer();
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.1', resolve));
    const refusedPort = (refused.address() as AddressInfo).port;
    await new Promise<void>((resolve) => refused.close(() => resolve()));
    try {
      for (const port of [silentPort, refusedPort]) {
        const options = { table: 't', endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1, connectTimeoutMs: 300, requestTimeoutMs: 500 };
        const started = performance.now();
        const store = await DynamoDbStore.open(options); // does not crash: requests get 503 until it answers
        try {
          for (const call of [() => store.append({ host: 'h', files: [appendFile('1', 'a', fileLines(['x']))], receivedAt: T0 }), () => store.search({ order: 'desc', limit: 5 }), () => store.ping()]) {
            const error = await call().then(() => undefined, (e: unknown) => e);
            expect(error).toBeInstanceOf(StoreUnavailableError);
            expect(String((error as Error).message)).not.toContain(TEST_CREDENTIALS.secretAccessKey);
          }
        } finally {
          await store.close();
        }
        expect(performance.now() - started).toBeLessThan(15_000);
      }
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('dynamodb store: items and retention', () => {
  it('splits a large append into several segments and keeps a line larger than one item', async () => {
    const connection = await dynalite().freshTable();
    const store = await DynamoDbStore.open(connection);
    try {
      // Random text compresses badly and fills the bloom: the worst case for item sizes.
      let seed = 7;
      const random = (length: number): string => {
        let text = '';
        for (let i = 0; i < length; i++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          text += String.fromCharCode(33 + (seed % 94));
        }
        return text;
      };
      const texts = Array.from({ length: 400 }, (_, i) => `${i} ${random(2_000)}`);
      texts.push(`huge ${random(600_000)} end`);
      expect(await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(texts))], receivedAt: T0 })).toEqual({ accepted: 401, duplicates: 0 });
      const stats = await store.stats();
      expect(stats.segments).toBeGreaterThanOrEqual(5);
      const page = await store.search({ order: 'desc', limit: 2 });
      expect(page.lines.map((l) => l.line)).toEqual([texts[400], texts[399]]);
      const needle = texts[123]!.slice(500, 540);
      expect((await store.search({ order: 'desc', limit: 5, match: [{ kind: 'substring', text: needle, caseInsensitive: false }] })).lines.map((l) => l.offset)).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('writes the TTL attribute from the retention and hides segments past it before any sweep', async () => {
    const connection = await dynalite().freshTable();
    let now = T0 + 10n * SECOND;
    const store = await DynamoDbStore.open({ ...connection, retentionNs: 60n * SECOND, now: () => now });
    const client = createClient(connection);
    try {
      await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['old']))], receivedAt: T0 });
      await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['old', 'new']))], receivedAt: T0 + 50n * SECOND });
      const items = await client.send(new QueryCommand({ TableName: connection.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: segmentPk('h', 0) } } }));
      const expiries = (items.Items ?? []).map((item) => Number(item[TTL_ATTRIBUTE]?.N));
      expect(expiries.sort()).toEqual([Number(T0 / SECOND) + 60 + 86_400, Number(T0 / SECOND) + 50 + 60 + 86_400]);
      expect((await store.search({ order: 'desc', limit: 10 })).lines.map((l) => l.line)).toEqual(['new', 'old']);
      now = T0 + 70n * SECOND; // the first segment is past retention; no sweep ran
      expect((await store.search({ order: 'desc', limit: 10 })).lines.map((l) => l.line)).toEqual(['new']);
      expect(await store.deleteArrivedBefore(now - 60n * SECOND)).toEqual({ deletedLines: 1 });
    } finally {
      client.destroy();
      await store.close();
    }
  });
});
