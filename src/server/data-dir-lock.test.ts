import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { DataDirInUseError, lockDataDir } from './data-dir-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daniel-lockfile-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('held once per process; released on stop', async () => {
  const lock = lockDataDir(dir);
  expect((await readFile(join(dir, 'daniel.lock'), 'utf8')).trim()).toBe(String(process.pid));
  expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
  lock.release();
  lockDataDir(dir).release();
});

test('a live node process holds it; once it is killed the lock is stale', async () => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await once(child, 'spawn');
  await writeFile(join(dir, 'daniel.lock'), `${child.pid}\n`);
  expect(() => lockDataDir(dir)).toThrow(`data dir in use by pid ${child.pid}`);
  child.kill('SIGKILL');
  await once(child, 'exit');
  const lock = lockDataDir(dir);
  expect((await readFile(join(dir, 'daniel.lock'), 'utf8')).trim()).toBe(String(process.pid));
  lock.release();
});

test('a lock naming this pid that this process does not hold is stale (a container restart reuses pids)', async () => {
  await writeFile(join(dir, 'daniel.lock'), `${process.pid}\n`);
  lockDataDir(dir).release();
});
