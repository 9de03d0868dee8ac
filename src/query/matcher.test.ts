import { describe, expect, it } from 'vitest';
import { InvalidPatternError } from './types.js';
import { compileMatchers, lowercasePattern, requiredLiteral } from './matcher.js';

describe('matcher', () => {
  it('finds only literals every match must contain', () => {
    expect(requiredLiteral('needle-[0-9a-f]{8}q3')).toBe('needle-');
    expect(requiredLiteral('^Error: (disk|net) full$')).toBe('');
    expect(requiredLiteral('abcd?efg')).toBe('abc');
    expect(requiredLiteral('x(abcdef)?y')).toBe('x');
    expect(requiredLiteral('fo+bar\\.baz')).toBe('bar.baz');
    expect(requiredLiteral('\\d+ms')).toBe('ms');
    expect(requiredLiteral('[abc]def*')).toBe('de');
  });

  it('runs case-insensitive regexes on the linear engine by lowercasing literals, not escapes', () => {
    expect(lowercasePattern('A\\WB[C-D]\\.')).toBe('a\\Wb[c-d]\\.');
    const match = compileMatchers([{ kind: 'regex', pattern: '^ERROR\\W+Disk', caseInsensitive: true }]);
    expect(match.test('error: disk full')).toBe(true);
    expect(match.test('errorx disk')).toBe(false);
  });

  it('rejects what cannot run in linear time, and answers a ReDoS pattern quickly', () => {
    expect(() => compileMatchers([{ kind: 'regex', pattern: '(a)\\1', caseInsensitive: false }])).toThrow(InvalidPatternError);
    const match = compileMatchers([{ kind: 'regex', pattern: '(a+)+$', caseInsensitive: false }]);
    const started = performance.now();
    expect(match.test('a'.repeat(50_000) + '!')).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
