import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter, type RawLine } from './line-splitter.js';

function split(chunks: Buffer[], max: number, flush = false, minRunBytes?: number, runStringChars?: number): { lines: RawLine[]; splitter: LineSplitter } {
  const splitter = new LineSplitter(max, minRunBytes, runStringChars);
  const lines: RawLine[] = [];
  let offset = 0;
  for (const chunk of chunks) {
    splitter.push(chunk, offset, (l) => lines.push(l));
    offset += chunk.length;
  }
  if (flush) splitter.flushHeld((l) => lines.push(l));
  return { lines, splitter };
}

/** Cuts `bytes` at the given points. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of [...points, bytes.length]) {
    if (p > last) out.push(bytes.subarray(last, p));
    last = Math.max(last, p);
  }
  return out;
}

describe('LineSplitter', () => {
  it('splits on \\n, drops a trailing \\r, holds the unfinished last line', () => {
    const { lines, splitter } = split([Buffer.from('a\r\nbb\n\nc\rd\npart')], 100);
    expect(lines.map((l) => [l.text, l.offset, l.end])).toEqual([
      ['a', 0, 3],
      ['bb', 3, 6],
      ['', 6, 7],
      ['c\rd', 7, 11],
    ]);
    expect(splitter.consumedOffset).toBe(11);
    expect(splitter.heldBytes).toBe(4);
  });

  it('decodes invalid UTF-8 as U+FFFD', () => {
    const { lines } = split([Buffer.from([0x61, 0xff, 0x62, 0x0a])], 100);
    expect(lines[0]!.text).toBe('a\uFFFDb');
    expect(lines[0]!.end).toBe(4);
  });

  it('cuts long lines into marked pieces without splitting a character', () => {
    const text = 'é'.repeat(10); // 20 bytes
    const { lines } = split([Buffer.from(text + '\n')], 7);
    expect(lines.every((l, i) => l.cut === (i < lines.length - 1))).toBe(true);
    expect(lines.map((l) => l.text).join('')).toBe(text);
    expect(lines.every((l) => !l.text.includes('\uFFFD'))).toBe(true);
  });

  it('never holds more than the limit, whatever the input', () => {
    const splitter = new LineSplitter(1024);
    let offset = 0;
    let pieces = 0;
    for (let i = 0; i < 100; i++) {
      const chunk = Buffer.alloc(10_000, 0x78);
      splitter.push(chunk, offset, () => pieces++);
      offset += chunk.length;
      expect(splitter.heldBytes).toBeLessThanOrEqual(1024);
    }
    expect(pieces).toBeGreaterThan(900);
  });

  it('property: however the bytes are chunked, pieces rebuild every line and tile the bytes', () => {
    const lineArb = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 20 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), fc.integer({ min: 4, max: 30 }), (texts, crlf, cuts, max) => {
        const clean = texts.map((t) => t.replace(/[\r\n]/g, ''));
        const bytes = Buffer.from(clean.map((t) => t + (crlf ? '\r\n' : '\n')).join(''));
        const { lines, splitter } = split(chunked(bytes, cuts), max);
        // Rebuild lines from pieces.
        const rebuilt: string[] = [];
        let current = '';
        for (const l of lines) {
          current += l.text;
          if (!l.cut) {
            rebuilt.push(current);
            current = '';
          }
          expect(Buffer.byteLength(l.text)).toBeLessThanOrEqual(max);
        }
        expect(rebuilt).toEqual(clean);
        // Offsets tile the file with no gap or overlap.
        let at = 0;
        for (const l of lines) {
          expect(l.offset).toBe(at);
          at = l.end;
        }
        expect(at).toBe(bytes.length);
        expect(splitter.heldBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('property: chunks of ASCII lines split from one decoded string give exactly what splitting line by line gives', () => {
    const lineArb = fc.oneof(
      { weight: 8, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 }) },
      { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 600, maxLength: 2_000 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    );
    const contentArb = fc.array(fc.record({ text: lineArb, crlf: fc.boolean(), invalid: fc.nat(60) }), { minLength: 1, maxLength: 60 });
    // Strings of a run as short as a line or shorter, or longer than the chunks.
    const runCharsArb = fc.oneof(fc.integer({ min: 1, max: 4_000 }), fc.constant(undefined));
    fc.assert(
      fc.property(contentArb, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 4, max: 1_024 }), fc.boolean(), fc.boolean(), runCharsArb, (content, cuts, max, unfinished, ascii, runChars) => {
        const parts = content.map(({ text, crlf, invalid }) => {
          // Either every byte ASCII (the chunk-wide path), or other characters and bytes among them.
          const kept = text.replace(/[\r\n]/g, '');
          const clean = ascii ? kept.replace(/[^\x20-\x7e]/gu, '?') : kept;
          const line = Buffer.from(clean + (crlf ? '\r\n' : '\n'));
          // Now and then a byte that is no UTF-8 (decoded as U+FFFD), or a \r not before the \n.
          if (!ascii && invalid === 0 && line.length > 2) line[line.length >> 1] = 0xff;
          if (invalid === 1 && line.length > 2) line[0] = 0x0d;
          return line;
        });
        if (unfinished) parts.push(Buffer.from('an unfinished line'));
        const bytes = Buffer.concat(parts);
        const chunks = chunked(bytes, cuts);
        const whole = split(chunks, max, false, 64, runChars);
        const byLine = split(chunks, max, false, Infinity);
        // The same lines; only the fast path marks its lines ASCII, and only lines that are.
        const unmarked = (lines: RawLine[]): RawLine[] => lines.map(({ ascii: _ascii, ...line }) => line);
        expect(unmarked(whole.lines)).toEqual(unmarked(byLine.lines));
        for (const line of whole.lines) if (line.ascii === true) expect(/^[\x00-\x7f]*$/.test(line.text)).toBe(true);
        expect(byLine.lines.some((line) => line.ascii === true)).toBe(false);
        expect(whole.splitter.consumedOffset).toBe(byLine.splitter.consumedOffset);
        expect(whole.splitter.heldBytes).toBe(byLine.splitter.heldBytes);
      }),
      { numRuns: 300 },
    );
  });

  it('flushHeld emits the unfinished line (file rotated away)', () => {
    const { lines } = split([Buffer.from('a\nrest')], 100, true);
    expect(lines.map((l) => [l.text, l.offset, l.end])).toEqual([
      ['a', 0, 2],
      ['rest', 2, 6],
    ]);
  });
});
