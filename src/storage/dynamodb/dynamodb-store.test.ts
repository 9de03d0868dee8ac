import { runStoreContract } from '../store.case.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';

const dynalite = useDynalite();

runStoreContract(
  'dynamodb (dynalite)',
  async () => {
    const connection = await dynalite().freshTable();
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
