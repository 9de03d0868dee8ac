/**
 * The newest-first walk in time windows (src/query/segment-search.ts) against the reference
 * store: many files logging over the same seconds (so their segments overlap in time), lines
 * in time order within a file (the windows' index ranges) or not (whole-segment scans), ties
 * of timestamps across files, tiny segments, every page through the cursors, and pages cut
 * short by a deadline already passed (each must still move on, none may repeat or skip a line).
 * A second search over the same store reads segments from the decoded cache.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { parseQuery } from '../query/language.js';
import { MemoryStore } from './memory/memory-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { AppendRequest, Matcher, SearchQuery, Store, StoredLine } from './store.js';

const RUNS = Number(process.env.SEARCH_RUNS ?? 25);
const T0 = 1_700_000_000_000_000_000n;
const WORDS = ['alpha', 'Beta', 'needle', 'x', 'level=error', 'service=api', 'service=web', 'status=503', 'status=200', 'healthz', '{"level":"error","service":"api"}'];
const FILTERS: Matcher[][] = [
  [],
  [{ kind: 'substring', text: 'needle', caseInsensitive: false }],
  [{ kind: 'substring', text: 'beta', caseInsensitive: true }],
  [{ kind: 'query', node: parseQuery('level:error service:api -healthz'), caseSensitive: false }],
  [{ kind: 'query', node: parseQuery('status:>=500'), caseSensitive: false }],
  [{ kind: 'query', node: parseQuery('alpha OR service:web'), caseSensitive: false }],
];

const fileArb = fc.record({
  host: fc.constantFrom('h1', 'h2'),
  // In time order (steps of 0..3 ms: ties within and across files), or any order.
  ordered: fc.boolean(),
  lines: fc.array(fc.record({ words: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }), step: fc.nat(3) }), { minLength: 1, maxLength: 40 }),
  appends: fc.integer({ min: 1, max: 3 }),
});

type FileInput = typeof fileArb extends fc.Arbitrary<infer T> ? T : never;

function appendsOf(files: FileInput[]): AppendRequest[] {
  const requests: AppendRequest[] = [];
  files.forEach((file, f) => {
    let offset = 0;
    let ms = 0;
    const lines = file.lines.map((entry, i) => {
      ms = file.ordered ? ms + entry.step : (i * 7919 + entry.step * 13) % 97;
      const line = entry.words.join(' ');
      const appended = { offset, end: offset + Buffer.byteLength(line) + 1, timestamp: T0 + BigInt(ms) * 1_000_000n, line, cut: false };
      offset = appended.end;
      return appended;
    });
    const size = Math.ceil(lines.length / file.appends);
    for (let start = 0; start < lines.length; start += size) {
      requests.push({ host: file.host, files: [{ fileId: `f${f}`, filename: `file${f % 3}.log`, path: `/logs/file${f % 3}.log`, lines: lines.slice(start, start + size) }], receivedAt: T0 });
    }
  });
  return requests;
}

async function allPages(store: Store, query: SearchQuery, expired: boolean): Promise<StoredLine[]> {
  const lines: StoredLine[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 5_000; page++) {
    const result = await store.search({ ...query, ...(expired ? { deadline: performance.now() - 1 } : {}), ...(cursor === undefined ? {} : { cursor }) });
    lines.push(...result.lines);
    if (result.nextCursor === undefined) return lines;
    cursor = result.nextCursor;
  }
  throw new Error('paging did not end');
}

const keys = (lines: StoredLine[]): string[] => lines.map((line) => `${line.host}/${line.fileId}@${line.offset}`);

it('newest-first search over overlapping segments answers exactly as the reference store, page by page', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fileArb, { minLength: 1, maxLength: 8 }),
      fc.array(fc.tuple(fc.nat(FILTERS.length - 1), fc.integer({ min: 1, max: 15 }), fc.boolean()), { minLength: 1, maxLength: 6 }),
      async (files, queries) => {
        const dataDir = mkdtempSync(join(tmpdir(), 'daniel-newest-'));
        // Tiny segments: each file's lines spread over many segments, sealed and merged.
        const store = await SqliteStore.open({ dataDir, policy: { sealBytes: 120, directSealBytes: 80 } });
        const reference = new MemoryStore();
        try {
          for (const request of appendsOf(files)) {
            await store.append(request);
            await reference.append(request);
          }
          for (const [filter, limit, withHost] of queries) {
            const query: SearchQuery = { order: 'desc', limit, match: FILTERS[filter]!, ...(withHost ? { hosts: ['h1'] } : {}) };
            const label = JSON.stringify({ filter, limit, withHost });
            const wanted = await reference.search(query);
            const first = await store.search(query);
            expect(keys(first.lines), label).toEqual(keys(wanted.lines));
            expect(first.nextCursor === undefined, label).toBe(wanted.nextCursor === undefined);
            const everything = keys(await allPages(reference, query, false));
            expect(keys(await allPages(store, query, false)), label).toEqual(everything);
            expect(keys(await allPages(store, query, true)), `${label} with the deadline passed`).toEqual(everything);
          }
        } finally {
          await store.close();
          await reference.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: RUNS },
  );
}, 180_000);
