/**
 * dynalite in process for the dynamodb store's tests: one server per test file on a free
 * port, a fresh table per store, fake credentials (dynalite checks no signature).
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { createTable } from './create-table.js';
import type { DynamoConnection } from './dynamo-client.js';

type DynaliteFactory = (options: Record<string, unknown>) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test-secret' };

export interface Dynalite {
  endpoint: string;
  /** A connection to a new table (created). */
  freshTable(): Promise<DynamoConnection>;
  close(): Promise<void>;
}

let tables = 0;

export async function startDynalite(): Promise<Dynalite> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    async freshTable() {
      const connection: DynamoConnection = { table: `t${process.pid}-${++tables}`, endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS };
      await createTable(connection, { waitSeconds: 10 });
      return connection;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/** One dynalite for the calling test file: started before its tests, closed after them. */
export function useDynalite(): () => Dynalite {
  let dynalite: Dynalite | undefined;
  beforeAll(async () => {
    dynalite = await startDynalite();
  });
  afterAll(async () => {
    await dynalite?.close();
  });
  return () => {
    if (dynalite === undefined) throw new Error('dynalite is only there while the tests run');
    return dynalite;
  };
}
