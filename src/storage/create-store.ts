/** The one factory that turns configuration into a Store. */
import { mkdir } from 'node:fs/promises';
import { MemoryStore } from './memory/memory-store.js';
import type { DynamoDbServeOptions } from './dynamodb/dynamodb-store.js';
import type { Store } from './store.js';

export interface CreateStoreOptions {
  kind: 'memory' | 'sqlite' | 'dynamodb';
  /** Directory for the sqlite file (`daniel.db`); created if missing. Unused by memory and dynamodb. */
  dataDir: string;
  dynamodb?: DynamoDbServeOptions;
}

export async function createStore(options: CreateStoreOptions): Promise<Store> {
  switch (options.kind) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite': {
      await mkdir(options.dataDir, { recursive: true });
      const { SqliteStore } = await import('./sqlite/sqlite-store.js');
      return SqliteStore.open({ dataDir: options.dataDir });
    }
    case 'dynamodb': {
      if (options.dynamodb === undefined) throw new Error('The dynamodb store needs its table, endpoint and region.');
      const { openDynamoDbStore } = await import('./dynamodb/dynamodb-store.js');
      return openDynamoDbStore(options.dynamodb);
    }
  }
}
