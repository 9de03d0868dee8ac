import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, lineCursorOf, queryFingerprint, type SearchCursor } from './cursor.js';
import { InvalidCursorError, type SearchQuery, type StoredLine } from './types.js';
import { ByteWriter } from '../protocol/bytes.js';

const name = fc.string({ unit: fc.constantFrom(...'ab-_."\\/é😀\u0001 ', '\uD800', '\uDFFF'), maxLength: 700 });
const afterCursors = fc.record({
  snapshotSeq: fc.maxSafeNat(),
  timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  offset: fc.maxSafeNat(),
  seq: fc.maxSafeNat(),
});

/** Format 1, as a Daniel before format 2 wrote it (the line's host and file id in its key): a cursor handed out then still reads. */
function format1(cursor: SearchCursor, fingerprint: string, host = 'web-1', fileId = 'f-1'): string {
  const json: Record<string, unknown> = { v: 1, s: cursor.snapshotSeq, f: fingerprint };
  if (cursor.position.kind === 'after') {
    const k = cursor.position.key;
    json.k = [k.timestamp.toString(), k.offset, host, fileId, k.seq];
  } else if (cursor.position.kind === 'boundary') {
    json.b = cursor.position.timestamp.toString();
  }
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** Format 2, as a Daniel before format 3 wrote it: the fingerprint as a string, the line's host and file id in its key. */
function format2(cursor: SearchCursor, fingerprint: string, host = 'web-1', fileId = 'f-1'): string {
  const out = new ByteWriter();
  out.byte(2);
  out.varint(cursor.snapshotSeq);
  out.string(fingerprint);
  const position = cursor.position;
  if (position.kind === 'after') {
    out.byte(1);
    out.int64(position.key.timestamp);
    out.varint(position.key.offset);
    out.string(host);
    out.string(fileId);
    out.varint(position.key.seq);
  } else if (position.kind === 'boundary') {
    out.byte(2);
    out.int64(position.timestamp);
  } else {
    out.byte(0);
  }
  return Buffer.from(out.bytes()).toString('base64url');
}

describe('search cursors', () => {
  it('round-trip a line position; a cursor in format 1 or 2, whatever host and file id it names, decodes to the same position', () => {
    fc.assert(
      fc.property(afterCursors, fc.constantFrom('fp"1', 'oLLbFBOiwa7MwrJy', ''), name, name, ({ snapshotSeq, ...key }, fingerprint, host, fileId) => {
        const cursor: SearchCursor = { snapshotSeq, position: { kind: 'after', key } };
        const text = encodeCursor(cursor, fingerprint);
        expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodeCursor(text, fingerprint)).toEqual(cursor);
        const old = format1(cursor, fingerprint, host, fileId);
        if (old.length <= 4096) expect(decodeCursor(old, fingerprint)).toEqual(cursor);
        if (Buffer.from(host).toString() === host && Buffer.from(fileId).toString() === fileId) {
          const two = format2(cursor, fingerprint, host, fileId);
          if (two.length <= 4096) expect(decodeCursor(two, fingerprint)).toEqual(cursor);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips the start and a boundary, in both formats', () => {
    for (const cursor of [
      { snapshotSeq: 7, position: { kind: 'start' } },
      { snapshotSeq: 0, position: { kind: 'boundary', timestamp: -5n } },
      { snapshotSeq: Number.MAX_SAFE_INTEGER, position: { kind: 'boundary', timestamp: 2n ** 63n - 1n } },
    ] satisfies SearchCursor[]) {
      expect(decodeCursor(encodeCursor(cursor, 'f'), 'f')).toEqual(cursor);
      expect(decodeCursor(format1(cursor, 'f'), 'f')).toEqual(cursor);
      expect(decodeCursor(format2(cursor, 'f'), 'f')).toEqual(cursor);
    }
  });

  it('is 40 characters for a line of the bench, against 115 in format 2 and 187 in format 1', () => {
    const cursor: SearchCursor = { snapshotSeq: 10_000_000, position: { kind: 'after', key: { timestamp: 1767657599558000000n, offset: 121737494, seq: 7968966 } } };
    const fingerprint = 'oLLbFBOiwa7MwrJy';
    const [host, fileId] = ['db-1', '65024-5439503-26c44460f174-mx9by1sra99cfe'];
    expect(format1(cursor, fingerprint, host, fileId).length).toBe(187);
    expect(format2(cursor, fingerprint, host, fileId).length).toBe(115);
    expect(encodeCursor(cursor, fingerprint).length).toBe(40);
  });

  it('keeps format 1 for a timestamp past int64, and reads it back', () => {
    const cursor: SearchCursor = { snapshotSeq: 3, position: { kind: 'after', key: { timestamp: 2n ** 63n, offset: 1, seq: 2 } } };
    expect(encodeCursor(cursor, 'f')).toBe(format1(cursor, 'f', '', ''));
    expect(decodeCursor(encodeCursor(cursor, 'f'), 'f')).toEqual(cursor);
  });

  it('gives every line of a page the cursor of its own position, in the page snapshot', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ other: fc.maxSafeNat(), key: afterCursors, host: name, fileId: name }), { minLength: 1, maxLength: 20 }), fc.maxSafeNat(), (lines, snapshotSeq) => {
        const query: SearchQuery = { order: 'desc', limit: 10 };
        const page = { lines: [], nextCursor: encodeCursor({ snapshotSeq, position: { kind: 'start' } }, queryFingerprint(query)), partial: false };
        const cursorOf = lineCursorOf(query, page);
        // Interleaved with other encodes, which reuse the same scratch bytes.
        for (const { other, key: { snapshotSeq: _, ...key }, host, fileId } of lines) {
          const line = { ...key, host, fileId, line: 'x', filename: 'f', path: '/f', cut: false } as unknown as StoredLine;
          encodeCursor({ snapshotSeq: other, position: { kind: 'start' } }, 'another');
          const text = cursorOf(line);
          expect(text).toBe(encodeCursor({ snapshotSeq, position: { kind: 'after', key } }, queryFingerprint(query)));
          expect(decodeCursor(text, queryFingerprint(query))).toEqual({ snapshotSeq, position: { kind: 'after', key } });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('turns away anything else with INVALID_CURSOR: other queries, cut or changed bytes, random text', () => {
    const good = encodeCursor({ snapshotSeq: 9, position: { kind: 'after', key: { timestamp: 5n, offset: 6, seq: 8 } } }, 'fp');
    const bytes = Buffer.from(good, 'base64url');
    const expectInvalid = (text: string, fingerprint = 'fp'): void => expect(() => decodeCursor(text, fingerprint)).toThrow(InvalidCursorError);
    expectInvalid(good, 'other');
    expectInvalid(format2({ snapshotSeq: 9, position: { kind: 'start' } }, 'fp'), 'other');
    for (let cut = 1; cut < bytes.length; cut++) expectInvalid(bytes.subarray(0, cut).toString('base64url'));
    expectInvalid(Buffer.concat([bytes, Buffer.from([0])]).toString('base64url'));
    const badKind = Buffer.from(bytes);
    badKind[10] = 7; // after the version, the snapshot and the fingerprint's 8 bytes
    expectInvalid(badKind.toString('base64url'));
    expectInvalid('');
    expectInvalid('not a cursor!');
    expectInvalid('A'.repeat(4097));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (random) => {
        const text = Buffer.from(random).toString('base64url');
        try {
          decodeCursor(text, 'fp');
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidCursorError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
