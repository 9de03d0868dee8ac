import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BINARY_BATCH_TYPE } from '../../protocol/binary-batch.js';
import { binaryBody } from '../../../test/protocol/binary-body.js';
import { wellFormed } from '../../protocol/names.js';
import { MAX_INGEST_FILES, type IngestFile, type IngestRequest } from '../../protocol/ingest.js';
import { auth, expectErrorShape, startTestApp, TOKENS, type TestApp } from '../../../test/server/helpers.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

const postJson = (request: IngestRequest) =>
  t.app.inject({ method: 'POST', url: '/ingest', headers: { ...auth(TOKENS.ingest), 'content-type': 'application/json' }, payload: JSON.stringify(request) });
const postBinary = (payload: Buffer, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url: '/ingest', headers: { ...auth(TOKENS.ingest), 'content-type': BINARY_BATCH_TYPE, ...headers }, payload });

/** What a host's logs answer: its lines in order, or the 404 of a host nothing was stored for. */
async function stored(host: string): Promise<unknown> {
  const response = await t.app.inject({ url: `/hosts/${encodeURIComponent(host)}/logs?order=asc&count=10000`, headers: auth() });
  if (response.statusCode !== 200) return response.statusCode;
  return response.json<{ data: Record<string, unknown>[] }>().data.map(({ logline, timestamp, filename, fields }) => ({ logline, timestamp, filename, fields }));
}

/** A pseudo-random request of texts nobody planned for: quotes, controls, emoji, lone surrogates, bad names, overlapping offsets. */
function randomRequest(seed: number, host: string): IngestRequest {
  let state = seed;
  const next = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const texts = ['plain text', '{"level":"error","msg":"a \\"quoted\\" word"}', 'tab\there', 'nul\u0000 and del\u007f', 'caf\u00e9 \u{1f600}', 'lone \ud800 half', '', 'x'.repeat(5000), 'back\\slash', 'line\nbreak'];
  const names = ['app.log', 'nginx/access.log', '..', 'bad\u0001name', 'caf\u00e9.log'];
  const files: IngestFile[] = [];
  for (let g = 0, groups = 1 + next(4); g < groups; g++) {
    const file: IngestFile = { file_id: `id-${next(3)}`, filename: names[next(names.length)]!, path: `/var/log/${g}`, lines: [] };
    if (next(3) === 0) file.labels = { container: `c${next(5)}` };
    let offset = next(50);
    for (let i = 0, n = next(30); i < n; i++) {
      const text = texts[next(texts.length)]!;
      const line: IngestFile['lines'][number] = { offset, timestamp: String(1_700_000_000_000_000_000n + BigInt(next(1e9))), line: text };
      const bytes = Buffer.byteLength(wellFormed(text), 'utf8');
      if (next(4) === 0) line.end = offset + bytes + 1 + next(5);
      if (next(10) === 0) line.cut = true;
      if (next(8) === 0) line.fields = { stream: next(2) === 0 ? 'stdout' : 'stderr' };
      file.lines.push(line);
      // Now and then a line that overlaps the one before: refused alone.
      offset = (line.end ?? offset + bytes + 1) - (next(12) === 0 ? 3 : 0);
    }
    if (next(2) === 0) file.size = offset + next(100);
    files.push(file);
  }
  return { host, files };
}

describe('POST /ingest: a binary batch', () => {
  test('gets the answer a JSON body of the same request gets, and stores the same lines (200 random requests)', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const json = await postJson(randomRequest(seed, `json-${seed}`));
      // Henrik's writer takes well-formed text: a lone surrogate goes as U+FFFD, as Daniel stores it from JSON.
      const request = randomRequest(seed, `bin-${seed}`);
      for (const file of request.files) for (const line of file.lines) line.line = wellFormed(line.line);
      const binary = await postBinary(binaryBody(request));
      expect(binary.statusCode, binary.body).toBe(json.statusCode);
      expect(binary.json(), `seed ${seed}`).toEqual(json.json());
      if (json.statusCode === 200) expect(await stored(`bin-${seed}`), `seed ${seed}`).toEqual(await stored(`json-${seed}`));
    }
  });

  test('is taken gzip- or zstd-compressed, and a resent one is acknowledged as duplicates', async () => {
    const request: IngestRequest = { host: 'bin-zip', files: [{ file_id: 'z', filename: 'a.log', lines: [{ offset: 0, timestamp: '1', line: 'one' }, { offset: 4, timestamp: '2', line: 'two' }] }] };
    const body = binaryBody(request);
    expect((await postBinary(gzipSync(body), { 'content-encoding': 'gzip' })).json()).toEqual({ data: { accepted: 2, duplicates: 0 } });
    expect((await postBinary(zstdCompress(body), { 'content-encoding': 'zstd' })).json()).toEqual({ data: { accepted: 0, duplicates: 2 } });
  });

  test('a broken body is refused whole with 400 INVALID_BODY naming the byte, random bytes included; the server goes on', async () => {
    const body = binaryBody({ host: 'bin-broken', files: [{ file_id: 'z', filename: 'a.log', lines: [{ offset: 0, timestamp: '1', line: 'one' }] }] });
    for (const payload of [body.subarray(0, body.length - 2), Buffer.concat([body.subarray(0, 8), randomBytes(300)]), randomBytes(5000), Buffer.alloc(0)]) {
      const response = await postBinary(payload);
      expect(response.statusCode, response.body).toBe(400);
      expect(expectErrorShape(response).code).toBe('INVALID_BODY');
    }
    expect(expectErrorShape(await postBinary(body.subarray(0, body.length - 2))).message).toMatch(/broken at byte \d+: it ends early/);
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  test('the guard holds: too many groups, an offset past the reported size, an impersonating host', async () => {
    const many: IngestRequest = { host: 'bin-many', files: Array.from({ length: MAX_INGEST_FILES + 1 }, (_, i) => ({ file_id: `f${i}`, filename: 'a.log', lines: [] })) };
    expect(expectErrorShape(await postBinary(binaryBody(many))).code).toBe('TOO_MANY_FILES');
    const past: IngestRequest = { host: 'bin-past', files: [{ file_id: 'a', filename: 'a.log', lines: [] }, { file_id: 'p', filename: 'a.log', size: 10, lines: [{ offset: 50, timestamp: '1', line: 'x' }] }] };
    const response = await postBinary(binaryBody(past));
    expect(response.statusCode).toBe(400);
    expect(expectErrorShape(response).message).toContain('files[1].lines[0].offset 50 is past the size 10');
    expect(expectErrorShape(await postBinary(binaryBody({ host: 'w\u0435b1', files: [] }))).code).toBe('INVALID_NAME');
  });

  test('is taken by POST /ingest only', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/tokens', headers: { ...auth(TOKENS.admin), 'content-type': BINARY_BATCH_TYPE }, payload: Buffer.from([0, 0x4c, 0x41, 1]) });
    expect(response.statusCode, response.body).toBe(415);
  });
});
