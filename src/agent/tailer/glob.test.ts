import { describe, expect, it } from 'vitest';
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
