/**
 * One Daniel per data dir. Two processes on one SQLite file would each count seqs from what
 * they read at start, so their seqs collide and live tails repeat ids. At start Daniel
 * creates `DATA_DIR/daniel.lock` exclusively (O_EXCL) and writes its pid in it; it removes
 * the file when it stops. A lock file left by a Daniel that was killed (kill -9, power cut)
 * does not block a restart: the lock counts only while the process it names is alive and is
 * a node process, and never when it names this very process without this process holding it
 * (a container restarts its program with the same pid).
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'daniel.lock';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`data dir in use by pid ${pid}: ${dataDir} belongs to another running Daniel (stop it, or give this one its own --data-dir)`);
  }
}

/** Lock files this process holds. */
const held = new Set<string>();

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // only what this process holds counts (see `held`)
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // A pid reused by an unrelated program after a crash is not a Daniel.
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node|daniel/i.test(command);
  } catch {
    return true; // no /proc to ask: assume the worst
  }
}

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

/** Takes the data dir for this process, or throws DataDirInUseError naming the owner's pid. */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    if (held.has(file)) throw new DataDirInUseError(dataDir, process.pid);
    try {
      const fd = openSync(file, 'wx', 0o644);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      held.add(file);
      return {
        file,
        release: () => {
          if (!held.delete(file)) return;
          try {
            if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
    }
    let owner = NaN;
    try {
      owner = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isSafeInteger(owner) && owner > 0 && alive(owner)) throw new DataDirInUseError(dataDir, owner);
    // Stale (its process is gone) or unreadable: take it over.
    rmSync(file, { force: true });
  }
}
