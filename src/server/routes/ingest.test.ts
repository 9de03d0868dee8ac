import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Store } from '../../storage/store.js';
import { buildApp } from '../app.js';
import { createTokenSet } from '../tokens.js';
import { andynewmanBatch, auth, expectErrorShape, ingest, startTestApp, TOKENS, type TestApp } from '../../../test/server/helpers.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

const post = (payload: string | Buffer, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/ingest', headers: { ...auth(TOKENS.ingest), 'content-type': 'application/json', ...headers }, payload });

function batch(host: string, file: Record<string, unknown>): unknown {
  return { host, files: [{ file_id: 'id-1', filename: 'app.log', lines: [], ...file }] };
}

async function expect400(body: unknown, code: string, names: string): Promise<void> {
  const response = await post(typeof body === 'string' ? body : JSON.stringify(body));
  expect(response.statusCode, response.body).toBe(400);
  const error = expectErrorShape(response);
  expect(error.code, error.message).toBe(code);
  expect(error.message).toContain(names);
}

async function logline(host: string): Promise<string[]> {
  const response = await t.app.inject({ url: `/hosts/${encodeURIComponent(host)}/logs?order=asc`, headers: auth() });
  return response.json<{ data: { logline: string }[] }>().data.map((e) => e.logline);
}

describe('POST /ingest', () => {
  test('is idempotent: a resent batch is acknowledged as duplicates and not stored again', async () => {
    const body = { ...andynewmanBatch(), host: 'idem' };
    expect((await ingest(t.app, body)).json()).toEqual({ data: { accepted: 6, duplicates: 0 } });
    expect((await ingest(t.app, body)).json()).toEqual({ data: { accepted: 0, duplicates: 6 } });
    expect(await logline('idem')).toHaveLength(6);
  });

  test('accepts gzip bodies', async () => {
    const body = gzipSync(JSON.stringify(batch('gz', { lines: [{ offset: 0, timestamp: '1000', line: 'zipped' }] })));
    const response = await post(body, { 'content-encoding': 'gzip' });
    expect(response.json()).toEqual({ data: { accepted: 1, duplicates: 0 } });
    expect(await logline('gz')).toEqual(['zipped']);
  });

  test('invalid UTF-8 inside a gzip body is stored as U+FFFD', async () => {
    const json = Buffer.concat([
      Buffer.from('{"host":"utf","files":[{"file_id":"f","filename":"x","lines":[{"offset":0,"timestamp":"1","line":"bad '),
      Buffer.from([0xff, 0xc3, 0x28]),
      Buffer.from(' end"}]}]}'),
    ]);
    expect((await post(gzipSync(json), { 'content-encoding': 'gzip' })).statusCode).toBe(200);
    expect(await logline('utf')).toEqual(['bad \ufffd\ufffd( end']);
  });

  test('lone surrogates from JSON escapes become U+FFFD', async () => {
    expect((await post('{"host":"sur","files":[{"file_id":"f","filename":"x","lines":[{"offset":0,"timestamp":"1","line":"a\\ud800b"}]}]}')).statusCode).toBe(200);
    expect(await logline('sur')).toEqual(['a\ufffdb']);
  });
});

describe('POST /ingest: bad input gets a 4xx naming the field', () => {
  test('malformed JSON, empty body and a non-object', async () => {
    await expect400('{"host": "a", files: []}', 'INVALID_BODY', 'JSON');
    await expect400('', 'INVALID_BODY', 'empty');
    await expect400('[1,2]', 'INVALID_BODY', 'Body');
  });

  test('missing fields and wrong types', async () => {
    await expect400({ files: [] }, 'INVALID_BODY', 'host');
    await expect400({ host: 'a' }, 'INVALID_BODY', 'files');
    await expect400({ host: 5, files: [] }, 'INVALID_BODY', 'host');
    await expect400({ host: 'a', files: {} }, 'INVALID_BODY', 'files');
    await expect400({ host: 'a', files: [{ filename: 'x', lines: [] }] }, 'INVALID_BODY', 'files[0].file_id');
    await expect400(batch('a', { lines: [{ offset: 0, timestamp: '1' }] }), 'INVALID_BODY', 'files[0].lines[0].line');
    await expect400(batch('a', { lines: [{ offset: '0', timestamp: '1', line: 'x' }] }), 'INVALID_BODY', 'files[0].lines[0].offset');
    await expect400(batch('a', { lines: [{ offset: 0, timestamp: 1, line: 'x' }] }), 'INVALID_BODY', 'files[0].lines[0].timestamp');
    await expect400(batch('a', { size: -1 }), 'INVALID_BODY', 'files[0].size');
  });

  test('offsets: integers >= 0, ascending, end after offset', async () => {
    const line = (offset: unknown, extra: Record<string, unknown> = {}) => ({ offset, timestamp: '1', line: 'x', ...extra });
    await expect400(batch('a', { lines: [line(-1)] }), 'INVALID_BODY', 'files[0].lines[0].offset');
    await expect400(batch('a', { lines: [line(1.5)] }), 'INVALID_BODY', 'files[0].lines[0].offset');
    await expect400(batch('a', { lines: [line(10), line(20), line(30), line(25)] }), 'INVALID_BODY', 'files[0].lines[3].offset');
    await expect400(batch('a', { lines: [line(10), line(10)] }), 'INVALID_BODY', 'files[0].lines[1].offset');
    await expect400(batch('a', { lines: [line(10, { end: 10 })] }), 'INVALID_BODY', 'files[0].lines[0].end');
  });

  test('timestamps must be decimal nanosecond strings within 64 bits', async () => {
    for (const timestamp of ['abc', '1.5', '-1', '', '99999999999999999999', '9223372036854775808']) {
      await expect400(batch('a', { lines: [{ offset: 0, timestamp, line: 'x' }] }), 'INVALID_BODY', 'files[0].lines[0].timestamp');
    }
  });

  test("names with '..', NUL, control characters, empty or over 255 bytes are INVALID_NAME", async () => {
    const bad = ['', '..', 'a/../b', '..\\x', 'a\u0000b', 'a\u0007b', 'a\nb', 'a\u009bb', 'é'.repeat(128)];
    for (const name of bad) {
      await expect400(batch(name, {}), 'INVALID_NAME', 'host');
      await expect400(batch('ok', { filename: name }), 'INVALID_NAME', 'files[0].filename');
      await expect400(batch('ok', { file_id: name }), 'INVALID_NAME', 'files[0].file_id');
    }
    // Dots that are not a '..' segment, and 255 bytes exactly, are fine.
    for (const name of ['a..b', '.hidden', 'nginx/access.log', 'é'.repeat(127) + 'a']) {
      expect((await post(JSON.stringify(batch('ok', { filename: name })))).statusCode, name).toBe(200);
    }
  });

  test('unsupported content type and encoding are 415', async () => {
    for (const headers of <Record<string, string>[]>[{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-encoding': 'br' }]) {
      const response = await post('{"host":"a","files":[]}', headers);
      expect(response.statusCode, JSON.stringify(headers)).toBe(415);
      expect(expectErrorShape(response).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });

  test('a body that claims gzip but is not is a 400', async () => {
    const response = await post('{"host":"a","files":[]}', { 'content-encoding': 'gzip' });
    expect(response.statusCode).toBe(400);
    expect(expectErrorShape(response).message).toContain('gzip');
  });

  test('a raw body over the limit is 413', async () => {
    const line = 'x'.repeat(1000);
    const lines = Array.from({ length: 9 * 1024 }, (_, i) => ({ offset: i * 1001, timestamp: '1', line }));
    const response = await post(JSON.stringify(batch('big', { lines })));
    expect(response.statusCode).toBe(413);
    expect(expectErrorShape(response).code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('a gzip bomb (1 GiB of zeros in ~1 MiB) is 413 without memory growth', async () => {
    const member = gzipSync(Buffer.alloc(1024 * 1024, 0x30), { level: 9 });
    const head = gzipSync('{"host":"bomb","files":[{"file_id":"f","filename":"x","lines":[{"offset":0,"timestamp":"1","line":"');
    const bomb = Buffer.concat([head, ...Array.from({ length: 1024 }, () => member)]);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    global.gc?.();
    const before = process.memoryUsage().rss;
    const response = await post(bomb, { 'content-encoding': 'gzip' });
    const grown = process.memoryUsage().rss - before;
    expect(response.statusCode).toBe(413);
    expect(expectErrorShape(response).message).toContain('decompressed');
    // Inflating it would need 1 GiB; the limit is 8 MiB. Leave room for GC noise.
    expect(grown).toBeLessThan(128 * 1024 * 1024);
  });
});

describe('POST /ingest: store failures', () => {
  test('a store error is 503 STORE_UNAVAILABLE, never a 200', async () => {
    const failing = {
      ...t.store,
      kind: 'memory',
      append: () => Promise.reject(new Error('disk on fire')),
      close: () => Promise.resolve(),
    } as unknown as Store;
    const app = await buildApp({ store: failing, tokens: createTokenSet([{ scope: 'admin', token: TOKENS.admin }]) });
    try {
      const response = await ingest(app, andynewmanBatch(), TOKENS.admin);
      expect(response.statusCode).toBe(503);
      expect(expectErrorShape(response).code).toBe('STORE_UNAVAILABLE');
    } finally {
      await app.close();
    }
  });
});
