/**
 * `daniel token create|list|revoke` against a running `daniel serve` on the same data dir:
 * the token alone on stdout, honoured and then refused within 2 s, never shown by list.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runDaniel, startDaniel, type DanielProcess } from '../lib/processes.js';

let dataDir: string;
let daniel: DanielProcess;
let url: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'daniel-token-cli-'));
  daniel = startDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir]);
  url = (await daniel.waitFor(/listening on (\S+)/))[1]!;
});

afterAll(async () => {
  daniel.child.kill('SIGTERM');
  await daniel.exited();
  await rm(dataDir, { recursive: true, force: true });
});

async function statusWith(token: string): Promise<number> {
  const body = JSON.stringify({ host: 'web1', files: [] });
  return (await fetch(`${url}/ingest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body })).status;
}

async function within(ms: number, check: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('create prints the token alone; a running Daniel honours it and its revoke within 2 s', async () => {
  const created = await runDaniel(['token', 'create', '--scope', 'ingest', '--host', 'web1', '--name', 'web one', '--data-dir', dataDir]);
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(/^dnl_[A-Za-z0-9_-]{43}\n$/);
  const token = created.stdout.trim();
  const id = /token id ([0-9a-f]+)/.exec(created.stderr)![1]!;
  await within(2000, async () => (await statusWith(token)) === 200);

  const listed = await runDaniel(['token', 'list', '--data-dir', dataDir]);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+web one\\s+ingest\\s+web1\\s+\\S+\\s+\\S+`, 'm'));
  expect(listed.stdout).not.toContain(token);

  const revoked = await runDaniel(['token', 'revoke', id, '--data-dir', dataDir]);
  expect(revoked.code).toBe(0);
  await within(2000, async () => (await statusWith(token)) === 401);
  expect((await runDaniel(['token', 'revoke', id, '--data-dir', dataDir])).code).toBe(1);
  expect((await runDaniel(['token', 'create', '--data-dir', dataDir])).code).toBe(2);
});
