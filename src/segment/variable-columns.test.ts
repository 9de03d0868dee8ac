import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeSegment, payloadTextStart, type SegmentLine } from './codec.js';
import { zstd } from '../common/zstd.js';
import { ByteReader } from '../protocol/bytes.js';
import { compressPayload, decompressPayload, decompressPayloadInto, repackBlob, RepackStopped } from './compression.js';
import { arrangeVariables, nativeRestoreLoaded, restoreVariables, restoreVariablesJs } from './variable-columns.js';

/** Both restorers' answers for the same arrangement: the bytes, or the error's message. */
function restoredBoth(arranged: Uint8Array, lengths: Parameters<typeof restoreVariables>[1], length: number): [string, string] {
  const answer = (restore: typeof restoreVariables): string => {
    const out = Buffer.alloc(length);
    try {
      restore(arranged, lengths, out);
      return out.toString('hex');
    } catch {
      return 'error';
    }
  };
  return [answer(restoreVariables), answer(restoreVariablesJs)];
}

/** Text built from the pieces that take every branch: variables, words that are not, markers, escapes, UTF-8. */
const piece = fc.constantFrom('12', '0x1f', 'deadbeef', 'blk_-9', 'ab12', 'abc', 'user12', 'é', ' ', '\n', ',', '.', ':', '\x0e', '\x19', '\x1a', '\x01', 'ff', '2005-06-03', '10.0.0.1:80');
const arrangedText = fc.array(piece, { maxLength: 200 }).map((pieces) => Buffer.from(pieces.join('')));

describe('variable columns', () => {
  it('moves hex words with a decimal digit to the columns of their place in the line, and back', () => {
    const text = Buffer.from('at 10:42 user12 sent 0x1f to 10.0.0.1\nat 10:43 ab failed cafe beef00\n');
    const { arranged, lengths } = arrangeVariables(text, 0);
    // Templates: the variables' markers (0x0E + place) where they were.
    const templates = arranged.subarray(0, lengths.templates).toString('latin1');
    expect(templates).toBe('at \x0e:\x0f user12 sent 0x1f to \x10.\x11.\x12.\x13\nat \x0e:\x0f ab failed cafe \x10\n');
    const column = (c: number): string => {
      let at = lengths.templates;
      for (let i = 0; i < c; i++) at += lengths.columns[i]!;
      return arranged.subarray(at, at + lengths.columns[c]!).toString('latin1');
    };
    expect(column(0)).toBe('10,10,');
    expect(column(1)).toBe('42,43,');
    expect(column(2)).toBe('10,beef00,');
    expect(column(3)).toBe('0,');
    const out = Buffer.alloc(text.length);
    restoreVariables(arranged, lengths, out);
    expect(out.equals(text)).toBe(true);
  });

  it('keeps the bytes before the text start as they are, and escapes the marker bytes of the text', () => {
    const payload = Buffer.concat([Buffer.from([0x0e, 0x31, 0x1a, 0x2c]), Buffer.from('x\x0ey\x1a12\n')]);
    const { arranged, lengths } = arrangeVariables(payload, 4);
    expect(lengths.prefix).toBe(4);
    expect(arranged.subarray(0, 4).equals(payload.subarray(0, 4))).toBe(true);
    expect(arranged.subarray(4, 4 + lengths.templates).toString('latin1')).toBe('x\x1a\x0ey\x1a\x1a\x0e\n');
    const out = Buffer.alloc(payload.length);
    restoreVariables(arranged, lengths, out);
    expect(out.equals(payload)).toBe(true);
  });

  it('gives back any text (property), the same from C and JavaScript', () => {
    fc.assert(
      fc.property(arrangedText, fc.nat(8), (text, prefix) => {
        const payload = Buffer.concat([randomBytes(prefix), text]);
        const { arranged, lengths } = arrangeVariables(payload, prefix);
        const [native, js] = restoredBoth(arranged, lengths, payload.length);
        expect(js).toBe(payload.toString('hex'));
        expect(native).toBe(js);
      }),
      { numRuns: 300 },
    );
  });

  it('gives back random bytes, the twelfth and later variables of a line sharing the last column', () => {
    for (let i = 0; i < 50; i++) {
      const payload = randomBytes(1 + ((i * 7919) % 5000));
      const { arranged, lengths } = arrangeVariables(payload, i % 3);
      const out = Buffer.alloc(payload.length);
      restoreVariables(arranged, lengths, out);
      expect(out.equals(payload)).toBe(true);
    }
    const many = Buffer.from(`${Array.from({ length: 30 }, (_, i) => `v${i} ${i}`).join(' ')}\n`);
    const { arranged, lengths } = arrangeVariables(many, 0);
    expect(lengths.columns[11]).toBeGreaterThan(lengths.columns[10]!);
    const out = Buffer.alloc(many.length);
    restoreVariables(arranged, lengths, out);
    expect(out.equals(many)).toBe(true);
  });

  it('refuses an arrangement that does not fit its lengths, in C and JavaScript alike', () => {
    const text = Buffer.from('a 12 b 34 c 56\n'.repeat(20));
    const { arranged, lengths } = arrangeVariables(text, 0);
    const cases: [Uint8Array, typeof lengths, number][] = [
      [arranged, lengths, text.length - 1],
      [arranged, lengths, text.length + 1],
      [arranged.subarray(0, arranged.length - 1), lengths, text.length],
      [arranged, { ...lengths, columns: [lengths.columns[0]! - 3, ...lengths.columns.slice(1)] }, text.length],
      [arranged, { ...lengths, templates: lengths.templates + 1 }, text.length],
      [Buffer.concat([arranged.subarray(0, 2), Buffer.from([0x19]), arranged.subarray(3)]), lengths, text.length],
      [Buffer.concat([arranged.subarray(0, lengths.templates - 1), Buffer.from([0x1a]), arranged.subarray(lengths.templates)]), lengths, text.length],
    ];
    cases.forEach(([bytes, given, length], i) => expect([i, ...restoredBoth(bytes, given, length)]).toEqual([i, "error", "error"]));
    for (let i = 0; i < 200; i++) {
      const broken = Buffer.from(arranged);
      const at = (i * 31) % broken.length;
      broken[at] = broken[at]! ^ (1 << i % 8);
      const [native, js] = restoredBoth(broken, lengths, text.length);
      expect(native).toBe(js);
    }
  });

  it('reports whether the C restorer is loaded', () => {
    expect(typeof nativeRestoreLoaded()).toBe('boolean');
  });
});

describe('repacked blobs in variable columns (codec 3)', () => {
  const lines: SegmentLine[] = Array.from({ length: 400 }, (_, i) => {
    const line = `2026-12-06T07:${String(i % 60).padStart(2, '0')}:00Z host=web-${i % 4} GET /item/${i * 37} 200 ${(i * 7919) % 1000}ms req=${(i * 2654435761).toString(16)}`;
    return { offset: i * 100, end: i * 100 + line.length + 1, timestamp: 1_700_000_000_000_000_000n + BigInt(i), line, cut: false, seq: i + 1 };
  });
  const blob = encodeSegment(lines).data;
  const payload = decompressPayload(blob);

  it('decode to the same payload as before, through every reader, and are smaller than plain Zstandard at the same level', () => {
    const plain = repackBlob(blob, 9) ?? blob;
    const arranged = repackBlob(blob, 9, () => false, payloadTextStart)!;
    expect(arranged[1]).toBe(3);
    expect(arranged.length).toBeLessThan(plain.length);
    expect(decompressPayload(arranged).equals(payload)).toBe(true);
    let given: Buffer | undefined;
    const into = decompressPayloadInto(arranged, (length) => (given = Buffer.alloc(length + 10)));
    expect(into.equals(payload)).toBe(true);
    expect(into.buffer).toBe(given!.buffer);
    // Repacked again (codec 3 in, codec 3 out): not smaller, so left as it is.
    expect(repackBlob(arranged, 9, () => false, payloadTextStart)).toBeUndefined();
  });

  it('compress each part of the arrangement as a frame of its own (the prefix, the templates, the columns)', () => {
    const arranged = repackBlob(blob, 15, () => false, payloadTextStart)!;
    const header = new ByteReader(arranged, () => new Error('truncated'));
    header.position = 2;
    header.varint();
    const prefix = header.varint();
    const templates = header.varint();
    let columns = 0;
    for (let c = 0; c < 12; c++) columns += header.varint();
    const sizes: number[] = [];
    for (let at = header.position; at < arranged.length; ) {
      const frame = arranged.subarray(at);
      sizes.push(zstd.getFrameContentSize(frame)!);
      at += zstd.findFrameCompressedSize(frame);
    }
    expect(sizes).toEqual([prefix, templates, columns]);
    expect(decompressPayload(arranged).equals(payload)).toBe(true);
  });

  it('refuse a damaged header with an error, never other bytes', () => {
    const arranged = repackBlob(blob, 9, () => false, payloadTextStart)!;
    // The header: mark, codec, the payload's length, the prefix's, the templates' and 12 columns' (a byte or three each).
    for (let i = 2; i < 40; i++) {
      const broken = Buffer.from(arranged);
      broken[i] = broken[i]! ^ 0x40;
      let decoded: Buffer | undefined;
      try {
        decoded = decompressPayload(broken);
      } catch {
        continue;
      }
      expect(decoded.equals(payload)).toBe(true);
    }
    expect(() => decompressPayload(arranged.subarray(0, 10))).toThrow();
    expect(() => decompressPayload(compressPayload(payload).subarray(0, 3))).toThrow();
  });
});

describe('repacked blobs of the densest arrangement', () => {
  it('decode: one-digit variables between escaped bytes (2.5 arranged bytes a text byte)', () => {
    const text = Buffer.from('1\x0e'.repeat(3000) + '\n');
    const payload = Buffer.concat([Buffer.from([2, 1, 0]), text]);
    const { arranged } = arrangeVariables(payload, 3);
    expect(arranged.length).toBeGreaterThan(2 * payload.length);
    // Stored uncompressed (deflate level 0 behind the codec 1 header), so any repack is smaller.
    const stored = Buffer.concat([Buffer.from([0xff, 1, payload.length & 0x7f | 0x80, payload.length >> 7]), deflateRawSync(payload, { level: 0 })]);
    expect(decompressPayload(stored).equals(payload)).toBe(true);
    const repacked = repackBlob(stored, 9, () => false, () => 3)!;
    expect(repacked[1]).toBe(3);
    expect(decompressPayload(repacked).equals(payload)).toBe(true);
  });
});

describe('a repack stopped while arranging', () => {
  it('stops within 64 KiB of text, and arranges whole when let be', () => {
    const text = Buffer.from('at 10:42 user12 sent 0x1f to 10.0.0.1\n'.repeat(10_000));
    let looks = 0;
    expect(arrangeVariables(text, 0, () => ++looks > 2)).toBeUndefined();
    expect(looks).toBe(3);
    looks = 0;
    const whole = arrangeVariables(text, 0, () => (looks++, false))!;
    expect(looks).toBe(Math.ceil(text.length / 65536));
    expect(whole.arranged.equals(arrangeVariables(text, 0).arranged)).toBe(true);
    expect(() => repackBlob(compressPayload(text), 9, () => true, () => 0)).toThrow(RepackStopped);
  });
});
