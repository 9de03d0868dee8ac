/**
 * Workload 7, DynamoDB cost: capacity units as DynamoDB (dynalite) accounts them, for
 * Daniel's DynamoDB store fed by Henrik, beside the original design's one item per line
 * written and queried here directly with the AWS SDK.
 */
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  QueryCommand,
  type AttributeValue,
  type QueryCommandOutput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { LogsResponse } from '../../src/protocol/api.js';
import type { BenchContext } from '../lib/context.js';
import { generateData, type DataManifest } from '../lib/datagen.js';
import { danielBin, loghubDir, repoRoot, workDir } from '../lib/paths.js';
import { startProcess, tail, timeCommand } from '../lib/proc.js';
import { ratio, WorkloadReport, type WorkloadResult } from '../lib/results.js';
import { henrikArgs, startDaniel, startHenrik, type Server } from '../lib/system.js';

const TABLE = 'bench-logging-aggregator';
const BASELINE_TABLE = 'bench-item-per-line';
// The SDK's warning about Node 20 support after 2027 is noise in a bench log.
const AWS_ENV = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const HOST = 'dyn-1';
const NEEDLE_QUERIES = 3;
const NEWEST_ROUNDS = 3;

interface Meter {
  writeUnits: number;
  readUnits: number;
  requests: Record<string, number>;
}

const describeRequests = (m: Meter): string =>
  Object.entries(m.requests)
    .map(([operation, count]) => `${operation} x${count}`)
    .join(', ');

async function meter(url: string, reset = false): Promise<Meter> {
  const response = await fetch(`${url}/__meter${reset ? '/reset' : ''}`, { method: reset ? 'POST' : 'GET' });
  return (await response.json()) as Meter;
}

interface BaselineCost {
  writeUnitsPer1000: number;
  newest100ReadUnits: number;
  needleReadUnits: number;
}

/** The original design: one item per line, (host, time) as the key. */
async function measureItemPerLine(endpoint: string, data: DataManifest): Promise<BaselineCost> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const client = new DynamoDBClient({ endpoint, region: AWS_ENV.AWS_REGION, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: BASELINE_TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'host', KeyType: 'HASH' },
          { AttributeName: 'ts', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'host', AttributeType: 'S' },
          { AttributeName: 'ts', AttributeType: 'S' },
        ],
      }),
    );
    const items: Record<string, AttributeValue>[] = [];
    const startNs = 1_767_571_200_000_000_000n;
    for (const file of data.files) {
      const lines = readFileSync(file.path, 'utf8').split('\n').filter(Boolean);
      lines.forEach((line, i) => {
        // A made-up but monotonic event time per line: only the key's shape matters here.
        const ns = startNs + BigInt(Math.floor((i * 86_400_000) / lines.length)) * 1_000_000n;
        items.push({
          host: { S: HOST },
          ts: { S: `${ns}#${file.filename}#${i}` },
          filename: { S: file.filename },
          last_modified: { S: (Number(ns / 1_000_000n) / 1000).toFixed(3) },
          logline: { S: line },
        });
      });
    }
    let writeUnits = 0;
    const batches: WriteRequest[][] = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })));
    const writeBatch = async (batch: WriteRequest[]): Promise<void> => {
      let pending: WriteRequest[] = batch;
      while (pending.length > 0) {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [BASELINE_TABLE]: pending }, ReturnConsumedCapacity: 'TOTAL' }));
        writeUnits += (out.ConsumedCapacity ?? []).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
        pending = out.UnprocessedItems?.[BASELINE_TABLE] ?? [];
      }
    };
    for (let i = 0; i < batches.length; i += 8) await Promise.all(batches.slice(i, i + 8).map(writeBatch));

    const newest = await client.send(
      new QueryCommand({
        TableName: BASELINE_TABLE,
        KeyConditionExpression: 'host = :h',
        ExpressionAttributeValues: { ':h': { S: HOST } },
        ScanIndexForward: false,
        Limit: 100,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    // A substring can only be a filter: DynamoDB reads (and bills) the whole partition.
    let needleUnits = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page: QueryCommandOutput = await client.send(
        new QueryCommand({
          TableName: BASELINE_TABLE,
          KeyConditionExpression: 'host = :h',
          FilterExpression: 'contains(logline, :n)',
          ExpressionAttributeValues: { ':h': { S: HOST }, ':n': { S: data.hostNeedles[0]!.token } },
          ScanIndexForward: false,
          ExclusiveStartKey: startKey,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      needleUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { writeUnitsPer1000: (writeUnits / items.length) * 1000, newest100ReadUnits: newest.ConsumedCapacity?.CapacityUnits ?? 0, needleReadUnits: needleUnits };
  } finally {
    client.destroy();
  }
}

interface StoreCost {
  writeUnitsPer1000: number;
  newest100ReadUnits: number;
  needleReadUnits: number;
}

async function measureStore(ctx: BenchContext, meterUrl: string, directUrl: string, data: DataManifest, report: WorkloadReport): Promise<StoreCost> {
  const tableArgs = ['--dynamodb-table', TABLE, '--region', AWS_ENV.AWS_REGION];
  const create = timeCommand(process.execPath, [danielBin, 'create-table', ...tableArgs, '--dynamodb-endpoint', directUrl], { env: AWS_ENV });
  report.command(`node dist/bin/daniel.js create-table ${tableArgs.join(' ')} --dynamodb-endpoint <dynalite>`);
  if (create.status !== 0) throw new Error(`daniel create-table exited ${create.status}: ${tail(create.stdout + create.stderr, 300)}`);
  const dataDir = path.join(workDir, 'daniel-dynamodb');
  rmSync(dataDir, { recursive: true, force: true });
  // Host heads on: the newest page of a host is read from its head item (docs/dynamodb.md, "The host head").
  const extraArgs = [...tableArgs, '--dynamodb-endpoint', meterUrl, '--dynamodb-head-lines', '128'];
  report.command(`node --enable-experimental-regexp-engine dist/bin/daniel.js serve --store dynamodb ${extraArgs.join(' ').replace(meterUrl, '<metering proxy>')}`);
  const daniel: Server = await startDaniel({ dataDir, token: ctx.token, store: 'dynamodb', extraArgs, env: AWS_ENV });
  try {
    await meter(meterUrl, true);
    const stateDir = path.join(workDir, 'dynamodb-henrik-state');
    rmSync(stateDir, { recursive: true, force: true });
    const henrik = startHenrik({ server: daniel.url, token: ctx.token, host: HOST, stateDir, globs: [path.join(data.dir, HOST, '*.log')] });
    report.command(`TZ=UTC node dist/bin/henrik.js ${henrikArgs({ server: '<daniel>', token: '…', host: HOST, stateDir, globs: [path.join(data.dir, HOST, '*.log')] }).join(' ')}`);
    const code = await henrik.exited;
    if (code !== 0) throw new Error(`henrik --once into the DynamoDB store exited ${String(code)}: ${tail(henrik.output(), 300)}`);
    const written = await meter(meterUrl);
    report.note(`ingest of ${data.totalLines} lines: ${written.writeUnits.toFixed(1)} write units, ${written.readUnits.toFixed(1)} read units; requests: ${describeRequests(written)}`);

    const get = async (query: string): Promise<LogsResponse> => {
      const response = await fetch(`${daniel.url}${query}`, { headers: { authorization: `Bearer ${ctx.token}` } });
      if (!response.ok) throw new Error(`GET ${query}: ${response.status} ${(await response.text()).slice(0, 200)}`);
      return (await response.json()) as LogsResponse;
    };
    // Daniel's alert engine polls the table in the background (the committed seq and the rules
    // every second, its lease): the same read is measured a few times and the cheapest counts,
    // which is the request's own cost unless every round overlapped a poll.
    const rounds: Meter[] = [];
    for (let round = 0; round < NEWEST_ROUNDS; round++) {
      await meter(meterUrl, true);
      const newest = await get(`/hosts/${HOST}/logs?count=100`);
      rounds.push(await meter(meterUrl));
      if (newest.data.length !== 100) report.note(`DynamoDB store: newest 100 returned ${newest.data.length} lines`);
    }
    const cheapest = rounds.reduce((best, round) => (round.readUnits < best.readUnits ? round : best));
    const newestUnits = cheapest.readUnits;
    report.note(`newest 100: ${describeRequests(cheapest)} (the cheapest of ${NEWEST_ROUNDS} rounds: ${rounds.map((r) => r.readUnits).join(', ')} read units)`);
    let needleUnits = 0;
    for (const needle of data.hostNeedles.slice(0, NEEDLE_QUERIES)) {
      await meter(meterUrl, true);
      const found = await get(`/hosts/${HOST}/logs?filter=${encodeURIComponent(needle.token)}`);
      needleUnits += (await meter(meterUrl)).readUnits;
      if (found.data.length !== 1) report.note(`DynamoDB store: needle ${needle.token} returned ${found.data.length} lines, expected 1`);
    }
    return { writeUnitsPer1000: (written.writeUnits / data.totalLines) * 1000, newest100ReadUnits: newestUnits, needleReadUnits: needleUnits / NEEDLE_QUERIES };
  } finally {
    await daniel.proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(path.join(workDir, 'dynamodb-henrik-state'), { recursive: true, force: true });
  }
}

export async function dynamodbWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const report = new WorkloadReport('dynamodb', 'DynamoDB cost: capacity units from ReturnConsumedCapacity (dynalite)');
  const data = generateData(loghubDir(), { seed: ctx.config.seed, totalLines: ctx.config.dynamoLines, hosts: [HOST], baseDir: workDir, log: ctx.log });
  const meterProc = startProcess('dynalite meter', process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench', 'lib', 'dynamo-meter.ts')], { cwd: repoRoot });
  try {
    const match = await meterProc.waitFor(/listening on (\S+) dynalite (\S+)/, 30_000);
    const [meterUrl, directUrl] = [match[1]!, match[2]!];
    report.note(`${data.totalLines} lines of one host; capacity units as dynalite accounts them (DynamoDB's rules: writes per 1 KB, reads per 4 KB, half for eventually consistent reads).`);
    let baseline: BaselineCost | undefined;
    let baselineError = '';
    try {
      baseline = await measureItemPerLine(directUrl, data);
    } catch (error) {
      baselineError = `item-per-line baseline failed: ${(error as Error).message}`;
    }
    const storeDir = path.join(repoRoot, 'src', 'storage', 'dynamodb');
    let ours: StoreCost | undefined;
    let oursError = '';
    if (!existsSync(storeDir)) oursError = 'the DynamoDB store (src/storage/dynamodb/) does not exist yet';
    else {
      try {
        ours = await measureStore(ctx, meterUrl, directUrl, data, report);
      } catch (error) {
        oursError = (error as Error).message;
      }
    }
    const base = (name: string, value: number | undefined, mine: number | undefined) => ({
      name,
      value,
      unit: 'units',
      notMeasured: value === undefined ? baselineError : undefined,
      ratio: ratio(value, mine),
    });
    report.add({
      name: 'write units per 1,000 lines',
      value: ours?.writeUnitsPer1000,
      unit: 'WCU',
      notMeasured: oursError,
      baselines: [base('one item per line', baseline?.writeUnitsPer1000, ours?.writeUnitsPer1000)],
      target: { text: '>= 10x fewer than one item per line', pass: ours && baseline ? baseline.writeUnitsPer1000 / ours.writeUnitsPer1000 >= 10 : undefined },
    });
    report.add({
      name: 'read units, newest 100 of a host',
      value: ours?.newest100ReadUnits,
      unit: 'RCU',
      notMeasured: oursError,
      baselines: [base('one item per line (Query, Limit 100)', baseline?.newest100ReadUnits, ours?.newest100ReadUnits)],
    });
    report.add({
      name: `read units, rare needle over ${data.totalLines} lines`,
      value: ours?.needleReadUnits,
      unit: 'RCU',
      notMeasured: oursError,
      baselines: [base('one item per line (Query + contains filter)', baseline?.needleReadUnits, ours?.needleReadUnits)],
    });
    return report.finish();
  } finally {
    await meterProc.stop(5000);
  }
}
