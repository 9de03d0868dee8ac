/**
 * What the dynamodb store costs in DynamoDB capacity units, beside the original design's one
 * item per line. `node --import tsx bench/dynamodb-cost.ts [--quick] [--lines N]`
 * (default 1M lines; --quick 100k).
 *
 * Both designs run against dynalite behind bench/lib/dynamo-meter.ts, which adds
 * ReturnConsumedCapacity: TOTAL to every request and sums what comes back, so the figures
 * are DynamoDB's own accounting of 1 KB write units and 4 KB read units. dynalite reports
 * no units for local secondary index writes; AWS bills them (one unit per index per
 * segment here: metadata items are under 1 KB), so they are added from the segment count.
 */
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient, QueryCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTable } from '../src/storage/dynamodb/create-table.js';
import { DynamoDbStore } from '../src/storage/dynamodb/dynamodb-store.js';
import type { AppendLine } from '../src/storage/store.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const linesArg = args.indexOf('--lines');
const TOTAL = linesArg >= 0 ? Number(args[linesArg + 1]) : quick ? 100_000 : 1_000_000;
const BATCH = 1_000;
const NEEDLE = 'needle-7f3a91c2';
const NEEDLES = 3;
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const T0 = 1_700_000_000_000_000_000n;

let seed = 42;
function random(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
}
const PATHS = ['/api/v1/items', '/api/v1/users', '/login', '/static/app.js', '/api/v2/orders', '/healthz'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
/** Realistic-looking service lines (~150 bytes): timestamps, levels, paths, ids and latencies vary. */
function lineAt(i: number, needleAt: Set<number>): string {
  const ms = 1_700_000_000_000 + i * 7;
  const base = `${new Date(ms).toISOString()} web-1 api[${1000 + random(50)}]: ${LEVELS[random(LEVELS.length)]} ${['GET', 'POST'][random(2)]} ${PATHS[random(PATHS.length)]}/${random(100_000)} status=${[200, 200, 200, 404, 500][random(5)]} took=${random(900)}ms user=u${random(5000)} trace=${random(2 ** 30).toString(16)}${random(2 ** 30).toString(16)}`;
  return needleAt.has(i) ? `${base} ${NEEDLE}` : base;
}

interface Meter {
  writeUnits: number;
  readUnits: number;
  requests: Record<string, number>;
}

async function startMeter(): Promise<{ url: string; direct: string; stop: () => void }> {
  const script = fileURLToPath(new URL('./lib/dynamo-meter.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const match = /listening on (\S+) dynalite (\S+)/.exec(line);
    if (match) return { url: match[1]!, direct: match[2]!, stop: () => child.kill('SIGTERM') };
  }
  throw new Error('the metering proxy did not start');
}

async function meter(url: string, reset = false): Promise<Meter> {
  const answer = await fetch(`${url}/__meter${reset ? '/reset' : ''}`, { method: reset ? 'POST' : 'GET' });
  return (await answer.json()) as Meter;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

const meterProcess = await startMeter();
try {
  const needleAt = new Set(Array.from({ length: NEEDLES }, (_, k) => Math.floor(((k + 0.5) * TOTAL) / NEEDLES)));
  const connection = { table: 'cost-segments', endpoint: meterProcess.url, region: 'us-east-1', credentials };
  await createTable(connection);
  const store = await DynamoDbStore.open(connection);

  /** Appends `total` lines to one file of `host` in appends of `batch` lines; returns the raw bytes. */
  const ingest = async (host: string, total: number, batch: number): Promise<number> => {
    let offset = 0;
    let bytes = 0;
    for (let from = 0; from < total; from += batch) {
      const lines: AppendLine[] = [];
      for (let i = from; i < Math.min(total, from + batch); i++) {
        const text = lineAt(i, needleAt);
        const end = offset + Buffer.byteLength(text) + 1;
        lines.push({ offset, end, timestamp: T0 + BigInt(i) * 7_000_000n, line: text, cut: false });
        bytes += end - offset;
        offset = end;
      }
      await store.append({ host, files: [{ fileId: 'f1', filename: 'api.log', path: '/var/log/api.log', size: offset, lines }], receivedAt: T0 + BigInt(from) });
    }
    return bytes;
  };

  // Our design: 1,000-line appends (a Henrik batch), one file.
  await meter(meterProcess.url, true);
  const started = Date.now();
  const rawBytes = await ingest('web-1', TOTAL, BATCH);
  const written = await meter(meterProcess.url);
  const stats = await store.stats();
  const indexUnits = 2 * stats.segments;
  const ingestSeconds = (Date.now() - started) / 1000;

  await meter(meterProcess.url, true);
  const newest = await store.search({ order: 'desc', limit: 100, hosts: ['web-1'] });
  const newestUnits = (await meter(meterProcess.url)).readUnits;
  await meter(meterProcess.url, true);
  const found = await store.search({ order: 'desc', limit: 100, hosts: ['web-1'], match: [{ kind: 'substring', text: NEEDLE, caseInsensitive: false }] });
  const needleUnits = (await meter(meterProcess.url)).readUnits;

  // Small appends, as a tailing agent sends them from a quiet file: the per-append bookkeeping dominates.
  const smallAppends: Record<string, { lines: number; writeUnitsPer1000Lines: number; perAppend: number }> = {};
  for (const batch of [10, 100]) {
    const lines = (quick ? 50 : 200) * batch;
    const segmentsBefore = (await store.stats()).segments;
    await meter(meterProcess.url, true);
    await ingest(`small-${batch}`, lines, batch);
    const units = (await meter(meterProcess.url)).writeUnits + 2 * ((await store.stats()).segments - segmentsBefore);
    smallAppends[`${batch}LineAppends`] = { lines, writeUnitsPer1000Lines: round((units / lines) * 1000), perAppend: round((units / lines) * batch) };
  }
  await store.close();
  if (newest.lines.length !== 100 || found.lines.length !== NEEDLES) throw new Error(`wrong answers: ${newest.lines.length} newest, ${found.lines.length} needles`);

  // The original design: one item per line, key (host, time#offset), written and queried directly.
  const client = new DynamoDBClient({ endpoint: meterProcess.url, region: 'us-east-1', credentials });
  await client.send(
    new CreateTableCommand({
      TableName: 'cost-item-per-line',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'host', AttributeType: 'S' }, { AttributeName: 'ts', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'host', KeyType: 'HASH' }, { AttributeName: 'ts', KeyType: 'RANGE' }],
    }),
  );
  const baselineLines = Math.min(TOTAL, 100_000); // the per-line design's reads are linear in lines: measured here, scaled below
  await meter(meterProcess.url, true);
  let offset = 0;
  for (let from = 0; from < baselineLines; from += 25) {
    const requests: WriteRequest[] = [];
    for (let i = from; i < Math.min(baselineLines, from + 25); i++) {
      const text = lineAt(i, needleAt);
      requests.push({ PutRequest: { Item: { host: { S: 'web-1' }, ts: { S: `${(T0 + BigInt(i) * 7_000_000n).toString()}#${offset}` }, filename: { S: 'api.log' }, offset: { N: String(offset) }, logline: { S: text } } } });
      offset += Buffer.byteLength(text) + 1;
    }
    let pending = requests;
    while (pending.length > 0) pending = (await client.send(new BatchWriteItemCommand({ RequestItems: { 'cost-item-per-line': pending } }))).UnprocessedItems?.['cost-item-per-line'] ?? [];
  }
  const baselineWritten = await meter(meterProcess.url);
  await meter(meterProcess.url, true);
  await client.send(new QueryCommand({ TableName: 'cost-item-per-line', KeyConditionExpression: 'host = :h', ExpressionAttributeValues: { ':h': { S: 'web-1' } }, ScanIndexForward: false, Limit: 100 }));
  const baselineNewest = (await meter(meterProcess.url)).readUnits;
  await meter(meterProcess.url, true);
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({ TableName: 'cost-item-per-line', KeyConditionExpression: 'host = :h', FilterExpression: 'contains(logline, :n)', ExpressionAttributeValues: { ':h': { S: 'web-1' }, ':n': { S: NEEDLE } }, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  const baselineNeedle = ((await meter(meterProcess.url)).readUnits * TOTAL) / baselineLines;
  client.destroy();

  const ours1000 = ((written.writeUnits + indexUnits) / TOTAL) * 1000;
  const theirs1000 = (baselineWritten.writeUnits / baselineLines) * 1000;
  const result = {
    lines: TOTAL,
    rawMiB: round(rawBytes / 2 ** 20),
    segments: stats.segments,
    storedMiB: round(stats.storedBytes / 2 ** 20),
    ingestSeconds: round(ingestSeconds),
    writeUnitsPer1000Lines: { segments: round(ours1000), ofWhichIndexEstimate: round((indexUnits / TOTAL) * 1000), itemPerLine: round(theirs1000), ratio: round(theirs1000 / ours1000) },
    smallAppends,
    readUnits: {
      newest100: { segments: newestUnits, itemPerLine: baselineNewest },
      rareNeedle: { segments: needleUnits, itemPerLine: round(baselineNeedle), itemPerLineScaledFrom: baselineLines },
    },
    requestsDuringIngest: written.requests,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  meterProcess.stop();
}
