import { reopenableStore, runStoreContract } from '../store.case.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';

const dynalite = useDynalite();

runStoreContract(
  'dynamodb (dynalite)',
  async () => {
    const connection = await dynalite().freshTable();
    // The contract tails its own appends at once: with one writer the settle window is not needed
    // (0: off). The window's own tests, default included, are in dynamodb-tail.test.ts.
    return reopenableStore(() => DynamoDbStore.open({ ...connection, settleMs: 0 }));
  },
  { propertyRuns: 15 },
);
