import { describe, expect, it } from 'vitest';
import { InvalidPatternError } from './types.js';
import { compileMatchers, lowercasePattern, requiredLiteral } from './matcher.js';

describe('matcher', () => {
  it('finds only literals every match must contain', () => {
    expect(requiredLiteral('needle-[0-9a-f]{8}q3')).toBe('needle-');
    expect(requiredLiteral('^Error: (disk|net) full$')).toBe('Error: ');
    expect(requiredLiteral('abcd?efg')).toBe('abc');
    expect(requiredLiteral('x(abcdef)?y')).toBe('x');
    expect(requiredLiteral('fo+bar\\.baz')).toBe('bar.baz');
    expect(requiredLiteral('\\d+ms')).toBe('ms');
    expect(requiredLiteral('[abc]def*')).toBe('de');
  });

  it('never takes the digits of a quantifier or an escape as text every match must contain', () => {
    expect(requiredLiteral('[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}')).toBe('.');
    expect(requiredLiteral('xa{2,10}y')).toBe('xaa');
    expect(requiredLiteral('xa{3}yz')).toBe('xaaayz');
    expect(requiredLiteral('abc{0,2}def')).toBe('def');
    expect(requiredLiteral('ab+?cde')).toBe('cde');
    expect(requiredLiteral('id=\\x41\\u0042\\cJ\\012!')).toBe('id=');
    expect(requiredLiteral('code(?:abc|def)+tail-end')).toBe('tail-end');
    expect(requiredLiteral('(a|b)cde|x')).toBe('');
    expect(requiredLiteral('[|]abcd')).toBe('abcd');
    expect(requiredLiteral('a{,3}bc')).toBe(',3');
    expect(requiredLiteral('😀?abc')).toBe('abc');
  });

  it('finds what every IP-address and counted-repeat pattern matches', () => {
    const ip = compileMatchers([{ kind: 'regex', pattern: '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}', caseInsensitive: false }]);
    expect(ip.hints).toEqual([]);
    const counted = compileMatchers([{ kind: 'regex', pattern: 'xa{2,10}y', caseInsensitive: false }]);
    expect(counted.hints.map((h) => h.needle)).toEqual(['xaa']);
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
