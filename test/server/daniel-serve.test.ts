import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { andynewmanBatch } from './helpers.js';
import { runDaniel, startDaniel } from '../lib/processes.js';
import { SETTINGS } from '../../src/server/config.js';

let dir: string;
const STORE = process.env.DANIEL_TEST_STORE ?? 'sqlite';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daniel-serve-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function post(url: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${url}/ingest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('daniel serve', () => {
  test('first start writes a 0600 token, prints one listening line with the real port, SIGTERM exits 0; a restart reuses the token', async () => {
    const dataDir = join(dir, 'first', 'nested');
    const server = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--store', STORE]);
    const [, url] = await server.waitFor(/^listening on (http:\/\/127\.0\.0\.1:(\d+))$/m);
    expect(url).not.toMatch(/:0$/);
    expect(server.stdout().match(/^listening on /gm)).toHaveLength(1);
    expect(server.stdout()).toContain(`admin token created in ${join(dataDir, 'token')}`);
    expect((await stat(join(dataDir, 'token'))).mode & 0o777).toBe(0o600);
    const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await post(url!, token, andynewmanBatch())).status).toBe(200);
    const hosts = await fetch(`${url}/hosts/`, { headers: { authorization: `bearer ${token}` } });
    expect(((await hosts.json()) as { data: { host: string }[] }).data.map((h) => h.host)).toEqual(['andynewman']);
    expect((await fetch(`${url}/hosts/`)).status).toBe(401);

    server.child.kill('SIGTERM');
    expect(await server.exited()).toBe(0);

    const again = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--store', STORE]);
    const [, url2] = await again.waitFor(/^listening on (http:\/\/\S+)$/m);
    expect(again.stdout()).toContain(`admin token in ${join(dataDir, 'token')}`);
    expect((await fetch(`${url2}/hosts/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    again.child.kill('SIGINT');
    expect(await again.exited()).toBe(0);
  }, 60_000);

  test('configured tokens: no token file, and scopes apply', async () => {
    const dataDir = join(dir, 'configured');
    const tokensFile = join(dir, 'tokens.txt');
    await writeFile(tokensFile, 'ingest:ingest-secret-1\n');
    const server = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--store', STORE, '--tokens-file', tokensFile], {
      DANIEL_TOKENS: 'read:read-secret-1',
    });
    const [, url] = await server.waitFor(/^listening on (http:\/\/\S+)$/m);
    await expect(stat(join(dataDir, 'token'))).rejects.toThrow();
    expect((await post(url!, 'read-secret-1', andynewmanBatch())).status).toBe(403);
    expect((await post(url!, 'ingest-secret-1', andynewmanBatch())).status).toBe(200);
    expect((await fetch(`${url}/hosts/`, { headers: { authorization: 'Bearer read-secret-1' } })).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited()).toBe(0);
  }, 60_000);

  test('SIGTERM ends open live tails and still exits 0', async () => {
    const dataDir = join(dir, 'tail');
    const server = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--store', STORE]);
    const [, url] = await server.waitFor(/^listening on (http:\/\/\S+)$/m);
    const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
    const response = await fetch(`${url}/logs?follow=true`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const drained = response.text();
    server.child.kill('SIGTERM');
    expect(await server.exited()).toBe(0);
    expect(await drained).toContain(': connected');
  }, 60_000);

  test('every setting of the config table is a flag of daniel serve', async () => {
    const { code, stdout } = await runDaniel(['serve', '--help']);
    expect(code).toBe(0);
    const missing = Object.values(SETTINGS).filter(({ flag }) => !stdout.includes(`${flag} `) && !stdout.includes(`${flag}\n`));
    expect(missing).toEqual([]);
  }, 60_000);

  test('bad flags and config: one line on stderr, exit 2', async () => {
    for (const args of [
      ['serve', '--listen', 'nowhere'],
      ['serve', '--retention', 'forever'],
      ['serve', '--store', 'postgres'],
      ['serve', '--bogus'],
      ['serve', '--tokens-file', join(dir, 'missing.txt')],
      ['serve', '--store', 'dynamodb', '--dynamodb-shards', '0'],
      ['serve', '--dynamodb-shards', '1001'],
      ['serve', '--log-level', 'chatty'],
    ]) {
      const result = await runDaniel([...args, '--data-dir', join(dir, 'bad')]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n')[0], args.join(' ')).toMatch(/^(daniel: |error: )/);
      expect(result.stdout).not.toContain('listening on');
    }
    const bad = await runDaniel(['serve', '--data-dir', join(dir, 'bad2')], { DANIEL_TOKENS: 'root:whatever123' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('DANIEL_TOKENS');
  }, 120_000);
});
