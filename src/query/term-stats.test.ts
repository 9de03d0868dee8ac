import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFieldStats, encodeFieldStats, FieldStatsBuilder } from './field-stats.js';
import { termCountable, TermStats, TermStatsBuilder, termStatsOfText, MAX_TERMS, MAX_INHERITED_TERMS } from './term-stats.js';
import { parseQuery } from './language.js';

/** Words that are substrings of one another, in several cases, beside non-ASCII text that lowercases to ASCII. */
const PIECES = ['ERROR', 'ERRORS', 'error', 'Error', 'xERRORx', 'ERR', 'warn', 'WARNING', 'api', 'APİ', 'KEY', '\u212Aey', 'key_1', 'ärger', 'ÄRGER', 'naïve', '😀', 'a', 'id42', '42', 'x'.repeat(33), ',', ' ', '=', '\t'];

const lineArb = fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((pieces) => pieces.join(''));

function textOf(lines: readonly string[]): Buffer {
  return Buffer.from(lines.map((line) => line + '\n').join(''));
}

/** The counts of ASCII `lines` built line by line, as the indexer builds them, given the words to inherit. */
function builtWith(lines: readonly string[], inherited: readonly string[]): TermStats {
  const text = textOf(lines);
  const builder = new TermStatsBuilder(text, true, inherited);
  let start = 0;
  for (const _ of lines) {
    const end = text.indexOf(10, start);
    builder.addLine(start, end);
    start = end + 1;
  }
  return builder.finish();
}

describe('term counts', () => {
  it('are the lines containing each kept word, case-sensitively and as the matcher lowercases', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 300 }), (lines) => {
        const text = textOf(lines);
        const ascii = text.length === lines.reduce((sum, line) => sum + line.length + 1, 0);
        const terms = termStatsOfText(text, ascii);
        for (const word of terms.words) {
          expect(terms.lines(word, false)).toBe(lines.filter((line) => line.includes(word)).length);
          const lowered = word.toLowerCase();
          expect(terms.lines(lowered, true)).toBe(lines.filter((line) => line.toLowerCase().includes(lowered)).length);
        }
        expect(terms.words.length).toBeLessThanOrEqual(MAX_TERMS);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps frequent words only, by the lines they are in, and answers nothing for others', () => {
    const lines = [...Array.from({ length: 10 }, () => 'alpha beta'), 'gamma', 'delta delta', 'ab', 'x'.repeat(40)];
    const terms = termStatsOfText(textOf(lines), true);
    expect(terms.words).toEqual(['alpha', 'beta']);
    expect(terms.lines('gamma', false)).toBeUndefined();
    expect(terms.lines('alp', false)).toBeUndefined(); // no kept word, though a substring of one
    expect(terms.lines('alpha\nbeta', false)).toBeUndefined();
    expect(terms.lines('ALPHA', true)).toBeUndefined(); // the caller lowercases a case-insensitive needle
    expect(terms.lines('alpha', true)).toBe(10);
    const none = new TermStatsBuilder(textOf(['one', 'two']), true);
    none.addLine(0, 3);
    none.addLine(4, 7);
    expect(none.scan()).toBe(false);
    expect(none.done).toBe(true);
    expect(none.finish().words).toEqual([]);
  });

  it('keep the words they inherit when a line holds them as a word, however few, and count them exactly', () => {
    const lines = [...Array.from({ length: 3_000 }, (_, i) => `alpha beta ${i % 2 ? 'gamma' : ''}`), 'one ERROR here', 'xERRORx and ERRORS', 'WARN'];
    const build = (inherited: string[]): TermStats => builtWith(lines, inherited);
    expect(build([]).words).toEqual(['alpha', 'beta', 'gamma']);
    // ERROR is a word of one line (and inside two others): kept, counted as a substring; absent and
    // RORS are no word of any line, 'al' is no word at all, alpha is kept already.
    const inherited = build(['ERROR', 'absent', 'RORS', 'al', 'alpha', 'WARN']);
    expect(inherited.words).toEqual(['alpha', 'beta', 'gamma', 'ERROR', 'WARN']);
    expect(inherited.lines('ERROR', false)).toBe(2);
    expect(inherited.lines('error', true)).toBe(2);
    expect(inherited.lines('WARN', false)).toBe(1);
    expect(inherited.lines('absent', false)).toBeUndefined();
    // At most MAX_INHERITED_TERMS of them, in the order given.
    const many = Array.from({ length: MAX_INHERITED_TERMS + 10 }, (_, i) => `w${String(i).padStart(3, '0')}`);
    expect(builtWith([...lines, many.join(' ')], many).words).toEqual(['alpha', 'beta', 'gamma', ...many.slice(0, MAX_INHERITED_TERMS)]);
  });

  it('can be built in slices', () => {
    const lines = Array.from({ length: 5_000 }, (_, i) => `line ${i} ERROR${i % 7 === 0 ? 'S' : ''} ${'pad'.repeat(i % 20)}`);
    const text = textOf(lines);
    const builder = new TermStatsBuilder(text, true);
    let start = 0;
    for (const _ of lines) {
      const end = text.indexOf(10, start);
      builder.addLine(start, end);
      start = end + 1;
    }
    let turns = 0;
    while (builder.scan()) turns++;
    expect(turns).toBeGreaterThan(1);
    expect(builder.done).toBe(true);
    const terms = builder.finish();
    expect(terms.lines('ERROR', false)).toBe(5_000);
    expect(terms.lines('ERRORS', false)).toBe(lines.filter((line) => line.includes('ERRORS')).length);
    expect(terms.lines('pad', false)).toBe(lines.filter((line) => line.includes('pad')).length);
  });

  it('are stored in version 3 of the statistics; versions 1 and 2 (older extraction rules) are read as none', () => {
    const fields = new FieldStatsBuilder();
    fields.add({ level: 'error' });
    fields.add({ level: 'info' });
    const terms = TermStats.of(['ERROR', 'error'], Uint32Array.of(3, 1), Uint32Array.of(4, 4));
    const v3 = encodeFieldStats(fields.finish(1, 2, terms));
    expect(v3[0]).toBe(3);
    const decoded = decodeFieldStats(v3)!;
    expect([...decoded.fields.get('level')!.values!]).toEqual([
      ['error', 1],
      ['info', 1],
    ]);
    expect([decoded.terms!.lines('ERROR', false), decoded.terms!.lines('error', false), decoded.terms!.lines('error', true), decoded.terms!.lines('eRRor', false)]).toEqual([3, 1, 4, undefined]);
    const withoutTerms = encodeFieldStats(fields.finish(1, 2));
    const plain = decodeFieldStats(withoutTerms)!;
    expect(plain.terms).toBeUndefined();
    expect(plain.fields.get('level')!.values!.get('error')).toBe(1);
    // The same bytes under the older versions: counted by older rules, so none.
    for (const old of [1, 2]) expect(decodeFieldStats(Buffer.concat([Buffer.of(old), v3.subarray(1)]))).toBeUndefined();
    // Damaged term counts answer no word (the segment is read); damaged field counts, nothing.
    expect(decodeFieldStats(Buffer.concat([v3, Buffer.of(0)]))!.terms!.lines('ERROR', false)).toBeUndefined();
    expect(decodeFieldStats(Buffer.concat([withoutTerms, Buffer.of(0)]))).toBeUndefined();
    expect(decodeFieldStats(v3.subarray(0, 12))).toBeUndefined();
  });

  it('answer a histogram of one substring or one bare word, and nothing else', () => {
    expect(termCountable({ match: [{ kind: 'substring', text: 'ERROR', caseInsensitive: false }] })).toEqual({ needle: 'ERROR', caseInsensitive: false, key: '\nERROR\n' });
    expect(termCountable({ match: [{ kind: 'substring', text: 'ERROR', caseInsensitive: true }] })).toEqual({ needle: 'error', caseInsensitive: true, key: '\nerror\n' });
    expect(termCountable({ match: [{ kind: 'query', node: parseQuery('Error'), caseSensitive: false }] })).toEqual({ needle: 'error', caseInsensitive: true, key: '\nerror\n' });
    expect(termCountable({ match: [{ kind: 'query', node: parseQuery('level:error'), caseSensitive: false }] })).toBeUndefined();
    expect(termCountable({ match: [{ kind: 'regex', pattern: 'ERROR', caseInsensitive: false }] })).toBeUndefined();
    expect(termCountable({ match: [{ kind: 'substring', text: 'a', caseInsensitive: false }, { kind: 'substring', text: 'b', caseInsensitive: false }] })).toBeUndefined();
    expect(termCountable({})).toBeUndefined();
    // A needle that can be no kept word is looked up as none.
    expect(termCountable({ match: [{ kind: 'substring', text: 'a b', caseInsensitive: false }] })).toEqual({ needle: 'a b', caseInsensitive: false, key: undefined });
  });
});
