import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { jsonWithEntries } from './json-pieces.js';

const entry = fc.record(
  {
    logline: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme', maxLength: 300 })),
    offset: fc.nat(),
    fields: fc.option(fc.dictionary(fc.string(), fc.string()), { nil: undefined }),
    cut: fc.option(fc.constant(true), { nil: undefined }),
  },
  { requiredKeys: ['logline', 'offset'] },
);

describe('an answer serialized a few entries at a time', () => {
  it('is byte for byte JSON.stringify of the whole answer', () => {
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 300 }),
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.constant(true), { nil: undefined }),
        (data, next, partial) => {
          const answer: { data: unknown[]; next?: string; partial?: true } = { data };
          if (next !== undefined) answer.next = next;
          if (partial !== undefined) answer.partial = partial;
          expect(jsonWithEntries(answer).equals(Buffer.from(JSON.stringify(answer)))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('holds lone surrogates and pieces of any size', () => {
    const data = Array.from({ length: 1000 }, (_, i) => ({ logline: i % 7 === 0 ? `\ud800 ${'x'.repeat(i)}` : `é ${i}`, offset: i }));
    const answer = { data, next: '/logs?cursor=abc' };
    expect(jsonWithEntries(answer).toString()).toBe(JSON.stringify(answer));
    expect(jsonWithEntries({ data: [] }).toString()).toBe('{"data":[]}');
  });
});
