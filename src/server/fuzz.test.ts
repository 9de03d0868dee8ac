/**
 * Random bodies and query strings at every route: the answer is always a 2xx, or a 4xx with
 * the error shape; never a 5xx, never a hang.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { andynewmanBatch, auth, ingest, startTestApp, TOKENS, type TestApp } from '../../test/server/helpers.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  await ingest(t.app, andynewmanBatch());
});

afterAll(async () => {
  await t.close();
});

const HANG_MS = 10_000;

async function bounded(run: Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    return await Promise.race([run, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function assertWellFormed(response: LightMyRequestResponse, what: string): void {
  const status = response.statusCode;
  expect(status >= 200 && status < 500, `${what} -> ${status} ${response.body.slice(0, 300)}`).toBe(true);
  if (status >= 400) {
    const body = response.json<{ error?: { code?: unknown; message?: unknown } }>();
    expect(typeof body.error?.code, `${what} -> ${response.body}`).toBe('string');
    expect(typeof body.error?.message, `${what} -> ${response.body}`).toBe('string');
  }
}

const PATHS = [
  '/hosts/',
  '/hosts/andynewman/',
  '/hosts/andynewman/files/',
  '/hosts/andynewman/logs',
  '/logs',
  '/logs/context',
  '/logs/histogram',
  '/healthz',
  '/metrics',
  '/openapi.json',
  '/ingest',
];
const PARAMS = ['filter', 'regex', 'case', 'count', 'file', 'host', 'since', 'until', 'order', 'cursor', 'timeout', 'bucket', 'before', 'after', 'offset', 'file_id'];

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('0', '-1', '1.5', '10001', '1e3', 'true', 'asc', 'insensitive', '15m', 'now', '2021-12-14T18:54:12Z', '(a+)+$', '[', '%', '..', '\u0000', '99999999999999999999'),
);

const queryString = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMS), fc.string({ maxLength: 8 })), text, fc.boolean()), { maxLength: 6 })
  .map((pairs) =>
    pairs
      // follow=true is a stream that never ends by design; it has its own tests.
      .filter(([name]) => name !== 'follow')
      .map(([name, value, raw]) => (raw ? `${name}=${value.replace(/[#\s]/g, '')}` : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`))
      .join('&'),
  );

const path = fc.oneof(
  fc.constantFrom(...PATHS),
  fc.string({ maxLength: 20 }).map((host) => `/hosts/${encodeURIComponent(host)}/logs`),
  // A backslash right after the first slash makes light-my-request's own URL parsing throw
  // (`/\` reads as `//`), before the server sees anything: keep it out of bare segments.
  fc.string({ maxLength: 20 }).map((segment) => `/${segment.replace(/[?#\s\\]/g, '')}`),
);

test('random GETs with random query strings never give a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(path, queryString, fc.constantFrom('GET', 'HEAD', 'DELETE', 'PUT'), async (pathname, query, method) => {
      const url = query === '' ? pathname : `${pathname}?${query}`;
      const response = await bounded(t.app.inject({ method, url, headers: auth(TOKENS.admin) }));
      if (method !== 'HEAD') assertWellFormed(response, `${method} ${url}`);
      else expect(response.statusCode, url).toBeLessThan(500);
    }),
    { numRuns: 400 },
  );
}, 120_000);

const validLine = fc.record({ offset: fc.nat(), timestamp: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String), line: fc.string() });
const nearlyValidBody = fc.record({
  host: fc.oneof(fc.constant('fuzz'), fc.string({ maxLength: 10 })),
  files: fc.array(
    fc.record({
      file_id: fc.oneof(fc.constant('f1'), fc.string({ maxLength: 10 })),
      filename: fc.oneof(fc.constant('app.log'), fc.string({ maxLength: 10 })),
      lines: fc.array(fc.oneof(validLine, fc.anything()), { maxLength: 5 }),
    }),
    { maxLength: 3 },
  ),
});

const body = fc.oneof(
  fc.json().map((json) => Buffer.from(json)),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  nearlyValidBody.map((value) => Buffer.from(JSON.stringify(value))),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
);

test('random ingest bodies never give a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(
      body,
      fc.boolean(),
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream', ''),
      async (payload, gzip, contentType) => {
        const headers: Record<string, string> = { ...auth(TOKENS.ingest) };
        if (contentType !== '') headers['content-type'] = contentType;
        if (gzip) headers['content-encoding'] = 'gzip';
        const response = await bounded(t.app.inject({ method: 'POST', url: '/ingest', headers, payload: gzip ? gzipSync(payload) : payload }));
        assertWellFormed(response, `POST /ingest ${payload.toString('utf8').slice(0, 200)}`);
      },
    ),
    { numRuns: 300 },
  );
}, 120_000);

test('random Authorization headers are 2xx or 401, never worse', async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 60 }), async (authorization) => {
      const response = await bounded(t.app.inject({ url: '/hosts/', headers: { authorization: authorization.replace(/[\r\n]/g, '') } }));
      assertWellFormed(response, `Authorization: ${authorization}`);
    }),
    { numRuns: 100 },
  );
});
