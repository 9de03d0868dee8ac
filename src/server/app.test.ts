import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp } from './app.js';
import { createTokenSet } from './tokens.js';
import { andynewmanBatch, auth, expectErrorShape, ingest, startTestApp, TOKENS, type TestApp } from '../../test/server/helpers.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
  const response = await ingest(t.app, andynewmanBatch());
  expect(response.json()).toEqual({ data: { accepted: 6, duplicates: 0 } });
});

afterAll(async () => {
  await t.close();
});

const get = (url: string, headers: Record<string, string> = auth(TOKENS.read)) => t.app.inject({ method: 'GET', url, headers: { host: 'daniel.example:3032', ...headers } });

describe("SPEC.md's GETs for host andynewman", () => {
  test('GET /hosts/ lists the host with a URL built from the request host', async () => {
    const response = await get('/hosts/');
    expect(response.statusCode).toBe(200);
    const { data } = response.json();
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ host: 'andynewman', url: 'http://daniel.example:3032/hosts/andynewman/', lines: 6, bytes: 90 });
    expect(typeof data[0].last_seen).toBe('string');
  });

  test('GET /hosts/andynewman/ lists the three files with urls to their logs', async () => {
    const response = await get('/hosts/andynewman/');
    expect(response.statusCode).toBe(200);
    const { data } = response.json();
    expect(data.map((f: { filename: string }) => f.filename).sort()).toEqual(['fsck_apfs_error.log', 'other_log', 'syslog']);
    const syslog = data.find((f: { filename: string }) => f.filename === 'syslog');
    expect(syslog).toMatchObject({
      filename: 'syslog',
      host: 'andynewman',
      url: 'http://daniel.example:3032/hosts/andynewman/logs?file=syslog',
      path: '/var/log/syslog',
      lines: 3,
      offset: 40,
      size: null,
      lag_bytes: null,
    });
    const fsck = data.find((f: { filename: string }) => f.filename === 'fsck_apfs_error.log');
    expect(fsck).toMatchObject({ size: 60, offset: 45, lag_bytes: 15 });
  });

  test('GET /hosts/andynewman/files/ lists the file names', async () => {
    const response = await get('/hosts/andynewman/files/');
    expect(response.statusCode).toBe(200);
    expect(response.json().data.sort()).toEqual(['fsck_apfs_error.log', 'other_log', 'syslog']);
  });

  test('GET /hosts/andynewman/logs gives LogEntries newest first with last_modified as a string', async () => {
    const response = await get('/hosts/andynewman/logs');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.next).toBeUndefined();
    expect(body.data.map((e: { logline: string }) => e.logline)).toEqual([
      'other line',
      'Line three with ERROR',
      'Line two',
      'Line one',
      'fsck_apfs error: bad block',
      'fsck_apfs started',
    ]);
    const lineOne = body.data[3];
    expect(lineOne).toEqual({
      filename: 'syslog',
      last_modified: '1639508052.0629189',
      logline: 'Line one',
      host: 'andynewman',
      timestamp: '2021-12-14T18:54:12.0629189Z',
      path: '/var/log/syslog',
      offset: 0,
      file_id: 'dev1:ino2:bbbb',
      seq: expect.any(Number),
      cursor: expect.any(String),
    });
  });

  test('filter (case-sensitive), file (repeatable) and count', async () => {
    const filtered = (await get('/hosts/andynewman/logs?filter=Line')).json().data;
    expect(filtered.map((e: { logline: string }) => e.logline)).toEqual(['Line three with ERROR', 'Line two', 'Line one']);
    expect((await get('/hosts/andynewman/logs?filter=line')).json().data.map((e: { logline: string }) => e.logline)).toEqual(['other line']);
    const files = (await get('/hosts/andynewman/logs?file=other_log&file=fsck_apfs_error.log')).json().data;
    expect(files.map((e: { filename: string }) => e.filename).sort()).toEqual(['fsck_apfs_error.log', 'fsck_apfs_error.log', 'other_log']);
    const two = (await get('/hosts/andynewman/logs?count=2')).json();
    expect(two.data).toHaveLength(2);
    expect(two.next).toMatch(/^http:\/\/daniel\.example:3032\/hosts\/andynewman\/logs\?count=2&cursor=/);
  });

  test('paths work with and without the trailing slash', async () => {
    for (const url of ['/hosts', '/hosts/', '/hosts/andynewman', '/hosts/andynewman/', '/hosts/andynewman/files', '/hosts/andynewman/files/', '/hosts/andynewman/logs/', '/logs/', '/healthz/']) {
      expect((await get(url)).statusCode, url).toBe(200);
    }
  });

  test('unknown host: 404 HOST_NOT_FOUND on every host route', async () => {
    for (const url of ['/hosts/nobody/', '/hosts/nobody/files/', '/hosts/nobody/logs']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(404);
      expect(expectErrorShape(response).code).toBe('HOST_NOT_FOUND');
    }
  });

  test('count outside 1..10000 is a 400 naming count', async () => {
    for (const value of ['0', '10001', 'abc', '1.5', '-3']) {
      const response = await get(`/hosts/andynewman/logs?count=${value}`);
      expect(response.statusCode, value).toBe(400);
      const error = expectErrorShape(response);
      expect(error.code).toBe('INVALID_PARAMETER');
      expect(error.message).toContain('count');
    }
  });
});

describe('auth', () => {
  test('the scheme word matches in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect((await get('/hosts/', { authorization: `${scheme} ${TOKENS.read}` })).statusCode, scheme).toBe(200);
    }
  });

  test('missing, malformed or unknown tokens are 401 with the error shape', async () => {
    for (const headers of <Record<string, string>[]>[{}, { authorization: TOKENS.read }, { authorization: `Basic ${TOKENS.read}` }, { authorization: 'Bearer wrong-token-123456' }, { authorization: 'Bearer' }]) {
      const response = await get('/hosts/', headers);
      expect(response.statusCode, JSON.stringify(headers)).toBe(401);
      expect(expectErrorShape(response).code).toBe('UNAUTHORIZED');
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
  });

  test('scopes: read cannot ingest, ingest cannot read, admin does both', async () => {
    const readIngest = await ingest(t.app, { host: 'x', files: [] }, TOKENS.read);
    expect(readIngest.statusCode).toBe(403);
    expect(expectErrorShape(readIngest).code).toBe('FORBIDDEN');
    for (const url of ['/hosts/', '/logs', '/hosts/andynewman/logs', '/logs/histogram', '/metrics']) {
      const response = await get(url, auth(TOKENS.ingest));
      expect(response.statusCode, url).toBe(403);
      expect(expectErrorShape(response).code).toBe('FORBIDDEN');
      expect((await get(url, auth(TOKENS.admin))).statusCode, url).toBe(200);
    }
    expect((await ingest(t.app, { host: 'x', files: [] }, TOKENS.admin)).statusCode).toBe(200);
  });

  test('/healthz, /openapi.json and the web UI need no token', async () => {
    expect((await get('/healthz', {})).json()).toEqual({ data: { status: 'ok' } });
    expect((await get('/openapi.json', {})).statusCode).toBe(200);
    // 200 once the UI is built, 503 with instructions before: never a 401.
    expect([200, 503]).toContain((await get('/', {})).statusCode);
  });
});

describe('odd host names', () => {
  test('a host name with a slash, a space and Unicode round-trips through its url', async () => {
    const host = 'rack 7/web-é';
    const response = await ingest(t.app, { host, files: [{ file_id: 'f', filename: 'x.log', lines: [{ offset: 0, timestamp: '1', line: 'hello' }] }] });
    expect(response.statusCode).toBe(200);
    const entry = (await get('/hosts/')).json().data.find((h: { host: string }) => h.host === host);
    expect(entry.url).toBe(`http://daniel.example:3032/hosts/${encodeURIComponent(host)}/`);
    const files = await get(new URL(entry.url).pathname);
    expect(files.statusCode).toBe(200);
    expect(files.json().data[0]).toMatchObject({ host, filename: 'x.log' });
    const logs = await get(new URL(files.json().data[0].url).pathname + new URL(files.json().data[0].url).search);
    expect(logs.json().data.map((e: { logline: string }) => e.logline)).toEqual(['hello']);
  });
});

describe('health', () => {
  test('/healthz is 503 STORE_UNAVAILABLE when the store does not answer', async () => {
    const broken = new Proxy(t.store, {
      get(target, property, receiver) {
        if (property === 'ping') return () => Promise.reject(new Error('database is locked'));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const app = await buildApp({ store: broken, tokens: createTokenSet([]) });
    try {
      const response = await app.inject({ url: '/healthz' });
      expect(response.statusCode).toBe(503);
      expect(expectErrorShape(response)).toEqual({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('database is locked') });
    } finally {
      await app.close();
    }
  });
});

describe('errors of routing', () => {
  test('unknown path: 404 NOT_FOUND; wrong method: 405 with Allow', async () => {
    const missing = await get('/nothing/here');
    expect(missing.statusCode).toBe(404);
    expect(expectErrorShape(missing).code).toBe('NOT_FOUND');
    const wrong = await t.app.inject({ method: 'DELETE', url: '/hosts/andynewman/', headers: auth() });
    expect(wrong.statusCode).toBe(405);
    expect(expectErrorShape(wrong).code).toBe('METHOD_NOT_ALLOWED');
    expect(wrong.headers.allow).toContain('GET');
    const getIngest = await get('/ingest');
    expect(getIngest.statusCode).toBe(405);
    expect(getIngest.headers.allow).toBe('POST');
  });
});

describe('OpenAPI', () => {
  test('documents every route, the ingest body and the bearer scheme', async () => {
    const spec = (await get('/openapi.json', {})).json();
    expect(spec.openapi).toMatch(/^3\./);
    for (const path of ['/ingest', '/hosts/', '/hosts/{host}/', '/hosts/{host}/files/', '/hosts/{host}/logs', '/logs', '/logs/context', '/logs/histogram', '/healthz', '/metrics']) {
      expect(spec.paths[path], path).toBeDefined();
    }
    const body = spec.paths['/ingest'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['host', 'files']);
    expect(body.properties.files.items.properties.lines.items.properties.timestamp.type).toBe('string');
    expect(spec.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    const countParam = spec.paths['/logs'].get.parameters.find((p: { name: string }) => p.name === 'count');
    expect(countParam.schema).toMatchObject({ minimum: 1, maximum: 10000 });
  });
});

describe('metrics', () => {
  test('Prometheus text with ingest counters, store size and per-host last seen', async () => {
    const response = await get('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    expect(text).toMatch(/^daniel_ingest_lines_total\{result="accepted"\} \d+$/m);
    expect(text).toMatch(/^daniel_ingest_duplicates_total \d+$/m);
    expect(text).toMatch(/^daniel_store_lines 7$/m);
    expect(text).toMatch(/^daniel_host_last_seen_seconds\{host="andynewman"\} \d+(\.\d+)?$/m);
    // Label order is the client library's (prom-client writes `le` first); Prometheus ignores it.
    expect(text).toMatch(/^daniel_query_duration_seconds_bucket\{(?=[^}]*kind="search")(?=[^}]*le="\+Inf")[^}]*\} \d+$/m);
  });
});
