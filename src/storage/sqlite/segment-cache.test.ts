import { describe, expect, it, vi } from 'vitest';
import { buildTrigramBloom } from '../../segment/bloom.js';
import type { SegmentMeta } from '../../query/backend.js';
import { BloomSummaries, NewestSegments } from './segment-cache.js';

function meta(id: number): SegmentMeta {
  return {
    id: String(id),
    host: 'h',
    fileId: 'f',
    filename: 'x.log',
    path: '/x.log',
    firstOffset: 0,
    endOffset: 1,
    minTimestamp: 0n,
    maxTimestamp: 0n,
    minSeq: id * 10,
    maxSeq: id * 10 + 9,
    lineCount: 10,
    rawBytes: 100,
    ascii: true,
    minArrival: 0n,
    maxArrival: 0n,
  };
}

// A few thousand distinct trigrams: a bloom of a few KiB, a summary of half that.
const bloom = buildTrigramBloom(Buffer.from(Array.from({ length: 900 }, (_, i) => `k${i * 7}`).join(' ')));

describe('bloom summaries', () => {
  it('keeps the newest segments within the cap and never admits older ones when full', () => {
    const summarySize = (bloom.length - 1) / 2 + 1;
    const cap = 10 * (summarySize + 120);
    const summaries = new BloomSummaries(cap);
    for (let id = 1; id <= 10; id++) summaries.add(meta(id), bloom);
    for (let id = 1; id <= 10; id++) expect(summaries.get(String(id))).toBeDefined();
    summaries.add(meta(0), bloom); // older than everything cached: not admitted
    expect(summaries.get('0')).toBeUndefined();
    summaries.add(meta(11), bloom); // newer: the oldest make room (a tenth of the cap at once)
    expect(summaries.get('11')).toBeDefined();
    expect(summaries.get('1')).toBeUndefined();
    expect(summaries.get('10')).toBeDefined();
    const kept = Array.from({ length: 12 }, (_, id) => summaries.get(String(id))).filter(Boolean).length;
    expect(kept).toBeLessThanOrEqual(10);
    summaries.delete('11');
    expect(summaries.get('11')).toBeUndefined();
  });

  it('when full, a summary read for a search neither evicts nor is folded; a new segment still evicts the oldest', () => {
    const summarySize = (bloom.length - 1) / 2 + 1;
    const summaries = new BloomSummaries(10 * (summarySize + 120));
    for (let id = 1; id <= 10; id += 1) summaries.add(meta(id * 2), bloom); // seqs 20..209, every other segment
    // A walk by time offers segments whose seqs fall between those held: none is admitted, none evicted.
    for (let id = 1; id <= 10; id += 1) summaries.add(meta(id * 2 + 1), bloom, false);
    for (let id = 1; id <= 10; id += 1) {
      expect(summaries.get(String(id * 2))).toBeDefined();
      expect(summaries.get(String(id * 2 + 1))).toBeUndefined();
    }
    summaries.add(meta(30), bloom); // an append's new segment
    expect(summaries.get('30')).toBeDefined();
    expect(summaries.get('2')).toBeUndefined();
  });

  it('holds nothing with a cap of 0', () => {
    const summaries = new BloomSummaries(0);
    summaries.add(meta(1), bloom);
    expect(summaries.get('1')).toBeUndefined();
  });
});

describe('values kept for the newest segments', () => {
  it('replaces a value, and drops the one it held when the new one is not admitted', () => {
    const cache = new NewestSegments<string | null>(300);
    cache.set({ id: 'old', maxSeq: 1 }, null, 100);
    cache.set({ id: 'b', maxSeq: 5 }, 'b', 100);
    cache.set({ id: 'c', maxSeq: 6 }, 'c', 100);
    // Full of newer segments: a larger value for 'old' is not admitted, and its stale null is gone.
    cache.set({ id: 'old', maxSeq: 1 }, 'stats', 250);
    expect(cache.has('old')).toBe(false);
    expect(cache.get('b')).toBe('b');
    // A newer segment pushes the oldest out.
    cache.set({ id: 'd', maxSeq: 7 }, 'd', 150);
    expect(cache.get('d')).toBe('d');
    expect(cache.has('b')).toBe(false);
    expect(cache.get('c')).toBe('c');
    cache.set({ id: 'c', maxSeq: 6 }, 'c2', 100);
    expect(cache.get('c')).toBe('c2');
  });

  it('turns away older segments without walking everything it holds', () => {
    const cache = new NewestSegments<number>(1000 * 10);
    for (let i = 1000; i < 2000; i++) cache.set({ id: String(i), maxSeq: i }, i, 10);
    cache.delete('1000'); // the oldest left: it is found again once
    cache.set({ id: '1', maxSeq: 1 }, 1, 20);
    const walks = vi.spyOn(Map.prototype, Symbol.iterator);
    const values = vi.spyOn(Map.prototype, 'values');
    try {
      // A scan over history older than everything held offers each of its segments.
      for (let i = 2; i < 500; i++) cache.set({ id: String(i), maxSeq: i }, i, 20);
      expect(walks).not.toHaveBeenCalled();
      expect(values).not.toHaveBeenCalled();
    } finally {
      walks.mockRestore();
      values.mockRestore();
    }
    expect(cache.has('2')).toBe(false);
    expect(cache.get('1999')).toBe(1999);
  });
});
