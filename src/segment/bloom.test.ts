import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bloomMayContain, bloomMayContainExact, buildTrigramBloom, exactTrigrams, foldBloom, needleTrigrams } from './bloom.js';

const text = (s: string): Buffer => Buffer.from(s);
const admits = (bloom: Uint8Array, needle: string, caseInsensitive: boolean): boolean =>
  caseInsensitive ? bloomMayContain(bloom, needleTrigrams(needle)) : bloomMayContainExact(bloom, exactTrigrams(needle), needleTrigrams(needle));

describe('trigram blooms', () => {
  it('never rules out a substring of the text, exactly or lowercased, full or folded', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abcXYZ 01-é😀\n'), minLength: 3, maxLength: 400 }), fc.nat(), fc.nat(20), (body, start, length) => {
        const bloom = buildTrigramBloom(text(body));
        const chars = Array.from(body); // by code point: half a surrogate pair is no substring
        const from = start % chars.length;
        const needle = chars.slice(from, from + length).join('');
        for (const candidate of [bloom, foldBloom(bloom, 2), foldBloom(bloom, 4)]) {
          expect(admits(candidate, needle, false)).toBe(true);
          expect(admits(candidate, needle.toLowerCase(), true)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('tells a case-sensitive needle from the same letters in another case', () => {
    const lower = buildTrigramBloom(text('level=error code=7\n'.repeat(20)));
    expect(admits(lower, 'ERROR', false)).toBe(false);
    expect(admits(lower, 'ERROR'.toLowerCase(), true)).toBe(true);
    const upper = buildTrigramBloom(text('level=ERROR code=7\n'.repeat(20)));
    expect(admits(upper, 'ERROR', false)).toBe(true);
    expect(admits(upper, 'Error', false)).toBe(false);
    expect(admits(upper, 'error', true)).toBe(true);
  });

  it('reads older blooms (bits only, lowercased trigrams only, unmixed hashes) without false negatives', () => {
    // A format 1 bloom of 'level=error code=7\n', as the earlier builder wrote it.
    const v1 = Buffer.from('81020911112242000000200a00a30a00008041000810048c0001240010241644', 'hex');
    expect(admits(v1, 'ERROR', false)).toBe(true); // probed lowercased: cannot tell the case apart
    expect(admits(v1, 'level=error', false)).toBe(true);
    expect(admits(v1, 'code=7', true)).toBe(true);
    expect(admits(v1, 'warn', false)).toBe(false);
    expect(admits(foldBloom(v1, 4), 'error', false)).toBe(true);
  });

  it('cannot rule anything out with bytes that are not a bloom of ours', () => {
    expect(admits(new Uint8Array(7), 'anything', false)).toBe(true);
    expect(admits(new Uint8Array(13), 'anything', true)).toBe(true);
    expect(admits(Uint8Array.from([...new Uint8Array(16), 9]), 'anything', false)).toBe(true);
  });

  it('folds to a quarter of the bits, keeping the format', () => {
    const bloom = buildTrigramBloom(text(Array.from({ length: 2000 }, (_, i) => `line ${i * 7919} Value=${i}`).join('\n')));
    const folded = foldBloom(bloom, 4);
    expect(folded.length - 1).toBe((bloom.length - 1) / 4);
    expect(folded[folded.length - 1]).toBe(bloom[bloom.length - 1]);
    expect(admits(folded, 'qzx-needle-8f3a', false)).toBe(false);
  });
});
