/**
 * The histogram of one `field:value` counted from segments' field statistics equals a plain
 * scan of the reference (memory) store, with buckets narrow enough that most segments straddle
 * one, time ranges cutting segments, statistics with the value spans, without them (an older
 * Daniel's), and none. And a segment that straddles a bucket is counted from the spans alone,
 * its text never read.
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
const MS = 1_000_000n;
const LEVELS = ['error', 'ERROR', 'info', 'warn', 'E', 'err'];

interface LineShape {
  level: string | undefined;
  service: string | undefined;
  json: boolean;
  ms: number;
  ns: bigint;
}

const lineArb: fc.Arbitrary<LineShape> = fc.record({
  level: fc.constantFrom(...LEVELS, undefined),
  service: fc.constantFrom('api', 'db', 'api-2', undefined),
  json: fc.boolean(),
  // Milliseconds after the step's time on a 250 ms grid that the ranges' edges share, a line a nanosecond off it now and then.
  ms: fc.nat(6).map((k) => k * 250),
  ns: fc.constantFrom(0n, 1n, 999_999n),
});

const stepArb = fc.record({
  host: fc.constantFrom('h1', 'h2'),
  file: fc.constantFrom('a.log', 'b.log'),
  second: fc.integer({ min: -3, max: 20 }),
  lines: fc.array(lineArb, { minLength: 1, maxLength: 30 }),
});

const queryArb: fc.Arbitrary<string> = fc.oneof(fc.constantFrom('level:error', 'level:warn', 'level:info', 'level:critical', 'service:api', 'service:api-2', 'service:none'));

function text(line: LineShape, n: number): string {
  if (line.json) return JSON.stringify({ ...(line.level === undefined ? {} : { level: line.level }), ...(line.service === undefined ? {} : { service: line.service }), n });
  return `${line.level === undefined ? '' : `level=${line.level} `}${line.service === undefined ? '' : `service=${line.service} `}n=${n}`;
}

it('counts a field value from statistics exactly as a scan of the reference store', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(stepArb, { minLength: 1, maxLength: 10 }),
      fc.nat(12),
      fc.nat(3),
      fc.array(
        fc.record({
          q: queryArb,
          hosts: fc.subarray(['h1', 'h2']),
          since: fc.option(fc.integer({ min: -16, max: 88 }).map((k) => k * 250), { freq: 2 }),
          until: fc.option(fc.integer({ min: -8, max: 96 }).map((k) => k * 250), { freq: 2 }),
          bucket: fc.constantFrom(1, 250, 1_000, 3_000, 7_000, 366 * 86_400_000),
        }),
        { minLength: 1, maxLength: 12 },
      ),
      async (steps, indexAfter, oldEvery, queries) => {
        const offsets = new Map<string, number>();
        let n = 0;
        const requests = steps.map((step, index): AppendRequest => {
          const key = `${step.host}/${step.file}`;
          let offset = offsets.get(key) ?? 0;
          const lines = step.lines.map((line) => {
            const body = text(line, n++);
            const end = offset + Buffer.byteLength(body) + 1;
            const appended = { offset, end, timestamp: T0 + BigInt(step.second * 1_000 + line.ms) * MS + line.ns, line: body, cut: false };
            offset = end;
            return appended;
          });
          offsets.set(key, offset);
          return { host: step.host, files: [{ fileId: step.file, filename: step.file, path: `/${step.file}`, lines }], receivedAt: T0 + BigInt(index) };
        });
        await expectHistogramsAsReference({
          store: { policy: { sealBytes: 600, directSealBytes: 300 }, fieldStats: { idleMs: 60_000 } },
          requests,
          indexAfter,
          oldEvery,
          // Some statistics as an older Daniel wrote them: field counts without value spans.
          older: (stats) => {
            for (const stat of stats.fields.values()) delete stat.spans;
            return stats;
          },
          histograms: queries.map((query) => ({
            match: [{ kind: 'query', node: parseQuery(query.q), caseSensitive: false } satisfies Matcher],
            hosts: query.hosts,
            ...(query.since === null ? {} : { since: T0 + BigInt(query.since) * MS }),
            ...(query.until === null ? {} : { until: T0 + BigInt(query.until) * MS }),
            bucketMs: query.bucket,
          })),
        });
      },
    ),
    { numRuns: 150 },
  );
}, 180_000);

it('counts a segment that straddles a bucket from the spans of its values, without reading its text', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'daniel-fhist-'));
  try {
    let store = await SqliteStore.open({ dataDir, policy: { sealBytes: 800, directSealBytes: 400 }, fieldStats: { idleMs: 60_000 } });
    // One line a second for 100 s: errors in seconds 10-19 and 70-79 only, so with 30 s buckets
    // every segment straddles a bucket edge but its errors lie in one bucket (or none).
    const lines = Array.from({ length: 100 }, (_, i) => {
      const level = (i >= 10 && i < 20) || (i >= 70 && i < 80) ? 'error' : 'info';
      const line = `level=${level} n=${String(i).padStart(3, '0')}`.padEnd(39, '.');
      return { offset: i * 40, end: i * 40 + 40, timestamp: T0 + BigInt(i) * 1_000n * MS, line, cut: false };
    });
    await store.append({ host: 'h', files: [{ fileId: 'f', filename: 'a.log', path: '/a.log', lines }], receivedAt: T0 });
    store.fieldStatsIndexer!.runToEnd();
    const segments = (await store.stats()).segments;
    expect(segments).toBeGreaterThanOrEqual(4);
    await store.close();
    // Every segment's text made unreadable: only its statistics can answer.
    const db = new Database(join(dataDir, 'daniel.db'));
    db.prepare('UPDATE segment_blobs SET data = ?').run(Buffer.from('not a segment'));
    db.close();
    store = await SqliteStore.open({ dataDir, fieldStats: { idleMs: 60_000 } });
    const errors = { match: [{ kind: 'query' as const, node: parseQuery('level:error'), caseSensitive: false }], bucketMs: 30_000 };
    // T0 is 20 s past a 30 s edge: the buckets start at T0 - 20 s, + 10 s, + 40 s, + 70 s.
    const t0Ms = Number(T0 / MS);
    expect(t0Ms % 30_000).toBe(20_000);
    const counts = (await store.histogram(errors)).buckets.map((bucket) => [bucket.startMs - t0Ms, bucket.count]);
    expect(counts).toEqual([
      [10_000, 10],
      [70_000, 10],
    ]);
    await store.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
