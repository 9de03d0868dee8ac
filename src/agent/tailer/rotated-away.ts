/**
 * Files that left the patterns without the tailer seeing them go: at start-up, identities
 * from the checkpoints that are no longer under a pattern (renamed away while the agent was
 * stopped), and at any time, files rotated twice before the tailer looked again (the one in
 * between, `app.log.1` when the one known is now `app.log.2`, was never seen under the
 * pattern). Both are found beside the known file and read to their end.
 */
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { FoundFile } from './discovery.js';
import { hashPrefix, newFileId, prefixMatches, readPrefix } from './identity.js';
import { listNames, openRegular, statPath } from './names.js';
import type { FileStream, OpenFile } from './open-file.js';
import type { AgentLog } from '../events.js';

/** What the finder needs of the tailer. */
export interface TailerPort {
  readonly streams: Map<string, FileStream>;
  /** `dev:ino` of the files open now. */
  isOpen(key: string): boolean;
  /** True for a path the patterns match (a file the scan judges on its own). */
  underPatterns(file: string): boolean;
  attachedIds(): Set<string>;
  attach(handle: FileHandle, stream: FileStream, adoptedCopy: boolean): Promise<OpenFile>;
  identitiesChanged(): void;
  log: AgentLog;
  now(): number;
}

/** A new identity read from 0 on `handle`, named like `like` (its source and file name). */
export function newStream(stats: { dev: number; ino: number }, prefix: Buffer, like: Pick<FileStream, 'filename' | 'sourceIndex'>, at: string): FileStream {
  const prefixHash = hashPrefix(prefix);
  return {
    id: newFileId(stats.dev, stats.ino, prefixHash),
    filename: like.filename,
    path: at,
    sourceIndex: like.sourceIndex,
    dev: stats.dev,
    ino: stats.ino,
    prefixLength: prefix.length,
    prefixHash,
    ackedOffset: 0,
    readEnd: 0,
  };
}

export class RotatedAwayFinder {
  constructor(private readonly tailer: TailerPort) {}

  /** At start: identities not found under the patterns may have been rotated away meanwhile. */
  async findMovedAway(): Promise<void> {
    const attachedIds = new Set(this.tailer.attachedIds());
    const listings = new Map<string, string[]>();
    for (const stream of this.tailer.streams.values()) {
      // A file closed after rotation may still hold lines that never reached the spool.
      if (stream.detachReason === 'truncated' || stream.archive === true || attachedIds.has(stream.id)) continue;
      const wasDetached = stream.detachedAtMs !== undefined;
      const dir = path.dirname(stream.path);
      let names = listings.get(dir);
      if (names === undefined) {
        names = await listNames(dir);
        listings.set(dir, names);
      }
      if (await this.attachIfThere(stream, names.map((n) => path.join(dir, n)))) {
        stream.detachedAtMs = undefined;
        stream.detachReason = undefined;
      } else if (stream.detachedAtMs === undefined) {
        // (attachIfThere may have closed it as truncated: that reason stays.)
        stream.detachedAtMs = this.tailer.now();
        stream.detachReason = 'vanished';
      }
      // It left its path while the agent was away: files rotated after it may be unseen.
      if (!wasDetached) await this.findRotatedSiblings(stream, new Map());
    }
  }

  /**
   * A sibling of `stream` that is named after it, is unknown, and was written after `stream`
   * was last seen under the pattern: it is read from 0 to its end.
   */
  async findRotatedSiblings(stream: FileStream, matched: Map<string, FoundFile>): Promise<void> {
    if (stream.seenAtMs === undefined) return;
    const dir = path.dirname(stream.path);
    const stem = path.basename(stream.filename);
    const knownInodes = new Set([...this.tailer.streams.values()].map((s) => `${s.dev}:${s.ino}`));
    for (const name of await listNames(dir)) {
      if (!(name.startsWith(`${stem}.`) || name.startsWith(`${stem}-`)) || /\.(gz|xz|bz2|zst|zip|lz4)$/.test(name)) continue;
      const candidate = path.join(dir, name);
      if (matched.has(candidate) || this.tailer.underPatterns(candidate)) continue;
      const stats = await statPath(candidate).catch(() => undefined);
      if (stats === undefined || !stats.isFile() || stats.size === 0 || stats.mtimeMs <= stream.seenAtMs) continue;
      const key = `${stats.dev}:${stats.ino}`;
      if (knownInodes.has(key) || this.tailer.isOpen(key)) continue;
      const opened = await openRegular(candidate);
      if (opened.kind !== 'open') continue;
      const handle = opened.handle;
      this.tailer.log('rotated_before_seen', { path: candidate, after: stream.path });
      await this.attachNewOrphan(handle, stats, await readPrefix(handle, stats.size), stream, candidate);
    }
  }

  /** A new identity, read from 0 to its end, on a file outside the patterns (named after `like`). */
  private async attachNewOrphan(handle: FileHandle, stats: { dev: number; ino: number }, prefix: Buffer, like: FileStream, at: string): Promise<void> {
    const stream = newStream(stats, prefix, like, at);
    this.tailer.streams.set(stream.id, stream);
    const file = await this.tailer.attach(handle, stream, false);
    stream.seenAtMs = undefined;
    file.orphan = true;
    this.tailer.identitiesChanged();
  }

  /**
   * A closed quiet file that left its path: looked for beside it (rotated, `app.log.1`) and
   * read to its end there; false when it is nowhere near (deleted, moved elsewhere).
   */
  async findParked(stream: FileStream): Promise<boolean> {
    const dir = path.dirname(stream.path);
    const stem = path.basename(stream.path);
    const names = (await listNames(dir)).filter((n) => n.startsWith(stem));
    return this.attachIfThere(stream, names.map((n) => path.join(dir, n)));
  }

  private async attachIfThere(stream: FileStream, candidates: string[]): Promise<boolean> {
    for (const candidate of candidates) {
      const stats = await statPath(candidate).catch(() => undefined);
      if (stats?.dev !== stream.dev || stats.ino !== stream.ino || !stats.isFile()) continue;
      if (this.tailer.isOpen(`${stats.dev}:${stats.ino}`)) return false;
      const opened = await openRegular(candidate);
      if (opened.kind !== 'open') return false;
      const handle = opened.handle;
      const prefix = await readPrefix(handle, stats.size);
      if (!prefixMatches(stream, prefix) || stats.size < stream.readEnd) {
        // Under a pattern, another file on this inode (a copy that reused it) is judged as
        // any file there is, by the scan.
        if (this.tailer.underPatterns(candidate)) {
          await handle.close();
          return false;
        }
        // Truncated and written again while the agent was away, then rotated: new lines.
        this.tailer.log('rotated_truncated_while_stopped', { path: candidate, was: stream.path });
        stream.detachedAtMs = this.tailer.now();
        stream.detachReason = 'truncated';
        await this.attachNewOrphan(handle, stats, prefix, stream, candidate);
        return false;
      }
      if (stream.detachedAtMs !== undefined && stats.size === stream.readEnd) {
        await handle.close();
        return false;
      }
      this.tailer.log('rotated_away_while_stopped', { path: candidate, was: stream.path });
      stream.path = candidate;
      const seenAtMs = stream.seenAtMs;
      const file = await this.tailer.attach(handle, stream, false);
      stream.seenAtMs = seenAtMs;
      file.orphan = true;
      return true;
    }
    return false;
  }
}
