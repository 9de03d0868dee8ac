/**
 * Counting in worker threads must answer exactly what counting on the main thread answers:
 * the histogram over real encoded segments, with a real worker, against the line test itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { segmentMetaOf } from '../segment/meta.js';
import { segmentMatchesList, type SegmentBackend, type SegmentMeta } from './backend.js';
import type { HistogramQuery, Matcher } from './types.js';
import { CountPool } from './count-pool.js';
import { bucketStartMs } from './histogram.js';
import { compileMatchers } from './matcher.js';
import { encodeSegment, type SegmentLine } from '../segment/codec.js';
import { histogramFromSegments } from './segment-histogram.js';

const T0 = 1_700_000_000_000_000_000n;
const SECOND = 1_000_000_000n;

/** A backend over segments encoded in memory: the blobs the engine reads are the real encoder's. */
function backendOf(files: { name: string; lines: SegmentLine[][] }[]): SegmentBackend & { corrupt(id: string): void } {
  const metas: SegmentMeta[] = [];
  const blobs = new Map<string, { data: Buffer; bloom: Buffer }>();
  for (const file of files) {
    for (const lines of file.lines) {
      const encoded = encodeSegment(lines);
      const meta = segmentMetaOf(String(metas.length + 1), encoded, { host: 'h', fileId: file.name, filename: file.name, path: `/${file.name}` }, { minArrival: 0n, maxArrival: 0n });
      metas.push(meta);
      blobs.set(meta.id, { data: encoded.data, bloom: encoded.bloom });
    }
  }
  return {
    listSegments: (query) => Promise.resolve(metas.filter((meta) => segmentMatchesList(meta, query))),
    loadBloom: (meta) => Promise.resolve(blobs.get(meta.id)?.bloom ?? null),
    loadData: (meta) => Promise.resolve(blobs.get(meta.id)?.data ?? null),
    lastSeq: () => Promise.resolve(metas.length === 0 ? 0 : Math.max(...metas.map((m) => m.maxSeq))),
    corrupt: (id) => {
      const blob = blobs.get(id)!;
      blobs.set(id, { ...blob, data: Buffer.concat([blob.data.subarray(0, 8), Buffer.alloc(64, 0xaa)]) });
    },
  };
}

/** Lines meant to trip a counter: the needle twice, at the first and last line of a segment, split by a line break, in other cases, next to non-ASCII text. */
const VOCABULARY = ['ERROR', 'ERROR ERROR', 'error', 'ErRoR', 'ERR', 'OR', 'INFO x', 'Ärger ERROR é', 'ärger', '😀 ERROR1', 'ERROR2 😀', 'warn 42', ''];

function fileLines(seed: number, count: number, ascii: boolean): SegmentLine[] {
  const lines: SegmentLine[] = [];
  let offset = 0;
  let state = seed;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const words = [VOCABULARY[state % VOCABULARY.length]!, VOCABULARY[(state >>> 8) % VOCABULARY.length]!];
    let line = words.join(i % 3 === 0 ? '' : ' ');
    if (ascii) line = line.replace(/[^\x00-\x7f]/g, 'a');
    const end = offset + Buffer.byteLength(line) + 1;
    lines.push({ offset, end, timestamp: T0 + BigInt(i) * SECOND, line, cut: false, seq: seed * 100_000 + i + 1 });
    offset = end;
  }
  return lines;
}

function inSegments(lines: SegmentLine[], size: number): SegmentLine[][] {
  const out: SegmentLine[][] = [];
  for (let i = 0; i < lines.length; i += size) out.push(lines.slice(i, i + size));
  return out;
}

const asciiLines = fileLines(1, 600, true);
const mixedLines = fileLines(2, 600, false);
const FILES = [
  { name: 'ascii.log', lines: inSegments(asciiLines, 37) },
  { name: 'mixed.log', lines: inSegments(mixedLines, 41) },
];
const ALL_LINES = [...asciiLines, ...mixedLines];

/** The histogram as the line test alone gives it. */
function expected(query: HistogramQuery): { startMs: number; count: number }[] {
  const match = compileMatchers(query.match);
  const counts = new Map<number, number>();
  for (const line of ALL_LINES) {
    if (query.since !== undefined && line.timestamp < query.since) continue;
    if (query.until !== undefined && line.timestamp >= query.until) continue;
    if (!match.test(line.line)) continue;
    const start = bucketStartMs(line.timestamp, query.bucketMs);
    counts.set(start, (counts.get(start) ?? 0) + 1);
  }
  return [...counts].map(([startMs, count]) => ({ startMs, count })).sort((a, b) => a.startMs - b.startMs);
}

const sub = (text: string, caseInsensitive = false): Matcher => ({ kind: 'substring', text, caseInsensitive });
const regex = (pattern: string, caseInsensitive = false): Matcher => ({ kind: 'regex', pattern, caseInsensitive });
const MATCHES: Matcher[][] = [
  [sub('ERROR')],
  [sub('ERRORERROR')],
  [sub('ERROR ERROR')],
  [sub('error', true)],
  [sub('ÄRGER', true)],
  [sub('é')],
  [sub('😀')],
  [regex('ERROR\\d')],
  [regex('^error', true)],
  [regex('ärger$', true)],
  [sub('ERROR'), regex('\\d$')],
  [sub('RO'), sub('info', true)],
];

const pools: CountPool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

function newPool(options: ConstructorParameters<typeof CountPool>[0]): CountPool {
  const pool = new CountPool(options);
  pools.push(pool);
  return pool;
}

describe('counting with worker threads', () => {
  it('gives the main thread answer for every kind of condition, handing out and counting here in turn', async () => {
    const backend = backendOf(FILES);
    const pool = newPool({ workers: 1, minBytes: 0, jobBytes: 1, waitForWorkers: true });
    for (const match of MATCHES) {
      for (const query of [
        { bucketMs: 366 * 86_400_000, match },
        { bucketMs: 60_000, match },
        { bucketMs: 366 * 86_400_000, match, since: T0 + 100n * SECOND, until: T0 + 500n * SECOND },
      ] satisfies HistogramQuery[]) {
        const alone = await histogramFromSegments(backend, query);
        const pooled = await histogramFromSegments(backend, query, pool);
        expect(alone.buckets, JSON.stringify(match)).toEqual(expected(query));
        expect(pooled, JSON.stringify(match)).toEqual(alone);
      }
    }
    expect(pool.handedOut).toBeGreaterThan(0);
  });

  it('counts on the main thread whatever a worker that is gone was given', async () => {
    const backend = backendOf(FILES);
    // One job absorbs every segment handed out; the pool closes before it is sent.
    const pool = newPool({ workers: 1, minBytes: 0, jobBytes: 1 << 30 });
    await pool.ready();
    const batcher = pool.batcher<number>([sub('ERROR')]);
    const segments = await backend.listSegments({});
    const blobs = await Promise.all(segments.map((meta) => backend.loadData(meta)));
    segments.forEach((meta, i) => expect(batcher.offer(blobs[i]!, meta.ascii, meta.rawBytes, i)).toBe(true));
    await pool.close();
    let countedHere = 0;
    const counted = await batcher.finish(() => ++countedHere && 1);
    expect(countedHere).toBe(segments.length);
    expect(counted.map((c) => c.tag)).toEqual(segments.map((_, i) => i));
  });

  it('keeps a query that touches little on the main thread', async () => {
    const backend = backendOf(FILES);
    const pool = newPool({ workers: 1, waitForWorkers: true });
    const query = { bucketMs: 60_000, match: [sub('ERROR')] };
    expect((await histogramFromSegments(backend, query, pool)).buckets).toEqual(expected(query));
    expect(pool.handedOut).toBe(0);
  });

  it('fails a query over a corrupt blob as the main thread does', async () => {
    const backend = backendOf(FILES);
    backend.corrupt('3');
    const query = { bucketMs: 366 * 86_400_000, match: [sub('ERROR')] };
    const pool = newPool({ workers: 1, minBytes: 0, jobBytes: 1, waitForWorkers: true });
    await expect(histogramFromSegments(backend, query)).rejects.toThrow();
    await expect(histogramFromSegments(backend, query, pool)).rejects.toThrow();
  });

  it('counts with no worker at all', async () => {
    const backend = backendOf(FILES);
    const pool = newPool({ workers: 0, minBytes: 0 });
    const query = { bucketMs: 366 * 86_400_000, match: [sub('error', true)] };
    expect((await histogramFromSegments(backend, query, pool)).buckets).toEqual(expected(query));
    expect(pool.handedOut).toBe(0);
  });
});
