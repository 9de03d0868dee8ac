/**
 * The pushed inputs end to end through the real Daniel (SQLite store, the server's PushSink):
 * real senders push, and the lines come back from /hosts/{host}/logs with the right host,
 * filename, time, level and fields; an Elasticsearch bulk retried after its answer was lost
 * is stored once.
 */
import { Client } from '@elastic/elasticsearch';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import type { LogEntry } from '../../protocol/api.js';
import { auth, startTestApp, TOKENS, type TestApp } from '../../../test/server/helpers.js';

let t: TestApp;
let url: string;

beforeAll(async () => {
  t = await startTestApp({ storeKind: 'sqlite' });
  url = await t.app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await t.close();
});

async function logs(host: string): Promise<LogEntry[]> {
  const response = await t.app.inject({ url: `/hosts/${encodeURIComponent(host)}/logs?order=asc&count=100`, headers: auth(TOKENS.read) });
  if (response.statusCode === 404) return [];
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ data: LogEntry[] }>().data;
}

async function until<T>(read: () => Promise<T[]>, count: number, what: string): Promise<T[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = await read();
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${found.length} of ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('Loki (winston-loki, protobuf + snappy): host, filename, time, level and labels come back from /logs', async () => {
  const loki = new LokiTransport({ host: url, basicAuth: `app:${TOKENS.ingest}`, batching: false, labels: { host: 'e2e-loki', job: 'shop', env: 'prod' }, json: false });
  const logger = winston.createLogger({ transports: [loki] });
  const before = Date.now();
  logger.warn('stock low');
  const [entry] = await until(() => logs('e2e-loki'), 1, 'the Loki line');
  expect(entry).toMatchObject({ host: 'e2e-loki', filename: 'shop' });
  // winston-loki stamps the entry when it is logged (ms): the stored time is that one.
  const stamped = Date.parse(entry!.timestamp);
  expect(stamped).toBeGreaterThanOrEqual(before);
  expect(stamped).toBeLessThanOrEqual(Date.now());
  expect(entry?.logline).toContain('stock low');
  expect(entry?.fields).toMatchObject({ level: 'warn', env: 'prod', job: 'shop' });
  logger.close();
  const search = await t.app.inject({ url: '/logs?q=env:prod&order=asc', headers: auth(TOKENS.read) });
  expect(search.json<{ data: LogEntry[] }>().data.map((e) => e.host)).toContain('e2e-loki');
});

test('OTLP (exporter-logs-otlp-proto): severity as level, attributes, trace ids come back from /logs', async () => {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'host.name': 'e2e-otel' }),
    processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${url}/v1/logs`, headers: { authorization: `Bearer ${TOKENS.ingest}` } }) })],
  });
  provider.getLogger('e2e').emit({ severityNumber: 21, body: 'card declined', attributes: { 'order.id': 'o-9' }, timestamp: 1_714_557_600_000 });
  await provider.forceFlush();
  await provider.shutdown();
  const [entry] = await until(() => logs('e2e-otel'), 1, 'the OTLP record');
  expect(entry).toMatchObject({ host: 'e2e-otel', filename: 'checkout', logline: 'card declined', timestamp: '2024-05-01T10:00:00Z' });
  expect(entry?.fields).toMatchObject({ level: 'critical', 'order.id': 'o-9', 'service.name': 'checkout' });
});

test('Elasticsearch bulk (the official client): a document whose @timestamp no store can hold fails alone, 400, and the others are stored', async () => {
  const client = new Client({ node: url, auth: { apiKey: TOKENS.ingest } });
  const answer = await client.bulk({
    operations: [
      { create: { _index: 'odd' } },
      { '@timestamp': '2024-05-01T10:00:00Z', message: 'first', host: { name: 'e2e-es-odd' } },
      { create: { _index: 'odd' } },
      { '@timestamp': 1e30, message: 'absurd time', host: { name: 'e2e-es-odd' } },
      { create: { _index: 'odd' } },
      { '@timestamp': '2024-05-01T10:00:01Z', message: 'x'.repeat(3 << 20), host: { name: 'e2e-es-odd' } },
    ],
  });
  expect(answer.errors).toBe(true);
  expect(answer.items.map((item) => item.create?.status)).toEqual([201, 400, 201]);
  expect(answer.items[1]?.create?.error?.reason).toContain('past what can be stored');
  const stored = await until(() => logs('e2e-es-odd'), 2, 'the two storable documents');
  expect(stored.map((entry) => [entry.logline.length, entry.timestamp])).toEqual([
    [5, '2024-05-01T10:00:00Z'],
    [3 << 20, '2024-05-01T10:00:01Z'],
  ]);
  await client.close();
});

test('Elasticsearch bulk retried after its answer was lost: every document with an _id is stored once', async () => {
  // Cuts the first connection once Daniel's answer starts: the client saw no answer and retries.
  let cuts = 0;
  const sockets = new Set<Socket>();
  const target = new URL(url);
  const proxy = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    const cutThis = cuts === 0;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!cutThis) return void client.write(chunk);
      cuts += 1;
      client.destroy();
      upstream.destroy();
    });
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const client = new Client({ node: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, auth: { apiKey: TOKENS.ingest }, maxRetries: 3 });
  const docs = Array.from({ length: 20 }, (_, i) => ({
    id: `e-${i}`,
    '@timestamp': new Date(Date.UTC(2024, 4, 1, 10, 0, i)).toISOString(),
    message: `event ${i}`,
    host: { name: 'e2e-es' },
    log: { level: i % 2 === 0 ? 'info' : 'error' },
  }));
  try {
    const stats = await client.helpers.bulk({ datasource: docs, onDocument: (doc) => ({ create: { _index: 'web', _id: doc.id } }), refreshOnCompletion: false });
    expect(cuts).toBe(1);
    expect(stats.failed).toBe(0);
    const stored = await logs('e2e-es');
    expect(stored.map((entry) => entry.logline)).toEqual(docs.map((doc) => doc.message));
    expect(stored[1]).toMatchObject({ filename: 'web', timestamp: '2024-05-01T10:00:01Z' });
    expect(stored[1]?.fields).toMatchObject({ 'log.level': 'error', 'host.name': 'e2e-es' });
  } finally {
    await client.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
});
