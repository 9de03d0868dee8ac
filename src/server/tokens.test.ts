import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createTokenSet, loadOrCreateTokenFile, parseTokenList, scopeAllows, TokenConfigError } from './tokens.js';

describe('tokens', () => {
  test('parses the env form and the file form', () => {
    expect(parseTokenList('read:TOKEN1xx,ingest:TOKEN2xx,admin:TOKEN3xx', 'DANIEL_TOKENS')).toEqual([
      { scope: 'read', token: 'TOKEN1xx' },
      { scope: 'ingest', token: 'TOKEN2xx' },
      { scope: 'admin', token: 'TOKEN3xx' },
    ]);
    expect(parseTokenList('# comment\nread:abc:def:ghi\n\n  ADMIN:zzzzzzzz  \n', 'f')).toEqual([
      { scope: 'read', token: 'abc:def:ghi' },
      { scope: 'admin', token: 'zzzzzzzz' },
    ]);
  });

  test('rejects unknown scopes and short tokens, naming the source', () => {
    expect(() => parseTokenList('root:abcdefgh', 'DANIEL_TOKENS')).toThrow(TokenConfigError);
    expect(() => parseTokenList('read:short', 'tokens.txt')).toThrow(/tokens.txt/);
    expect(() => parseTokenList('justatoken', 'x')).toThrow(TokenConfigError);
  });

  test('lookup finds the scope of a configured token only', () => {
    const set = createTokenSet([
      { scope: 'read', token: 'reader-1234' },
      { scope: 'admin', token: 'admin-1234' },
    ]);
    expect(set.lookup('reader-1234')).toBe('read');
    expect(set.lookup('admin-1234')).toBe('admin');
    expect(set.lookup('reader-123')).toBeUndefined();
    expect(set.lookup('')).toBeUndefined();
    expect(scopeAllows('admin', 'ingest')).toBe(true);
    expect(scopeAllows('read', 'ingest')).toBe(false);
  });

  test('the generated token is random, mode 0600, and reused on the next start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'daniel-token-'));
    try {
      const first = await loadOrCreateTokenFile(join(dir, 'data'));
      expect(first.created).toBe(true);
      expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await stat(first.path)).mode & 0o777).toBe(0o600);
      const second = await loadOrCreateTokenFile(join(dir, 'data'));
      expect(second).toEqual({ ...first, created: false });
      const other = await mkdtemp(join(tmpdir(), 'daniel-token-'));
      expect((await loadOrCreateTokenFile(other)).token).not.toBe(first.token);
      await rm(other, { recursive: true });
      await writeFile(first.path, '  \n');
      await expect(loadOrCreateTokenFile(join(dir, 'data'))).rejects.toThrow(TokenConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
