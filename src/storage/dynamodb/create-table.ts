/**
 * Creating the dynamodb store's table (replaces the original create_table.py): idempotent,
 * PAY_PER_REQUEST, the two local secondary indexes, then AWS's TTL on `expires_at`.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { createClient, errorName, mapDynamoError, type DynamoConnection } from './dynamo-client.js';
import { createTableInput, TTL_ATTRIBUTE } from './table-design.js';

export interface CreateTableOutcome {
  created: boolean;
  /** What happened to TTL: enabled now, already on, or not supported by this endpoint (dynalite). */
  ttl: 'enabled' | 'already enabled' | 'unsupported';
}

async function tableExists(client: DynamoDBClient, table: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
    return true;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return false;
    throw error;
  }
}

async function enableTtl(client: DynamoDBClient, table: string): Promise<CreateTableOutcome['ttl']> {
  try {
    const current = await client.send(new DescribeTimeToLiveCommand({ TableName: table }));
    const status = current.TimeToLiveDescription?.TimeToLiveStatus;
    if (status === 'ENABLED' || status === 'ENABLING') return 'already enabled';
    await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { Enabled: true, AttributeName: TTL_ATTRIBUTE } }));
    return 'enabled';
  } catch (error) {
    const name = errorName(error);
    if (name === 'UnknownOperationException' || name === 'UnknownOperation' || /unknown ?operation/i.test((error as Error).message)) return 'unsupported';
    throw error;
  }
}

export async function createTable(connection: DynamoConnection, options: { waitSeconds?: number } = {}): Promise<CreateTableOutcome> {
  const client = createClient(connection);
  try {
    let created = false;
    if (!(await tableExists(client, connection.table))) {
      try {
        await client.send(new CreateTableCommand(createTableInput(connection.table)));
        created = true;
      } catch (error) {
        if (errorName(error) !== 'ResourceInUseException') throw error; // created by someone else meanwhile
      }
      await waitUntilTableExists({ client, maxWaitTime: options.waitSeconds ?? 300, minDelay: 1, maxDelay: 5 }, { TableName: connection.table });
    }
    return { created, ttl: await enableTtl(client, connection.table) };
  } catch (error) {
    throw mapDynamoError(error, connection.table);
  } finally {
    client.destroy();
  }
}
