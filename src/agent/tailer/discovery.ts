/**
 * Finds the files the patterns match, right now. Run again every scan interval (and on
 * fs.watch events), so files that appear later are picked up. Directory symlinks are not
 * followed under `**` (no loops). A file symlink a wildcard matches is followed only when
 * its target is inside the pattern's root (its real path), or its source says
 * `followSymlinks`: otherwise anyone who can write a log directory could have Henrik ship
 * `/etc/shadow` through `shadow.log -> /etc/shadow`. A literal path is what the operator
 * named, link or not. The file a link leads to is stat'ed at its real path, so a link
 * changed between this scan and the open is caught by the tailer's inode check.
 */
import type { Stats } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { compileExclude, compileGlob, hasWildcard, type CompiledGlob } from './glob.js';
import { decodeName, fsPath } from './names.js';
import { localFileSystem, readDirectory, statPath, statPathNow } from './names.js';

export interface DiscoverySource {
  paths: string[];
  exclude: string[];
  /** Follow file symlinks whose target is outside the pattern's root (default: skip them, and say so). */
  followSymlinks?: boolean;
}

/**
 * What a scan keeps of a file's stat: a few numbers, not the Stats object (with its four
 * Dates), so a walk of 10,000 files leaves little for the garbage collector.
 */
export interface FoundStats {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export interface FoundFile {
  path: string;
  /** Relative to the directory its pattern starts from. */
  filename: string;
  sourceIndex: number;
  stats: FoundStats;
  /** Reached through a symbolic link: changes to it show in another directory, so it is polled. */
  viaLink: boolean;
}

const STAT_CONCURRENCY = 32;
/** Files stat'ed on the main thread (local file systems) between two turns of the event loop: about a millisecond. */
const STATS_PER_TURN = 256;

/** Never shipped: compressed archives of rotated logs that are not read decompressed (gzip is, archives.ts). */
const ALWAYS_EXCLUDED = ['*.xz', '*.bz2', '*.zst', '*.zip', '*.lz4'];

interface CompiledSource {
  globs: CompiledGlob[];
  excluded: Array<(p: string, baseName?: string) => boolean>;
  followSymlinks: boolean;
}

/** Something under a pattern that is not read, and why (said once per path by the tailer). */
export interface Skipped {
  path: string;
  /** `EACCES` and the like for what cannot be read; `special` for FIFOs, sockets, devices; `symlink` for a link out of its pattern's root. */
  code: string;
  message: string;
}

export class Discovery {
  private readonly sources: CompiledSource[];
  /** What the last scan could not read or would not (not regular files). */
  skipped: Skipped[] = [];
  /** Directories the last scan listed (to watch), and whether every pattern's base was one. */
  listed = new Set<string>();
  basesListed = true;
  /** A directory could not be listed for want of descriptors (EMFILE): the tailer closes some and walks again. */
  outOfDescriptors = false;

  /** `isLocal`: whether a directory's files may be stat'ed on the main thread (tests swap it). */
  constructor(
    sources: DiscoverySource[],
    cwd = process.cwd(),
    private readonly isLocal: (dir: string) => Promise<boolean> = localFileSystem,
  ) {
    this.sources = sources.map((s) => ({
      globs: s.paths.map((p) => compileGlob(p, cwd)),
      excluded: [...s.exclude, ...ALWAYS_EXCLUDED].map((e) => compileExclude(e, cwd)),
      followSymlinks: s.followSymlinks === true,
    }));
  }

  /** Directories worth an fs.watch: each pattern's base. */
  get baseDirectories(): string[] {
    return [...new Set(this.sources.flatMap((s) => s.globs.map((g) => g.base)))];
  }

  /** True when a scan now would ship `file` (a pattern matches it and no exclude does). */
  matches(file: string): boolean {
    return this.sources.some((source) => source.globs.some((glob) => glob.regex.test(file)) && !source.excluded.some((ex) => ex(file)));
  }

  async scan(): Promise<Map<string, FoundFile>> {
    const found = new Map<string, FoundFile>();
    this.skipped = [];
    this.listed = new Set();
    this.basesListed = true;
    this.outOfDescriptors = false;
    for (const [sourceIndex, source] of this.sources.entries()) {
      for (const glob of source.globs) {
        const checkLinks = !source.followSymlinks && hasWildcard(glob.pattern);
        let root: string | undefined;
        const baseLength = glob.base === '/' ? 1 : glob.base.length + 1;
        if (!(await this.walk(glob.base, 0, glob, async (file, name, viaLink, local) => {
          if (found.has(file) || source.excluded.some((ex) => ex(file, name))) return;
          let statAt = file;
          if (viaLink && checkLinks) {
            root ??= await realPath(glob.base);
            const target = await realPath(file);
            if (target === undefined || root === undefined) return; // a dangling link, or gone: nothing to read
            if (target !== root && !target.startsWith(root === '/' ? '/' : `${root}/`)) {
              this.skipped.push({
                path: file,
                code: 'symlink',
                message: `a symbolic link to ${target}, outside ${glob.base} where its pattern starts: not followed (set followSymlinks: true on the source, or --follow-symlinks, to ship what it points to)`,
              });
              return;
            }
            statAt = target;
          }
          // A link's target may be on another file system: stat'ed on the thread pool.
          const stats = local && !viaLink ? this.statNowOrSkip(file) : await this.statOrSkip(statAt);
          if (found.has(file)) return;
          if (stats === undefined) return;
          if (!stats.isFile()) {
            if (!stats.isDirectory()) this.skipped.push({ path: file, code: 'special', message: 'not a regular file (a FIFO, socket or device)' });
            return;
          }
          // Every path the walk gives is under the base: its name relative to it is what follows.
          const { dev, ino, size, mtimeMs, ctimeMs } = stats;
          found.set(file, { path: file, filename: file.slice(baseLength), sourceIndex, stats: { dev, ino, size, mtimeMs, ctimeMs }, viaLink });
        }))) {
          this.basesListed = false;
        }
      }
    }
    return found;
  }

  /** False when `dir` could not be listed. */
  private async walk(dir: string, depth: number, glob: CompiledGlob, visit: (file: string, name: string, viaLink: boolean, local: boolean) => Promise<void>): Promise<boolean> {
    if (depth >= glob.maxDepth) return true;
    let entries;
    try {
      entries = await readDirectory(dir);
    } catch (err) {
      // Gone: the next scan tries again. Not readable: said, as it hides files.
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EACCES' || e.code === 'EPERM') this.skipped.push({ path: dir, code: e.code, message: e.message });
      if (e.code === 'EMFILE' || e.code === 'ENFILE') this.outOfDescriptors = true;
      return false;
    }
    this.listed.add(dir);
    // On a local file system files are stat'ed on this thread, a slice per turn of the event
    // loop (the safety-net walk of 10,000 idle files costs about 50 ms of CPU instead of 400);
    // elsewhere (NFS, FUSE: a stat may wait on a server) a few at a time on the thread pool.
    const local = await this.isLocal(dir);
    let sinceTurn = 0;
    let batch: Array<Promise<void>> = [];
    for (const { name, entry } of entries) {
      const full = dir === '/' ? `/${name}` : `${dir}/${name}`;
      if (entry.isDirectory()) {
        await this.walk(full, depth + 1, glob, visit);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && glob.regex.test(full)) {
        if (local) {
          await visit(full, name, entry.isSymbolicLink(), true);
          if (++sinceTurn >= STATS_PER_TURN) {
            sinceTurn = 0;
            await new Promise((resolve) => setImmediate(resolve));
          }
          continue;
        }
        batch.push(visit(full, name, entry.isSymbolicLink(), false));
        if (batch.length >= STAT_CONCURRENCY) {
          await Promise.all(batch);
          batch = [];
        }
      }
    }
    await Promise.all(batch);
    return true;
  }

  private statNowOrSkip(file: string): Stats | undefined {
    try {
      return statPathNow(file);
    } catch (err) {
      return this.skip(file, err);
    }
  }

  private skip(file: string, err: unknown): undefined {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES' || e.code === 'EPERM') this.skipped.push({ path: file, code: e.code, message: e.message });
    return undefined;
  }

  private async statOrSkip(file: string): Promise<Stats | undefined> {
    try {
      return await statPath(file);
    } catch (err) {
      return this.skip(file, err);
    }
  }
}

/** The path with every symbolic link resolved, or undefined when it (or its target) is gone. */
async function realPath(p: string): Promise<string | undefined> {
  try {
    const real = await realpath(fsPath(p), { encoding: 'buffer' });
    return decodeName(real);
  } catch {
    return undefined;
  }
}
