/**
 * Finds the files the patterns match, right now. Run again every scan interval (and on
 * fs.watch events), so files that appear later are picked up. Directory symlinks are not
 * followed under `**` (no loops); file symlinks are (stat, not lstat: /var/log holds some).
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { compileExclude, compileGlob, type CompiledGlob } from './glob.js';

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
}

/** Never shipped: compressed archives of rotated logs are not text. */
const ALWAYS_EXCLUDED = ['*.gz', '*.xz', '*.bz2', '*.zst', '*.zip', '*.lz4'];

interface CompiledSource {
  globs: CompiledGlob[];
  excluded: Array<(p: string) => boolean>;
}

export class Discovery {
  private readonly sources: CompiledSource[];

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
    for (const [sourceIndex, source] of this.sources.entries()) {
      for (const glob of source.globs) {
        await this.walk(glob.base, 0, glob, async (file) => {
          if (found.has(file) || source.excluded.some((ex) => ex(file))) return;
          const stats = await statOrUndefined(file);
          if (stats === undefined || !stats.isFile()) return;
          found.set(file, { path: file, filename: path.relative(glob.base, file), sourceIndex, stats });
        });
      }
    }
    return found;
  }

  private async walk(dir: string, depth: number, glob: CompiledGlob, visit: (file: string) => Promise<void>): Promise<void> {
    if (depth >= glob.maxDepth) return;
    let entries;
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      return; // gone, or not readable: the next scan tries again
    }
    for (const entry of entries) {
      const full = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        await this.walk(full, depth + 1, glob, visit);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && glob.regex.test(full)) {
        await visit(full);
      }
    }
  }
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(file);
  } catch {
    return undefined;
  }
}
