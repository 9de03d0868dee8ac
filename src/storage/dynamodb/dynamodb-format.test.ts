/** The data format of a DynamoDB table: recorded at first open, a newer one refused. */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { expect, test } from 'vitest';
import { DATA_FORMAT_VERSION, DataFormatError } from '../data-format.js';
import { createClient } from './dynamo-client.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';

const dynalite = useDynalite();

test('a table gets its data format item at first open, an older one is raised; one written by a newer Daniel is refused with what to run', async () => {
  const connection = await dynalite().freshTable();
  const client = createClient(connection);
  const key = { pk: { S: 'META' }, sk: { S: 'FORMAT' } };
  try {
    const store = await DynamoDbStore.open({ ...connection, settleMs: 0 });
    await store.close();
    const item = await client.send(new GetItemCommand({ TableName: connection.table, Key: key, ConsistentRead: true }));
    expect(item.Item?.v?.N).toBe(String(DATA_FORMAT_VERSION));

    // A table of format 1 (its blobs all deflate or brotli) is raised at open: a format 1 Daniel then refuses it.
    await client.send(new PutItemCommand({ TableName: connection.table, Item: { ...key, v: { N: '1' } } }));
    await (await DynamoDbStore.open({ ...connection, settleMs: 0 })).close();
    const raised = await client.send(new GetItemCommand({ TableName: connection.table, Key: key, ConsistentRead: true }));
    expect(raised.Item?.v?.N).toBe(String(DATA_FORMAT_VERSION));

    await client.send(new PutItemCommand({ TableName: connection.table, Item: { ...key, v: { N: String(DATA_FORMAT_VERSION + 1) } } }));
    const opening = DynamoDbStore.open({ ...connection, settleMs: 0 });
    await expect(opening).rejects.toThrow(DataFormatError);
    await expect(opening).rejects.toThrow(new RegExp(`table ${connection.table} holds data format ${DATA_FORMAT_VERSION + 1}, written by a newer Daniel.*npm install -g`));
  } finally {
    client.destroy();
  }
});
