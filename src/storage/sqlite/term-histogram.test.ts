/**
 * The histogram of one substring counted from segments' term counts equals a plain scan of the
 * reference (memory) store: random lines whose words are substrings of one another, in mixed
 * case and beside non-ASCII text, with term counts computed for some segments, statistics
 * without term counts for others, and none for the rest; with the statistics held in
 * memory for every segment, for none, or for a few.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { parseQuery } from '../../query/language.js';
import type { AppendRequest, Matcher } from '../store.js';
import { expectHistogramsAsReference } from '../../../test/storage/histogram-reference.js';
import { SqliteStore } from './sqlite-store.js';

const T0 = 1_700_000_000_000_000_000n;
const SECOND = 1_000_000_000n;
const PIECES = ['ERROR', 'ERRORS', 'error', 'Error', 'xERRORx', 'ERR', 'warn', 'WARNING', 'api', 'APİ', 'KEY', '\u212Aey', 'ärger', 'ÄRGER', '😀', ' ', '=', ' level=info ', ' '];
const NEEDLES = ['ERROR', 'ERROR', 'error', 'Error', 'ERRORS', 'ERR', 'warn', 'WARNING', 'api', 'key', 'KEY', 'ärger', 'level', 'info', 'absent', 'RORS'];

const stepArb = fc.record({
  host: fc.constantFrom('h1', 'h2'),
  file: fc.constantFrom('a.log', 'b.log'),
  second: fc.nat(28),
  lines: fc.array(fc.record({ pieces: fc.array(fc.constantFrom(...PIECES), { maxLength: 6 }), glue: fc.constantFrom('', ' ', ' '), jitter: fc.nat(2) }), { minLength: 1, maxLength: 40 }),
});

const matcherArb: fc.Arbitrary<Matcher> = fc.oneof(
  fc.record({ kind: fc.constant('substring' as const), text: fc.constantFrom(...NEEDLES), caseInsensitive: fc.boolean() }),
  fc.record({ kind: fc.constant('query' as const), node: fc.constantFrom(...NEEDLES).map(parseQuery), caseSensitive: fc.boolean() }),
);

it('counts a substring from term counts exactly as a scan of the reference store', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(stepArb, { minLength: 1, maxLength: 12 }),
      fc.nat(16),
      fc.nat(3),
      // Statistics held in memory for every segment, for none, or for a few (the rest read again when asked).
      fc.constantFrom(undefined, 0, 2_000),
      fc.array(fc.record({ match: matcherArb, hosts: fc.subarray(['h1', 'h2']), since: fc.option(fc.nat(30), { freq: 2 }), until: fc.option(fc.nat(32), { freq: 2 }), bucket: fc.constantFrom(3_000, 366 * 86_400_000) }), { minLength: 1, maxLength: 16 }),
      async (steps, indexAfter, oldEvery, statsCacheBytes, queries) => {
        const offsets = new Map<string, number>();
        const requests = steps.map((step, index): AppendRequest => {
          const key = `${step.host}/${step.file}`;
          let offset = offsets.get(key) ?? 0;
          const lines = step.lines.map(({ pieces, glue, jitter }) => {
            const line = pieces.join(glue);
            const end = offset + Buffer.byteLength(line) + 1;
            const appended = { offset, end, timestamp: T0 + BigInt(step.second + jitter) * SECOND, line, cut: false };
            offset = end;
            return appended;
          });
          offsets.set(key, offset);
          return { host: step.host, files: [{ fileId: step.file, filename: step.file, path: `/${step.file}`, lines }], receivedAt: T0 + BigInt(index) };
        });
        await expectHistogramsAsReference({
          store: { policy: { sealBytes: 800, directSealBytes: 400 }, fieldStats: { idleMs: 60_000 }, statsCacheBytes },
          requests,
          indexAfter,
          oldEvery,
          // Some statistics with field counts only, no term counts.
          older: ({ terms: _terms, ...fields }) => fields,
          histograms: queries.map((query) => ({
            match: [query.match],
            hosts: query.hosts,
            ...(query.since === null ? {} : { since: T0 + BigInt(query.since) * SECOND }),
            ...(query.until === null ? {} : { until: T0 + BigInt(query.until) * SECOND }),
            bucketMs: query.bucket,
          })),
        });
      },
    ),
    { numRuns: 150 },
  );
}, 120_000);

it('counts again, in the background, segments whose statistics an older Daniel wrote, and reads their text meanwhile', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'daniel-terms-'));
  try {
    let store = await SqliteStore.open({ dataDir, policy: { sealBytes: 400, directSealBytes: 200 }, fieldStats: { idleMs: 60_000 } });
    const lines = Array.from({ length: 60 }, (_, i) => ({ offset: i * 40, end: i * 40 + 30, timestamp: T0 + BigInt(i) * SECOND, line: `level=${i % 3 ? 'info' : 'error'} ${i % 3 ? 'fine' : 'ERROR'}`.padEnd(29, '.'), cut: false }));
    await store.append({ host: 'h', files: [{ fileId: 'f', filename: 'a.log', path: '/a.log', lines }], receivedAt: T0 });
    store.fieldStatsIndexer!.runToEnd();
    const segments = (await store.stats()).segments;
    expect(segments).toBeGreaterThan(2);
    await store.close();
    // Versions 1 (field counts) and 2 (and term counts): counted by older extraction rules.
    const db = new Database(join(dataDir, 'daniel.db'));
    for (const { id, stats } of db.prepare('SELECT id, stats FROM segment_stats').all() as { id: number; stats: Buffer }[]) {
      const old = Buffer.from(stats);
      old[0] = 1 + (id % 2);
      db.prepare('UPDATE segment_stats SET stats = ? WHERE id = ?').run(old, id);
    }
    db.close();
    store = await SqliteStore.open({ dataDir, fieldStats: { idleMs: 60_000 } });
    expect((await store.stats()).segmentsWithoutFieldStats).toBe(segments);
    const histogram = { match: [{ kind: 'substring' as const, text: 'ERROR', caseInsensitive: false }], bucketMs: 366 * 86_400_000 };
    const count = (result: { buckets: { count: number }[] }): number => result.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
    expect(count(await store.histogram(histogram))).toBe(20);
    expect((await store.fieldCounts({ name: 'level', maxScanLines: 1_000 }))?.counts.get('error')).toBe(20);
    expect(store.fieldStatsIndexer!.runToEnd()).toBe(segments);
    expect((await store.stats()).segmentsWithoutFieldStats).toBe(0);
    expect(count(await store.histogram(histogram))).toBe(20);
    expect(count(await store.histogram({ ...histogram, match: [{ kind: 'query', node: parseQuery('FINE'), caseSensitive: false }] }))).toBe(40);
    expect((await store.fieldCounts({ name: 'level', maxScanLines: 0 }))?.counts.get('error')).toBe(20);
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
