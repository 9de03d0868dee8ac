import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Matcher } from './types.js';
import { compileMatchers } from './matcher.js';
import { countMatchingLines } from './segment-count.js';

const piece = fc.constantFrom('ERROR', 'error', 'Err', 'or', 'INFO', 'info ', 'x', ' ', '42', 'é', '😀', 'ERRORERROR');
const lineArb = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(''));
const matcherArb: fc.Arbitrary<Matcher> = fc.oneof(
  fc.record({ kind: fc.constant('substring' as const), text: fc.constantFrom('ERROR', 'error', 'rE', 'R\nE', 'é', 'o', 'ERRORERROR', '😀x', ''), caseInsensitive: fc.boolean() }),
  fc.record({ kind: fc.constant('regex' as const), pattern: fc.constantFrom('^ERROR', 'or$', 'x.?4', 'ERROR\\d', '^$', '(?:info|é)'), caseInsensitive: fc.boolean() }),
);

describe('counting the matching lines of a text block', () => {
  it('counts exactly the lines the line test accepts', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { minLength: 1, maxLength: 40 }), fc.array(matcherArb, { minLength: 1, maxLength: 2 }), (lines, matchers) => {
        const match = compileMatchers(matchers);
        const text = Buffer.from(lines.map((line) => line + '\n').join(''));
        const ascii = text.length === lines.reduce((sum, line) => sum + line.length + 1, 0);
        expect(countMatchingLines(text, ascii, match)).toBe(lines.filter((line) => match.test(line)).length);
      }),
      { numRuns: 500 },
    );
  });

  it('counts a line once however often it holds the needle, and never across a line break', () => {
    const match = compileMatchers([{ kind: 'substring', text: 'ERROR', caseInsensitive: false }]);
    expect(countMatchingLines(Buffer.from('ERROR ERROR\nERR\nOR\nERROR\n'), true, match)).toBe(2);
    const insensitive = compileMatchers([{ kind: 'substring', text: 'error', caseInsensitive: true }]);
    expect(countMatchingLines(Buffer.from('Error eRRor\nERR\nOR\nx\n'), true, insensitive)).toBe(1);
  });
});

describe('counting at the edges of a text block', () => {
  const count = (text: string, matchers: Matcher[]): number => {
    const bytes = Buffer.from(text);
    return countMatchingLines(bytes, bytes.length === text.length, compileMatchers(matchers));
  };
  const exact = (text: string): Matcher[] => [{ kind: 'substring', text, caseInsensitive: false }];

  it('counts a needle on the first and on the last line', () => {
    expect(count('ERROR first\nmiddle\nlast ERROR\n', exact('ERROR'))).toBe(2);
    expect(count('ERROR\n', exact('ERROR'))).toBe(1);
    expect(count('ERRO\nR\n', exact('ERROR'))).toBe(0);
  });

  it('matches non-ASCII needles byte for byte, and case-insensitively line by line', () => {
    expect(count('Ärger é\närger\nARGER\n😀é\n', exact('é'))).toBe(2);
    expect(count('Ärger é\närger\nARGER\n', [{ kind: 'substring', text: 'ÄRGER', caseInsensitive: true }])).toBe(2);
    expect(count('😀 ERROR1\nERROR2 😀\nERROR\n', [{ kind: 'regex', pattern: 'ERROR\\d', caseInsensitive: false }])).toBe(2);
  });
});
