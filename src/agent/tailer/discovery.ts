/**
 * Finds the files the patterns match, right now. Run again every scan interval (and on
 * fs.watch events), so files that appear later are picked up. Directory symlinks are not
 * followed under `**` (no loops); file symlinks are (stat, not lstat: /var/log holds some).
 */
import type { Stats } from 'node:fs';
import path from 'node:path';
import { compileExclude, compileGlob, type CompiledGlob } from './glob.js';
import { readDirectory, statPath } from './names.js';

export interface DiscoverySource {
  paths: string[];
  exclude: string[];
}

export interface FoundFile {
  path: string;
  /** Relative to the directory its pattern starts from. */
  filename: string;
  sourceIndex: number;
  stats: Stats;
  /** Reached through a symbolic link: changes to it show in another directory, so it is polled. */
  viaLink: boolean;
}

const STAT_CONCURRENCY = 32;

/** Never shipped: compressed archives of rotated logs that are not read decompressed (gzip is, archives.ts). */
const ALWAYS_EXCLUDED = ['*.xz', '*.bz2', '*.zst', '*.zip', '*.lz4'];

interface CompiledSource {
  globs: CompiledGlob[];
  excluded: Array<(p: string) => boolean>;
}

/** Something under a pattern that is not read, and why (said once per path by the tailer). */
export interface Skipped {
  path: string;
  /** `EACCES` and the like for what cannot be read; `special` for FIFOs, sockets, devices. */
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

  constructor(sources: DiscoverySource[], cwd = process.cwd()) {
    this.sources = sources.map((s) => ({
      globs: s.paths.map((p) => compileGlob(p, cwd)),
      excluded: [...s.exclude, ...ALWAYS_EXCLUDED].map((e) => compileExclude(e, cwd)),
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
        if (!(await this.walk(glob.base, 0, glob, async (file, viaLink) => {
          if (found.has(file) || source.excluded.some((ex) => ex(file))) return;
          const stats = await this.statOrSkip(file);
          if (found.has(file)) return;
          if (stats === undefined) return;
          if (!stats.isFile()) {
            if (!stats.isDirectory()) this.skipped.push({ path: file, code: 'special', message: 'not a regular file (a FIFO, socket or device)' });
            return;
          }
          found.set(file, { path: file, filename: path.relative(glob.base, file), sourceIndex, stats, viaLink });
        }))) {
          this.basesListed = false;
        }
      }
    }
    return found;
  }

  /** False when `dir` could not be listed. */
  private async walk(dir: string, depth: number, glob: CompiledGlob, visit: (file: string, viaLink: boolean) => Promise<void>): Promise<boolean> {
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
    // Files are stat'ed a few at a time: one by one, each waits a thread-pool round trip.
    let batch: Array<Promise<void>> = [];
    for (const { name, entry } of entries) {
      const full = dir === '/' ? `/${name}` : `${dir}/${name}`;
      if (entry.isDirectory()) {
        await this.walk(full, depth + 1, glob, visit);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && glob.regex.test(full)) {
        batch.push(visit(full, entry.isSymbolicLink()));
        if (batch.length >= STAT_CONCURRENCY) {
          await Promise.all(batch);
          batch = [];
        }
      }
    }
    await Promise.all(batch);
    return true;
  }

  private async statOrSkip(file: string): Promise<Stats | undefined> {
    try {
      return await statPath(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EACCES' || e.code === 'EPERM') this.skipped.push({ path: file, code: e.code, message: e.message });
      return undefined;
    }
  }
}


