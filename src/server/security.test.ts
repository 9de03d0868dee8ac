/**
 * Abuse limits, security headers, no CORS, ingest guards against forged hosts and offsets,
 * logs without secrets, and a bounded fuzz run over the Authorization header and /tokens
 * (FUZZ_AUTH_RUNS raises its length; the default keeps npm test short).
 */
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createStore } from '../storage/create-store.js';
import type { Store } from '../storage/store.js';
import { buildApp, type AppOptions } from './app.js';
import { createServerLog } from './log.js';
import { lookAlikeProblem } from './plugins/ingest-guard.js';
import { TokenRegistry } from './token-registry.js';
import { createManagedToken, openSqliteTokenStore } from './token-store.js';
import { andynewmanBatch } from '../../test/server/helpers.js';

const ADMIN = 'admin-secret-token-0123456789';
let dataDir: string;
let store: Store;
const logLines: string[] = [];
const apps: FastifyInstance[] = [];
const registries: TokenRegistry[] = [];
const secrets: string[] = [ADMIN];

async function makeApp(options: Partial<AppOptions> = {}): Promise<{ app: FastifyInstance; registry: TokenRegistry }> {
  const registry = new TokenRegistry(await openSqliteTokenStore(dataDir), [{ scope: 'admin', token: ADMIN }]);
  await registry.start(200);
  registries.push(registry);
  const log = createServerLog({ level: 'debug', write: (line) => void logLines.push(line) });
  const app = await buildApp({ store, tokens: registry, log, requestLog: { all: true }, limits: { closeGraceMs: 300 }, ...options });
  apps.push(app);
  return { app, registry };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'daniel-security-'));
  store = await createStore({ kind: 'sqlite', dataDir });
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const registry of registries) await registry.close();
  await store.close();
  // Every line every app of this file logged: no token, no Authorization header.
  const all = logLines.join('');
  expect(logLines.length).toBeGreaterThan(10);
  for (const secret of secrets) expect(all).not.toContain(secret);
  // The error messages say "Bearer TOKEN"; anything else after Bearer would be a real token.
  expect(all).not.toMatch(/bearer (?!token\b)/i);
  expect(all.toLowerCase()).not.toContain('"authorization"');
  await rm(dataDir, { recursive: true, force: true });
});

describe('abuse limits', () => {
  test('a token past its request rate gets 429 with Retry-After; other tokens do not', async () => {
    const { app } = await makeApp({ abuseLimits: { tokenRequestsPerSecond: 1, tokenRequestBurst: 5 } });
    const handle = await openSqliteTokenStore(dataDir);
    const other = await createManagedToken(handle, { scope: 'read' });
    await handle.close();
    secrets.push(other.token);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await app.inject({ url: '/hosts/', headers: bearer(ADMIN) })).statusCode);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const limited = await app.inject({ url: '/hosts/', headers: bearer(ADMIN) });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await app.inject({ url: '/hosts/', headers: bearer(other.token) })).statusCode).toBe(200);
  });

  test('a token past its byte rate gets 429', async () => {
    const { app } = await makeApp({ abuseLimits: { tokenBytesPerSecond: 1000, tokenByteBurst: 2000 } });
    const body = JSON.stringify(andynewmanBatch());
    const first = await app.inject({ method: 'POST', url: '/ingest', headers: { ...bearer(ADMIN), 'content-type': 'application/json' }, payload: body });
    expect(first.statusCode).toBe(200);
    const big = JSON.stringify({ host: 'andynewman', files: [{ file_id: 'big', filename: 'big.log', lines: [{ offset: 0, timestamp: '1', line: 'x'.repeat(3000) }] }] });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await app.inject({ method: 'POST', url: '/ingest', headers: { ...bearer(ADMIN), 'content-type': 'application/json' }, payload: big }));
    const limited = answers.find((a) => a.statusCode === 429);
    expect(limited?.headers['retry-after']).toBeDefined();
  });

  test('failed authentications from one address are limited before any token is compared', async () => {
    const { app } = await makeApp({ abuseLimits: { authFailureBurst: 5, authFailuresPerMinute: 5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await app.inject({ url: '/hosts/', headers: bearer(`guess-${i}-0123456789`) })).statusCode);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    // Even the right token waits: a guesser cannot tell a hit from a miss.
    const right = await app.inject({ url: '/hosts/', headers: bearer(ADMIN) });
    expect(right.statusCode).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another address is not affected.
    expect((await app.inject({ url: '/hosts/', headers: bearer(ADMIN), remoteAddress: '10.1.2.3' })).statusCode).toBe(200);
    const audit = logLines.filter((line) => line.includes('authentication failed'));
    expect(audit.some((line) => line.includes('"client":"127.0.0.1"'))).toBe(true);
  });
});

describe('headers', () => {
  test('every route, error and the UI carry the security headers; there is no CORS', async () => {
    const { app } = await makeApp();
    type Spec = { paths: Record<string, Record<string, unknown>> };
    const spec: Spec = (await app.inject({ url: '/openapi.json' })).json();
    const urls = Object.keys(spec.paths).map((path) => path.replace('{host}', 'andynewman').replace('{id}', 'x'));
    const answers = [];
    for (const url of [...urls, '/', '/ui/', '/openapi.json', '/no/such/route', '/healthz', '/%zz']) {
      answers.push({ url, answer: await app.inject({ url, headers: { ...bearer(ADMIN), origin: 'https://evil.example' } }) });
      answers.push({ url, answer: await app.inject({ url, headers: { origin: 'https://evil.example' } }) });
    }
    answers.push({ url: 'OPTIONS /hosts/', answer: await app.inject({ method: 'OPTIONS', url: '/hosts/', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } }) });
    for (const { url, answer } of answers) {
      const where = `${url} (${answer.statusCode})`;
      expect(String(answer.headers['content-security-policy']), where).toMatch(/frame-ancestors 'none'/);
      expect(answer.headers['x-content-type-options'], where).toBe('nosniff');
      expect(answer.headers['referrer-policy'], where).toBe('no-referrer');
      expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-')), where).toEqual([]);
    }
  });

  test('the live tail carries them too', async () => {
    const { app } = await makeApp();
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    const response = await fetch(`${address}/logs?follow=true`, { headers: bearer(ADMIN), signal: controller.signal });
    expect(response.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    controller.abort();
  });
});

describe('ingest guards', () => {
  const post = (app: FastifyInstance, payload: unknown) =>
    app.inject({ method: 'POST', url: '/ingest', headers: { ...bearer(ADMIN), 'content-type': 'application/json' }, payload: payload as object });

  test('look-alike host names are refused: mixed scripts, zero-width, BOM, bidi overrides', async () => {
    const { app } = await makeApp();
    for (const host of ['w\u0435b1', 'web\u200b1', '\ufeffweb1', 'web\u202e1', 'web\u00ad1', 'p\u0430ypal.example']) {
      const answer = await post(app, { host, files: [] });
      expect(answer.statusCode, host).toBe(400);
      expect(answer.json().error.code).toBe('INVALID_NAME');
    }
    for (const host of ['web1', 'сервер-1', 'δοκιμή', 'münchen-01', '日本-サーバ']) expect(lookAlikeProblem(host), host).toBeUndefined();
  });

  test("an offset far past the file's reported size is refused, so it cannot shadow later real lines", async () => {
    const { app } = await makeApp();
    const line = (offset: number) => ({ offset, timestamp: '1639508000000000000', line: 'forged' });
    const withSize = await post(app, { host: 'victim', files: [{ file_id: 'vf', filename: 'auth.log', size: 100, lines: [line(9e15)] }] });
    expect(withSize.statusCode).toBe(400);
    expect(withSize.json().error.message).toContain('files[0].lines[0].offset');
    const noSize = await post(app, { host: 'victim', files: [{ file_id: 'vf', filename: 'auth.log', lines: [line(9e15)] }] });
    expect(noSize.statusCode).toBe(400);
    const real = await post(app, { host: 'victim', files: [{ file_id: 'vf', filename: 'auth.log', size: 7, lines: [{ ...line(0), line: 'real' }] }] });
    expect(real.json().data).toEqual({ accepted: 1, duplicates: 0 });
  });
});

describe('fuzz', () => {
  const runs = Number(process.env.FUZZ_AUTH_RUNS ?? 150);

  test(`${runs} random Authorization headers and /tokens requests: never a 500, never in without a token`, async () => {
    const { app } = await makeApp({ abuseLimits: { authFailureBurst: 1e9, authFailuresPerMinute: 1e9, tokenRequestBurst: 1e9 } });
    const header = fc.oneof(
      fc.string(),
      fc.string().map((s) => `Bearer ${s}`),
      fc.string().map((s) => `bearer\t${s} `),
      fc.constantFrom(`Bearer ${ADMIN}x`, `Bearer ${ADMIN.slice(0, -1)}`, `Basic ${ADMIN}`, `Bearer  ${ADMIN} extra`, `Bearer dnl_`, 'Bearer'),
    );
    const route = fc.constantFrom(
      { method: 'GET', url: '/tokens' },
      { method: 'POST', url: '/tokens' },
      { method: 'DELETE', url: '/tokens/abc' },
      { method: 'GET', url: '/hosts/' },
      { method: 'POST', url: '/ingest' },
    );
    const body = fc.oneof(fc.jsonValue(), fc.record({ scope: fc.string(), hosts: fc.array(fc.string()), name: fc.string() }, { requiredKeys: [] }));
    await fc.assert(
      fc.asyncProperty(header, route, body, async (auth, { method, url }, payload) => {
        const safe = auth.replace(/[^\t\x20-\x7e]/g, '');
        const answer = await app.inject({
          method: method as 'GET',
          url,
          headers: { authorization: safe, 'content-type': 'application/json' },
          ...(method === 'POST' ? { payload: JSON.stringify(payload) } : {}),
        });
        expect(answer.statusCode).toBeLessThan(500);
        if (safe.trim() !== `Bearer ${ADMIN}`) expect([400, 401, 403, 404, 415]).toContain(answer.statusCode);
      }),
      { numRuns: runs },
    );
  }, 600_000);
});
