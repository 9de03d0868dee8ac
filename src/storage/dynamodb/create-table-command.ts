/**
 * `daniel create-table [--dynamodb-table NAME] [--dynamodb-endpoint URL] [--region R]`:
 * creates what the dynamodb store needs, or says it exists (exit 0 both ways). Flags fall
 * back to DANIEL_DYNAMODB_TABLE, DANIEL_DYNAMODB_ENDPOINT and AWS_REGION; credentials come
 * from the SDK's usual chain and are never printed.
 */
import { Command } from 'commander';

interface CreateTableFlags {
  dynamodbTable?: string;
  dynamodbEndpoint?: string;
  region?: string;
}

export function createTableCommand(): Command {
  return new Command('create-table')
    .description('create the DynamoDB table of the dynamodb store (idempotent)')
    .option('--dynamodb-table <name>', 'DynamoDB table (env DANIEL_DYNAMODB_TABLE, default logging-aggregator)')
    .option('--dynamodb-endpoint <url>', 'DynamoDB endpoint (env DANIEL_DYNAMODB_ENDPOINT, default AWS)')
    .option('--region <region>', 'AWS region (env AWS_REGION, default us-east-1)')
    .action(async (flags: CreateTableFlags) => {
      const { createTable } = await import('./create-table.js');
      const table = flags.dynamodbTable ?? process.env.DANIEL_DYNAMODB_TABLE ?? 'logging-aggregator';
      const endpoint = flags.dynamodbEndpoint ?? process.env.DANIEL_DYNAMODB_ENDPOINT;
      const region = flags.region ?? process.env.AWS_REGION ?? 'us-east-1';
      const where = endpoint === undefined ? `region ${region}` : `${endpoint}`;
      try {
        const outcome = await createTable({ table, region, ...(endpoint === undefined || endpoint === '' ? {} : { endpoint }) });
        process.stdout.write(`table ${table} (${where}) ${outcome.created ? 'created' : 'already exists'}; TTL on expires_at: ${outcome.ttl}\n`);
      } catch (error) {
        process.stderr.write(`daniel: cannot create table ${table} (${where}): ${(error as Error).message}\n`);
        process.exit(1);
      }
    });
}
