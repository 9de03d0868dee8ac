/** One Daniel per data dir: real processes, a second start refused, a kill -9'd owner's lock not in the way. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runDaniel, startDaniel } from '../lib/processes.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daniel-lock-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a second Daniel on the same data dir exits 2 naming the owner; a restart after kill -9 starts', async () => {
  const dataDir = join(dir, 'data');
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  const first = startDaniel(args);
  await first.waitFor(/^listening on /m);
  const second = await runDaniel(args);
  expect(second.code).toBe(2);
  expect(second.stderr).toContain(`data dir in use by pid ${first.child.pid}`);

  // kill -9 leaves the lock file behind; the next start takes it over.
  first.child.kill('SIGKILL');
  await first.exited();
  expect(existsSync(join(dataDir, 'daniel.lock'))).toBe(true);
  const third = startDaniel(args);
  await third.waitFor(/^listening on /m);
  third.child.kill('SIGTERM');
  expect(await third.exited()).toBe(0);
  // A clean stop removes it.
  expect(existsSync(join(dataDir, 'daniel.lock'))).toBe(false);
}, 90_000);
