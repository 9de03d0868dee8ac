/**
 * File-system moves of the scenarios that need more than a rename: knowing when Henrik
 * holds a file open (so a rotation tests "rotated before caught up", not "rotated before
 * ever seen", which is the documented exception), and getting a new file onto a freed inode.
 */
import { closeSync, fstatSync, openSync, readdirSync, readlinkSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from './checker.js';

/** Inodes of the regular files process `pid` has open (Linux /proc). */
export function openInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  const fdDir = `/proc/${pid}/fd`;
  let fds: string[] = [];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const target = readlinkSync(join(fdDir, fd));
      if (target.startsWith('/')) inodes.add(statSync(join(fdDir, fd)).ino);
    } catch {
      // The fd closed meanwhile.
    }
  }
  return inodes;
}

/** Waits until `pid` holds `path` (by inode) open; false at the deadline or off Linux. */
export async function waitForOpen(pid: number, path: string, timeoutMs = 15_000): Promise<boolean> {
  const inode = statSync(path).ino;
  return waitUntil(() => openInodes(pid).has(inode), timeoutMs, 50);
}

/**
 * Creates `path` with `content` on inode `wanted` if the file system hands it out again
 * (ext4 usually does at once); returns whether it did. The file exists either way.
 */
export function createOnInode(path: string, wanted: number, content: string, attempts = 200): boolean {
  const decoys: string[] = [];
  try {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const fd = openSync(path, 'wx');
      if (fstatSync(fd).ino === wanted) {
        writeSync(fd, content);
        closeSync(fd);
        return true;
      }
      // Keep the wrong inode in use (under another name) so the next create gets another one.
      closeSync(fd);
      const decoy = `${path}.decoy${attempt}`;
      renameSync(path, decoy);
      decoys.push(decoy);
    }
    writeFileSync(path, content);
    return false;
  } finally {
    for (const decoy of decoys) unlinkSync(decoy);
  }
}
