import { describe, expect, it } from 'vitest';
import { decodeSegment, encodeSegment } from '../segment/codec.js';
import type { SegmentMeta } from '../segment/meta.js';
import { DecodedCache, decodedBytes } from './decoded-cache.js';
import { filteredSegment } from './segment-filter.js';

const segment = decodeSegment(encodeSegment(Array.from({ length: 50 }, (_, i) => ({ offset: i * 11, end: i * 11 + 11, timestamp: BigInt(i), line: `line ${String(i).padStart(5, '0')}`, cut: false, seq: i + 1 }))).data);

function meta(id: string, minSeq = 1): SegmentMeta {
  return { id, host: 'h', fileId: 'f', filename: 'x.log', path: '/x.log', firstOffset: 0, endOffset: 550, minTimestamp: 0n, maxTimestamp: 49n, minSeq, maxSeq: minSeq + 49, lineCount: 50, rawBytes: 500, ascii: true, minArrival: 0n, maxArrival: 0n };
}

describe('decoded segment cache', () => {
  it('answers only for the same segment contents, and forgets deleted ones', () => {
    const cache = new DecodedCache(1 << 20);
    cache.add(meta('1'), segment);
    expect(cache.get(meta('1'))).toBe(segment);
    // The id reused for other lines (another seq range): not this entry.
    expect(cache.get(meta('1', 500))).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.add(meta('2'), segment);
    cache.delete('2');
    expect(cache.get(meta('2'))).toBeUndefined();
    expect(cache.heldBytes).toBe(0);
  });

  it('keeps within its cap, dropping the least recently used first', () => {
    const bytes = decodedBytes(segment);
    const cache = new DecodedCache(bytes * 4);
    for (const id of ['1', '2', '3', '4']) cache.add(meta(id), segment);
    expect(cache.get(meta('1'))).toBe(segment); // now the most recently used
    cache.add(meta('5'), segment);
    expect(cache.get(meta('2'))).toBeUndefined();
    expect(cache.get(meta('1'))).toBe(segment);
    expect(cache.size).toBe(4);
    expect(cache.heldBytes).toBeLessThanOrEqual(bytes * 4);
    // A segment of more than a quarter of the cap is never held.
    const small = new DecodedCache(bytes * 2);
    small.add(meta('9'), segment);
    expect(small.size).toBe(0);
  });

  it('holds variants of a segment beside it, each under its own name, capped with the rest and deleted with it', () => {
    const none = filteredSegment(Buffer.alloc(0));
    const bytes = decodedBytes(segment);
    const cache = new DecodedCache(bytes * 4);
    cache.add(meta('1'), segment);
    cache.add(meta('1'), none, 'query a');
    cache.add(meta('1'), segment, 'query b');
    expect(cache.get(meta('1'))).toBe(segment);
    expect(cache.get(meta('1'), 'query a')).toBe(none);
    expect(cache.has(meta('1'), 'query c')).toBe(false);
    // A variant of the same id with other contents is not this entry.
    expect(cache.get(meta('1', 500), 'query b')).toBeUndefined();
    cache.add(meta('1'), segment, 'query b');
    cache.delete('1');
    expect(cache.size).toBe(0);
    expect(cache.heldBytes).toBe(0);
    // Variants with no line still count against the cap: however many queries, the cache stays bounded.
    for (let i = 0; i < 100_000; i++) cache.add(meta(String(i % 500)), none, `query ${i}`);
    expect(cache.heldBytes).toBeLessThanOrEqual(bytes * 4);
    expect(cache.size).toBeLessThan(100);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
