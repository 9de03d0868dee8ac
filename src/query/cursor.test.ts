import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, type SearchCursor } from './cursor.js';

describe('search cursors', () => {
  it('encode a line position as the base64url of its plain JSON, and decode back to it', () => {
    const name = fc.string({ unit: fc.constantFrom(...'ab-_."\\/é😀\u0001 '), maxLength: 700 });
    fc.assert(
      fc.property(
        fc.nat(),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.nat(),
        name,
        name,
        fc.nat(),
        (snapshotSeq, timestamp, offset, host, fileId, seq) => {
          const cursor: SearchCursor = { snapshotSeq, position: { kind: 'after', key: { timestamp, offset, host, fileId, seq } } };
          const text = encodeCursor(cursor, 'fp"1');
          const plain = { v: 1, s: snapshotSeq, f: 'fp"1', k: [timestamp.toString(), offset, host, fileId, seq] };
          expect(text).toBe(Buffer.from(JSON.stringify(plain)).toString('base64url'));
          if (text.length <= 4096) expect(decodeCursor(text, 'fp"1')).toEqual(cursor);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips the start and a boundary', () => {
    for (const cursor of [
      { snapshotSeq: 7, position: { kind: 'start' } },
      { snapshotSeq: 7, position: { kind: 'boundary', timestamp: -5n } },
    ] satisfies SearchCursor[]) {
      expect(decodeCursor(encodeCursor(cursor, 'f'), 'f')).toEqual(cursor);
    }
  });
});
