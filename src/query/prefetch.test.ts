/**
 * Inflating ahead (Prefetch in segment-load.ts) must never change an answer: a long walk over
 * a backend with a decoded cache (so it prefetches) answers exactly what the same walk answers
 * without one, also when a blob is corrupt (the same error) or a listed segment is gone by the
 * time it is read (the walk starts again, as it always did).
 */
import { describe, expect, it, vi } from 'vitest';
import { segmentMetaOf } from '../segment/meta.js';
import { encodeSegment, type SegmentLine } from '../segment/codec.js';
import { segmentMatchesList, type SegmentBackend, type SegmentMeta } from './backend.js';
import { DecodedCache } from './decoded-cache.js';
import { searchSegments } from './segment-search.js';
import { Prefetch, type Offload } from './segment-load.js';
import { CountPool } from './count-pool.js';
import type { SearchQuery } from './types.js';
import { parseQuery } from './language.js';

const inflatedAhead = vi.hoisted(() => ({ count: 0, here: 0 }));
vi.mock('../segment/compression.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../segment/compression.js')>();
  return {
    ...original,
    decompressPayloadAsync: (data: Buffer) => {
      inflatedAhead.count++;
      inflatedAhead.here++;
      return original.decompressPayloadAsync(data);
    },
    decompressPayload: (data: Buffer) => {
      inflatedAhead.here++;
      return original.decompressPayload(data);
    },
  };
});

const T0 = 1_700_000_000_000_000_000n;
const SECOND = 1_000_000_000n;

interface TestBackend extends SegmentBackend {
  corrupt(id: string): void;
  /** The next `loadData` of this segment answers null once (deleted after it was listed). */
  vanishOnce(id: string): void;
}

/** Twelve segments of three files over the same hours, each line holding `ERROR` or not; `withFields`: file 2's lines carry their source's fields. */
function backendOf(cached: boolean, withFields = false): TestBackend {
  const metas: SegmentMeta[] = [];
  const blobs = new Map<string, { data: Buffer; bloom: Buffer }>();
  const vanishing = new Set<string>();
  let seq = 0;
  for (let file = 0; file < 3; file++) {
    let offset = 0;
    for (let part = 0; part < 4; part++) {
      const lines: SegmentLine[] = [];
      for (let i = 0; i < 50; i++) {
        const n = part * 50 + i;
        const line = `${n % 3 === 0 ? 'ERROR' : 'INFO'} file ${file} line ${n}`;
        const end = offset + line.length + 1;
        const stored: SegmentLine = { offset, end, timestamp: T0 + BigInt(n * 3 + file) * SECOND, line, cut: false, seq: ++seq };
        if (withFields && file === 2) stored.fields = { level: n % 4 === 0 ? 'error' : 'info', svc: n % 5 === 0 ? 'api' : 'db' };
        lines.push(stored);
        offset = end;
      }
      const encoded = encodeSegment(lines);
      const meta = segmentMetaOf(String(metas.length + 1), encoded, { host: 'h', fileId: `f${file}`, filename: `f${file}.log`, path: `/f${file}.log` }, { minArrival: 0n, maxArrival: 0n });
      metas.push(meta);
      blobs.set(meta.id, { data: encoded.data, bloom: encoded.bloom });
    }
  }
  const backend: TestBackend = {
    listSegments: (query) => Promise.resolve(metas.filter((meta) => segmentMatchesList(meta, query))),
    loadBloom: (meta) => Promise.resolve(blobs.get(meta.id)?.bloom ?? null),
    // The walk reads ahead only what a bloom summary in memory admits: the full bloom serves as one.
    bloomSummary: (meta) => blobs.get(meta.id)?.bloom,
    loadData: (meta) => {
      if (vanishing.delete(meta.id)) return Promise.resolve(null);
      return Promise.resolve(blobs.get(meta.id)?.data ?? null);
    },
    lastSeq: () => Promise.resolve(seq),
    corrupt: (id) => {
      const blob = blobs.get(id)!;
      blobs.set(id, { ...blob, data: Buffer.concat([blob.data.subarray(0, 8), Buffer.alloc(64, 0xaa)]) });
    },
    vanishOnce: (id) => void vanishing.add(id),
  };
  return cached ? Object.assign(backend, { decodedCache: new DecodedCache() }) : backend;
}

const everyError: SearchQuery = { order: 'desc', limit: 10_000, match: [{ kind: 'substring', text: 'ERROR', caseInsensitive: false }] };

async function linesOf(backend: SegmentBackend, query: SearchQuery): Promise<string[]> {
  return (await searchSegments(backend, query)).lines.map((line) => `${line.seq} ${line.line}`);
}

/** A cached backend with segment 9's blob corrupt, and the error the walk without a cache meets over the same blob. */
async function corruptBlob(query: SearchQuery = everyError): Promise<{ cached: TestBackend; without: string }> {
  const plain = backendOf(false);
  const cached = backendOf(true);
  plain.corrupt('9');
  cached.corrupt('9');
  const without = await searchSegments(plain, query).then(
    () => 'answered',
    (error: Error) => error.message,
  );
  expect(without).not.toBe('answered');
  return { cached, without };
}

describe('inflating ahead of a long walk', () => {
  it('answers what the walk answers without it, and does inflate ahead', async () => {
    const expected = await linesOf(backendOf(false), everyError);
    expect(expected.length).toBe(3 * 67);
    inflatedAhead.count = 0;
    expect(await linesOf(backendOf(true), everyError)).toEqual(expected);
    expect(inflatedAhead.count).toBeGreaterThan(0);
    for (const order of ['asc', 'desc'] as const) {
      const query = { ...everyError, order, limit: 7 };
      expect(await linesOf(backendOf(true), query)).toEqual(await linesOf(backendOf(false), query));
    }
  });

  it('fails over a corrupt blob as the walk without it does', async () => {
    const { cached, without } = await corruptBlob();
    await expect(searchSegments(cached, everyError)).rejects.toThrow(without);
  });

  it('starts again when a segment it read ahead was gone', async () => {
    const expected = await linesOf(backendOf(false), everyError);
    // Two segments gone once each: the walk without a cache starts again twice (of its three attempts).
    for (const cached of [false, true]) {
      const backend = backendOf(cached);
      for (const id of ['5', '11']) backend.vanishOnce(id);
      inflatedAhead.count = 0;
      expect(await linesOf(backend, everyError)).toEqual(expected);
      expect(inflatedAhead.count > 0).toBe(cached);
    }
  });

  it('decompresses ahead on a count worker, with the same answers and errors', async () => {
    const pool = new CountPool({ workers: 1 });
    try {
      await pool.ready();
      // A query that tests no line is not filtered: the worker only decompresses, the walk parses what comes back.
      const everyLine: SearchQuery = { order: 'desc', limit: 10_000 };
      const expected = await linesOf(backendOf(false), everyLine);
      expect(expected.length).toBe(600);
      inflatedAhead.here = 0;
      await linesOf(backendOf(true), everyLine);
      const hereWithout = inflatedAhead.here;
      inflatedAhead.here = 0;
      const answer = await searchSegments(backendOf(true), everyLine, pool);
      expect(answer.lines.map((line) => `${line.seq} ${line.line}`)).toEqual(expected);
      // What the worker decompressed was used: this thread decompressed that many fewer.
      expect(pool.inflated).toBeGreaterThan(0);
      expect(pool.filtered).toBe(0);
      expect(inflatedAhead.here).toBe(hereWithout - pool.inflated);
      for (const order of ['asc', 'desc'] as const) {
        const query = { ...everyLine, order, limit: 7 };
        const got = await searchSegments(backendOf(true), query, pool);
        expect(got.lines.map((line) => `${line.seq} ${line.line}`)).toEqual(await linesOf(backendOf(false), query));
      }
      // A blob the worker cannot decompress: the walk loads it itself and meets the same error.
      for (const query of [everyLine, everyError]) {
        const { cached, without } = await corruptBlob(query);
        await expect(searchSegments(cached, query, pool)).rejects.toThrow(without);
      }
      // With the worker gone the walk decompresses everything itself.
      await pool.close();
      const before = pool.inflated + pool.filtered;
      for (const query of [everyLine, everyError]) {
        expect((await searchSegments(backendOf(true), query, pool)).lines.map((line) => `${line.seq} ${line.line}`)).toEqual(await linesOf(backendOf(false), query));
      }
      expect(pool.inflated + pool.filtered).toBe(before);
    } finally {
      await pool.close();
    }
  });

  it('filters ahead on a count worker: the same pages, a few lines a segment held, and the next page finds them', async () => {
    const pool = new CountPool({ workers: 1 });
    try {
      await pool.ready();
      const fieldQuery = (q: string): SearchQuery['match'] => [{ kind: 'query', node: parseQuery(q), caseSensitive: false }];
      for (const [match, withFields] of [
        [everyError.match!, false],
        [[{ kind: 'substring', text: 'error', caseInsensitive: true }], false],
        [[{ kind: 'regex', pattern: 'line 1[0-9]+$', caseInsensitive: false }], false],
        [[{ kind: 'substring', text: 'file 1', caseInsensitive: false }, { kind: 'substring', text: 'ERROR', caseInsensitive: false }], false],
        [[{ kind: 'substring', text: 'no such text', caseInsensitive: false }], false],
        // Lines with their source's fields: the filter tests them as the walk does.
        [fieldQuery('level:error'), true],
        [fieldQuery('svc:api -ERROR'), true],
        [fieldQuery('ERROR OR svc:api'), true],
      ] as [SearchQuery['match'], boolean][]) {
        for (const order of ['asc', 'desc'] as const) {
          for (const limit of [7, 40, 10_000]) {
            const query: SearchQuery = { order, limit, match };
            // Every page of the walk with filtering, against every page without.
            const pagesOf = async (backend: SegmentBackend, offload?: Offload): Promise<string[][]> => {
              const pages: string[][] = [];
              let cursor: string | undefined;
              do {
                const page = await searchSegments(backend, cursor === undefined ? query : { ...query, cursor }, offload);
                pages.push(page.lines.map((line) => `${line.seq} ${line.line}`));
                cursor = page.nextCursor;
              } while (cursor !== undefined);
              return pages;
            };
            const backend = backendOf(true, withFields);
            const filteredBefore = pool.filtered;
            const expected = await pagesOf(backendOf(false, withFields));
            expect(await pagesOf(backend, pool)).toEqual(expected);
            // A walk past its first few segments filters ahead (none when the blooms rule every segment out).
            if (limit === 10_000 && !withFields && expected.flat().length > 0) expect(pool.filtered).toBeGreaterThan(filteredBefore);
          }
        }
      }
      // What the worker kept of a segment is only its matching lines, held as the query's variant.
      const backend = backendOf(true);
      await searchSegments(backend, everyError, pool);
      const cache = backend.decodedCache!;
      const variant = JSON.stringify(everyError.match);
      const metas = await backend.listSegments({});
      const held = metas.filter((meta) => cache.has(meta, variant));
      expect(held.length).toBeGreaterThan(0);
      for (const meta of held) {
        const segment = cache.get(meta, variant)!;
        expect(segment.count).toBeGreaterThan(0);
        expect(segment.count).toBeLessThan(meta.lineCount);
        expect(segment.text.toString().split('\n').slice(0, -1).every((line) => line.startsWith('ERROR'))).toBe(true);
      }
      // A segment deleted (merged, or by retention) takes its variants with it.
      cache.delete(held[0]!.id);
      expect(cache.has(held[0]!, variant)).toBe(false);
    } finally {
      await pool.close();
    }
  });

  it('holds at most its depth of decoded segments the walk has not taken yet', async () => {
    const backend = backendOf(true);
    const metas = await backend.listSegments({});
    const prefetch = new Prefetch(backend, 3);
    // A walk slower than inflating: every start has finished before the walk moves on.
    const inFlight = (): number => (prefetch as unknown as { inFlight: number }).inFlight;
    for (let i = 0; i < metas.length; i++) {
      prefetch.start(metas, i);
      // Inflating runs on the thread pool: on a busy machine one turn of the loop is not enough.
      await vi.waitFor(() => expect(inFlight()).toBe(0), { timeout: 10_000, interval: 2 });
    }
    inflatedAhead.count = 0;
    // Three were started and are held until taken: no room for a fourth, however long it waits.
    expect(prefetch.hasRoom).toBe(false);
    expect(await prefetch.take(metas[0]!)).toBeDefined();
    expect(await prefetch.take(metas[3]!)).toBeUndefined();
    expect(prefetch.hasRoom).toBe(true);
    // Passing segments it started without opening them frees their places.
    prefetch.passed(metas, 4);
    for (let i = 4; i < 7; i++) prefetch.start(metas, i);
    expect(prefetch.hasRoom).toBe(false);
    for (let i = 4; i < 7; i++) expect(await prefetch.take(metas[i]!)).toBeDefined();
    expect(inflatedAhead.count).toBe(3);
  });
});
