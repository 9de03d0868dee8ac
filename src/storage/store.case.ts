/**
 * The one contract every Store passes (memory, sqlite, dynamodb). Each implementation's own
 * test file calls `runStoreContract` with a factory; the behaviour checked here is what the
 * routes and the CLI rely on. The property test at the end holds the store to the answers
 * of a fresh MemoryStore fed the same appends.
 */
import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { MemoryStore } from './memory/memory-store.js';
import { parseQuery } from '../query/language.js';
import { InvalidCursorError, InvalidPatternError, type AppendFile, type AppendLine, type Matcher, type SearchQuery, type Store, type StoredLine } from './store.js';
import { storeProperties } from './store-properties.case.js';

export interface StoreUnderTest {
  store: Store;
  /** Closes whatever is still open and removes the store's files. */
  cleanup: () => Promise<void>;
  /** Persistent stores: opens the same data again (the test closes the old store first). */
  reopen?: () => Promise<Store>;
}

/**
 * A persistent store under test: `open` opens the same data each time; every store opened is
 * closed on cleanup, then `removeData` (if any) deletes what the store wrote.
 */
export async function reopenableStore(open: () => Promise<Store>, removeData?: () => void): Promise<StoreUnderTest> {
  const opened: Store[] = [];
  const openTracked = async (): Promise<Store> => {
    const store = await open();
    opened.push(store);
    return store;
  };
  return {
    store: await openTracked(),
    reopen: openTracked,
    cleanup: async () => {
      for (const store of opened) await store.close();
      removeData?.();
    },
  };
}

export interface ContractOptions {
  /** Compare against a fresh MemoryStore in the property test (off for the MemoryStore itself). */
  compareWithMemory?: boolean;
  /** Runs of the property test. */
  propertyRuns?: number;
}

export const T0 = 1_700_000_000_000_000_000n;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const SECOND = 1_000_000_000n;

/** Lines of one file identity, each `text` one line, offsets consecutive from `start`. */
export function fileLines(texts: string[], options: { start?: number; ts?: (i: number) => bigint } = {}): AppendLine[] {
  let offset = options.start ?? 0;
  return texts.map((line, i) => {
    const end = offset + Buffer.byteLength(line) + 1;
    const appendLine = { offset, end, timestamp: options.ts ? options.ts(i) : T0 + BigInt(i) * SECOND, line, cut: false };
    offset = end;
    return appendLine;
  });
}

export function appendFile(fileId: string, filename: string, lines: AppendLine[], size?: number): AppendFile {
  return { fileId, filename, path: `/var/log/${filename}`, lines, ...(size === undefined ? {} : { size }) };
}

async function all(store: Store, query: Omit<SearchQuery, 'limit' | 'order'> & Partial<SearchQuery>): Promise<StoredLine[]> {
  const lines: StoredLine[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const result = await store.search({ order: 'desc', limit: 1000, ...query, ...(cursor === undefined ? {} : { cursor }) });
    lines.push(...result.lines);
    if (result.nextCursor === undefined) return lines;
    cursor = result.nextCursor;
  }
  throw new Error('paging did not end');
}

const texts = (lines: StoredLine[]): string[] => lines.map((l) => l.line);

export function runStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>, options: ContractOptions = {}): void {
  describe(`Store contract: ${name}`, () => {
    async function withStore(body: (store: Store, under: StoreUnderTest) => Promise<void>): Promise<void> {
      const under = await makeStore();
      try {
        await body(under.store, under);
      } finally {
        await under.cleanup();
      }
    }

    it('stores a batch once: a resent batch is all duplicates, an overlapping one partly', () =>
      withStore(async (store) => {
        const lines = fileLines(['one', 'two', 'three', 'four', 'five']);
        const first = { host: 'h', files: [appendFile('id1', 'syslog', lines.slice(0, 3))], receivedAt: T0 };
        expect(await store.append(first)).toMatchObject({ accepted: 3, duplicates: 0 });
        expect(await store.append(first)).toMatchObject({ accepted: 0, duplicates: 3 });
        const overlap = { host: 'h', files: [appendFile('id1', 'syslog', lines.slice(1))], receivedAt: T0 + SECOND };
        expect(await store.append(overlap)).toMatchObject({ accepted: 2, duplicates: 2 });
        expect(texts(await all(store, {}))).toEqual(['five', 'four', 'three', 'two', 'one']);
        expect(await store.lastSeq()).toBe(5);
        // The same offsets under another identity or host are other lines.
        expect(await store.append({ host: 'h', files: [appendFile('id2', 'syslog', lines.slice(0, 1))], receivedAt: T0 })).toMatchObject({ accepted: 1, duplicates: 0 });
        expect(await store.append({ host: 'g', files: [appendFile('id1', 'syslog', lines.slice(0, 1))], receivedAt: T0 })).toMatchObject({ accepted: 1, duplicates: 0 });
      }));

    it('reports the lines an append stored (when it does) as tail reads them back', () =>
      withStore(async (store) => {
        const first = await store.append({ host: 'h', files: [appendFile('id1', 'app', fileLines(['one', 'two'])), appendFile('id2', 'web', fileLines(['x']))], receivedAt: T0 });
        if (first.stored === undefined) return; // the store does not report them: the alert evaluator reads them back
        const withFields = fileLines(['one', 'two', 'three', 'four']).slice(1).map((line, i) => (i === 2 ? { ...line, fields: { unit: 'cron' } } : line));
        const second = await store.append({ host: 'h', files: [appendFile('id1', 'app', withFields)], receivedAt: T0 + SECOND });
        const reported = [...first.stored, ...(second.stored ?? [])].flatMap((run) =>
          run.lines.map((line) => ({ ...line, host: run.host, fileId: run.fileId, filename: run.filename, path: run.path })),
        );
        const read = (await store.tail({ afterSeq: 0, limit: 100 })).lines;
        expect(reported.map((line) => line.seq)).toEqual([1, 2, 3, 4, 5]);
        expect(reported).toEqual(read);
        expect(second.stored?.map((run) => run.lines.map((line) => line.line))).toEqual([['three', 'four']]);
      }));

    it('summarises hosts and files: lines, bytes, last seen, lag and identities', () =>
      withStore(async (store) => {
        await store.append({ host: 'web', files: [appendFile('old', 'app.log', fileLines(['héllo', 'b']), 100)], receivedAt: T0 });
        await store.append({ host: 'web', files: [appendFile('new', 'app.log', fileLines(['c'])), appendFile('s1', 'sys', fileLines(['x']))], receivedAt: T0 + 5n });
        await store.append({ host: 'db', files: [appendFile('d1', 'pg.log', fileLines(['q']))], receivedAt: T0 + 2n });
        // A size report without lines updates the lag only.
        await store.append({ host: 'web', files: [appendFile('new', 'app.log', [], 50)], receivedAt: T0 + 3n });
        expect(await store.hosts()).toEqual([
          { host: 'db', lastSeen: T0 + 2n, lines: 1, bytes: 1 },
          { host: 'web', lastSeen: T0 + 5n, lines: 4, bytes: 6 + 1 + 1 + 1 },
        ]);
        expect(await store.files('web')).toEqual([
          { host: 'web', filename: 'app.log', path: '/var/log/app.log', lastSeen: T0 + 5n, lines: 3, bytes: 8, offset: 2, size: 50, fileIds: ['new', 'old'] },
          { host: 'web', filename: 'sys', path: '/var/log/sys', lastSeen: T0 + 5n, lines: 1, bytes: 1, offset: 2, size: null, fileIds: ['s1'] },
        ]);
        expect(await store.files('nobody')).toBeNull();
      }));

    it('searches newest first by timestamp, ties by offset then by the order lines arrived in (seq); asc reverses it', () =>
      withStore(async (store) => {
        const same = (): bigint => T0;
        await store.append({ host: 'a', files: [appendFile('f', 'log', fileLines(['a0', 'a1', 'a2'], { ts: same }))], receivedAt: T0 });
        await store.append({ host: 'b', files: [appendFile('f', 'log', fileLines(['b0', 'b1'], { ts: same }))], receivedAt: T0 });
        await store.append({ host: 'a', files: [appendFile('g', 'other', fileLines(['late'], { ts: () => T0 + 1n }))], receivedAt: T0 });
        const desc = texts(await all(store, { order: 'desc' }));
        expect(desc).toEqual(['late', 'a2', 'b1', 'a1', 'b0', 'a0']);
        expect(texts(await all(store, { order: 'asc' }))).toEqual([...desc].reverse());
        const first = (await store.search({ order: 'desc', limit: 1 })).lines[0]!;
        expect(first).toEqual({ host: 'a', fileId: 'g', filename: 'other', path: '/var/log/other', offset: 0, end: 5, timestamp: T0 + 1n, line: 'late', cut: false, seq: 6 });
      }));

    it('filters by substring (case-sensitive or not), regex, files, hosts and time', () =>
      withStore(async (store) => {
        const lines = ['Error: disk full', 'error: retry', 'ok ÄRGER', 'all fine', "'; DROP TABLE lines; --", '"NEAR(a b)" OR *'];
        await store.append({ host: 'h1', files: [appendFile('1', 'app', fileLines(lines)), appendFile('2', 'sys', fileLines(['sys error']))], receivedAt: T0 });
        await store.append({ host: 'h2', files: [appendFile('1', 'app', fileLines(['h2 Error']))], receivedAt: T0 });
        const sub = (text: string, caseInsensitive = false) => ({ match: [{ kind: 'substring' as const, text, caseInsensitive }] });
        expect(texts(await all(store, sub('Error')))).toEqual(['h2 Error', 'Error: disk full']);
        expect(texts(await all(store, { ...sub('error'), hosts: ['h1'] }))).toEqual(['error: retry', 'sys error']);
        expect(new Set(texts(await all(store, sub('ERROR', true))))).toEqual(new Set(['Error: disk full', 'error: retry', 'sys error', 'h2 Error']));
        expect(texts(await all(store, sub('ärger', true)))).toEqual(['ok ÄRGER']);
        expect(texts(await all(store, sub("'; DROP TABLE lines; --")))).toEqual(["'; DROP TABLE lines; --"]);
        expect(texts(await all(store, sub('"NEAR(a b)" OR *')))).toEqual(['"NEAR(a b)" OR *']);
        expect(texts(await all(store, sub('%')))).toEqual([]);
        expect(texts(await all(store, sub('')))).toHaveLength(8);
        expect(texts(await all(store, { match: [{ kind: 'regex', pattern: '^[Ee]rror: \\w+$', caseInsensitive: false }] }))).toEqual(['error: retry']);
        expect(texts(await all(store, { match: [{ kind: 'regex', pattern: '^error', caseInsensitive: true }] }))).toEqual(['error: retry', 'Error: disk full']);
        expect(texts(await all(store, { match: [sub('rror').match[0]!, { kind: 'regex', pattern: 'disk|h2', caseInsensitive: false }] }))).toEqual(['h2 Error', 'Error: disk full']);
        expect(texts(await all(store, { files: ['sys'] }))).toEqual(['sys error']);
        expect(texts(await all(store, { files: ['sys', 'app'], hosts: ['h2'] }))).toEqual(['h2 Error']);
        expect(texts(await all(store, { hosts: ['nobody'] }))).toEqual([]);
        // since is inclusive, until exclusive.
        expect(texts(await all(store, { hosts: ['h1'], files: ['app'], since: T0 + 2n * SECOND, until: T0 + 4n * SECOND }))).toEqual(['all fine', 'ok ÄRGER']);
      }));

    it('rejects regexes that cannot run in linear time and answers pathological ones quickly', () =>
      withStore(async (store) => {
        await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['a'.repeat(30_000) + '!']))], receivedAt: T0 });
        await expect(store.search({ order: 'desc', limit: 10, match: [{ kind: 'regex', pattern: '(a)\\1', caseInsensitive: false }] })).rejects.toBeInstanceOf(InvalidPatternError);
        await expect(store.search({ order: 'desc', limit: 10, match: [{ kind: 'regex', pattern: '(?<=a)b', caseInsensitive: false }] })).rejects.toBeInstanceOf(InvalidPatternError);
        await expect(store.search({ order: 'desc', limit: 10, match: [{ kind: 'regex', pattern: '[', caseInsensitive: false }] })).rejects.toBeInstanceOf(InvalidPatternError);
        const started = performance.now();
        const page = await store.search({ order: 'desc', limit: 10, match: [{ kind: 'regex', pattern: '(a+)+$', caseInsensitive: false }] });
        expect(page.lines).toEqual([]);
        expect(performance.now() - started).toBeLessThan(5_000);
      }));

    it('pages with cursors: no repeat, no skip, and later lines stay out of the paging', () =>
      withStore(async (store) => {
        const many = Array.from({ length: 25 }, (_, i) => `line ${i}`);
        await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(many, { ts: (i) => T0 + BigInt(i % 7) * SECOND }))], receivedAt: T0 });
        await store.append({ host: 'g', files: [appendFile('1', 'app', fileLines(many.slice(0, 5), { ts: (i) => T0 + BigInt(i) * SECOND }))], receivedAt: T0 });
        for (const order of ['desc', 'asc'] as const) {
          const expected = await all(store, { order, limit: 10_000 });
          expect(expected.length).toBeGreaterThanOrEqual(30);
          const seen: StoredLine[] = [];
          let page = await store.search({ order, limit: 7 });
          let round = 0;
          for (;;) {
            seen.push(...page.lines);
            if (page.nextCursor === undefined) break;
            // Ingest goes on between pages, older and newer than the position reached.
            const start = 10_000 * ++round + (order === 'asc' ? 100_000 : 0);
            await store.append({ host: 'h', files: [appendFile(`late-${order}-${round}`, 'app', fileLines(['late new', 'late old'], { start, ts: (i) => (i === 0 ? T0 + 100n * SECOND : T0 - SECOND) }))], receivedAt: T0 });
            page = await store.search({ order, limit: 7, cursor: page.nextCursor });
          }
          expect(seen).toEqual(expected);
        }
      }));

    it('rejects malformed cursors and cursors of another query', () =>
      withStore(async (store) => {
        await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['a', 'b', 'c']))], receivedAt: T0 });
        const page = await store.search({ order: 'desc', limit: 1 });
        expect(page.nextCursor).toBeDefined();
        await expect(store.search({ order: 'desc', limit: 1, cursor: 'not a cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(store.search({ order: 'desc', limit: 1, cursor: Buffer.from('{"v":1}').toString('base64url') })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(store.search({ order: 'asc', limit: 1, cursor: page.nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(store.search({ order: 'desc', limit: 1, hosts: ['h'], cursor: page.nextCursor! })).rejects.toBeInstanceOf(InvalidCursorError);
        // The page size may change between pages.
        expect(texts((await store.search({ order: 'desc', limit: 5, cursor: page.nextCursor! })).lines)).toEqual(['b', 'a']);
      }));

    it('returns partial results with a cursor that continues correctly when the deadline has passed', () =>
      withStore(async (store) => {
        for (let batch = 0; batch < 5; batch++) {
          const lines = Array.from({ length: 40 }, (_, i) => `batch ${batch} line ${i} ${i % 3 === 0 ? 'needle' : ''}`);
          await store.append({ host: `h${batch % 2}`, files: [appendFile(`f${batch}`, 'app', fileLines(lines, { ts: (i) => T0 + BigInt(i * 5 + batch) }))], receivedAt: T0 });
        }
        const filter = { match: [{ kind: 'substring' as const, text: 'needle', caseInsensitive: false }] };
        const expected = await all(store, { ...filter, limit: 10_000 });
        const first = await store.search({ order: 'desc', limit: 10, ...filter, deadline: performance.now() - 1_000 });
        expect(first.partial).toBe(true);
        expect(first.nextCursor).toBeDefined();
        const rest = await all(store, { ...filter, limit: 10, cursor: first.nextCursor! });
        expect([...first.lines, ...rest]).toEqual(expected);
      }));

    it('gives the lines around a line by file order, within one file identity', () =>
      withStore(async (store) => {
        const lines = fileLines(['l0', 'l1', 'l2', 'l3', 'l4', 'l5'], { ts: (i) => T0 - BigInt(i) }); // time runs backwards: order is by offset
        await store.append({ host: 'h', files: [appendFile('1', 'app', lines.slice(0, 3))], receivedAt: T0 });
        await store.append({ host: 'h', files: [appendFile('1', 'app', lines.slice(3)), appendFile('2', 'app', fileLines(['other']))], receivedAt: T0 });
        const around = await store.context({ host: 'h', fileId: '1', offset: lines[2]!.offset, before: 2, after: 2 });
        expect(around && { before: texts(around.before), line: around.line.line, after: texts(around.after) }).toEqual({ before: ['l0', 'l1'], line: 'l2', after: ['l3', 'l4'] });
        const edge = await store.context({ host: 'h', fileId: '1', offset: 0, before: 5, after: 10 });
        expect(edge && { before: texts(edge.before), after: texts(edge.after) }).toEqual({ before: [], after: ['l1', 'l2', 'l3', 'l4', 'l5'] });
        expect(await store.context({ host: 'h', fileId: '1', offset: 1, before: 1, after: 1 })).toBeNull();
        expect(await store.context({ host: 'x', fileId: '1', offset: 0, before: 1, after: 1 })).toBeNull();
      }));

    it('counts matching lines per time bucket', () =>
      withStore(async (store) => {
        const ms = 1_000_000n;
        const base = 1_700_000_000_000n * ms; // aligned to 1 s
        await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['a x', 'b', 'c x', 'd x', 'e'], { ts: (i) => base + BigInt([0, 100, 999, 1000, 2500][i]!) * ms }))], receivedAt: T0 });
        expect(await store.histogram({ bucketMs: 1000 })).toEqual({ buckets: [{ startMs: 1_700_000_000_000, count: 3 }, { startMs: 1_700_000_001_000, count: 1 }, { startMs: 1_700_000_002_000, count: 1 }], partial: false });
        expect(await store.histogram({ bucketMs: 1000, match: [{ kind: 'substring', text: 'x', caseInsensitive: false }], until: base + 2000n * ms })).toEqual({
          buckets: [{ startMs: 1_700_000_000_000, count: 2 }, { startMs: 1_700_000_001_000, count: 1 }],
          partial: false,
        });
      }));

    it('tails by seq: only newer lines, filtered, limited, with a resumable lastSeq', () =>
      withStore(async (store) => {
        expect(await store.tail({ afterSeq: 0, limit: 10 })).toEqual({ lines: [], lastSeq: 0 });
        await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['a1', 'b2', 'a3'], { ts: (i) => T0 - BigInt(i) }))], receivedAt: T0 });
        await store.append({ host: 'g', files: [appendFile('1', 'app', fileLines(['a4', 'b5']))], receivedAt: T0 });
        const everything = await store.tail({ afterSeq: 0, limit: 100 });
        expect(texts(everything.lines)).toEqual(['a1', 'b2', 'a3', 'a4', 'b5']);
        expect(everything.lastSeq).toBe(5);
        const cut = await store.tail({ afterSeq: 1, limit: 2 });
        expect(texts(cut.lines)).toEqual(['b2', 'a3']);
        expect(cut.lastSeq).toBe(3);
        const filtered = await store.tail({ afterSeq: 0, limit: 100, match: [{ kind: 'substring', text: 'a', caseInsensitive: false }], hosts: ['h'] });
        expect(texts(filtered.lines)).toEqual(['a1', 'a3']);
        expect(filtered.lastSeq).toBe(5);
        expect(await store.tail({ afterSeq: 5, limit: 10 })).toEqual({ lines: [], lastSeq: 5 });
        await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['a6'], { start: 100 }))], receivedAt: T0 });
        expect(texts((await store.tail({ afterSeq: 5, limit: 10 })).lines)).toEqual(['a6']);
      }));

    it('deletes lines by arrival time, never one that arrived at or after the bound', () =>
      withStore(async (store) => {
        await store.append({ host: 'h', files: [appendFile('old', 'app', fileLines(['o1', 'o2']))], receivedAt: T0 });
        await store.append({ host: 'h', files: [appendFile('new', 'app', fileLines(['n1']))], receivedAt: T0 + 100n * SECOND });
        expect(await store.deleteArrivedBefore(T0 - SECOND)).toEqual({ deletedLines: 0 });
        expect(await store.deleteArrivedBefore(T0 + 50n * SECOND)).toEqual({ deletedLines: 2 });
        expect(texts(await all(store, {}))).toEqual(['n1']);
        expect((await store.hosts())[0]).toMatchObject({ host: 'h', lines: 1, bytes: 2 });
        expect(await store.stats()).toMatchObject({ lines: 1, rawBytes: 2 });
        // The dedupe state survives retention: a resend is still a duplicate.
        expect(await store.append({ host: 'h', files: [appendFile('old', 'app', fileLines(['o1', 'o2']))], receivedAt: T0 + 200n * SECOND })).toMatchObject({ accepted: 0, duplicates: 2 });
      }));

    it('keeps the whole signed 64-bit nanosecond range: order, paging, since/until, histogram, tail, context', () =>
      withStore(async (store) => {
        const times = [INT64_MIN, INT64_MIN + 1n, -6_000_000_000_000_000_000n, -1_500_000_000n, -1n, 0n, 1n, T0, 9_000_000_000_000_000_000n, INT64_MAX - 1n, INT64_MAX];
        // One file in an order unlike time order (so segments hold mixed signs), one line per time.
        const shuffled = [5, 0, 10, 3, 7, 1, 9, 2, 6, 4, 8].map((i) => times[i]!);
        await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(shuffled.map((t) => `t ${t}`), { ts: (i) => shuffled[i]! }))], receivedAt: T0 });
        await store.append({ host: 'g', files: [appendFile('1', 'app', fileLines(['g min', 'g max'], { ts: (i) => (i === 0 ? INT64_MIN : INT64_MAX) }))], receivedAt: T0 });
        const ascending = times.map((t) => `t ${t}`);
        const ascTexts = texts(await all(store, { order: 'asc', hosts: ['h'] }));
        expect(ascTexts).toEqual(ascending);
        expect(texts(await all(store, { order: 'desc', hosts: ['h'] }))).toEqual([...ascending].reverse());
        expect((await all(store, { order: 'asc', hosts: ['h'] })).map((l) => l.timestamp)).toEqual(times);
        // Paging one line at a time crosses zero and both ends without repeat or skip.
        for (const order of ['asc', 'desc'] as const) {
          expect(await all(store, { order, limit: 1 })).toEqual(await all(store, { order, limit: 1000 }));
        }
        expect(texts(await all(store, { order: 'asc', limit: 10_000 }))).toEqual(['g min', 't ' + INT64_MIN, ...ascending.slice(1, -1), 'g max', 't ' + INT64_MAX]);
        // since is inclusive, until exclusive, on either side of zero and at the ends.
        expect(texts(await all(store, { order: 'asc', hosts: ['h'], since: -1_500_000_000n, until: 1n }))).toEqual(['t -1500000000', 't -1', 't 0']);
        expect(texts(await all(store, { order: 'asc', hosts: ['h'], until: INT64_MIN + 1n }))).toEqual(['t ' + INT64_MIN]);
        expect(texts(await all(store, { order: 'asc', hosts: ['h'], since: INT64_MAX }))).toEqual(['t ' + INT64_MAX]);
        expect(texts(await all(store, { order: 'asc', hosts: ['h'], since: INT64_MIN, until: INT64_MAX }))).toEqual(ascending.slice(0, -1));
        // Bounds past the range (a since of year 2300 or an until of 1600) are still answered.
        expect(texts(await all(store, { order: 'asc', hosts: ['h'], since: INT64_MIN - 10n ** 20n, until: INT64_MAX + 10n ** 20n }))).toEqual(ascending);
        expect(texts(await all(store, { order: 'asc', hosts: ['h'], since: INT64_MAX + 10n ** 20n }))).toEqual([]);
        expect((await store.histogram({ bucketMs: 1000, until: INT64_MIN - 10n ** 20n })).buckets).toEqual([]);
        // Buckets start at the floor of the time (a bucket of -1 ns starts at -1000 ms, not 0).
        const histogram = await store.histogram({ bucketMs: 1000, hosts: ['h'], since: -1_500_000_000n, until: 2n });
        expect(histogram).toEqual({ buckets: [{ startMs: -2000, count: 1 }, { startMs: -1000, count: 1 }, { startMs: 0, count: 2 }], partial: false });
        const wide = await store.histogram({ bucketMs: 86_400_000, hosts: ['h'] });
        expect(wide.buckets.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(times.length);
        expect(wide.buckets.map((b) => b.startMs)).toEqual([...wide.buckets.map((b) => b.startMs)].sort((a, b) => a - b));
        expect(wide.buckets[0]!.startMs).toBeLessThan(-9_223_372_036_000);
        expect(texts((await store.tail({ afterSeq: 0, limit: 100, hosts: ['g'] })).lines)).toEqual(['g min', 'g max']);
        const around = await store.context({ host: 'g', fileId: '1', offset: 0, before: 1, after: 1 });
        expect(around?.line.timestamp).toBe(INT64_MIN);
        expect(around?.after.map((l) => l.timestamp)).toEqual([INT64_MAX]);
      }));

    it('reports stats and answers ping', () =>
      withStore(async (store) => {
        await store.ping();
        await store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['abc', 'ü']))], receivedAt: T0 });
        const stats = await store.stats();
        expect(stats.lines).toBe(2);
        expect(stats.rawBytes).toBe(5);
        expect(stats.storedBytes).toBeGreaterThan(0);
      }));

    it('keeps cut pieces, long lines and unicode text exactly', () =>
      withStore(async (store) => {
        const long = 'é'.repeat(70_000) + 'END';
        const lines: AppendLine[] = [
          { offset: 0, end: 100, timestamp: T0, line: 'piece one', cut: true },
          { offset: 100, end: 200, timestamp: T0, line: 'piece two', cut: false },
          { offset: 200, end: 200 + Buffer.byteLength(long) + 1, timestamp: T0 + 1n, line: long, cut: false },
          { offset: 300_000, end: 300_010, timestamp: T0 + 2n, line: '\u0000\t\u001b[31m😀\uFFFD', cut: false },
        ];
        await store.append({ host: 'h', files: [appendFile('1', 'app', lines)], receivedAt: T0 });
        const stored = await all(store, { order: 'asc' });
        expect(stored.map((l) => [l.offset, l.end, l.line, l.cut])).toEqual(lines.map((l) => [l.offset, l.end, l.line, l.cut]));
        expect(texts(await all(store, { match: [{ kind: 'substring', text: 'éEND', caseInsensitive: false }] }))).toEqual([long]);
        expect(texts(await all(store, { match: [{ kind: 'substring', text: '😀', caseInsensitive: true }] }))).toHaveLength(1);
      }));

    it("keeps the fields a source gave with each line, and q's field terms see them (search, histogram, tail)", () =>
      withStore(async (store) => {
        const lines = fileLines(['started', 'request failed', 'plain', '{"level":"info","msg":"json"}']);
        lines[0]!.fields = { service: 'api', unit: 'web.service' };
        lines[1]!.fields = { service: 'api', level: 'error', 'sd.origin.ip': '10.0.0.1' };
        lines[3]!.fields = { service: 'worker', level: 'warn' };
        await store.append({ host: 'h', files: [appendFile('1', 'app', lines)], receivedAt: T0 });
        await store.append({ host: 'h', files: [appendFile('2', 'other', fileLines(['service=api but from text']))], receivedAt: T0 });
        const stored = await all(store, { order: 'asc', hosts: ['h'], files: ['app'] });
        expect(stored.map((l) => l.fields)).toEqual([lines[0]!.fields, lines[1]!.fields, undefined, lines[3]!.fields]);
        const q = (text: string): Matcher[] => [{ kind: 'query', node: parseQuery(text), caseSensitive: false }];
        expect(texts(await all(store, { order: 'asc', match: q('service:api') })).sort()).toEqual(['request failed', 'service=api but from text', 'started']);
        expect(texts(await all(store, { order: 'asc', match: q('level:error') }))).toEqual(['request failed']);
        // The source's level wins over the text's.
        expect(texts(await all(store, { order: 'asc', match: q('level:warn') }))).toEqual(['{"level":"info","msg":"json"}']);
        expect(texts(await all(store, { order: 'asc', match: q('unit:web.service OR sd.origin.ip:10.*') }))).toEqual(['started', 'request failed']);
        expect(texts(await all(store, { order: 'asc', match: q('-service:*') }))).toEqual(['plain']);
        // A stored value is not in the text: the bloom holds it, and it never drives a scan of the text.
        expect(texts(await all(store, { order: 'asc', match: q('service:worker') }))).toEqual(['{"level":"info","msg":"json"}']);
        expect(texts(await all(store, { order: 'asc', match: q('service:work*') }))).toEqual(['{"level":"info","msg":"json"}']);
        const histogram = await store.histogram({ bucketMs: 3_600_000, match: q('service:api') });
        expect(histogram.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(3);
        const tail = await store.tail({ afterSeq: 0, limit: 10, match: q('service:worker') });
        expect(tail.lines.map((l) => [l.line, l.fields])).toEqual([[lines[3]!.line, lines[3]!.fields]]);
      }));

    it('keeps everything across close and reopen (persistent stores)', async () => {
      const under = await makeStore();
      try {
        if (!under.reopen) return;
        await under.store.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['a', 'b']), 10)], receivedAt: T0 });
        const before = { lines: await all(under.store, {}), hosts: await under.store.hosts(), files: await under.store.files('h'), seq: await under.store.lastSeq() };
        await under.store.close();
        const reopened = await under.reopen();
        try {
          expect({ lines: await all(reopened, {}), hosts: await reopened.hosts(), files: await reopened.files('h'), seq: await reopened.lastSeq() }).toEqual(before);
          expect(await reopened.append({ host: 'h', files: [appendFile('1', 'app', fileLines(['a', 'b', 'c']))], receivedAt: T0 })).toMatchObject({ accepted: 1, duplicates: 2 });
          expect(await reopened.lastSeq()).toBe(3);
        } finally {
          await reopened.close();
        }
      } finally {
        await under.cleanup();
      }
    });

    if (options.compareWithMemory !== false) {
      storeProperties(makeStore, () => new MemoryStore(), options.propertyRuns ?? 40);
    }
  });
}
