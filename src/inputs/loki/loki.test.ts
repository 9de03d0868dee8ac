import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { longToBigInt, parseLabels } from './loki.js';

describe('parseLabels', () => {
  test('reads Prometheus label sets with escapes and spaces', () => {
    expect(parseLabels('{}')).toEqual({});
    expect(parseLabels('{job="api", host="web-1"}')).toEqual({ job: 'api', host: 'web-1' });
    expect(parseLabels(' { a = "x\\"y" ,b="c\\\\d\\n", } ')).toEqual({ a: 'x"y', b: 'c\\d\n' });
  });

  test('refuses malformed sets with INVALID_BODY naming the position', () => {
    for (const text of ['job="x"', '{job=x}', '{job="x"', '{="x"}', '{job "x"}']) {
      expect(() => parseLabels(text), text).toThrow(/Stream labels .* at position \d+/);
    }
  });

  test('any label map written as Loki writes it reads back the same', () => {
    const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,20}$/);
    fc.assert(
      fc.property(fc.dictionary(name, fc.string({ maxLength: 30 })), (labels) => {
        const text = `{${Object.entries(labels)
          .map(([key, value]) => `${key}=${JSON.stringify(value).replace(/\\u00([0-9a-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))}`)
          .join(', ')}}`;
        expect(parseLabels(text)).toEqual(labels);
      }),
    );
  });
});

test('longToBigInt reads signed and unsigned 64-bit values', () => {
  expect(longToBigInt({ low: -1, high: -1 })).toBe(-1n);
  expect(longToBigInt({ low: -1, high: -1, unsigned: true })).toBe(2n ** 64n - 1n);
  expect(longToBigInt({ low: 0x5a5a5a5a, high: 0x17979cfe })).toBe((0x17979cfen << 32n) | 0x5a5a5a5an);
  expect(longToBigInt(12)).toBe(12n);
});
