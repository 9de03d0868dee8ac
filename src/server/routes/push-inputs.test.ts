/**
 * The HTTP push inputs through the real app (auth, body limits, routes) with a sink that
 * records what it is handed, driven by the real senders: pino-loki (JSON), winston-loki
 * (protobuf + snappy), the OpenTelemetry SDK's HTTP (JSON) and proto exporters, and the
 * official Elasticsearch client's bulk helper.
 */
import { Client } from '@elastic/elasticsearch';
import { OTLPLogExporter as OtlpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OtlpProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import pinoLoki from 'pino-loki';
import pino from 'pino';
import snappy from 'snappyjs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { AppError } from '../../common/errors.js';
import { ExportLogsServiceRequest } from '../../inputs/otlp/otlp.js';
import { PushRequestType } from '../../inputs/loki/loki.js';
import type { PushAuth, PushedBatch, PushResult, PushSink } from '../../inputs/sink.js';
import { createStore } from '../../storage/create-store.js';
import type { Store } from '../../storage/store.js';
import { buildApp } from '../app.js';
import { createTokenSet, type Principal, type TokenSet } from '../tokens.js';

const INGEST = 'ingest-token-0123456789';
const BOUND = 'bound-token-0123456789';
const READ = 'read-token-0123456789';

/** Records what it is handed; refuses hosts a bound token may not write; stores an id once per source. */
class RecordingSink implements PushSink {
  batches: PushedBatch[] = [];
  private readonly ids = new Set<string>();
  fail: Error | undefined;

  push(batches: readonly PushedBatch[], auth: PushAuth): Promise<PushResult> {
    if (this.fail !== undefined) return Promise.reject(this.fail);
    const result: PushResult = { accepted: 0, duplicates: 0, rejected: [] };
    batches.forEach((batch, index) => {
      if (auth.hosts !== undefined && !auth.hosts.has(batch.host)) {
        result.rejected.push({ batch: index, code: 'HOST_NOT_ALLOWED', message: `This token may not write host ${JSON.stringify(batch.host)}` });
        return;
      }
      const kept = batch.entries.filter((entry) => {
        if (entry.id === undefined) return true;
        const key = `${batch.host}\u0000${batch.filename}\u0000${entry.id}`;
        if (this.ids.has(key)) return false;
        this.ids.add(key);
        return true;
      });
      result.accepted += kept.length;
      result.duplicates += batch.entries.length - kept.length;
      this.batches.push({ ...batch, entries: kept });
    });
    return Promise.resolve(result);
  }

  entries(): { host: string; filename: string; line: string; timestamp: bigint; fields: Record<string, string> }[] {
    return this.batches.flatMap((batch) =>
      batch.entries.map((entry) => ({ host: batch.host, filename: batch.filename, line: entry.line, timestamp: entry.timestamp, fields: entry.fields ?? {} })),
    );
  }
}

function tokenSet(): TokenSet {
  const base = createTokenSet([
    { scope: 'ingest', token: INGEST },
    { scope: 'read', token: READ },
  ]);
  const bound: Principal = { scope: 'ingest', id: 'bound', hosts: new Set(['web-1']) };
  return {
    size: base.size + 1,
    lookup: (token) => (token === BOUND ? 'ingest' : base.lookup(token)),
    find: (token) => (token === BOUND ? bound : base.find(token)),
  };
}

let app: FastifyInstance;
let store: Store;
let dataDir: string;
let url: string;
const sink = new RecordingSink();
const NOW = 1_700_000_000_000_000_000n;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'daniel-push-'));
  store = await createStore({ kind: 'memory', dataDir });
  app = await buildApp({ store, tokens: tokenSet(), pushSink: sink, bodyLimitBytes: 256 * 1024, now: () => NOW, limits: { closeGraceMs: 200 } });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app.close();
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  sink.batches = [];
  sink.fail = undefined;
});

const bearer = (token = INGEST): Record<string, string> => ({ authorization: `Bearer ${token}` });
const basic = (token: string, user = 'anyone'): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}` });

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Loki push', () => {
  const lokiJson = (streams: unknown[]): string => JSON.stringify({ streams });

  test('JSON: labels and structured metadata become fields; host and filename from labels; 204', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/loki/api/v1/push',
      headers: { ...bearer(), 'content-type': 'application/json; charset=utf-8' },
      payload: lokiJson([
        { stream: { host: 'web-1', job: 'api', env: 'prod', level: 'warning' }, values: [['1700000000123456789', 'first', { trace_id: 'abc' }], ['1700000000200000000', 'second']] },
        { stream: { instance: 'db-1:9100', service_name: 'pg' }, values: [['0', 'now']] },
      ]),
    });
    expect(response.statusCode, response.body).toBe(204);
    expect(sink.entries()).toEqual([
      { host: 'web-1', filename: 'api', line: 'first', timestamp: 1700000000123456789n, fields: { host: 'web-1', job: 'api', env: 'prod', level: 'warn', trace_id: 'abc' } },
      { host: 'web-1', filename: 'api', line: 'second', timestamp: 1700000000200000000n, fields: { host: 'web-1', job: 'api', env: 'prod', level: 'warn' } },
      { host: 'db-1:9100', filename: 'pg', line: 'now', timestamp: NOW, fields: { instance: 'db-1:9100', service_name: 'pg' } },
    ]);
  });

  test('gzip JSON and protobuf with raw snappy (Content-Encoding absent or snappy) are read', async () => {
    const gz = gzipSync(lokiJson([{ stream: { hostname: 'h', filename: '/var/log/a.log' }, values: [['1', 'zipped']] }]));
    let response = await app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { ...bearer(), 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gz });
    expect(response.statusCode, response.body).toBe(204);
    const proto = PushRequestType.encode(
      PushRequestType.create({
        streams: [{ labels: '{host="p", job="proto", msg="a \\"q\\" b"}', entries: [{ timestamp: { seconds: 1_700_000_000, nanos: 5 }, line: 'pb', structuredMetadata: [{ name: 'k', value: 'v' }] }] }],
      }),
    ).finish();
    const body = Buffer.from(snappy.compress(proto));
    for (const headers of [{ 'content-type': 'application/x-protobuf' }, { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, {}]) {
      response = await app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { ...bearer(), ...headers }, payload: body });
      expect(response.statusCode, response.body).toBe(204);
    }
    const entries = sink.entries();
    expect(entries[0]).toMatchObject({ host: 'h', filename: '/var/log/a.log', line: 'zipped', timestamp: 1n });
    expect(entries.slice(1)).toHaveLength(3);
    expect(entries[1]).toEqual({ host: 'p', filename: 'proto', line: 'pb', timestamp: 1_700_000_000_000_000_005n, fields: { host: 'p', job: 'proto', msg: 'a "q" b', k: 'v' } });
  });

  test('answers as Loki does: 400 bad body, 413 past the limit (raw, snappy and gzip), 429 with Retry-After, 503, 401', async () => {
    const post = (payload: string | Buffer, headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { ...bearer(), ...headers }, payload });
    expect((await post('{"streams":[{"stream":{},"values":[[1.5,"x"]]}]}', { 'content-type': 'application/json' })).statusCode).toBe(400);
    expect((await post('{"streams":', { 'content-type': 'application/json' })).statusCode).toBe(400);
    expect((await post(Buffer.from('not snappy at all'), { 'content-type': 'application/x-protobuf' })).statusCode).toBe(400);
    const big = Buffer.alloc(300 * 1024, 0x61);
    expect((await post(big, { 'content-type': 'application/x-protobuf' })).statusCode).toBe(413);
    const bomb = Buffer.from(snappy.compress(Buffer.alloc(2 * 1024 * 1024, 0x61)));
    expect(bomb.length).toBeLessThan(256 * 1024);
    const bombed = await post(bomb, { 'content-type': 'application/x-protobuf' });
    expect(bombed.statusCode, bombed.body).toBe(413);
    const gzBomb = gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20));
    expect((await post(gzBomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).statusCode).toBe(413);
    expect((await post('{}', { 'content-type': 'application/json', 'content-encoding': 'lz4' })).statusCode).toBe(415);
    const ok = lokiJson([{ stream: { host: 'x' }, values: [['1', 'l']] }]);
    sink.fail = new AppError('RATE_LIMITED', 'The store falls behind');
    const limited = await post(ok, { 'content-type': 'application/json' });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    sink.fail = new AppError('STORE_UNAVAILABLE', 'down');
    expect((await post(ok, { 'content-type': 'application/json' })).statusCode).toBe(503);
    sink.fail = undefined;
    expect((await app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { 'content-type': 'application/json' }, payload: ok })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { ...bearer(READ), 'content-type': 'application/json' }, payload: ok })).statusCode).toBe(403);
  });

  test('a host-bound token writes its host; a stream of another host is refused with 403 while the rest is stored', async () => {
    const body = lokiJson([
      { stream: { host: 'web-1', job: 'a' }, values: [['1', 'mine']] },
      { stream: { host: 'web-2', job: 'a' }, values: [['1', 'theirs']] },
    ]);
    const response = await app.inject({ method: 'POST', url: '/loki/api/v1/push', headers: { ...basic(BOUND), 'content-type': 'application/json' }, payload: body });
    expect(response.statusCode, response.body).toBe(403);
    expect(response.json<{ error: { code: string; message: string } }>().error.code).toBe('HOST_NOT_ALLOWED');
    expect(sink.entries().map((entry) => entry.line)).toEqual(['mine']);
    // No host label: the token's bound host.
    sink.batches = [];
    const unnamed = await app.inject({
      method: 'POST',
      url: '/loki/api/v1/push',
      headers: { ...basic(BOUND), 'content-type': 'application/json' },
      payload: lokiJson([{ stream: { job: 'a' }, values: [['1', 'x']] }]),
    });
    expect(unnamed.statusCode).toBe(204);
    expect(sink.entries()[0]?.host).toBe('web-1');
  });

  test('pino-loki (JSON, Basic auth) sends lines that arrive with host, filename, time and level', async () => {
    const transport = pinoLoki({ host: url, basicAuth: { username: 'app', password: INGEST }, batching: false, labels: { host: 'pino-host', job: 'pino-app' } });
    const logger = pino({ level: 'info' }, transport);
    logger.warn({ user: 'ann' }, 'pino says hi');
    await until(() => sink.entries().length === 1, 'the pino-loki line');
    const entry = sink.entries()[0]!;
    expect(entry).toMatchObject({ host: 'pino-host', filename: 'pino-app' });
    expect(entry.fields.level).toBe('warn');
    expect(JSON.parse(entry.line)).toMatchObject({ msg: 'pino says hi', user: 'ann' });
    expect(entry.timestamp).toBeGreaterThan(1_600_000_000_000_000_000n);
    transport.end();
  });

  test('winston-loki (protobuf + snappy) sends lines that arrive with host, filename, time and level', async () => {
    const loki = new LokiTransport({ host: url, basicAuth: `app:${INGEST}`, batching: false, labels: { host: 'winston-host', job: 'winston-app' }, json: false });
    const logger = winston.createLogger({ transports: [loki] });
    logger.error('winston says hi', { order: 7 });
    await until(() => sink.entries().length === 1, 'the winston-loki line');
    const entry = sink.entries()[0]!;
    expect(entry).toMatchObject({ host: 'winston-host', filename: 'winston-app' });
    expect(entry.fields.level).toBe('error');
    expect(entry.line).toContain('winston says hi');
    logger.close();
  });
});

describe('OTLP/HTTP logs', () => {
  async function emit(exporter: OtlpJsonExporter | OtlpProtoExporter, service: string): Promise<void> {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'host.name': 'otel-host', 'deployment.environment': 'test' }),
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    provider.getLogger('checkout').emit({
      severityNumber: 17,
      severityText: 'ERROR',
      body: 'payment failed',
      attributes: { 'order.id': 42, retry: true, nested: { a: 'b' } },
      timestamp: 1_700_000_000_123,
      context: undefined,
    });
    await provider.forceFlush();
    await provider.shutdown();
  }

  for (const [name, make] of [
    ['JSON (exporter-logs-otlp-http)', () => new OtlpJsonExporter({ url: `${url}/v1/logs`, headers: { authorization: `Bearer ${INGEST}` } })],
    ['protobuf (exporter-logs-otlp-proto)', () => new OtlpProtoExporter({ url: `${url}/v1/logs`, headers: { authorization: `Bearer ${INGEST}` } })],
  ] as const) {
    test(`${name}: resource and log attributes become fields, severity the level`, async () => {
      await emit(make(), `svc-${name.slice(0, 4)}`);
      await until(() => sink.entries().length === 1, 'the OTLP record');
      const entry = sink.entries()[0]!;
      expect(entry).toMatchObject({ host: 'otel-host', filename: `svc-${name.slice(0, 4)}`, line: 'payment failed', timestamp: 1_700_000_000_123_000_000n });
      expect(entry.fields).toMatchObject({ level: 'error', 'order.id': '42', retry: 'true', 'nested.a': 'b', 'deployment.environment': 'test', 'host.name': 'otel-host' });
    });
  }

  test('a protobuf body compressed with zstd (an OpenTelemetry Collector with compression: zstd) is read', async () => {
    const request = ExportLogsServiceRequest.encode(
      ExportLogsServiceRequest.fromObject({
        resourceLogs: [{ resource: { attributes: [{ key: 'host.name', value: { stringValue: 'zs-1' } }] }, scopeLogs: [{ logRecords: [{ timeUnixNano: '1700000000000000001', body: { stringValue: 'zstd body' } }] }] }],
      }),
    ).finish() as Buffer;
    const response = await app.inject({ method: 'POST', url: '/v1/logs', headers: { ...bearer(), 'content-type': 'application/x-protobuf', 'content-encoding': 'zstd' }, payload: zstdCompress(request) });
    expect(response.statusCode, response.body).toBe(200);
    expect(sink.entries().find((entry) => entry.host === 'zs-1')).toMatchObject({ line: 'zstd body', timestamp: 1700000000000000001n });
  });

  test('JSON mapping: hex ids, string int64, enum ints; partial success for a refused host; protobuf errors are google.rpc.Status', async () => {
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'host.name', value: { stringValue: 'web-1' } }, { key: 'service.name', value: { stringValue: 'api' } }] },
          scopeLogs: [
            {
              logRecords: [
                { timeUnixNano: '1700000000000000001', severityNumber: 13, body: { stringValue: 'w' }, traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'EEE19B7EC3C1B174' },
                { observedTimeUnixNano: 1700000000000000, severityNumber: 'SEVERITY_NUMBER_DEBUG2', body: { kvlistValue: { values: [{ key: 'k', value: { intValue: '5' } }] } } },
              ],
            },
          ],
        },
        { resource: { attributes: [{ key: 'host.name', value: { stringValue: 'web-2' } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: 'no' } }] }] },
      ],
    };
    const response = await app.inject({ method: 'POST', url: '/v1/logs', headers: { ...bearer(BOUND), 'content-type': 'application/json' }, payload: body });
    expect(response.statusCode, response.body).toBe(200);
    const answer = response.json<{ partialSuccess: { rejectedLogRecords: string; errorMessage: string } }>();
    expect(answer.partialSuccess.rejectedLogRecords).toBe('1');
    expect(answer.partialSuccess.errorMessage).toContain('web-2');
    const [first, second] = sink.entries();
    expect(first).toMatchObject({ host: 'web-1', filename: 'api', line: 'w', timestamp: 1700000000000000001n });
    expect(first?.fields).toMatchObject({ level: 'warn', trace_id: '5b8efff798038103d269b633813fc60c', span_id: 'eee19b7ec3c1b174' });
    expect(second).toMatchObject({ line: '{"k":"5"}', timestamp: 1700000000000000n });
    expect(second?.fields.level).toBe('debug');

    const bad = await app.inject({ method: 'POST', url: '/v1/logs', headers: { ...bearer(), 'content-type': 'application/x-protobuf' }, payload: Buffer.from([0x0a, 0xff, 0xff]) });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/x-protobuf');
    expect(bad.rawPayload.toString('latin1')).toContain('INVALID_BODY');
    const empty = await app.inject({ method: 'POST', url: '/v1/logs', headers: { ...bearer(), 'content-type': 'application/x-protobuf' }, payload: ExportLogsServiceRequest.encode({}).finish() as Buffer });
    expect(empty.statusCode).toBe(200);
    const text = await app.inject({ method: 'POST', url: '/v1/logs', headers: { ...bearer(), 'content-type': 'text/plain' }, payload: 'x' });
    expect(text.statusCode).toBe(415);
  });
});

describe('Elasticsearch bulk', () => {
  const esClient = (): Client => new Client({ node: url, auth: { apiKey: Buffer.from(`id1:${INGEST}`).toString('base64') } });

  test('GET / answers an ES client (version, product header); a browser still gets the UI', async () => {
    const client = esClient();
    const info = await client.info();
    expect(info.version.number).toMatch(/^8\./);
    const es = await app.inject({ url: '/', headers: { 'x-elastic-client-meta': 'es=9.0.0' } });
    expect(es.headers['x-elastic-product']).toBe('Elasticsearch');
    expect(es.json<{ tagline: string }>().tagline).toBe('You Know, for Search');
    const head = await app.inject({ method: 'HEAD', url: '/', headers: { 'user-agent': 'Manticore 0.9.1' } });
    expect(head.statusCode).toBe(200);
    expect(head.headers['x-elastic-product']).toBe('Elasticsearch');
    const browser = await app.inject({ url: '/', headers: { 'user-agent': 'Mozilla/5.0', accept: 'text/html' } });
    expect(browser.headers['x-elastic-product']).toBeUndefined();
    await client.close();
  });

  test('the bulk helper stores documents; message, @timestamp, host.name and the index map; other members become fields', async () => {
    const client = esClient();
    const docs = [
      { '@timestamp': '2024-05-01T10:00:00.5Z', message: 'hello es', host: { name: 'es-host' }, log: { level: 'info' }, http: { status: 200 } },
      { '@timestamp': 1714557600000, log: 'a log line', host: 'plain-host' },
      { event: 'no text' },
    ];
    const stats = await client.helpers.bulk({ datasource: docs, onDocument: () => ({ create: { _index: 'app-logs' } }), refreshOnCompletion: false });
    expect(stats.failed).toBe(0);
    expect(stats.successful).toBe(3);
    expect(sink.entries()).toEqual([
      { host: 'es-host', filename: 'app-logs', line: 'hello es', timestamp: 1714557600500000000n, fields: { 'host.name': 'es-host', 'log.level': 'info', 'http.status': '200' } },
      { host: 'plain-host', filename: 'app-logs', line: 'a log line', timestamp: 1714557600000000000n, fields: { host: 'plain-host' } },
      { host: 'unknown', filename: 'app-logs', line: '{"event":"no text"}', timestamp: NOW, fields: { event: 'no text' } },
    ]);
    await client.close();
  });

  test('per item answers: errors only when an item failed; _id makes a resend store once; bound tokens refuse other hosts per item', async () => {
    const ndjson = (lines: unknown[]): string => lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
    const body = ndjson([{ index: { _id: 'a1' } }, { message: 'one', host: { name: 'web-1' } }, { create: { _id: 'a2' } }, { message: 'two', host: { name: 'web-1' } }]);
    const post = (payload: string, headers: Record<string, string> = bearer()) =>
      app.inject({ method: 'POST', url: '/idx/_bulk', headers: { ...headers, 'content-type': 'application/vnd.elasticsearch+x-ndjson; compatible-with=9' }, payload });
    const first = await post(body);
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-elastic-product']).toBe('Elasticsearch');
    expect(first.body).toContain('"errors":false,"items":[');
    const again = await post(body);
    expect(again.json<{ errors: boolean; items: { index?: { status: number } }[] }>().errors).toBe(false);
    expect(sink.entries().map((entry) => entry.line)).toEqual(['one', 'two']);

    const mixed = ndjson([
      { create: {} },
      { message: 'mine', host: { name: 'web-1' } },
      { create: {} },
      { message: 'theirs', host: { name: 'web-2' } },
      { delete: { _id: 'x' } },
      { create: {} },
    ]) + '{not json\n';
    const answer = (await post(mixed, basic(BOUND))).json<{ errors: boolean; items: Record<string, { status: number; error?: { type: string } }>[] }>();
    expect(answer.errors).toBe(true);
    expect(answer.items.map((item) => Object.values(item)[0]?.status)).toEqual([201, 403, 400, 400]);
    expect(answer.items[1]?.create?.error?.type).toBe('security_exception');
    expect(sink.entries().map((entry) => entry.line)).toEqual(['one', 'two', 'mine']);

    const broken = await post('{"index":\n{"message":"x"}\n');
    expect(broken.statusCode).toBe(400);
    expect(broken.headers['x-elastic-product']).toBe('Elasticsearch');
  });

  test('the side routes shippers call at start are answered harmlessly', async () => {
    for (const [method, path] of [
      ['GET', '/_license'],
      ['GET', '/_cluster/health'],
      ['GET', '/_nodes'],
      ['GET', '/_nodes/http'],
      ['PUT', '/_index_template/filebeat-8.17.0'],
      ['GET', '/_ilm/policy/filebeat'],
      ['PUT', '/_ingest/pipeline/p1'],
      ['GET', '/_xpack'],
    ] as const) {
      const response = await app.inject({ method, url: path, headers: { ...bearer(), 'content-type': 'application/json' }, payload: method === 'PUT' ? '{}' : undefined });
      expect(response.statusCode, `${method} ${path}: ${response.body}`).toBe(200);
      expect(response.headers['x-elastic-product']).toBe('Elasticsearch');
    }
  });
});

/**
 * A proxy that forwards the first request whole but cuts the client's connection once the
 * server's answer starts, so the sender sees a failure after the server stored the request.
 * Later connections pass through.
 */
async function answerCuttingProxy(target: URL): Promise<{ url: string; cut: () => number; close: () => Promise<void> }> {
  const { createServer, connect } = await import('node:net');
  let cuts = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    const cutThis = cuts === 0;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (cutThis) {
        cuts += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut: () => cuts,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a request sent again after its answer was lost', () => {
  test('Elasticsearch with _id: the client retries and each document is stored once', async () => {
    const proxy = await answerCuttingProxy(new URL(url));
    const client = new Client({ node: proxy.url, auth: { apiKey: INGEST }, maxRetries: 3 });
    const docs = Array.from({ length: 5 }, (_, i) => ({ id: `doc-${i}`, message: `retried ${i}`, host: { name: 'retry-host' } }));
    const stats = await client.helpers.bulk({ datasource: docs, onDocument: (doc) => ({ create: { _index: 'retry', _id: doc.id } }), refreshOnCompletion: false });
    expect(proxy.cut()).toBe(1);
    expect(stats.failed).toBe(0);
    expect(sink.entries().map((entry) => entry.line)).toEqual(docs.map((doc) => doc.message));
    await client.close();
    await proxy.close();
  });

  test('Loki (no id in the protocol): the resent request is stored again, at least once', async () => {
    const proxy = await answerCuttingProxy(new URL(url));
    const body = JSON.stringify({ streams: [{ stream: { host: 'retry-host', job: 'loki' }, values: [['1', 'once?']] }] });
    const send = () => fetch(`${proxy.url}/loki/api/v1/push`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body });
    await expect(send()).rejects.toThrow();
    expect((await send()).status).toBe(204);
    expect(sink.entries().map((entry) => entry.line)).toEqual(['once?', 'once?']);
    await proxy.close();
  });
});

const SYSLOG_NG_ES = '/usr/share/syslog-ng/include/scl/elasticsearch/elastic-http.conf';
const { existsSync } = await import('node:fs');
const hasSyslogNg = existsSync(SYSLOG_NG_ES) && existsSync('/usr/sbin/syslog-ng');

describe('syslog-ng elasticsearch-http()', () => {
  test.skipIf(!hasSyslogNg)('its default template reaches Daniel: MESSAGE, HOST, @timestamp and the index', async () => {
    const { spawn } = await import('node:child_process');
    const { writeFile, mkdtemp: makeDir } = await import('node:fs/promises');
    const dir = await makeDir(join(tmpdir(), 'syslog-ng-es-'));
    const input = join(dir, 'in.log');
    await writeFile(input, 'Dec  2 06:00:01 sng-host app[12]: hello from syslog-ng\nDec  2 06:00:02 sng-host app[12]: second line\n');
    const config = [
      '@version: 3.38',
      '@include "scl.conf"',
      'options { stats_freq(0); keep_hostname(yes); };',
      `source s_in { file("${input}" follow-freq(0.1)); };`,
      `destination d_daniel { elasticsearch-http(url("${url}/_bulk") index("syslog-ng") type("") user("sng") password("${INGEST}") batch_lines(10) batch_timeout(100) workers(1)); };`,
      'log { source(s_in); destination(d_daniel); };',
    ].join('\n');
    await writeFile(join(dir, 'syslog-ng.conf'), config);
    const child = spawn('/usr/sbin/syslog-ng', ['-F', '-f', join(dir, 'syslog-ng.conf'), '-R', join(dir, 'persist'), '-p', join(dir, 'pid'), '-c', join(dir, 'ctl')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await until(() => sink.entries().length >= 2 || child.exitCode !== null, 'syslog-ng to deliver');
      expect(child.exitCode, output).toBeNull();
      const entries = sink.entries();
      expect(entries.map((entry) => entry.line)).toEqual(['hello from syslog-ng', 'second line']);
      expect(entries[0]).toMatchObject({ host: 'sng-host', filename: 'syslog-ng' });
      expect(entries[0]?.fields).toMatchObject({ PROGRAM: 'app', PID: '12' });
      // RFC 3164 has no year: syslog-ng adds one; the day and time are kept.
      expect(new Date(Number(entries[0]!.timestamp / 1_000_000n)).toISOString()).toMatch(/-12-02T06:00:01/);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
