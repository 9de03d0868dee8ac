/**
 * Which files are read, as what identity, from where. Discovery results are matched to
 * known identities (from checkpoints, the spool, or this run):
 * - same device + inode and the recorded first bytes still there: the same file, resumed;
 * - otherwise a new identity read from 0 (new file, reused inode, truncated while stopped);
 * - a new inode holding the first bytes of a just-truncated identity is copytruncate's
 *   rotated copy and continues it (copytruncate.ts).
 * A file that leaves the patterns (renamed away, deleted) is read to its end through its
 * open handle, then closed once idle; ones that left unseen are found by rotated-away.ts.
 */
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { MultilineRule } from '../multiline.js';
import type { TimestampParser } from '../timestamps.js';
import { CopyTracker } from './copytruncate.js';
import { Discovery, type FoundFile } from './discovery.js';
import { prefixMatches, readPrefix } from './identity.js';
import { openRegular, type OpenResult } from './names.js';
import { OpenFile, type FileStream, type LineOut } from './open-file.js';
import { newStream, RotatedAwayFinder } from './rotated-away.js';

export interface TailerSource {
  paths: string[];
  exclude: string[];
  multiline?: MultilineRule;
  parser: TimestampParser;
}

export interface TailerOptions {
  sources: TailerSource[];
  maxLineBytes: number;
  readChunkBytes: number;
  /** A file that left the patterns is closed after this long without growing. */
  orphanIdleMs: number;
  /** How long a copy of a still-intact file waits for the original's truncation. */
  copyGraceMs: number;
  /** A copy appearing this long after its original was truncated is a new file. */
  copyWindowMs: number;
  /** Detached identities are dropped from the checkpoints after this long. */
  forgetAfterMs: number;
  /** An unfinished last line is shipped as a line once its file was idle this long (default 5 s). */
  partialLineIdleMs?: number;
  emit: LineOut;
  /** A new identity appeared or one moved: worth recording now, so a crash can't forget it. */
  onIdentitiesChanged?: () => void;
  canRead: () => boolean;
  log: (message: string) => void;
  now?: () => number;
  cwd?: string;
}

const CHUNKS_PER_TURN = 4;
export const PARTIAL_LINE_IDLE_MS = 5000;

export class Tailer {
  readonly streams = new Map<string, FileStream>();
  private readonly open = new Map<string, OpenFile>();
  private readonly copies: CopyTracker;
  private readonly discovery: Discovery;
  private readonly buffer: Buffer;
  private readonly now: () => number;
  private firstScanDone = false;
  private scanStartedMs = 0;
  private readonly rotatedAway: RotatedAwayFinder;
  /** Ids of the identities open now. */
  private readonly attachedSet = new Set<string>();
  /** Problems already said (path + code), so each is said once, not every scan. */
  private readonly said = new Set<string>();
  /** Files under the patterns that could not be read at the last scan, path -> why. */
  readonly unreadable = new Map<string, string>();
  private interrupted = false;

  constructor(private readonly options: TailerOptions, known: FileStream[] = []) {
    this.discovery = new Discovery(options.sources, options.cwd);
    this.copies = new CopyTracker(this.streams, options);
    this.rotatedAway = new RotatedAwayFinder({
      streams: this.streams,
      isOpen: (key) => this.open.has(key),
      underPatterns: (file) => this.discovery.matches(file),
      attachedIds: () => this.attachedIds(),
      attach: (handle, stream, adoptedCopy) => this.attach(handle, stream, adoptedCopy),
      identitiesChanged: () => options.onIdentitiesChanged?.(),
      log: options.log,
      now: () => this.now(),
    });
    this.buffer = Buffer.allocUnsafe(options.readChunkBytes);
    this.now = options.now ?? Date.now;
    for (const stream of known) this.streams.set(stream.id, stream);
  }

  /** Directories worth watching: the patterns' bases and where open files live. */
  get directories(): string[] {
    const dirs = new Set(this.discovery.baseDirectories);
    for (const file of this.open.values()) dirs.add(path.dirname(file.path));
    return [...dirs];
  }

  /** Bytes on disk not read yet, over all open files (for progress). */
  get unreadBytes(): number {
    let total = 0;
    for (const file of this.open.values()) total += Math.max(0, file.size - file.readOffset);
    return total;
  }

  /** Open files by `dev:ino` and how far each was read (for tests). */
  readPositions(): Map<string, number> {
    return new Map([...this.open.values()].map((f) => [f.key, f.readOffset]));
  }

  get openFiles(): number {
    return this.open.size;
  }

  async scan(): Promise<void> {
    const scanStartedMs = this.now();
    this.scanStartedMs = scanStartedMs;
    const found = await this.discovery.scan();
    this.unreadable.clear();
    for (const skipped of this.discovery.skipped) this.noteSkipped(skipped.path, skipped.code, skipped.message);
    const byKey = new Map<string, FoundFile>();
    for (const file of found.values()) {
      const key = `${file.stats.dev}:${file.stats.ino}`;
      if (!byKey.has(key)) byKey.set(key, file);
    }
    const rotatedAway: FileStream[] = [];
    for (const file of this.open.values()) {
      const at = byKey.get(file.key);
      if (at !== undefined) {
        if (file.stream.path !== at.path) this.options.onIdentitiesChanged?.();
        file.path = at.path;
        file.stream.path = at.path;
        file.orphan = false;
      } else if (!file.orphan) {
        file.orphan = true;
        rotatedAway.push(file.stream);
      }
    }
    for (const stream of rotatedAway) await this.rotatedAway.findRotatedSiblings(stream, found);
    await this.poll();
    // Known identities first, so one truncated while unwatched is known as such before its
    // rotated copy is looked at.
    const resumable = new Map<string, FileStream>();
    for (const s of this.streams.values()) {
      if (s.detachedAtMs === undefined && !this.attachedSet.has(s.id) && !resumable.has(`${s.dev}:${s.ino}`)) resumable.set(`${s.dev}:${s.ino}`, s);
    }
    for (const [key, file] of byKey) {
      if (this.interrupted) return;
      const known = resumable.get(key);
      if (known !== undefined && !this.open.has(key) && !this.attachedSet.has(known.id)) await this.resume(file, known);
    }
    // At start, identities no longer under the patterns are looked for before new files are
    // judged: one truncated and then renamed away while the agent was stopped must be known
    // as truncated when its copytruncate copy is judged.
    if (!this.firstScanDone) {
      this.firstScanDone = true;
      await this.rotatedAway.findMovedAway();
    }
    for (const [key, file] of byKey) {
      if (this.interrupted) return;
      if (this.open.has(key) || file.stats.size === 0) continue;
      await this.consider(key, file);
    }
    this.copies.keepOnly(new Set(byKey.keys()));
    for (const file of this.open.values()) if (!file.orphan) file.stream.seenAtMs = scanStartedMs;
    this.forgetOld();
  }

  /** Re-stats open files: growth, truncation, idle multiline records, idle rotated files. */
  async poll(): Promise<void> {
    const now = this.now();
    for (const file of [...this.open.values()]) {
      try {
        await file.refreshStat();
      } catch {
        await this.detach(file, 'gone', true);
        continue;
      }
      if (file.copyBehind && file.size >= file.readOffset) file.copyBehind = false;
      if ((file.size < file.readOffset && !file.copyBehind) || !(await file.checkPrefix())) {
        this.options.log(`path=${file.path} size=${file.size} read=${file.readOffset}: file truncated, reading it from the start`);
        await this.restartTruncated(file);
        continue;
      }
      file.flushIdle(now);
      if (file.heldBytes > 0 && file.caughtUp && !file.hasUnread && now - file.lastGrowthMs >= (this.options.partialLineIdleMs ?? PARTIAL_LINE_IDLE_MS)) {
        file.flushHeld();
      }
      if (file.orphan && file.caughtUp && !file.hasUnread && now - file.lastGrowthMs >= this.options.orphanIdleMs) {
        await this.detach(file, 'gone', true);
      }
    }
  }

  /** Reads what is there, file by file in turns; 'blocked' when the pipeline has no room. */
  async readAvailable(): Promise<'done' | 'blocked'> {
    for (;;) {
      let more = false;
      for (const file of [...this.open.values()]) {
        if (this.interrupted) return 'done';
        if (!this.options.canRead()) return 'blocked';
        if (file.caughtUp && !file.hasUnread) continue;
        try {
          if ((await file.read(this.buffer, CHUNKS_PER_TURN, this.options.canRead)) === 'more') more = true;
        } catch (err) {
          this.options.log(`path=${file.path}: read failed (${(err as Error).message}); closing it`);
          await this.detach(file, 'gone', false);
        }
      }
      if (!more) return 'done';
    }
  }

  /**
   * For `--once`: emit pending multiline records and every unfinished last line (a file's
   * last line without `\n` is a line; if the file grows later, what follows is a new line).
   */
  finishAll(): void {
    for (const file of this.open.values()) file.finish(true);
  }

  /** Stop: a scan or read pass under way ends at its next file, without reading further. */
  interrupt(): void {
    this.interrupted = true;
  }

  async close(): Promise<void> {
    for (const file of this.open.values()) await file.close();
    this.open.clear();
    this.attachedSet.clear();
  }

  /** Opens a file, saying once per file why one cannot be (unreadable, not a regular file). */
  private async openFound(at: string): Promise<FileHandle | undefined> {
    const result: OpenResult = await openRegular(at);
    if (result.kind === 'open') return result.handle;
    if (result.kind === 'special') this.noteSkipped(at, 'special', `${result.what}, not a regular file`);
    else if (result.code !== 'ENOENT') this.noteSkipped(at, result.code, result.message);
    return undefined;
  }

  private noteSkipped(at: string, code: string, message: string): void {
    const unreadable = code === 'EACCES' || code === 'EPERM';
    if (code !== 'special') this.unreadable.set(at, message);
    const key = `${code}\0${at}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    if (code === 'special') this.options.log(`path=${at}: skipped, ${message}`);
    else if (unreadable) {
      this.options.log(`path=${at} error=${code}: cannot read it, its lines are not shipped; give the user Henrik runs as read access, e.g. add the user to group adm (usermod -aG adm <user>, then restart Henrik)`);
    } else this.options.log(`path=${at} error=${code}: cannot read it (${message})`);
  }

  /** Re-attaches a known identity found on its inode, or marks it truncated/replaced. */
  private async resume(found: FoundFile, known: FileStream): Promise<void> {
    const { dev, ino } = known;
    const handle = await this.openFound(found.path);
    if (handle === undefined) return;
    const stats = await handle.stat();
    const prefix = stats.dev === dev && stats.ino === ino ? await readPrefix(handle, stats.size) : Buffer.alloc(0);
    if (stats.dev === dev && stats.ino === ino && prefixMatches(known, prefix) && stats.size >= known.readEnd) {
      known.path = found.path;
      await this.attach(handle, known, false);
      return;
    }
    await handle.close();
    this.options.log(`path=${found.path}: file truncated or replaced while not watched, reading it from the start`);
    known.detachedAtMs = this.now();
    known.detachReason = 'truncated';
  }

  private async consider(key: string, found: FoundFile): Promise<void> {
    const handle = await this.openFound(found.path);
    if (handle === undefined) return;
    const stats = await handle.stat();
    if (`${stats.dev}:${stats.ino}` !== key || stats.size === 0) {
      await handle.close();
      return;
    }
    const prefix = await readPrefix(handle, stats.size);
    const verdict = this.copies.judge(key, prefix, { path: found.path, size: stats.size, dev: stats.dev, ino: stats.ino }, this.attachedIds(), this.now());
    if (verdict.kind === 'continues') {
      const { original } = verdict;
      this.options.log(`path=${found.path} copy_of=${original.path}: rotated copy, continuing at offset ${original.readEnd}`);
      Object.assign(original, { dev: stats.dev, ino: stats.ino, path: found.path, detachedAtMs: undefined, detachReason: undefined });
      await this.attach(handle, original, true);
      return;
    }
    if (verdict.kind === 'wait') {
      await handle.close();
      return;
    }
    const stream = newStream(stats, prefix, found, found.path);
    this.streams.set(stream.id, stream);
    await this.attach(handle, stream, false);
    this.options.onIdentitiesChanged?.();
  }

  private attachedIds(): Set<string> {
    return this.attachedSet;
  }

  private async attach(handle: FileHandle, stream: FileStream, adoptedCopy: boolean): Promise<OpenFile> {
    const source = this.options.sources[stream.sourceIndex] ?? this.options.sources[0];
    if (source === undefined) throw new Error('tailer: no sources');
    const file = new OpenFile(handle, stream, {
      maxLineBytes: this.options.maxLineBytes,
      multiline: source.multiline,
      parser: source.parser,
      emit: this.options.emit,
      now: this.now,
    });
    await file.refreshStat();
    // A copy can be shorter than what was read of its original (still being copied): wait for it.
    if (adoptedCopy) file.copyBehind = true;
    stream.seenAtMs = this.scanStartedMs;
    this.open.set(file.key, file);
    this.attachedSet.add(stream.id);
    return file;
  }

  private async detach(file: OpenFile, why: 'truncated' | 'gone', emitHeld: boolean, keepHandle = false): Promise<void> {
    file.finish(emitHeld);
    file.stream.detachedAtMs = this.now();
    file.stream.detachReason = why;
    this.open.delete(file.key);
    this.attachedSet.delete(file.stream.id);
    if (!keepHandle) await file.close();
  }

  /**
   * A truncated file is a new identity read from 0 through the same handle at once, so
   * what is written after the truncation is read even if the file is rotated away before
   * the next scan.
   */
  private async restartTruncated(file: OpenFile): Promise<void> {
    const old = file.stream;
    await this.detach(file, 'truncated', false, true);
    const prefix = await readPrefix(file.handle, file.size);
    const stream = newStream(old, prefix, old, file.path);
    this.streams.set(stream.id, stream);
    const seenAtMs = old.seenAtMs;
    const restarted = await this.attach(file.handle, stream, false);
    stream.seenAtMs = seenAtMs;
    restarted.orphan = file.orphan;
    restarted.caughtUp = true;
    this.options.onIdentitiesChanged?.();
  }

  private forgetOld(): void {
    const now = this.now();
    for (const [id, stream] of this.streams) {
      const done = stream.ackedOffset >= stream.readEnd;
      if (stream.detachedAtMs !== undefined && done && now - stream.detachedAtMs > this.options.forgetAfterMs) {
        this.streams.delete(id);
      }
    }
  }
}
