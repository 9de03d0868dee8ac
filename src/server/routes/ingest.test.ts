import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_INGEST_FILES, type IngestRejection, type IngestResponse } from '../../protocol/ingest.js';
import { TIMESTAMP_PATTERN } from '../../protocol/names.js';
import { SqliteStore } from '../../storage/sqlite/sqlite-store.js';
import { StoreUnavailableError, type Store } from '../../storage/store.js';
import { createServerLog } from '../log.js';
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

/** `parts` as Zstandard frames end to end (zstd-napi's own API); `windowLog` sets a frame's window, as a hostile sender could. */
function zstdFrames(parts: Buffer[], windowLog?: number): Buffer {
  return Buffer.concat(parts.map((part) => zstdCompress(part, { compressionLevel: 3, ...(windowLog === undefined ? {} : { windowLog }) })));
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

  test('accepts brotli bodies (what Henrik sends)', async () => {
    const body = brotliCompressSync(JSON.stringify(batch('br', { lines: [{ offset: 0, timestamp: '1000', line: 'brotli' }] })), { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } });
    const response = await post(body, { 'content-encoding': 'br' });
    expect(response.json()).toEqual({ data: { accepted: 1, duplicates: 0 } });
    expect(await logline('br')).toEqual(['brotli']);
  });

  test('accepts Zstandard bodies, one frame or several', async () => {
    const json = Buffer.from(JSON.stringify(batch('zs', { lines: [{ offset: 0, timestamp: '1000', line: 'zstandard' }] })));
    const response = await post(zstdFrames([json]), { 'content-encoding': 'zstd' });
    expect(response.json()).toEqual({ data: { accepted: 1, duplicates: 0 } });
    expect(await logline('zs')).toEqual(['zstandard']);
    const split = Buffer.from(JSON.stringify(batch('zs2', { lines: [{ offset: 0, timestamp: '1000', line: 'two frames' }] })));
    const twice = await post(zstdFrames([split.subarray(0, 20), split.subarray(20)]), { 'content-encoding': 'zstd' });
    expect(twice.json()).toEqual({ data: { accepted: 1, duplicates: 0 } });
    expect(await logline('zs2')).toEqual(['two frames']);
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

  test('a request that is not one as a whole: no host, a bad host, no files array', async () => {
    await expect400({ files: [] }, 'INVALID_BODY', 'host');
    await expect400({ host: 'a' }, 'INVALID_BODY', 'files');
    await expect400({ host: 5, files: [] }, 'INVALID_BODY', 'host');
    await expect400({ host: 'a', files: {} }, 'INVALID_BODY', 'files');
    for (const name of ['', '..', 'a/../b', 'a\u0000b', 'a\nb', 'é'.repeat(128)]) {
      await expect400(batch(name, { lines: [{ offset: 0, timestamp: '1', line: 'x' }] }), 'INVALID_NAME', 'host');
    }
  });
});

/** Posts `files` as one request beside a valid group, and returns the answer's data. */
async function mixed(host: string, bad: Record<string, unknown>[]): Promise<{ accepted: number; duplicates: number; rejected?: IngestRejection[] }> {
  const good = { file_id: 'good', filename: 'good.log', lines: [{ offset: 0, timestamp: '1', line: `kept ${host}` }] };
  const response = await post(JSON.stringify({ host, files: [...bad, good] }));
  expect(response.statusCode, response.body).toBe(200);
  expect(await logline(host)).toContain(`kept ${host}`);
  return response.json<IngestResponse>().data;
}

const group = (file: Record<string, unknown>) => ({ file_id: 'id-1', filename: 'app.log', lines: [], ...file });
const wireLine = (offset: unknown, extra: Record<string, unknown> = {}) => ({ offset, timestamp: '1', line: `at ${String(offset)}`, ...extra });

describe('POST /ingest: a bad group or line is refused alone, the rest is stored', () => {
  test('a group that breaks the schema is named in rejected with its index and file_id', async () => {
    let n = 0;
    const cases: [Record<string, unknown>, string][] = [
      [{ filename: 'x', lines: [] }, 'files[0].file_id'],
      [group({ size: -1 }), 'files[0].size'],
      [group({ lines: 'no' }), 'files[0].lines'],
      [group({ lines: [wireLine(-1)] }), 'files[0].lines[0].offset'],
      [group({ lines: [wireLine(1.5)] }), 'files[0].lines[0].offset'],
      [group({ lines: [wireLine('0')] }), 'files[0].lines[0].offset'],
      [group({ lines: [wireLine(0), { timestamp: '1', line: 'x' }] }), 'files[0].lines[1].offset'],
    ];
    for (const [bad, field] of cases) {
      const data = await mixed(`schema-${n++}`, [bad]);
      expect(data.accepted).toBe(1);
      expect(data.rejected).toHaveLength(1);
      const [rejection] = data.rejected!;
      expect(rejection).toMatchObject({ file: 0, code: 'INVALID_BODY' });
      expect(rejection!.offset).toBeUndefined();
      expect(rejection!.message).toContain(field);
    }
  });

  test("bad names refuse their group only: '..', NUL, control characters, empty or over 255 bytes", async () => {
    const bad = ['', '..', 'a/../b', '..\\x', 'a\u0000b', 'a\u0007b', 'a\nb', 'a\u001b.log', 'a\u009bb', 'é'.repeat(128)];
    let n = 0;
    for (const name of bad) {
      const byName = await mixed(`name-${n++}`, [group({ filename: name, lines: [wireLine(0)] })]);
      expect(byName.rejected).toEqual([{ file: 0, file_id: 'id-1', code: 'INVALID_NAME', message: expect.stringContaining('files[0].filename') }]);
      const byId = await mixed(`name-${n++}`, [group({ file_id: name, lines: [wireLine(0)] })]);
      expect(byId.rejected).toEqual([{ file: 0, file_id: name, code: 'INVALID_NAME', message: expect.stringContaining('files[0].file_id') }]);
    }
    const byPath = await mixed('name-path', [group({ path: '/var/log/\u001b', lines: [wireLine(0)] })]);
    expect(byPath.rejected?.[0]).toMatchObject({ code: 'INVALID_NAME', message: expect.stringContaining('files[0].path') });
    // Dots that are not a '..' segment, and 255 bytes exactly, are fine.
    for (const name of ['a..b', '.hidden', 'nginx/access.log', 'é'.repeat(127) + 'a']) {
      const response = await post(JSON.stringify(batch('ok', { filename: name })));
      expect(response.statusCode, name).toBe(200);
      expect(response.json<IngestResponse>().data.rejected, name).toBeUndefined();
    }
  });

  test('a bad line is refused by its offset; the lines after it in its group are stored', async () => {
    const lines = [wireLine(0), wireLine(10, { timestamp: '1.5' }), wireLine(20, { end: 20 }), wireLine(30), wireLine(30), wireLine(40, { line: 7 }), wireLine(50)];
    const response = await post(JSON.stringify({ host: 'lines', files: [group({ lines })] }));
    expect(response.statusCode, response.body).toBe(200);
    const data = response.json<IngestResponse>().data;
    expect({ accepted: data.accepted, duplicates: data.duplicates }).toEqual({ accepted: 3, duplicates: 0 });
    expect(data.rejected?.map((r) => [r.file, r.file_id, r.offset, r.code])).toEqual([
      [0, 'id-1', 10, 'INVALID_BODY'],
      [0, 'id-1', 20, 'INVALID_BODY'],
      [0, 'id-1', 30, 'INVALID_BODY'],
      [0, 'id-1', 40, 'INVALID_BODY'],
    ]);
    expect(data.rejected?.map((r) => r.message)).toEqual([
      expect.stringContaining('files[0].lines[1].timestamp'),
      expect.stringContaining('files[0].lines[2].end'),
      expect.stringContaining('files[0].lines[4].offset'),
      expect.stringContaining('files[0].lines[5].line'),
    ]);
    expect(await logline('lines')).toEqual(['at 0', 'at 30', 'at 50']);
    // The stored end is the end of the last stored line: a later line after a refused one is not a duplicate.
    const next = await post(JSON.stringify({ host: 'lines', files: [group({ lines: [wireLine(50), wireLine(60)] })] }));
    expect(next.json()).toEqual({ data: { accepted: 1, duplicates: 1 } });
  });

  test('a refused last line does not move the stored end: the same offset sent right later is stored', async () => {
    const first = await post(JSON.stringify({ host: 'last', files: [group({ lines: [wireLine(0), wireLine(10, { timestamp: 'x' })] })] }));
    expect(first.json<IngestResponse>().data).toMatchObject({ accepted: 1, rejected: [{ offset: 10 }] });
    expect((await post(JSON.stringify({ host: 'last', files: [group({ lines: [wireLine(10)] })] }))).json()).toEqual({ data: { accepted: 1, duplicates: 0 } });
    expect(await logline('last')).toEqual(['at 0', 'at 10']);
  });

  test('a line whose end passes the next line is not silently a duplicate: the next is named', async () => {
    const response = await post(JSON.stringify({ host: 'overlap', files: [group({ lines: [wireLine(0, { end: 100 }), wireLine(10), wireLine(100)] })] }));
    expect(response.json<IngestResponse>().data).toMatchObject({ accepted: 2, duplicates: 0, rejected: [{ file: 0, offset: 10, message: expect.stringContaining('files[0].lines[1].offset') }] });
  });

  test('timestamps: the whole signed 64-bit nanosecond range is stored; outside it the line is refused', async () => {
    const times = ['-9223372036854775808', '-62135596800', '-1', '0', '1', '9223372036854775807'];
    const lines = times.map((timestamp, i) => ({ offset: i * 100, timestamp, line: `t ${timestamp}` }));
    const stored = await post(JSON.stringify({ host: 'range', files: [group({ lines })] }));
    expect(stored.json()).toEqual({ data: { accepted: times.length, duplicates: 0 } });
    const entries = (await t.app.inject({ url: '/hosts/range/logs?order=asc', headers: auth() })).json<{ data: { logline: string; timestamp: string; last_modified: string }[] }>().data;
    expect(entries.map((e) => [e.logline, e.timestamp, e.last_modified])).toEqual([
      ['t -9223372036854775808', '1677-09-21T00:12:43.145224192Z', '-9223372036.854775808'],
      ['t -62135596800', '1969-12-31T23:58:57.8644032Z', '-62.1355968'],
      ['t -1', '1969-12-31T23:59:59.999999999Z', '-0.000000001'],
      ['t 0', '1970-01-01T00:00:00Z', '0.0'],
      ['t 1', '1970-01-01T00:00:00.000000001Z', '0.000000001'],
      ['t 9223372036854775807', '2262-04-11T23:47:16.854775807Z', '9223372036.854775807'],
    ]);
    const around = await t.app.inject({ url: '/hosts/range/logs?order=asc&since=1969-12-31T23:59:59Z&until=1970-01-01T00:00:00.000000001Z', headers: auth() });
    expect(around.json<{ data: { logline: string }[] }>().data.map((e) => e.logline)).toEqual(['t -1', 't 0']);
    const histogram = await t.app.inject({ url: '/logs/histogram?host=range&bucket=1s&since=1969-12-31T23:58:00Z&until=1970-01-01T00:00:01Z', headers: auth() });
    expect(histogram.json<{ data: { buckets: unknown[] } }>().data.buckets).toEqual([
      { start: '1969-12-31T23:58:57Z', start_ms: -63000, count: 1 },
      { start: '1969-12-31T23:59:59Z', start_ms: -1000, count: 1 },
      { start: '1970-01-01T00:00:00Z', start_ms: 0, count: 2 },
    ]);
    const bad = ['abc', '1.5', '', '--1', '+1', '99999999999999999999', '9223372036854775808', '-9223372036854775809'];
    const refused = await post(JSON.stringify({ host: 'range-bad', files: [group({ lines: bad.map((timestamp, i) => ({ offset: i * 10, timestamp, line: 'x' })) })] }));
    const data = refused.json<IngestResponse>().data;
    expect(data.accepted).toBe(0);
    expect(data.rejected?.map((r) => r.offset)).toEqual(bad.map((_, i) => i * 10));
    for (const [i, r] of (data.rejected ?? []).entries()) expect(r.message).toContain(`files[0].lines[${i}].timestamp`);
    // A line of the plain shape skips the compiled schema check: its messages are still the schema's.
    const pattern = 'must be a signed decimal string of nanoseconds since the epoch';
    const range = 'is outside the signed 64-bit nanosecond range';
    expect(data.rejected?.map((r) => r.message.endsWith(pattern) ? 'pattern' : r.message.endsWith(range) ? 'range' : r.message)).toEqual(['pattern', 'pattern', 'pattern', 'pattern', 'pattern', 'pattern', 'range', 'range']);
    const shapes = [{ cut: 'yes' }, { end: 1.5 }, { end: 0 }, { fields: { a: 1 } }, { timestamp: 5 }];
    const odd = await post(JSON.stringify({ host: 'range-bad', files: [group({ lines: [...shapes.map((extra, i) => ({ offset: i * 10, timestamp: '1', line: 'x', ...extra })), { offset: 100, timestamp: '1', line: 'ok', cut: false, end: 103, fields: { a: 'b' } }] })] }));
    const oddData = odd.json<IngestResponse>().data;
    expect(oddData.accepted).toBe(1);
    expect(oddData.rejected?.map((r) => r.message)).toEqual(['cut', 'end', 'end', 'fields.a', 'timestamp'].map((field, i): unknown => expect.stringContaining(`files[0].lines[${i}].${field}`)));
  });

  test('groups of one identity continue each other; a refused group does not stop the next', async () => {
    const response = await post(
      JSON.stringify({
        host: 'groups',
        files: [group({ lines: [wireLine(0)] }), group({ filename: 'a\u0000', lines: [wireLine(10)] }), group({ lines: [wireLine(20)] }), group({ lines: [wireLine(5)] })],
      }),
    );
    expect(response.json<IngestResponse>().data).toEqual({
      accepted: 2,
      duplicates: 0,
      rejected: [
        { file: 1, file_id: 'id-1', code: 'INVALID_NAME', message: expect.stringContaining('files[1].filename') },
        { file: 3, file_id: 'id-1', offset: 5, code: 'INVALID_BODY', message: expect.stringContaining('files[3].lines[0].offset') },
      ],
    });
    expect(await logline('groups')).toEqual(['at 0', 'at 20']);
  });

});

describe('POST /ingest: the documented format is the protocol\'s', () => {
  test('/openapi.json describes the full body, the signed timestamp and the rejected list', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, { post: Record<string, unknown> }> }>();
    const post = doc.paths['/ingest']!.post as {
      requestBody: { content: Record<string, { schema: Record<string, unknown> }> };
      responses: Record<string, { content: Record<string, { schema: { properties: { data: { properties: Record<string, unknown> } } } }> }>;
    };
    const body = post.requestBody.content['application/json']!.schema as { properties: { files: { items: { properties: { lines: { items: { properties: { timestamp: { pattern: string } } } } } } } } };
    expect(body.properties.files.items.properties.lines.items.properties.timestamp.pattern).toBe(TIMESTAMP_PATTERN);
    expect(Object.keys(post.responses['200']!.content['application/json']!.schema.properties.data.properties)).toEqual(['accepted', 'duplicates', 'rejected']);
    expect(Object.keys(post.responses)).toContain('500');
  });
});

describe('POST /ingest: bad requests as a whole get a 4xx', () => {
  test('unsupported content type and encoding are 415', async () => {
    for (const headers of <Record<string, string>[]>[{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-encoding': 'lz4' }, { 'content-encoding': 'compress' }]) {
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

  test('a body that claims brotli but is not is a 400 naming brotli', async () => {
    const response = await post(gzipSync('{"host":"a","files":[]}'), { 'content-encoding': 'br' });
    expect(response.statusCode).toBe(400);
    expect(expectErrorShape(response).code).toBe('INVALID_BODY');
    expect(expectErrorShape(response).message).toContain('brotli');
  });

  test('a body that claims zstd but is not, or is cut inside its frame, or asks for a window over 8 MiB, is a 400 naming zstd', async () => {
    const json = Buffer.from('{"host":"a","files":[]}');
    const frame = zstdFrames([json]);
    for (const body of [gzipSync(json), frame.subarray(0, frame.length - 3), zstdFrames([Buffer.alloc(64 * 1024 * 1024, 0x30)], 27)]) {
      const response = await post(body, { 'content-encoding': 'zstd' });
      expect(response.statusCode, response.body).toBe(400);
      expect(expectErrorShape(response).code).toBe('INVALID_BODY');
      expect(expectErrorShape(response).message).toContain('zstd');
    }
  });

  test('one zstd frame is held to the size its header states, and one stating more than the limit is 413', async () => {
    const json = Buffer.from(JSON.stringify(batch('zsize', { lines: [{ offset: 0, timestamp: '1000', line: 'sized' }] })));
    const frame = zstdFrames([json]);
    // A frame this small states its size in one byte, after the magic number and its descriptor.
    expect(frame[4]! & 0xe0).toBe(0x20);
    for (const step of [7, -3]) {
      const lying = Buffer.from(frame);
      lying[5] = lying[5]! + step;
      const response = await post(lying, { 'content-encoding': 'zstd' });
      expect(response.statusCode, response.body).toBe(400);
      expect(expectErrorShape(response).code).toBe('INVALID_BODY');
      expect(expectErrorShape(response).message).toContain('zstd');
    }
    // The same bytes as sent are still accepted.
    expect((await post(frame, { 'content-encoding': 'zstd' })).json()).toEqual({ data: { accepted: 1, duplicates: 0 } });
    // 512 MiB in one frame with an ordinary window, its size in its header: stopped at the
    // 8 MiB limit, never given a buffer of the size it states.
    const big = zstdFrames([Buffer.concat([Buffer.from('{"host":"big","files":[{"file_id":"f","filename":"x","lines":[{"offset":0,"timestamp":"1","line":"'), Buffer.alloc(512 * 1024 * 1024, 0x30)])]);
    expect(big.length).toBeLessThan(1024 * 1024);
    global.gc?.();
    const before = process.memoryUsage().rss;
    const response = await post(big, { 'content-encoding': 'zstd' });
    const grown = process.memoryUsage().rss - before;
    expect(response.statusCode, response.body).toBe(413);
    expect(expectErrorShape(response).message).toContain('decompressed');
    expect(grown).toBeLessThan(128 * 1024 * 1024);
  });

  test('a zstd bomb (1 GiB of zeros in 256 frames of a few hundred bytes) is 413 without memory growth', async () => {
    const head = Buffer.from('{"host":"bomb","files":[{"file_id":"f","filename":"x","lines":[{"offset":0,"timestamp":"1","line":"');
    const zeros = zstdFrames([Buffer.alloc(4 * 1024 * 1024, 0x30)]);
    const bomb = Buffer.concat([zstdFrames([head]), ...Array.from({ length: 256 }, () => zeros)]);
    expect(bomb.length).toBeLessThan(256 * 1024);
    global.gc?.();
    const before = process.memoryUsage().rss;
    const response = await post(bomb, { 'content-encoding': 'zstd' });
    const grown = process.memoryUsage().rss - before;
    expect(response.statusCode).toBe(413);
    expect(expectErrorShape(response).message).toContain('decompressed');
    expect(grown).toBeLessThan(128 * 1024 * 1024);
  });

  test('a brotli bomb (1 GiB of zeros in a few KiB) is 413 without memory growth', async () => {
    const zeros = Buffer.alloc(64 * 1024 * 1024, 0x30);
    const stream = brotliCompressSync(Buffer.concat([Buffer.from('{"host":"bomb","files":[{"file_id":"f","filename":"x","lines":[{"offset":0,"timestamp":"1","line":"'), zeros]), { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } });
    expect(stream.length).toBeLessThan(64 * 1024);
    global.gc?.();
    const before = process.memoryUsage().rss;
    const response = await post(stream, { 'content-encoding': 'br' });
    const grown = process.memoryUsage().rss - before;
    expect(response.statusCode).toBe(413);
    expect(expectErrorShape(response).message).toContain('decompressed');
    expect(grown).toBeLessThan(128 * 1024 * 1024);
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
  const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ offset: (from + i) * 100, timestamp: String(i), line: `line ${from + i} ${'.'.repeat(40)}` }));

  /** An app over a real SQLite store in a fresh folder, its log lines collected. */
  async function sqliteApp(dataDir: string): Promise<{ app: FastifyInstance; store: Store; logged: string[] }> {
    const logged: string[] = [];
    const store = await SqliteStore.open({ dataDir });
    const app = await buildApp({ store, tokens: createTokenSet([{ scope: 'admin', token: TOKENS.admin }]), log: createServerLog({ level: 'warn', write: (line) => void logged.push(line) }) });
    return { app, store, logged };
  }

  test('a corrupt database is a 500 STORE_DAMAGED naming the file, with the request id, logged once with its stack; not a 503 to retry forever', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'daniel-corrupt-'));
    try {
      const first = await SqliteStore.open({ dataDir });
      await first.append({ host: 'h', files: [{ fileId: 'f', filename: 'x', path: '', lines: lines(0, 2000).map((l) => ({ offset: l.offset, end: l.offset + 50, timestamp: 1n, line: l.line, cut: false })) }], receivedAt: 1n });
      await first.close();
      // Overwrite the second half of the database file: it opens, but its pages are garbage.
      const file = join(dataDir, 'daniel.db');
      const size = statSync(file).size;
      const start = Math.floor(size / 2 / 8192) * 8192;
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.alloc(size - start, 0xa5), 0, size - start, start);
      closeSync(fd);
      const { app, store, logged } = await sqliteApp(dataDir);
      try {
        const response = await ingest(app, { host: 'h', files: [{ file_id: 'f', filename: 'x', lines: lines(2000, 3) }] }, TOKENS.admin);
        expect(response.statusCode, response.body).toBe(500);
        const error = expectErrorShape(response);
        expect(error.code).toBe('STORE_DAMAGED');
        expect(error.message).toMatch(/request [\w-]+/);
        expect(error.message).toContain('malformed');
        expect(error.message).toContain(file);
        expect(response.headers['retry-after']).toBeUndefined();
        const failures = logged.map((line) => JSON.parse(line) as { msg: string; reqId: string; err: { cause?: { code?: string; stack?: string } } });
        expect(failures).toHaveLength(1);
        expect(failures[0]!.msg).toBe('store failure');
        expect(error.message).toContain(failures[0]!.reqId);
        expect(failures[0]!.err.cause?.code).toBe('SQLITE_CORRUPT');
        expect(failures[0]!.err.cause?.stack).toContain('at ');
      } finally {
        await app.close();
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a store that stays busy (another writer holds the lock) is 503 STORE_UNAVAILABLE with Retry-After', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'daniel-busy-'));
    const { app, store } = await sqliteApp(dataDir);
    const other = new Database(join(dataDir, 'daniel.db'));
    try {
      other.exec('BEGIN EXCLUSIVE');
      const response = await ingest(app, { host: 'h', files: [{ file_id: 'f', filename: 'x', lines: lines(0, 3) }] }, TOKENS.admin);
      expect(response.statusCode, response.body).toBe(503);
      expect(expectErrorShape(response).code).toBe('STORE_UNAVAILABLE');
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      other.exec('ROLLBACK');
      // Once the lock is gone, the same batch is stored.
      expect((await ingest(app, { host: 'h', files: [{ file_id: 'f', filename: 'x', lines: lines(0, 3) }] }, TOKENS.admin)).json()).toEqual({ data: { accepted: 3, duplicates: 0 } });
    } finally {
      other.close();
      await app.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a store whose service cannot be reached is 503 with Retry-After; a bug in it is a 500', async () => {
    for (const [failure, status, code] of [
      [new StoreUnavailableError('DynamoDB cannot answer right now; retry later'), 503, 'STORE_UNAVAILABLE'],
      [new TypeError("Cannot read properties of undefined (reading 'end')"), 500, 'INTERNAL'],
    ] as const) {
      const failing = { ...t.store, kind: 'memory', append: () => Promise.reject(failure), close: () => Promise.resolve() } as unknown as Store;
      const app = await buildApp({ store: failing, tokens: createTokenSet([{ scope: 'admin', token: TOKENS.admin }]) });
      try {
        const response = await ingest(app, andynewmanBatch(), TOKENS.admin);
        expect(response.statusCode).toBe(status);
        expect(expectErrorShape(response).code).toBe(code);
        expect(response.headers['retry-after'] !== undefined).toBe(status === 503);
      } finally {
        await app.close();
      }
    }
  });
});

describe('POST /ingest: fields and labels the source gives', () => {
  test("a group's labels and a line's fields are stored, returned and queryable; the line's own win", async () => {
    const body = {
      host: 'fields-host',
      files: [
        {
          file_id: 'f-1',
          filename: 'svc.log',
          labels: { service: 'api', team: 'core' },
          lines: [
            { offset: 0, timestamp: '1700000000000000000', line: 'first', fields: { stream: 'stderr', team: 'edge' } },
            { offset: 6, timestamp: '1700000000000000001', line: 'second' },
          ],
        },
      ],
    };
    expect((await ingest(t.app, body, TOKENS.ingest)).json()).toEqual({ data: { accepted: 2, duplicates: 0 } });
    type Entries = { data: { logline: string; fields?: Record<string, string> }[] };
    const read = async (q: string): Promise<Entries> =>
      (await t.app.inject({ method: 'GET', url: `/hosts/fields-host/logs?order=asc&q=${encodeURIComponent(q)}`, headers: auth(TOKENS.read) })).json<Entries>();
    const all = await read('service:api');
    expect(all.data.map((e) => [e.logline, e.fields])).toEqual([
      ['first', { service: 'api', team: 'edge', stream: 'stderr' }],
      ['second', { service: 'api', team: 'core' }],
    ]);
    expect((await read('stream:stderr')).data.map((e) => e.logline)).toEqual(['first']);
    expect((await read('team:core')).data.map((e) => e.logline)).toEqual(['second']);
  });

  test('non-string field values refuse the line alone; fields past the limits are dropped and the line kept', async () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v']));
    const body = {
      host: 'fields-host-2',
      files: [
        {
          file_id: 'f-2',
          filename: 'svc.log',
          lines: [
            { offset: 0, timestamp: '1700000000000000000', line: 'bad', fields: { n: 5 } },
            { offset: 4, timestamp: '1700000000000000001', line: 'many', fields: { ...many, ['x'.repeat(200)]: 'long name', big: 'v'.repeat(5000) } },
          ],
        },
        { file_id: 'f-3', filename: 'other.log', labels: { bad: ['x'] }, lines: [{ offset: 0, timestamp: '1', line: 'refused group' }] },
      ],
    };
    const response = await ingest(t.app, body, TOKENS.ingest);
    const data = response.json<IngestResponse>().data;
    expect(data.accepted).toBe(1);
    expect(data.rejected?.map((r) => [r.file, r.offset, r.code])).toEqual([
      [0, 0, 'INVALID_BODY'],
      [1, undefined, 'INVALID_BODY'],
    ]);
    const read = (await t.app.inject({ method: 'GET', url: '/hosts/fields-host-2/logs', headers: auth(TOKENS.read) })).json<{ data: { logline: string; fields: Record<string, string> }[] }>();
    expect(read.data.map((e) => e.logline)).toEqual(['many']);
    const names = Object.keys(read.data[0]!.fields);
    expect(names.length).toBeLessThanOrEqual(64);
    expect(names).not.toContain('big');
    expect(names.some((name) => name.length > 128)).toBe(false);
  });
});

describe('POST /ingest: bounds on file entries', () => {
  const group = (i: number, lines = 1): unknown => ({
    file_id: `bound-${i}`,
    filename: `f${i}.log`,
    lines: Array.from({ length: lines }, (_, n) => ({ offset: n * 100, timestamp: '1000', line: `line ${n} of ${i}` })),
  });

  test(`more than ${MAX_INGEST_FILES} file groups in one request: 400 TOO_MANY_FILES and nothing stored`, async () => {
    const files = Array.from({ length: MAX_INGEST_FILES + 1 }, (_, i) => group(i));
    await expect400({ host: 'many-groups', files }, 'TOO_MANY_FILES', `${MAX_INGEST_FILES + 1} file groups`);
    expect((await t.app.inject({ url: '/hosts/many-groups/', headers: auth() })).statusCode).toBe(404);
    // At the bound it is one request like any other.
    const ok = await post(JSON.stringify({ host: 'many-groups', files: files.slice(0, MAX_INGEST_FILES) }));
    expect(ok.json()).toEqual({ data: { accepted: MAX_INGEST_FILES, duplicates: 0 } });
  });

  test('past the distinct identities a host may write in a day, new identities are named in rejected with HOST_FILE_LIMIT; known ones and other hosts go on', async () => {
    const small = await startTestApp({ limits: { maxFilesPerHostDay: 3 } });
    try {
      const send = (host: string, files: unknown[]) =>
        small.app.inject({ method: 'POST', url: '/ingest', headers: { ...auth(TOKENS.ingest), 'content-type': 'application/json' }, payload: JSON.stringify({ host, files }) });
      expect((await send('busy', [group(1), group(2)])).json()).toEqual({ data: { accepted: 2, duplicates: 0 } });
      // Identity 1 is known today; 3 fills the bound; 4 and 5 are past it (both their groups named).
      const answer = (await send('busy', [group(1, 2), group(3), group(4), group(5), { file_id: 'bound-4', filename: 'f4.log', lines: [{ offset: 100, timestamp: '1000', line: 'more of 4' }] }])).json<IngestResponse>();
      expect(answer.data.accepted).toBe(2);
      expect(answer.data.duplicates).toBe(1);
      expect(answer.data.rejected?.map((r) => [r.file, r.file_id, r.code])).toEqual([
        [2, 'bound-4', 'HOST_FILE_LIMIT'],
        [3, 'bound-5', 'HOST_FILE_LIMIT'],
        [4, 'bound-4', 'HOST_FILE_LIMIT'],
      ]);
      expect(answer.data.rejected?.[0]?.message).toMatch(/--max-files-per-host-day/);
      const files = (await small.app.inject({ url: '/hosts/busy/files/', headers: auth() })).json<{ data: string[] }>();
      expect(files.data.sort()).toEqual(['f1.log', 'f2.log', 'f3.log']);
      // Another host has its own count.
      expect((await send('quiet', [group(4)])).json()).toEqual({ data: { accepted: 1, duplicates: 0 } });
    } finally {
      await small.close();
    }
  });
});
