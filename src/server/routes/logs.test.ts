import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { IngestLine } from '../../protocol/ingest.js';
import type { SearchQuery } from '../../storage/store.js';
import { buildApp } from '../app.js';
import { createTokenSet } from '../tokens.js';
import { andynewmanBatch, auth, expectErrorShape, ingest, startTestApp, TOKENS, type TestApp } from '../../../test/server/helpers.js';

let t: TestApp;
const T0 = 1_700_000_000_000_000_000n;
const SECOND = 1_000_000_000n;

function lines(count: number, startSecond: number, text: (i: number) => string): IngestLine[] {
  let offset = 0;
  return Array.from({ length: count }, (_, i) => {
    const line = text(i);
    const entry = { offset, timestamp: String(T0 + BigInt(startSecond + i) * SECOND), line };
    offset += Buffer.byteLength(line) + 1;
    return entry;
  });
}

beforeAll(async () => {
  t = await startTestApp();
  await ingest(t.app, andynewmanBatch());
  await ingest(t.app, { host: 'web1', files: [{ file_id: 'w1', filename: 'access.log', lines: lines(5, 0, (i) => `GET /page/${i} status=200`) }] });
  await ingest(t.app, { host: 'web2', files: [{ file_id: 'w2', filename: 'access.log', lines: lines(5, 100, (i) => `GET /other/${i} STATUS=500`) }] });
});

afterAll(async () => {
  await t.close();
});

const get = async (url: string) => t.app.inject({ method: 'GET', url, headers: auth(TOKENS.read) });
const loglines = async (url: string): Promise<string[]> => {
  const response = await get(url);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ data: { logline: string }[] }>().data.map((e) => e.logline);
};

describe('GET /logs', () => {
  test('searches every host, newest first; host= is repeatable', async () => {
    const all = await loglines('/logs?count=10000');
    expect(all).toHaveLength(16);
    expect(all[0]).toBe('GET /other/4 STATUS=500');
    expect(await loglines('/logs?host=web1&host=web2&count=3&order=asc')).toEqual(['GET /page/0 status=200', 'GET /page/1 status=200', 'GET /page/2 status=200']);
    expect(await loglines('/logs?host=nobody')).toEqual([]);
  });

  test('since (inclusive), until (exclusive), RFC 3339 and epoch forms', async () => {
    const since = new Date(Number((T0 + 2n * SECOND) / 1_000_000n)).toISOString();
    const until = String((T0 + 4n * SECOND) / SECOND);
    expect(await loglines(`/logs?host=web1&order=asc&since=${since}&until=${until}`)).toEqual(['GET /page/2 status=200', 'GET /page/3 status=200']);
    expect(await loglines('/logs?since=1h')).toEqual([]);
    // Epoch digits of any length up to 10 are seconds: 0 is the epoch itself.
    expect(await loglines('/logs?since=0&count=10000')).toHaveLength(16);
    expect(await loglines(`/logs?host=web1&order=asc&since=0&until=${(T0 + 2n * SECOND) / SECOND}`)).toEqual(['GET /page/0 status=200', 'GET /page/1 status=200']);
  });

  test('case=insensitive applies to filter and regex', async () => {
    expect(await loglines('/logs?filter=status=500')).toEqual([]);
    expect(await loglines('/logs?filter=status=500&case=insensitive')).toHaveLength(5);
    expect(await loglines('/logs?regex=^GET /page/[0-2] &order=asc')).toEqual(['GET /page/0 status=200', 'GET /page/1 status=200', 'GET /page/2 status=200']);
    expect(await loglines('/logs?regex=get /OTHER/4&case=insensitive')).toEqual(['GET /other/4 STATUS=500']);
  });

  test('answers JSON with every entry field in the schema order, escaping what JSON must', async () => {
    const text = 'quote " backslash \\ tab \t bell \u0007 é 😀 \u2028';
    await ingest(t.app, { host: 'odd', files: [{ file_id: 'o1', filename: 'odd.log', lines: [{ offset: 0, end: 9000, timestamp: String(T0), line: text, cut: true }] }] });
    const response = await get('/hosts/odd/logs');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const [entry] = response.json<{ data: Record<string, unknown>[] }>().data;
    expect(entry?.logline).toBe(text);
    expect(Object.keys(entry!)).toEqual(['filename', 'last_modified', 'logline', 'host', 'timestamp', 'path', 'offset', 'file_id', 'seq', 'cut', 'cursor']);
    expect(entry).toMatchObject({ filename: 'odd.log', host: 'odd', offset: 0, file_id: 'o1', cut: true });
    expect(entry?.seq).toBe(await t.store.lastSeq());
  });

  test('a filter full of SQL or FTS syntax is only text', async () => {
    const nasty = ["' OR 1=1 --", '"; DROP TABLE lines; --', 'NEAR(a b)', 'a* OR b', '%', '_', '\\'];
    await ingest(t.app, { host: 'sql', files: [{ file_id: 's', filename: 'q', lines: lines(nasty.length, 0, (i) => `value ${nasty[i]}`) }] });
    for (const text of nasty) {
      expect(await loglines(`/logs?host=sql&filter=${encodeURIComponent(text)}`), text).toEqual([`value ${text}`]);
    }
  });

  test('a pathological regex is answered quickly (linear-time engine)', async () => {
    await ingest(t.app, { host: 'redos', files: [{ file_id: 'r', filename: 'r', lines: lines(50, 0, () => 'a'.repeat(40) + '!') }] });
    // With a backtracking engine this pattern takes ~2^40 steps per line: the test would time out.
    expect(await loglines(`/logs?host=redos&regex=${encodeURIComponent('^(a+)+$')}`)).toEqual([]);
    expect(await loglines(`/logs?host=redos&count=1&regex=${encodeURIComponent('(a|aa)+!')}`)).toHaveLength(1);
  }, 20_000);

  test('a regex that cannot run in linear time is a 400 INVALID_REGEX', async () => {
    for (const pattern of ['(a)\\1', '(?=a)b', '[']) {
      const response = await get(`/logs?regex=${encodeURIComponent(pattern)}`);
      expect(response.statusCode, pattern).toBe(400);
      expect(expectErrorShape(response).code).toBe('INVALID_REGEX');
    }
  });

  test('bad parameters are 400s naming them', async () => {
    for (const [query, name] of [
      ['since=yesterday', 'since'],
      ['until=2021-13-45T00:00:00Z', 'until'],
      ['order=up', 'order'],
      ['case=maybe', 'case'],
      ['timeout=forever', 'timeout'],
      ['timeout=2m', 'timeout'],
      ['follow=perhaps', 'follow'],
    ]) {
      const response = await get(`/logs?${query}`);
      expect(response.statusCode, query).toBe(400);
      const error = expectErrorShape(response);
      expect(error.code).toBe('INVALID_PARAMETER');
      expect(error.message).toContain(name as string);
    }
    const cursor = await get('/logs?cursor=not-a-cursor');
    expect(expectErrorShape(cursor).code).toBe('INVALID_CURSOR');
  });
});

describe('cursor paging', () => {
  test('following next never repeats or skips a line, even while ingest goes on', async () => {
    const host = 'pager';
    await ingest(t.app, { host, files: [{ file_id: 'p1', filename: 'p', lines: lines(120, 1000, (i) => `first ${i}`) }] });
    await ingest(t.app, { host: `${host}2`, files: [{ file_id: 'p2', filename: 'p', lines: lines(120, 1000, (i) => `second ${i}`) }] });
    const seen: string[] = [];
    let url: string | undefined = `/logs?host=${host}&host=${host}2&count=25`;
    let round = 0;
    while (url !== undefined) {
      const response = await get(url);
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      seen.push(...body.data.map((e: { logline: string }) => e.logline));
      url = body.next === undefined ? undefined : new URL(body.next).pathname + new URL(body.next).search;
      // New lines land in the middle of the range being paged: they must not show up in it.
      round += 1;
      await ingest(t.app, { host, files: [{ file_id: `late${round}`, filename: 'p', lines: lines(3, 1050, (i) => `late ${round}.${i}`) }] });
    }
    expect(seen).toHaveLength(240);
    expect(new Set(seen).size).toBe(240);
    expect(seen.some((line) => line.startsWith('late'))).toBe(false);
    expect(seen.slice(0, 2).sort()).toEqual(['first 119', 'second 119']);
  });

  test("an entry's cursor resumes right after it", async () => {
    const page = (await get('/logs?host=web1&order=asc')).json().data;
    const resumed = await loglines(`/logs?host=web1&order=asc&cursor=${encodeURIComponent(page[1].cursor)}`);
    expect(resumed).toEqual(page.slice(2).map((e: { logline: string }) => e.logline));
  });
});

describe('time budget', () => {
  test('a search past its budget answers partial with a cursor that continues it', async () => {
    // The memory store checks the deadline before it scans: with it, a slow search is partial for sure.
    const memory = await startTestApp({ storeKind: 'memory' });
    await ingest(memory.app, { host: 'web1', files: [{ file_id: 'w1', filename: 'access.log', lines: lines(5, 0, (i) => `GET /page/${i} status=200`) }] });
    const slowStore = new Proxy(memory.store, {
      get(target, property, receiver) {
        if (property === 'search') {
          return async (query: SearchQuery) => {
            await sleep(30);
            return target.search(query);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const app = await buildApp({ store: slowStore, tokens: createTokenSet([{ scope: 'read', token: TOKENS.read }]) });
    try {
      const first = await app.inject({ url: '/logs?host=web1&timeout=1ms', headers: auth(TOKENS.read) });
      expect(first.statusCode).toBe(200);
      const body = first.json();
      expect(body.partial).toBe(true);
      expect(body.next).toContain('cursor=');
      const next = new URL(body.next);
      next.searchParams.set('timeout', '30s');
      const rest = await app.inject({ url: next.pathname + next.search, headers: auth(TOKENS.read) });
      const all = [...body.data, ...rest.json().data].map((e: { logline: string }) => e.logline);
      expect(all).toEqual(['GET /page/4 status=200', 'GET /page/3 status=200', 'GET /page/2 status=200', 'GET /page/1 status=200', 'GET /page/0 status=200']);
    } finally {
      await app.close();
      await memory.close();
    }
  });
});

describe('GET /logs/context', () => {
  test('gives the lines around one line by file order', async () => {
    const response = await get('/logs/context?host=web1&file_id=w1&offset=' + lines(5, 0, (i) => `GET /page/${i} status=200`)[2]!.offset + '&before=1&after=5');
    expect(response.statusCode).toBe(200);
    const { data } = response.json();
    expect(data.before.map((e: { logline: string }) => e.logline)).toEqual(['GET /page/1 status=200']);
    expect(data.line.logline).toBe('GET /page/2 status=200');
    expect(data.after.map((e: { logline: string }) => e.logline)).toEqual(['GET /page/3 status=200', 'GET /page/4 status=200']);
    expect(data.line).toMatchObject({ host: 'web1', filename: 'access.log', file_id: 'w1' });
  });

  test('unknown line or host is a 404; missing or bad parameters a 400', async () => {
    expect(expectErrorShape(await get('/logs/context?host=web1&file_id=w1&offset=3')).code).toBe('LINE_NOT_FOUND');
    expect(expectErrorShape(await get('/logs/context?host=ghost&file_id=w1&offset=0')).code).toBe('HOST_NOT_FOUND');
    for (const [query, name] of [
      ['file_id=w1&offset=0', 'host'],
      ['host=web1&offset=0', 'file_id'],
      ['host=web1&file_id=w1', 'offset'],
      ['host=web1&file_id=w1&offset=-1', 'offset'],
      ['host=web1&file_id=w1&offset=0&before=1001', 'before'],
    ]) {
      const response = await get(`/logs/context?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(expectErrorShape(response).message).toContain(name as string);
    }
  });
});

describe('GET /logs/histogram', () => {
  test('counts per bucket with the filters of /logs', async () => {
    const response = await get('/logs/histogram?host=web1&host=web2&bucket=1m');
    expect(response.statusCode).toBe(200);
    const { data } = response.json();
    expect(data.bucket_ms).toBe(60_000);
    expect(data.buckets.reduce((sum: number, b: { count: number }) => sum + b.count, 0)).toBe(10);
    for (const bucket of data.buckets) {
      expect(bucket.start_ms % 60_000).toBe(0);
      expect(new Date(bucket.start).getTime()).toBe(bucket.start_ms);
    }
    const filtered = (await get('/logs/histogram?host=web2&filter=STATUS=500&bucket=1h')).json().data;
    expect(filtered.buckets.map((b: { count: number }) => b.count)).toEqual([5]);
  });

  test('the default bucket gives about 100 buckets over the range', async () => {
    expect((await get('/logs/histogram?since=2h')).json().data.bucket_ms).toBe(120_000);
    expect((await get('/logs/histogram?since=7d')).json().data.bucket_ms).toBe(7_200_000);
  });

  test('a bad bucket is a 400 naming it', async () => {
    for (const bucket of ['0s', 'soon', '400d']) {
      const response = await get(`/logs/histogram?bucket=${bucket}`);
      expect(response.statusCode, bucket).toBe(400);
      expect(expectErrorShape(response).message).toContain('bucket');
    }
  });
});

describe('paging: the page after the one answered is made ahead', () => {
  const metric = async (name: string): Promise<number> => {
    const text = (await t.app.inject({ method: 'GET', url: '/metrics', headers: auth(TOKENS.admin) })).body;
    return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  };
  const pathOf = (url: string): string => new URL(url).pathname + new URL(url).search;
  /** Every page of `url`, following `next`; `between` runs before each next page. */
  const pageAll = async (url: string, between?: () => Promise<unknown>): Promise<string[]> => {
    const cursors: string[] = [];
    for (let next: string | undefined = url; next !== undefined; ) {
      const response = await get(next);
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json<{ data: { cursor: string; logline: string }[]; next?: string }>();
      cursors.push(...body.data.map((entry) => `${entry.logline}|${entry.cursor}`));
      next = body.next === undefined ? undefined : pathOf(body.next);
      await between?.();
    }
    return cursors;
  };
  const whole = async (url: string): Promise<string[]> =>
    (await get(url)).json<{ data: { cursor: string; logline: string }[] }>().data.map((entry) => `${entry.logline}|${entry.cursor}`);

  beforeAll(async () => {
    await ingest(t.app, { host: 'pager', files: [{ file_id: 'p1', filename: 'pages.log', lines: lines(57, 1000, (i) => `page line ${i} ${i % 3 === 0 ? 'ERROR' : 'INFO'}`) }] });
  });

  test('every page is the one a request would make: the same lines and cursors, each once, in order', async () => {
    const made = await metric('daniel_pages_made_ahead_total');
    const taken = await metric('daniel_pages_ahead_taken_total');
    for (const query of ['host=pager&count=4', 'host=pager&count=5&order=asc', 'host=pager&count=2&filter=ERROR', 'q=ERROR%20OR%20status%3D200&count=3']) {
      const paged = await pageAll(`/logs?${query}`);
      const all = await whole(`/logs?${query.replace(/count=\d+/, 'count=10000')}`);
      expect(paged.map((entry) => entry.split('|')[0]), query).toEqual(all.map((entry) => entry.split('|')[0]));
      expect(new Set(paged).size).toBe(paged.length);
    }
    // Pages from the third on were made ahead, and requests took them.
    expect(await metric('daniel_pages_made_ahead_total')).toBeGreaterThan(made + 10);
    expect(await metric('daniel_pages_ahead_taken_total')).toBeGreaterThan(taken + 10);
  });

  test('a first page of 1,000 lines or more has its next made ahead; a smaller one waits for a followed link', async () => {
    await ingest(t.app, { host: 'bulk', files: [{ file_id: 'b1', filename: 'bulk.log', lines: lines(2100, 20_000, (i) => `bulk line ${i}`) }] });
    const made = await metric('daniel_pages_made_ahead_total');
    const small = (await get('/logs?host=bulk&count=999')).json<{ next: string }>();
    expect(small.next).toBeDefined();
    expect(await metric('daniel_pages_made_ahead_total')).toBe(made);
    const taken = await metric('daniel_pages_ahead_taken_total');
    const paged = await pageAll('/logs?host=bulk&count=1000');
    expect(paged).toHaveLength(2100);
    expect(await metric('daniel_pages_made_ahead_total')).toBe(made + 2);
    expect(await metric('daniel_pages_ahead_taken_total')).toBe(taken + 2);
  });

  test('another search between pages stops the page being made; the paging stays exact', async () => {
    const all = await whole('/logs?host=pager&count=10000');
    const paged = await pageAll('/logs?host=pager&count=6', () => get('/logs?filter=page%20line%2017'));
    expect(paged.map((entry) => entry.split('|')[0])).toEqual(all.map((entry) => entry.split('|')[0]));
  });

  test('lines stored while a paging goes on are not in it, made ahead or not', async () => {
    const before = await whole('/logs?host=pager&count=10000');
    let added = 0;
    const paged = await pageAll('/logs?host=pager&count=7', async () => {
      added += 1;
      await ingest(t.app, { host: 'pager', files: [{ file_id: 'p2', filename: 'later.log', lines: lines(1, 5000 + added, () => `later line ${added}`) }] });
    });
    expect(paged.map((entry) => entry.split('|')[0])).toEqual(before.map((entry) => entry.split('|')[0]));
  });

  test('a relative since or until is pinned in the next link: the paging covers the range of its first page', async () => {
    const first = (await get('/logs?host=pager&count=4&since=36500d&until=now')).json<{ next: string }>();
    const next = new URL(first.next);
    // RFC 3339 times, the ones the first page resolved, which mean the same at every request.
    expect(next.searchParams.get('since')).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
    expect(next.searchParams.get('until')).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
    const all = await whole('/logs?host=pager&count=10000');
    const paged = await pageAll('/logs?host=pager&count=4&since=36500d&until=now');
    expect(paged.map((entry) => entry.split('|')[0])).toEqual(all.map((entry) => entry.split('|')[0]));
    // An absolute time stays as it was given.
    const absolute = new URL((await get('/logs?host=pager&count=4&since=0')).json<{ next: string }>().next);
    expect(absolute.searchParams.get('since')).toBe('0');
    // A relative time before year 0000 has no RFC 3339 form: it stays as given, and the page is answered.
    const ancient = await get('/logs?host=pager&count=4&since=999999999d');
    expect(ancient.statusCode, ancient.body).toBe(200);
    expect(new URL(ancient.json<{ next: string }>().next).searchParams.get('since')).toBe('999999999d');
  });
});
