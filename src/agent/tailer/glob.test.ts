import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileExclude, compileGlob } from './glob.js';

describe('compileGlob', () => {
  it.each([
    ['/var/log/*', '/var/log', ['/var/log/syslog'], ['/var/log/nginx/access.log']],
    ['/var/log/*.log', '/var/log', ['/var/log/a.log'], ['/var/log/a.log.1', '/var/log/x/a.log']],
    ['/var/log/**/*.log', '/var/log', ['/var/log/a.log', '/var/log/nginx/access.log', '/var/log/a/b/c.log'], ['/var/log/a.txt']],
    ['/var/log/syslog', '/var/log', ['/var/log/syslog'], ['/var/log/syslog.1']],
    ['/var/log/{kern,auth}.log', '/var/log', ['/var/log/kern.log', '/var/log/auth.log'], ['/var/log/user.log']],
    ['/var/log/app[0-9].log', '/var/log', ['/var/log/app1.log'], ['/var/log/appx.log']],
  ])('%s', (pattern, base, yes, no) => {
    const glob = compileGlob(pattern);
    expect(glob.base).toBe(base);
    for (const p of yes) expect(glob.regex.test(p), p).toBe(true);
    for (const p of no) expect(glob.regex.test(p), p).toBe(false);
  });

  it('excludes by base name without a slash, by path with one', () => {
    expect(compileExclude('*.gz')('/var/log/x/syslog.2.gz')).toBe(true);
    expect(compileExclude('/var/log/private/*')('/var/log/private/a')).toBe(true);
    expect(compileExclude('/var/log/private/*')('/var/log/a')).toBe(false);
  });
});

describe('glob syntax', () => {
  it('a negated class [!a] is one character, never a `/`', () => {
    const glob = compileGlob('/var/log/x[!a]y.log');
    expect(glob.regex.test('/var/log/xby.log')).toBe(true);
    expect(glob.regex.test('/var/log/xay.log')).toBe(false);
    expect(glob.regex.test('/var/log/x/y.log')).toBe(false);
    expect(compileExclude('x[!a]y')('/var/log/x/y')).toBe(false);
  });

  it('`\\` takes the next character as it is: `\\*` is a star, not a wildcard', () => {
    expect(compileGlob('/var/log/a\\\\b').regex.test('/var/log/a\\b')).toBe(true);
    const glob = compileGlob('/var/log/a\\*b.log');
    expect(glob.base).toBe('/var/log');
    expect(glob.regex.test('/var/log/a*b.log')).toBe(true);
    expect(glob.regex.test('/var/log/axxb.log')).toBe(false);
    const dir = compileGlob('/srv/we\\[ir\\]d/*.log');
    expect(dir.base).toBe('/srv/we[ir]d');
    expect(dir.regex.test('/srv/we[ir]d/a.log')).toBe(true);
    expect(dir.regex.test('/srv/wid/a.log')).toBe(false);
  });

  it('`*`, `?` and `**` match names that start with a dot (documented in docs/agent.md)', () => {
    expect(compileGlob('/var/log/*.log').regex.test('/var/log/.hidden.log')).toBe(true);
    expect(compileGlob('/var/log/?x').regex.test('/var/log/.x')).toBe(true);
    expect(compileGlob('/var/log/**/*.log').regex.test('/var/log/.cache/a.log')).toBe(true);
  });

  it('parentheses, `|`, `+`, `@` and `!` in a name are characters', () => {
    expect(compileGlob('/var/log/app (1).log').regex.test('/var/log/app (1).log')).toBe(true);
    expect(compileGlob('/var/log/app (1).log').regex.test('/var/log/app 1.log')).toBe(false);
    expect(compileGlob('/var/log/a|b.log').regex.test('/var/log/a|b.log')).toBe(true);
    expect(compileGlob('/var/log/+(x).log').regex.test('/var/log/+(x).log')).toBe(true);
    expect(compileGlob('/var/log/!x.log').regex.test('/var/log/!x.log')).toBe(true);
    expect(compileExclude('!x.log')('/var/log/!x.log')).toBe(true);
  });

  it('`*` and `?` stay within one directory; `**` crosses any number', () => {
    expect(compileGlob('/a/*').regex.test('/a/b/c')).toBe(false);
    expect(compileGlob('/a/?').regex.test('/a//')).toBe(false);
    expect(compileGlob('/a/**').regex.test('/a/b/c')).toBe(true);
    expect(compileGlob('/a/**').maxDepth).toBe(Infinity);
    expect(compileGlob('/a/*/b/*.log').maxDepth).toBe(3);
  });

  it('relative patterns, `.` and `..` resolve against cwd', () => {
    const glob = compileGlob('../logs/./*.log', '/srv/app');
    expect(glob.base).toBe('/srv/logs');
    expect(glob.regex.test('/srv/logs/a.log')).toBe(true);
  });

  it('property: any file name, every special character escaped, matches itself and nothing else', () => {
    // No backslash: picomatch reads a run of escaped backslashes as one (see glob.ts).
    const char = fc.constantFrom(...'ab.-_ *?[]{},!()|+@^$~#'.split(''));
    const name = fc.array(char, { minLength: 1, maxLength: 12 }).map((cs) => cs.join('')).filter((n) => n !== '.' && n !== '..');
    fc.assert(
      fc.property(name, name, (a, b) => {
        const escaped = a.replace(/[*?[\]{},!()|+@]/g, (c) => `\\${c}`);
        const glob = compileGlob(`/var/log/${escaped}`);
        expect(glob.base).toBe('/var/log');
        expect(glob.regex.test(`/var/log/${a}`)).toBe(true);
        if (b !== a) expect(glob.regex.test(`/var/log/${b}`)).toBe(false);
      }),
    );
  });
});
