/**
 * Stored logs are as secret as the logs they copy (auth.log is 0640): Daniel's data dir and
 * Henrik's state dir are made 0700 with every file in them 0600, including what an older
 * version left behind under umask 022. New files are private from the start because both
 * bins run with umask 077.
 */
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Creates `dir` (0700) if missing and makes it and everything under it (a few levels) owner-only. */
export async function makePrivate(dir: string, depth = 3): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await walk(dir, depth);
}

async function walk(dir: string, depth: number): Promise<void> {
  await chmod(dir, 0o700);
  if (depth === 0) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, depth - 1);
    else if (entry.isFile()) {
      const { mode } = await lstat(path);
      if ((mode & 0o077) !== 0) await chmod(path, mode & 0o700);
    }
  }
}

/** Owner-only for every file and directory this process creates from now on. */
export function privateUmask(): void {
  process.umask(0o077);
}
