import { afterAll, beforeAll } from 'vitest';
import { runStoreContract } from '../store.case.js';
import { startDynalite, type Dynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';

let dynalite: Dynalite;
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  await dynalite.close();
});

runStoreContract(
  'dynamodb (dynalite)',
  async () => {
    const connection = await dynalite.freshTable();
    const opened: DynamoDbStore[] = [];
    const open = async (): Promise<DynamoDbStore> => {
      const store = await DynamoDbStore.open(connection);
      opened.push(store);
      return store;
    };
    const store = await open();
    return {
      store,
      reopen: open,
      cleanup: async () => {
        for (const s of opened) await s.close();
      },
    };
  },
  { propertyRuns: 15 },
);
