import { reopenableStore, runStoreContract } from '../store.case.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';

const dynalite = useDynalite();

runStoreContract(
  'dynamodb (dynalite)',
  async () => {
    const connection = await dynalite().freshTable();
    return reopenableStore(() => DynamoDbStore.open(connection));
  },
  { propertyRuns: 15 },
);
