import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { jsonWithEntries, jsonWithEntriesYielding } from './json-pieces.js';

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
  it('is byte for byte JSON.stringify of the whole answer, at once or between the event loop\'s turns', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 300 }),
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.constant(true), { nil: undefined }),
        async (data, next, partial) => {
          const rest: { next?: string; partial?: true } = {};
          if (next !== undefined) rest.next = next;
          if (partial !== undefined) rest.partial = partial;
          // Entries made from items on the way, as /logs makes them from stored lines.
          const entryOf = (item: (typeof data)[number]): object => ({ ...item, length: item.logline.length });
          const whole = JSON.stringify({ data: data.map(entryOf), ...rest });
          expect(jsonWithEntries(data, entryOf, rest).equals(Buffer.from(whole))).toBe(true);
          expect((await jsonWithEntriesYielding(data, entryOf, rest)).equals(Buffer.from(whole))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('holds lone surrogates and pieces of any size', () => {
    const data = Array.from({ length: 1000 }, (_, i) => ({ logline: i % 7 === 0 ? `\ud800 ${'x'.repeat(i)}` : `é ${i}`, offset: i }));
    const same = <T>(item: T): T => item;
    expect(jsonWithEntries(data, same, { next: '/logs?cursor=abc' }).toString()).toBe(JSON.stringify({ data, next: '/logs?cursor=abc' }));
    expect(jsonWithEntries([], same).toString()).toBe('{"data":[]}');
  });

  it('made between turns, it stops when its signal aborts', async () => {
    const abort = new AbortController();
    const data = Array.from({ length: 1000 }, (_, i) => ({ logline: `line ${i}`, offset: i }));
    let made = 0;
    const making = jsonWithEntriesYielding(data, (item) => {
      made += 1;
      if (made === 100) abort.abort(new Error('another search'));
      return item;
    }, {}, abort.signal);
    await expect(making).rejects.toThrow('another search');
    expect(made).toBeLessThan(200);
  });
});
