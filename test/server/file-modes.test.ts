/**
 * Under umask 022, Daniel's data dir is 0700 with daniel.db, -wal, -shm and the token files
 * 0600, and Henrik's state dir is 0700 with its files 0600 (they copy logs such as auth.log).
 * Uses dist/ (npm run build first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const DANIEL = fileURLToPath(new URL('../../dist/bin/daniel.js', import.meta.url));
const HENRIK = fileURLToPath(new URL('../../dist/bin/henrik.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'file-modes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

function modesUnder(root: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      out[path.slice(root.length + 1)] = mode(path);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

test('data and state dirs are 0700 and every file in them 0600, under umask 022', async () => {
  const data = join(dir, 'data');
  const state = join(dir, 'state');
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  writeFileSync(join(logs, 'auth.log'), 'secret line one\nsecret line two\n', { mode: 0o640 });
  const daniel = spawn('sh', ['-c', `umask 022; exec "${process.execPath}" --enable-experimental-regexp-engine "${DANIEL}" serve --listen 127.0.0.1:0 --data-dir "${data}"`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  daniel.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  try {
    const started = Date.now();
    while (!/listening on (\S+)/.test(out)) {
      if (Date.now() - started > 30_000) throw new Error(`no start: ${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /listening on (\S+)/.exec(out)![1]!;
    const token = spawnSync(process.execPath, [DANIEL, 'token', 'create', '--scope', 'ingest', '--host', 'box', '--data-dir', data], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(dir, 'henrik-token'), token, { mode: 0o600 });
    // A running Daniel honours a new token within 2 s.
    const probe = () => fetch(`${url}/ingest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"host":"box","files":[]}' });
    for (let waited = Date.now(); (await probe()).status !== 200; ) {
      if (Date.now() - waited > 5000) throw new Error('the new token was not honoured');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const henrik = spawnSync('sh', ['-c', `umask 022; exec "${process.execPath}" "${HENRIK}" --once --server ${url} --host box --state-dir "${state}" --token-file "${join(dir, 'henrik-token')}" "${logs}/*.log"`], { encoding: 'utf8', timeout: 60_000 });
    expect(henrik.status, henrik.stderr).toBe(0);

    expect(mode(data)).toBe(0o700);
    const dataModes = modesUnder(data);
    expect(Object.keys(dataModes)).toEqual(expect.arrayContaining(['daniel.db', 'daniel.db-wal', 'token', 'tokens.db']));
    for (const [name, m] of Object.entries(dataModes)) expect(m, name).toBe(statSync(join(data, name)).isDirectory() ? 0o700 : 0o600);
    expect(mode(state)).toBe(0o700);
    const stateModes = modesUnder(state);
    expect(Object.keys(stateModes).length).toBeGreaterThan(0);
    for (const [name, m] of Object.entries(stateModes)) expect(m, name).toBe(statSync(join(state, name)).isDirectory() ? 0o700 : 0o600);
  } finally {
    daniel.kill('SIGKILL');
  }
}, 120_000);
