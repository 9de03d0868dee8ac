import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Batcher, jsonString, parseBatchBody, type Batch } from './batcher.js';

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

describe('Batcher', () => {
  const file = { fileId: 'f1', filename: 'a.log', path: '/x/a.log', size: 100 };
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
    for (let i = 0; i < 7; i++) batcher.add(file, line(i * 2));
    batcher.flush();
    expect(batches.map((b) => b.lines)).toEqual([3, 3, 1]);
    const body = parseBatchBody(batches[0]!.body);
    expect(body.host).toBe('h');
    expect(body.files[0]!.lines.map((l) => [l.offset, l.end, l.timestamp])).toEqual([[0, 2, '1000'], [2, 4, '1002'], [4, 6, '1004']]);
    expect(body.files[0]!.size).toBe(100);
    expect(batches[2]!.files[0]!.end).toBe(14);
  });

  it('cuts at the byte bound and on the timer', async () => {
    const batches: Batch[] = [];
    const batcher = new Batcher({ host: 'h', maxLines: 1000, maxBytes: 200, flushIntervalMs: 30 }, (b) => batches.push(b));
    for (let i = 0; i < 5; i++) batcher.add(file, line(i * 60, 'y'.repeat(59)));
    expect(batches.length).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(batches.reduce((n, b) => n + b.lines, 0)).toBe(5);
  });
});
