/**
 * The DynamoDB client of the dynamodb store and the boundary where its errors are mapped:
 * a missing table names `daniel create-table`; anything that means "cannot answer now"
 * (network, timeouts, throttling after the SDK's retries, credentials) becomes a
 * StoreUnavailableError, so requests get 503 and agents retry. Messages carry the SDK's
 * error name and message only, never the client config (credentials stay out of logs).
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  QueryCommand,
  type AttributeValue,
  type QueryCommandInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../store.js';

export type Item = Record<string, AttributeValue>;
export type Key = Record<string, AttributeValue>;

export interface DynamoConnection {
  table: string;
  /** A DynamoDB-compatible endpoint (dynalite, DynamoDB Local); AWS's own when unset. */
  endpoint?: string;
  region: string;
  /** Explicit credentials (tests); otherwise the SDK's usual chain (env, ~/.aws, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** SDK attempts per request, retries of throttling and 5xx included. */
  maxAttempts?: number;
}

/** The table does not exist: the user has to run `daniel create-table`. */
export class TableMissingError extends StoreUnavailableError {}

export function createClient(connection: DynamoConnection): DynamoDBClient {
  return new DynamoDBClient({
    region: connection.region,
    ...(connection.endpoint === undefined ? {} : { endpoint: connection.endpoint }),
    ...(connection.credentials === undefined ? {} : { credentials: connection.credentials }),
    maxAttempts: connection.maxAttempts ?? 4,
    // Without throwOnRequestTimeout the SDK only warns and a silent endpoint hangs the request forever.
    requestHandler: { connectionTimeout: connection.connectTimeoutMs ?? 3_000, requestTimeout: connection.requestTimeoutMs ?? 15_000, throwOnRequestTimeout: true },
  });
}

export function missingTableMessage(table: string): string {
  return `DynamoDB table '${table}' does not exist; create it once with: daniel create-table --dynamodb-table ${table} (same --dynamodb-endpoint and --region)`;
}

/** Errors that are our own bug or bad input, not unavailability: they keep their identity. */
const NOT_UNAVAILABLE = new Set(['ValidationException', 'SerializationException']);

export function errorName(error: unknown): string {
  return (error as { name?: unknown } | null)?.name === undefined ? 'Error' : String((error as { name: unknown }).name);
}

/** Maps an SDK error to what the store throws. Our own errors pass through unchanged. */
export function mapDynamoError(error: unknown, table: string): Error {
  if (error instanceof StoreUnavailableError) return error;
  const name = errorName(error);
  if (name === 'ResourceNotFoundException') return new TableMissingError(missingTableMessage(table), { cause: error });
  if (!(error instanceof Error)) return new StoreUnavailableError(`DynamoDB failed: ${String(error)}`);
  const fromSdk = (error as { $metadata?: unknown }).$metadata !== undefined || (error as { $fault?: unknown }).$fault !== undefined;
  if (NOT_UNAVAILABLE.has(name) || (!fromSdk && !isNetworkError(error))) return error;
  return new StoreUnavailableError(`DynamoDB cannot answer right now (${name}: ${error.message}); retry later`, { cause: error });
}

function isNetworkError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    (typeof code === 'string' && /^E[A-Z]+$/.test(code)) ||
    ['TimeoutError', 'AbortError', 'CredentialsProviderError', 'RequestTimeout', 'NetworkingError'].includes(error.name)
  );
}

export function isConditionFailure(error: unknown): boolean {
  return errorName(error) === 'ConditionalCheckFailedException';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exponential backoff with full jitter: 25 ms, 50 ms, ... capped at 2 s. */
export function backoffMs(attempt: number): number {
  return Math.random() * Math.min(2_000, 25 * 2 ** attempt);
}

const BATCH_ATTEMPTS = 12;

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** BatchWriteItem, 25 requests a call, retrying UnprocessedItems (throttled partitions) with backoff. */
export async function batchWrite(client: DynamoDBClient, table: string, requests: WriteRequest[]): Promise<void> {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += 25) chunks.push(requests.slice(i, i + 25));
  await inParallel(chunks, 4, async (chunk) => {
    let pending = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === BATCH_ATTEMPTS) throw new StoreUnavailableError('DynamoDB kept throttling a batch write; retry later');
      if (attempt > 0) await sleep(backoffMs(attempt));
      const answer = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
      pending = answer.UnprocessedItems?.[table] ?? [];
    }
  });
}

/** Strongly consistent BatchGetItem, 100 keys a call, retrying UnprocessedKeys. Items come back in no particular order. */
export async function batchGet(client: DynamoDBClient, table: string, keys: Key[]): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Key[] = keys.slice(i, i + 100);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === BATCH_ATTEMPTS) throw new StoreUnavailableError('DynamoDB kept throttling a batch read; retry later');
      if (attempt > 0) await sleep(backoffMs(attempt));
      const answer = await client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
      items.push(...(answer.Responses?.[table] ?? []));
      pending = answer.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return items;
}

/** Every page of a Query. */
export async function queryAll(client: DynamoDBClient, input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  let start: Key | undefined;
  do {
    const answer = await client.send(new QueryCommand({ ...input, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
    items.push(...(answer.Items ?? []));
    start = answer.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** Attribute helpers: DynamoDB numbers travel as strings, so bigints keep every digit. */
export const attr = {
  s: (value: string): AttributeValue => ({ S: value }),
  n: (value: number | bigint): AttributeValue => ({ N: value.toString() }),
  b: (value: Uint8Array): AttributeValue => ({ B: value }),
  bool: (value: boolean): AttributeValue => ({ BOOL: value }),
};

export function readS(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new Error(`DynamoDB item lacks the string attribute ${name}.`);
  return value;
}

export function readN(item: Item, name: string, fallback?: number): number {
  const value = item[name]?.N;
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`DynamoDB item lacks the number attribute ${name}.`);
  }
  return Number(value);
}

export function readBig(item: Item, name: string, fallback?: bigint): bigint {
  const value = item[name]?.N;
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`DynamoDB item lacks the number attribute ${name}.`);
  }
  return BigInt(value);
}
