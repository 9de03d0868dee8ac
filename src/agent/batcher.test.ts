import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Batcher, parseBatchBody, type Batch } from './batcher.js';
import { JsonBody, jsonString } from './json-body.js';
import { MAX_INGEST_FILES } from '../protocol/ingest.js';

describe('jsonString', () => {
  it('is JSON.stringify for any text a line can hold', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (raw) => {
        const text = Buffer.from(raw, 'utf8').toString('utf8'); // as decoded from a file: no lone surrogates
        expect(JSON.parse(jsonString(text))).toBe(text);
      }),
      { numRuns: 200 },
    );
    expect(jsonString('a"b\\c\u0001')).toBe(JSON.stringify('a"b\\c\u0001'));
  });
});

describe('JsonBody lines', () => {
  it('round-trips any line, leaving out only an end Daniel derives to the same value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ raw: fc.string({ unit: 'binary', maxLength: 40 }), extra: fc.integer({ min: 0, max: 2 }), cut: fc.boolean(), ts: fc.bigInt({ min: 0n, max: 2n ** 62n }) }), { maxLength: 30 }),
        fc.integer({ min: 16, max: 300 }),
        (lines, initial) => {
          const body = new JsonBody(Buffer.alloc(initial));
          body.raw('[');
          let offset = 0;
          const expected = lines.map(({ raw, extra, cut, ts }, i) => {
            const text = Buffer.from(raw, 'utf8').toString('utf8');
            const end = offset + Buffer.byteLength(text) + (cut ? 0 : 1) + extra;
            body.line(i > 0, offset, end, ts, text, cut);
            const line = { offset, end, timestamp: ts.toString(), line: text, cut };
            offset = end;
            return line;
          });
          body.raw(']');
          const parsed = JSON.parse(body.finish().toString('utf8')) as Array<{ offset: number; end?: number; timestamp: string; line: string; cut?: boolean }>;
          expect(
            parsed.map((l) => ({ offset: l.offset, end: l.end ?? l.offset + Buffer.byteLength(l.line) + 1, timestamp: l.timestamp, line: l.line, cut: l.cut === true })),
          ).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('JsonBody escapes', () => {
  it('escapes a stray \\r, quotes and control characters as JSON.stringify does, and still leaves out a derivable end', () => {
    const text = 'a "q" \\ \r\t\u0001\u001f\u007f end';
    const body = new JsonBody(Buffer.alloc(16));
    body.line(false, 10, 10 + text.length + 1, 7n, text, false);
    const json = body.finish().toString('utf8');
    expect(json).toBe(`{"offset":10,"timestamp":"7","line":${JSON.stringify(text)}}`);
  });

  it('keeps end for a line with non-ASCII text, a \\r\\n ending and a cut piece', () => {
    const cases: Array<[string, number, boolean]> = [['caf\u00e9', 6, false], ['crlf', 6, false], ['piece', 5, true]];
    for (const [text, end, cut] of cases) {
      const body = new JsonBody(Buffer.alloc(64));
      body.line(false, 0, end, 1n, text, cut);
      expect(JSON.parse(body.finish().toString('utf8'))).toEqual({ offset: 0, timestamp: '1', line: text, end, ...(cut ? { cut: true } : {}) });
    }
  });
});

describe('JsonBody timestamps', () => {
  it('writes every timestamp of a rising, falling or jumping sequence exactly', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 2000n }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 15n }), fc.constant(0n)), { maxLength: 40 }),
        (start, steps) => {
          const body = new JsonBody(Buffer.alloc(64));
          body.raw('[');
          const expected: string[] = [];
          let ts = start;
          steps.forEach((step, i) => {
            ts = ts + step < 0n ? 0n : ts + step;
            body.line(i > 0, i, i + 2, ts, 'x', false);
            expected.push(ts.toString());
          });
          body.raw(']');
          const parsed = JSON.parse(body.finish().toString('utf8')) as Array<{ timestamp: string }>;
          expect(parsed.map((l) => l.timestamp)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
    // Carries through every digit, and a carry that adds one.
    const body = new JsonBody(Buffer.alloc(64));
    body.raw('[');
    const values = [999_999_999_999n, 1_000_000_000_000n, 1_000_000_000_001n, 9_999_999_999_999n, 10_000_000_000_000n];
    values.forEach((v, i) => body.line(i > 0, i, i + 2, v, 'x', false));
    body.raw(']');
    expect((JSON.parse(body.finish().toString('utf8')) as Array<{ timestamp: string }>).map((l) => l.timestamp)).toEqual(values.map(String));
  });
});

describe('JsonBody numbers', () => {
  it('writes offsets of any safe size', () => {
    for (const offset of [0, 9, 10, 99, 2 ** 31 - 1, 2 ** 31, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER - 10]) {
      const body = new JsonBody(Buffer.alloc(64));
      body.line(false, offset, offset + 3, -5n, 'ab', false);
      expect(JSON.parse(body.finish().toString())).toEqual({ offset, timestamp: '-5', line: 'ab' });
    }
  });
});

describe('Batcher', () => {
  const file = { id: 'f1', filename: 'a.log', path: '/x/a.log' };
  const line = (offset: number, text = 'x'): { offset: number; end: number; timestamp: bigint; text: string; cut: boolean } => ({
    offset,
    end: offset + text.length + 1,
    timestamp: 1000n + BigInt(offset),
    text,
    cut: false,
  });

  it('cuts batches at the line bound, in order, with end and size per file', () => {
    const batches: Batch[] = [];
    const batcher = new Batcher({ host: 'h', maxLines: 3, maxBytes: 1e9, flushIntervalMs: 60_000 }, (b) => batches.push(b));
    for (let i = 0; i < 7; i++) batcher.add(file, line(i * 2), 100);
    batcher.flush();
    expect(batches.map((b) => b.lines)).toEqual([3, 3, 1]);
    const body = parseBatchBody(batches[0]!.body);
    expect(body.host).toBe('h');
    expect(body.files[0]!.lines.map((l) => [l.offset, l.end ?? l.offset + l.line.length + 1, l.timestamp])).toEqual([[0, 2, '1000'], [2, 4, '1002'], [4, 6, '1004']]);
    expect(body.files[0]!.size).toBe(100);
    expect(batches[2]!.files[0]!.end).toBe(14);
    expect(batches[2]!.files[0]!.lastTimestamp).toBe('1012');
  });

  it('cuts at the byte bound and on the timer', async () => {
    const batches: Batch[] = [];
    const batcher = new Batcher({ host: 'h', maxLines: 1000, maxBytes: 200, flushIntervalMs: 30 }, (b) => batches.push(b));
    for (let i = 0; i < 5; i++) batcher.add(file, line(i * 60, 'y'.repeat(59)), 0);
    expect(batches.length).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(batches.reduce((n, b) => n + b.lines, 0)).toBe(5);
  });

  it('groups interleaved files in arrival order, one header entry per file', () => {
    const batches: Batch[] = [];
    const batcher = new Batcher({ host: 'h"1', maxLines: 100, maxBytes: 1e9, flushIntervalMs: 60_000 }, (b) => batches.push(b));
    const other = { id: 'f2', filename: 'b "quoted".log', path: '/x/b.log' };
    batcher.add(file, line(0, 'a0'), 10);
    batcher.add(other, line(0, 'b0'), 20);
    batcher.add(file, line(3, 'a1'), 30);
    batcher.flush();
    const body = parseBatchBody(batches[0]!.body);
    expect(body.host).toBe('h"1');
    expect(body.files.map((f) => [f.file_id, f.filename, f.lines.map((l) => l.line)])).toEqual([
      ['f1', 'a.log', ['a0']],
      ['f2', 'b "quoted".log', ['b0']],
      ['f1', 'a.log', ['a1']],
    ]);
    expect(batches[0]!.files.map((f) => [f.fileId, f.firstOffset, f.end, f.lines, f.size])).toEqual([
      ['f1', 0, 6, 2, 30],
      ['f2', 0, 3, 1, 20],
    ]);
  });

  it('cuts a batch before it would carry more file groups than Daniel takes in one request', () => {
    const batches: Batch[] = [];
    const batcher = new Batcher({ host: 'h', maxLines: 100_000, maxBytes: 1e9, flushIntervalMs: 60_000 }, (b) => batches.push(b));
    const files = MAX_INGEST_FILES * 2 + 5;
    for (let i = 0; i < files; i++) batcher.add({ id: `f${i}`, filename: `${i}.log`, path: `/x/${i}.log` }, line(0, `line of ${i}`), 0);
    batcher.flush();
    const groups = batches.map((b) => parseBatchBody(b.body).files.length);
    expect(groups).toEqual([MAX_INGEST_FILES, MAX_INGEST_FILES, 5]);
    expect(batches.reduce((n, b) => n + b.lines, 0)).toBe(files);
  });
});

describe('labels and line fields', () => {
  it('writes a group its source labels and a line its fields; a change of labels starts a new group', () => {
    const batches: Batch[] = [];
    const batcher = new Batcher({ host: 'h', maxLines: 100, maxBytes: 1 << 20, flushIntervalMs: 60_000 }, (b) => batches.push(b));
    const source: { id: string; filename: string; path: string; labels?: Record<string, string> } = { id: 'f1', filename: 'a', path: '/a' };
    const stream = Object.freeze({ stream: 'stderr' });
    batcher.add(source, { offset: 0, end: 6, timestamp: 1n, text: 'plain', cut: false }, 6);
    source.labels = { service: 'api', 'pod "q"': 'ü\n' };
    batcher.add(source, { offset: 6, end: 20, timestamp: 2n, text: 'unwrapped', cut: false, fields: stream }, 20);
    batcher.add(source, { offset: 20, end: 40, timestamp: 3n, text: 'x', cut: true, fields: stream }, 40);
    batcher.flush();
    const body = parseBatchBody(batches[0]!.body) as unknown as { files: Array<{ labels?: Record<string, string>; lines: Array<{ line: string; fields?: Record<string, string> }> }> };
    expect(body.files.map((g) => g.labels)).toEqual([undefined, { service: 'api', 'pod "q"': 'ü\n' }]);
    expect(body.files.flatMap((g) => g.lines.map((l) => [l.line, l.fields]))).toEqual([
      ['plain', undefined],
      ['unwrapped', { stream: 'stderr' }],
      ['x', { stream: 'stderr' }],
    ]);
    expect(batches[0]!.files).toHaveLength(1);
  });
});
