import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredLine } from './types.js';
import { compareInOrder } from './order.js';
import { TopLines } from './top-lines.js';

const lineArb: fc.Arbitrary<StoredLine> = fc.record({
  host: fc.constantFrom('a', 'b'),
  fileId: fc.constantFrom('f1', 'f2'),
  filename: fc.constant('x.log'),
  path: fc.constant('/x.log'),
  offset: fc.nat({ max: 50 }),
  end: fc.constant(0),
  // Small times, and times that differ by less than a double can tell apart (ns since 1970 today).
  timestamp: fc.oneof(fc.bigInt({ min: -5n, max: 5n }), fc.bigInt({ min: 0n, max: 600n }).map((ns) => 1767657599558000000n + ns), fc.constantFrom(2n ** 63n - 1n, -(2n ** 63n))),
  line: fc.constant(''),
  cut: fc.constant(false),
  seq: fc.constant(0),
});

describe('the top of a search', () => {
  it('keeps exactly the best lines in order, and knows the one it would push out next', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 80 }), fc.integer({ min: 1, max: 12 }), fc.constantFrom('asc' as const, 'desc' as const), (drawn, capacity, order) => {
        // Distinct seqs: every line has its own place in the order, as stored lines do.
        const lines = drawn.map((line, i) => ({ ...line, seq: i }));
        const top = new TopLines(capacity, order);
        const expected = (seen: StoredLine[]) => [...seen].sort((a, b) => compareInOrder(a, b, order)).slice(0, capacity);
        lines.forEach((line, i) => {
          top.offer(line);
          const best = expected(lines.slice(0, i + 1));
          expect(top.worst).toBe(best.length === capacity ? best[capacity - 1] : undefined);
        });
        expect(top.sorted()).toEqual(expected(lines));
        expect(top.size).toBe(Math.min(capacity, lines.length));
      }),
      { numRuns: 300 },
    );
  });
});
