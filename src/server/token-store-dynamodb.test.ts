/** Managed tokens in the DynamoDB table: two Daniels on one table honour a create and a revoke within 2 s. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { useDynalite } from '../storage/dynamodb/dynalite.case.js';
import { TEST_CREDENTIALS } from '../storage/dynamodb/dynalite.case.js';
import { TokenRegistry } from './token-registry.js';
import { createManagedToken, openDynamoTokenStore, type ManagedTokenStore } from './token-store.js';

const dynalite = useDynalite();
let first: TokenRegistry;
let second: TokenRegistry;
let cli: ManagedTokenStore;

beforeAll(async () => {
  const connection = { ...(await dynalite().freshTable()), credentials: TEST_CREDENTIALS };
  first = new TokenRegistry(await openDynamoTokenStore(connection), []);
  second = new TokenRegistry(await openDynamoTokenStore(connection), []);
  await first.start(250);
  await second.start(250);
  cli = await openDynamoTokenStore(connection);
});

afterAll(async () => {
  await first.close();
  await second.close();
  await cli.close();
});

async function within(ms: number, check: () => boolean): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('every Daniel on a table honours a create and a revoke within 2 s; list never holds a secret', async () => {
  const created = await createManagedToken(cli, { scope: 'ingest', hosts: ['web1', 'web2'], name: 'web' });
  await within(2000, () => first.find(created.token) !== undefined && second.find(created.token) !== undefined);
  const principal = second.find(created.token)!;
  expect(principal.scope).toBe('ingest');
  expect([...principal.hosts!].sort()).toEqual(['web1', 'web2']);
  const listed = await cli.list();
  expect(listed.map((r) => ({ id: r.id, name: r.name, scope: r.scope }))).toEqual([{ id: created.record.id, name: 'web', scope: 'ingest' }]);
  expect(JSON.stringify(listed)).not.toContain(created.token);

  expect(await cli.remove(created.record.id)).toBe(true);
  expect(await cli.remove(created.record.id)).toBe(false);
  await within(2000, () => first.find(created.token) === undefined && second.find(created.token) === undefined);
});

test('last use is written back to the table', async () => {
  const created = await createManagedToken(cli, { scope: 'read' });
  await within(2000, () => first.find(created.token) !== undefined);
  await first.close();
  const record = (await cli.list()).find((r) => r.id === created.record.id)!;
  expect(record.lastUsedMs).not.toBeNull();
  first = new TokenRegistry(undefined, []);
});
