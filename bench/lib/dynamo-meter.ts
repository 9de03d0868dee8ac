/**
 * dynalite behind a metering proxy, run as its own process
 * (`node --import tsx bench/lib/dynamo-meter.ts`). Daniel talks to the proxy as its DynamoDB
 * endpoint; the proxy adds `ReturnConsumedCapacity: TOTAL` to every data-plane request,
 * forwards it to dynalite unchanged otherwise (dynalite does not check signatures), and
 * sums the capacity units each response reports, by kind. So the figures are DynamoDB's
 * own accounting of what the store did, whatever the store asked for itself.
 *
 * Prints `listening on http://127.0.0.1:PROXY dynalite http://127.0.0.1:DIRECT`.
 * `GET /__meter` returns the sums, `POST /__meter/reset` zeroes them. With DYNAMO_METER_LOG
 * set to a file path, every data-plane request is also appended there as one JSON line
 * (operation, table, index, key or key condition, consistency, items, units), to see which
 * requests a figure is made of.
 */
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

type DynaliteFactory = (options: Record<string, unknown>) => http.Server;
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

const WRITES = new Set(['PutItem', 'BatchWriteItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems']);
const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

interface Meter {
  writeUnits: number;
  readUnits: number;
  requests: Record<string, number>;
}
let meter: Meter = { writeUnits: 0, readUnits: 0, requests: {} };

interface Capacity {
  CapacityUnits?: number;
}

function unitsOf(body: string): number {
  try {
    const parsed = JSON.parse(body) as { ConsumedCapacity?: Capacity | Capacity[] };
    const consumed = parsed.ConsumedCapacity;
    const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
    return list.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
  } catch {
    return 0;
  }
}

const LOG = process.env.DYNAMO_METER_LOG;

/** One line of the request log: what was asked and what it cost. */
function logRequest(operation: string, request: Record<string, unknown>, body: string, units: number): void {
  if (LOG === undefined || LOG === '') return;
  let items: number | undefined;
  try {
    const parsed = JSON.parse(body) as { Items?: unknown[]; Count?: number; Item?: unknown };
    items = parsed.Count ?? (parsed.Item === undefined ? undefined : 1);
  } catch {
    items = undefined;
  }
  const pick = (name: string): unknown => request[name];
  const entry = {
    operation,
    index: pick('IndexName'),
    key: pick('Key') ?? pick('KeyConditionExpression'),
    values: pick('ExpressionAttributeValues'),
    limit: pick('Limit'),
    consistent: pick('ConsistentRead'),
    projection: pick('ProjectionExpression'),
    items,
    units,
  };
  appendFileSync(LOG, `${JSON.stringify(entry)}\n`);
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const direct = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
const directPort = await listen(direct);
const upstream = new http.Agent({ keepAlive: true });

const proxy = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.url === '/__meter') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(meter));
      return;
    }
    if (req.url === '/__meter/reset') {
      meter = { writeUnits: 0, readUnits: 0, requests: {} };
      if (LOG !== undefined && LOG !== '') appendFileSync(LOG, '{"reset":true}\n');
      res.end('{}');
      return;
    }
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    let body = Buffer.concat(chunks);
    let request: Record<string, unknown> = {};
    if (WRITES.has(operation) || READS.has(operation)) {
      try {
        const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        request = parsed;
        if (parsed.ReturnConsumedCapacity === undefined || parsed.ReturnConsumedCapacity === 'NONE') parsed.ReturnConsumedCapacity = 'TOTAL';
        body = Buffer.from(JSON.stringify(parsed));
      } catch {
        // Not JSON: forward as is and let dynalite answer the error.
      }
    }
    const headers = { ...req.headers, 'content-length': String(body.length), host: `127.0.0.1:${directPort}` };
    const forward = http.request({ host: '127.0.0.1', port: directPort, method: req.method, path: req.url, headers, agent: upstream }, (answer) => {
      const parts: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => parts.push(chunk));
      answer.on('end', () => {
        const payload = Buffer.concat(parts);
        meter.requests[operation] = (meter.requests[operation] ?? 0) + 1;
        const units = unitsOf(payload.toString('utf8'));
        if (WRITES.has(operation)) meter.writeUnits += units;
        if (READS.has(operation)) meter.readUnits += units;
        if (WRITES.has(operation) || READS.has(operation)) logRequest(operation, request, payload.toString('utf8'), units);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(payload);
      });
    });
    forward.on('error', (error) => {
      res.writeHead(502);
      res.end(error.message);
    });
    forward.end(body);
  });
});
const proxyPort = await listen(proxy);
process.stdout.write(`listening on http://127.0.0.1:${proxyPort} dynalite http://127.0.0.1:${directPort}\n`);
process.on('SIGTERM', () => process.exit(0));
