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
import type { MultilineRule } from '../multiline.js';
import type { TimestampParser } from '../timestamps.js';
import { ARCHIVE_NAME, Archives, compressedFormat } from './archives.js';
import { containerFileFields } from './container.js';
import { CopyTracker } from './copytruncate.js';
import { Discovery, type FoundFile } from './discovery.js';
import { prefixMatches, readPrefix } from './identity.js';
import { openRegular, statPath, type OpenResult } from './names.js';
import { Watcher, type ChangeKind } from '../watcher.js';
import { OpenFile, type FileStream, type LineOut, type OpenFileOptions } from './open-file.js';
import { newStream, RotatedAwayFinder } from './rotated-away.js';
import type { AgentLog } from '../events.js';

export interface TailerSource {
  paths: string[];
  exclude: string[];
  followSymlinks?: boolean;
  multiline?: MultilineRule;
  parser: TimestampParser;
  /** Fields sent with every line of these files. */
  labels?: Readonly<Record<string, string>>;
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
  /** Tailed files kept open at most (default 512); quiet ones are closed to stay under it. */
  maxOpenFiles?: number;
  /** A quiet file is closed after this long without growing (default 60 s), reopened when it changes. */
  idleCloseMs?: number;
  /** With fs.watch working, the full scan (every path stat'ed) runs this often (default 30 s). */
  fullScanIntervalMs?: number;
  /**
   * Set to watch the directories (fs.watch): called when something changed. Without it,
   * every scan walks the patterns and every poll stats every open file.
   */
  onChange?: () => void;
  emit: LineOut;
  /** A new identity appeared or one moved: worth recording now, so a crash can't forget it. */
  onIdentitiesChanged?: () => void;
  canRead: () => boolean;
  log: AgentLog;
  now?: () => number;
  cwd?: string;
}

const CHUNKS_PER_TURN = 4;
export const PARTIAL_LINE_IDLE_MS = 5000;
export const MAX_OPEN_FILES = 512;
export const IDLE_CLOSE_MS = 60_000;
export const FULL_SCAN_INTERVAL_MS = 30_000;
/** A file that grew this recently is stat'ed at every poll even without a watch event. */
const ACTIVE_MS = 2000;

/** New files opened (and their first bytes read) ahead of the one being judged. */
const PREFETCH = 16;

interface Prepared {
  handle: FileHandle;
  stats: import('node:fs').Stats;
  prefix: Buffer;
}

/** A quiet file closed to keep descriptors bounded: reopened (at `stream.readEnd`) when it changes. */
interface Parked {
  stream: FileStream;
  path: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  alwaysPoll: boolean;
}

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
  /** Compressed rotated files under the patterns: read once, decompressed. */
  private readonly archives: Archives;
  /** Ids of the identities open now. */
  private readonly attachedSet = new Set<string>();
  /** Problems already said (path + code), so each is said once, not every scan. */
  private readonly said = new Set<string>();
  /** Files under the patterns that could not be read at the last scan, path -> why. */
  readonly unreadable = new Map<string, string>();
  private interrupted = false;
  /** Closed quiet files by `dev:ino`, and by path. */
  private readonly parked = new Map<string, Parked>();
  private readonly parkedByPath = new Map<string, string>();
  private readonly watcher: Watcher | undefined;
  /** Every directory the patterns need is watched: events say what changed. */
  private fullyWatched = false;
  /** Paths a watch event named since the last poll. */
  private dirtyPaths = new Set<string>();
  /** Something appeared, vanished or moved: the next scan walks the patterns. */
  private rescanWanted = false;
  /** The open-file bound stopped a scan before every file was opened: scan again as soon as there is room. */
  private moreToOpen = false;
  private lastFullScanMs = -Infinity;
  private saidTooMany = false;
  /** Inside a full scan, identity changes are recorded once, before reading, not once per file. */
  private inScan = false;
  private identitiesPending = false;

  constructor(private readonly options: TailerOptions, known: FileStream[] = []) {
    this.discovery = new Discovery(options.sources, options.cwd);
    this.copies = new CopyTracker(this.streams, options);
    this.rotatedAway = new RotatedAwayFinder({
      streams: this.streams,
      isOpen: (key) => this.open.has(key),
      underPatterns: (file) => this.discovery.matches(file),
      attachedIds: () => this.attachedIds(),
      attach: (handle, stream, adoptedCopy) => this.attach(handle, stream, adoptedCopy),
      identitiesChanged: () => this.identitiesChanged(),
      log: options.log,
      now: () => this.now(),
    });
    this.archives = new Archives({
      streams: this.streams,
      attachedIds: () => this.attachedIds(),
      fileOptions: (stream) => this.fileOptions(stream),
      identitiesChanged: () => this.identitiesChanged(),
      log: (message: string) => options.log('archive_note', { message }),
      now: () => this.now(),
    });
    this.buffer = Buffer.allocUnsafe(options.readChunkBytes);
    const onChange = options.onChange;
    if (onChange !== undefined) {
      this.watcher = new Watcher(
        onChange,
        (dir, name, kind) => this.noteEvent(dir, name, kind),
        () => (this.rescanWanted = true),
      );
    }
    this.now = options.now ?? Date.now;
    for (const stream of known) this.streams.set(stream.id, stream);
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

  /** Quiet files closed to keep descriptors bounded (reopened when they change). */
  get closedQuietFiles(): number {
    return this.parked.size;
  }

  /** Not every file under the patterns could be opened yet (the open-file bound): scan again. */
  get needsScan(): boolean {
    return this.moreToOpen;
  }

  private get maxOpen(): number {
    return Math.max(1, this.options.maxOpenFiles ?? MAX_OPEN_FILES);
  }

  /**
   * Finds files under the patterns and opens new ones. With every directory watched and
   * nothing appeared or moved since, this is only a poll; the full walk runs every
   * `fullScanIntervalMs` as the safety net.
   */
  async scan(): Promise<void> {
    const eventsSuffice =
      this.watcher !== undefined &&
      this.fullyWatched &&
      !this.rescanWanted &&
      !this.moreToOpen &&
      this.now() - this.lastFullScanMs < (this.options.fullScanIntervalMs ?? FULL_SCAN_INTERVAL_MS);
    if (eventsSuffice) await this.poll();
    else await this.fullScan();
  }

  private noteEvent(dir: string, name: string | undefined, kind: ChangeKind): void {
    if (name === undefined || kind === 'rename') this.rescanWanted = true;
    if (name !== undefined) this.dirtyPaths.add(dir === '/' ? `/${name}` : `${dir}/${name}`);
  }

  private async fullScan(): Promise<void> {
    this.inScan = true;
    try {
      await this.walkAndOpen();
    } finally {
      this.inScan = false;
      this.flushIdentities();
    }
  }

  private identitiesChanged(): void {
    if (this.inScan) this.identitiesPending = true;
    else this.options.onIdentitiesChanged?.();
  }

  private flushIdentities(): void {
    if (!this.identitiesPending) return;
    this.identitiesPending = false;
    this.options.onIdentitiesChanged?.();
  }

  private async walkAndOpen(): Promise<void> {
    const scanStartedMs = this.now();
    this.rescanWanted = false;
    this.moreToOpen = false;
    this.lastFullScanMs = scanStartedMs;
    this.dirtyPaths = new Set();
    this.scanStartedMs = scanStartedMs;
    let found = await this.discovery.scan();
    if (this.discovery.outOfDescriptors) {
      this.sayTooMany('EMFILE');
      if ((await this.parkQuiet(Math.max(1, Math.ceil(this.open.size / 4)))) > 0) found = await this.discovery.scan();
      if (this.discovery.outOfDescriptors) this.moreToOpen = true;
    }
    this.unreadable.clear();
    for (const skipped of this.discovery.skipped) this.noteSkipped(skipped.path, skipped.code, skipped.message);
    const byKey = new Map<string, FoundFile>();
    const archives: FoundFile[] = [];
    for (const file of found.values()) {
      const key = `${file.stats.dev}:${file.stats.ino}`;
      if (ARCHIVE_NAME.test(file.path)) archives.push(file);
      else if (!byKey.has(key)) byKey.set(key, file);
    }
    const rotatedAway: FileStream[] = [];
    for (const file of this.open.values()) {
      const at = byKey.get(file.key);
      if (at !== undefined) {
        if (file.stream.path !== at.path) this.identitiesChanged();
        file.path = at.path;
        file.stream.path = at.path;
        file.orphan = false;
      } else if (!file.orphan) {
        file.orphan = true;
        rotatedAway.push(file.stream);
      }
    }
    for (const stream of rotatedAway) await this.rotatedAway.findRotatedSiblings(stream, found);
    await this.pollOpen(true);
    // Known identities first, so one truncated while unwatched is known as such before its
    // rotated copy is looked at.
    // Made when first needed: when every file is open or closed unchanged (idle), never.
    let resumable: Map<string, FileStream> | undefined;
    for (const [key, file] of byKey) {
      if (this.interrupted) return;
      const parked = this.parked.get(key);
      if (parked !== undefined && sameStats(parked, file.stats)) continue;
      if (this.open.has(key)) continue;
      resumable ??= this.resumable();
      const known = resumable.get(key);
      if (known === undefined || this.open.has(key) || this.attachedSet.has(known.id)) continue;
      if (!(await this.roomFor())) {
        this.moreToOpen = true;
        break;
      }
      await this.resume(file, known);
    }
    // Closed quiet files no longer under the patterns: renamed away (rotated) or deleted
    // while closed. One renamed beside its old path is read to its end like any rotated file.
    for (const [key, parked] of [...this.parked]) {
      if (this.interrupted) return;
      if (byKey.has(key)) continue;
      this.unpark(key);
      if (!(await this.rotatedAway.findParked(parked.stream))) {
        parked.stream.detachedAtMs = this.now();
        parked.stream.detachReason = 'gone';
      }
    }
    // At start, identities no longer under the patterns are looked for before new files are
    // judged: one truncated and then renamed away while the agent was stopped must be known
    // as truncated when its copytruncate copy is judged.
    if (!this.firstScanDone) {
      this.firstScanDone = true;
      await this.rotatedAway.findMovedAway();
    }
    // New files: opened and their first bytes read a few ahead (each is a thread-pool round
    // trip), judged and attached one by one, in order.
    const fresh = [...byKey].filter(([key, file]) => !this.open.has(key) && !this.parked.has(key) && file.stats.size > 0);
    const ahead: Array<Promise<Prepared | undefined>> = [];
    let next = 0;
    const fill = (): void => {
      while (ahead.length < PREFETCH && next < fresh.length) ahead.push(this.prepare((fresh[next++] as [string, FoundFile])[1]));
    };
    try {
      for (const [key, file] of fresh) {
        if (this.interrupted) return;
        if (!(await this.roomFor())) {
          this.moreToOpen = true;
          break;
        }
        fill();
        const prepared = await ahead.shift();
        fill();
        if (prepared === undefined) continue;
        if (this.open.has(key) || this.parked.has(key)) {
          await prepared.handle.close();
          continue;
        }
        await this.consider(key, file, prepared);
      }
    } finally {
      for (const left of ahead) void left.then((p) => p?.handle.close());
    }
    this.copies.keepOnly(new Set(byKey.keys()));
    if (!this.interrupted) await this.archives.scan(archives);
    if (this.watcher !== undefined) {
      const { all, added } = this.watcher.watch(this.discovery.listed);
      this.fullyWatched = this.discovery.basesListed && all;
      // A directory listed before its watch began: what changed in between is only seen by walking again.
      if (added > 0) this.rescanWanted = true;
    }
    for (const file of this.open.values()) if (!file.orphan) file.stream.seenAtMs = scanStartedMs;
    this.forgetOld();
  }

  /** Known identities not open now, by `dev:ino`: the first of each. */
  private resumable(): Map<string, FileStream> {
    const resumable = new Map<string, FileStream>();
    for (const s of this.streams.values()) {
      if (s.detachedAtMs !== undefined || s.archive === true || this.attachedSet.has(s.id)) continue;
      const key = `${s.dev}:${s.ino}`;
      if (!resumable.has(key)) resumable.set(key, s);
    }
    return resumable;
  }

  /**
   * Re-stats open files (with watches: only those an event named, recently active ones and
   * ones outside watched directories), reopens closed ones that changed, closes idle ones.
   */
  async poll(): Promise<void> {
    if (this.moreToOpen && !this.interrupted && this.options.canRead()) {
      await this.fullScan();
      return;
    }
    const dirty = this.dirtyPaths;
    this.dirtyPaths = new Set();
    if (dirty.size > 0) {
      // A file that changed but is neither open nor closed-quiet (empty until now, or new): the next scan looks.
      const known = new Set([...this.open.values()].map((f) => f.path));
      for (const at of dirty) if (!known.has(at) && !this.parkedByPath.has(at)) this.rescanWanted = true;
    }
    await this.pollOpen(this.watcher === undefined || !this.fullyWatched, dirty);
    await this.reopenChanged(dirty);
    await this.closeIdle();
  }

  /** Growth, truncation, idle multiline records and unfinished lines, idle rotated files. */
  private async pollOpen(all: boolean, dirty = new Set<string>()): Promise<void> {
    const now = this.now();
    const partialIdleMs = this.options.partialLineIdleMs ?? PARTIAL_LINE_IDLE_MS;
    for (const file of [...this.open.values()]) {
      const due = all || file.orphan || file.alwaysPoll || file.copyBehind || !file.quiet || now - file.lastGrowthMs < ACTIVE_MS || dirty.has(file.path);
      if (!due) continue;
      try {
        await file.refreshStat();
      } catch {
        await this.detach(file, 'gone', true);
        continue;
      }
      if (file.copyBehind && file.size >= file.readOffset) file.copyBehind = false;
      if ((file.size < file.readOffset && !file.copyBehind) || !(await file.checkPrefix())) {
        this.options.log('file_truncated', { path: file.path, size: file.size, read: file.readOffset });
        await this.restartTruncated(file);
        continue;
      }
      file.flushIdle(now);
      if (file.heldBytes > 0 && file.caughtUp && !file.hasUnread && now - file.lastGrowthMs >= partialIdleMs) {
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
          this.options.log('read_failed', { path: file.path, error: (err as Error).message });
          await this.detach(file, 'gone', false);
        }
      }
      if (this.archives.active > 0 && !this.interrupted) {
        if (!this.options.canRead()) return 'blocked';
        if ((await this.archives.read(CHUNKS_PER_TURN, this.options.canRead)) === 'more') more = true;
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
    this.watcher?.close();
    await this.archives.close();
    for (const file of this.open.values()) await file.close();
    this.open.clear();
    this.attachedSet.clear();
    this.parked.clear();
    this.parkedByPath.clear();
  }

  /** Closed quiet files an event named: reopened when they changed (a new inode there: rescan). */
  private async reopenChanged(dirty: Set<string>): Promise<void> {
    for (const at of dirty) {
      if (this.interrupted) return;
      const key = this.parkedByPath.get(at);
      const parked = key === undefined ? undefined : this.parked.get(key);
      if (key === undefined || parked === undefined) continue;
      const stats = await statPath(at).catch(() => undefined);
      if (stats === undefined || `${stats.dev}:${stats.ino}` !== key) {
        this.rescanWanted = true;
        continue;
      }
      if (sameStats(parked, stats)) continue;
      if (!(await this.roomFor())) {
        this.moreToOpen = true;
        return;
      }
      await this.resume({ path: at, filename: parked.stream.filename, sourceIndex: parked.stream.sourceIndex, stats, viaLink: parked.alwaysPoll }, parked.stream);
    }
  }

  /** Closes files quiet for `idleCloseMs`: they cost a descriptor and a stat for nothing. */
  private async closeIdle(): Promise<void> {
    const now = this.now();
    const idleMs = this.options.idleCloseMs ?? IDLE_CLOSE_MS;
    for (const file of [...this.open.values()]) {
      if (!file.orphan && !file.copyBehind && file.quiet && now - file.lastGrowthMs >= idleMs) await this.park(file);
    }
  }

  /**
   * True when one more file may be opened: under the bound, or quiet files were closed to
   * make room (after reading the open ones to their end, so the first scan of thousands of
   * files ships as it goes). False when every open file still has something to read and
   * the pipeline is full: the caller stops and scans again once there is room.
   */
  private async roomFor(): Promise<boolean> {
    const max = this.maxOpen;
    if (this.open.size < max) return true;
    // Close a slice at once, so a long scan does not sort the open files for every new one.
    const slice = Math.max(1, Math.floor(max / 8));
    if ((await this.parkQuiet(slice)) > 0) return true;
    this.flushIdentities();
    if ((await this.readAvailable()) === 'blocked') return false;
    return (await this.parkQuiet(slice)) > 0;
  }

  /** Closes up to `count` quiet files, the longest quiet first; how many were closed. */
  private async parkQuiet(count: number): Promise<number> {
    const quiet = [...this.open.values()].filter((f) => !f.orphan && !f.copyBehind && f.quiet).sort((a, b) => a.lastGrowthMs - b.lastGrowthMs);
    const chosen = quiet.slice(0, count);
    await Promise.all(chosen.map((file) => this.park(file)));
    return chosen.length;
  }

  private async park(file: OpenFile): Promise<void> {
    const key = file.key;
    this.open.delete(key);
    this.attachedSet.delete(file.stream.id);
    this.parked.set(key, { stream: file.stream, path: file.path, size: file.size, mtimeMs: file.mtimeMs, ctimeMs: file.ctimeMs, alwaysPoll: file.alwaysPoll });
    this.parkedByPath.set(file.path, key);
    await file.close();
  }

  private unpark(key: string): Parked | undefined {
    const parked = this.parked.get(key);
    if (parked === undefined) return undefined;
    this.parked.delete(key);
    if (this.parkedByPath.get(parked.path) === key) this.parkedByPath.delete(parked.path);
    return parked;
  }

  /** Opens a file, saying once per file why one cannot be (unreadable, not a regular file). */
  private async openFound(at: string): Promise<FileHandle | undefined> {
    let result: OpenResult = await openRegular(at);
    if (result.kind === 'failed' && (result.code === 'EMFILE' || result.code === 'ENFILE')) {
      // Out of descriptors: close quiet files and try again, never wait.
      this.sayTooMany(result.code);
      if ((await this.parkQuiet(Math.max(1, Math.ceil(this.open.size / 4)))) > 0) result = await openRegular(at);
      if (result.kind === 'failed' && (result.code === 'EMFILE' || result.code === 'ENFILE')) {
        this.moreToOpen = true;
        return undefined;
      }
    }
    if (result.kind === 'open') return result.handle;
    if (result.kind === 'special') this.noteSkipped(at, 'special', `${result.what}, not a regular file`);
    else if (result.code !== 'ENOENT') this.noteSkipped(at, result.code, result.message);
    return undefined;
  }

  private sayTooMany(code: string): void {
    if (this.saidTooMany) return;
    this.saidTooMany = true;
    this.options.log('too_many_open_files', { open_files: this.open.size, error: code });
  }

  private noteSkipped(at: string, code: string, message: string): void {
    const unreadable = code === 'EACCES' || code === 'EPERM';
    const notFile = code === 'special' || code === 'symlink' || code === 'compressed';
    if (!notFile) this.unreadable.set(at, message);
    const key = `${code}\0${at}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    if (notFile) this.options.log('file_skipped', { path: at, reason: message });
    else if (unreadable) {
      this.options.log('file_unreadable', { path: at, error: code });
    } else this.options.log('file_error', { path: at, error: code, message });
  }

  /** Re-attaches a known identity found on its inode, or marks it truncated/replaced. */
  private async resume(found: FoundFile, known: FileStream): Promise<void> {
    const { dev, ino } = known;
    const handle = await this.openFound(found.path);
    if (handle === undefined) return;
    const parked = this.unpark(`${dev}:${ino}`);
    const stats = await handle.stat();
    const prefix = stats.dev === dev && stats.ino === ino ? await readPrefix(handle, stats.size) : Buffer.alloc(0);
    if (stats.dev === dev && stats.ino === ino && prefixMatches(known, prefix) && stats.size >= known.readEnd) {
      known.path = found.path;
      const file = await this.attach(handle, known, false);
      file.alwaysPoll = found.viaLink;
      // Closed while quiet: what was written since was written while tailing.
      if (parked !== undefined) file.caughtUp = true;
      return;
    }
    await handle.close();
    this.options.log('file_replaced_unwatched', { path: found.path });
    known.detachedAtMs = this.now();
    known.detachReason = 'truncated';
  }

  /** Opens a found file and reads its first bytes. */
  private async prepare(found: FoundFile): Promise<Prepared | undefined> {
    const handle = await this.openFound(found.path);
    if (handle === undefined) return undefined;
    try {
      const stats = await handle.stat();
      const prefix = await readPrefix(handle, stats.size);
      return { handle, stats, prefix };
    } catch {
      await handle.close().catch(() => {});
      return undefined;
    }
  }

  private async consider(key: string, found: FoundFile, { handle, stats, prefix }: Prepared): Promise<void> {
    if (`${stats.dev}:${stats.ino}` !== key || stats.size === 0) {
      await handle.close();
      return;
    }
    const verdict = this.copies.judge(key, prefix, { path: found.path, size: stats.size, dev: stats.dev, ino: stats.ino }, this.attachedIds(), this.now());
    if (verdict.kind === 'continues') {
      const { original } = verdict;
      this.options.log('rotated_copy', { path: found.path, copy_of: original.path, offset: original.readEnd });
      Object.assign(original, { dev: stats.dev, ino: stats.ino, path: found.path, detachedAtMs: undefined, detachReason: undefined });
      await this.attach(handle, original, true, stats);
      return;
    }
    if (verdict.kind === 'wait') {
      await handle.close();
      return;
    }
    // Compressed content under a name that is not read as an archive (`x.gz.tmp` being written, `x.xz`): never shipped as text.
    const compressed = compressedFormat(prefix);
    if (compressed !== undefined) {
      await handle.close();
      this.noteSkipped(found.path, 'compressed', `${compressed} data, not text${compressed === 'gzip' ? ' (only names ending in .gz are read decompressed)' : ''}`);
      return;
    }
    const stream = newStream(stats, prefix, found, found.path);
    this.streams.set(stream.id, stream);
    const file = await this.attach(handle, stream, false, stats);
    file.alwaysPoll = found.viaLink;
    this.identitiesChanged();
    // The first bytes are read already: a small file is read whole without another round trip.
    if (this.options.canRead()) file.feed(prefix, stats.size);
  }

  private attachedIds(): Set<string> {
    return this.attachedSet;
  }

  /** `stats`: an fstat of `handle` taken just before, when the caller has one. */
  private async attach(handle: FileHandle, stream: FileStream, adoptedCopy: boolean, stats?: { size: number; mtimeMs: number; ctimeMs: number }): Promise<OpenFile> {
    const file = new OpenFile(handle, stream, await this.fileOptions(stream));
    if (stats !== undefined) file.setStats(stats);
    else await file.refreshStat();
    // A copy can be shorter than what was read of its original (still being copied): wait for it.
    if (adoptedCopy) file.copyBehind = true;
    stream.seenAtMs = this.scanStartedMs;
    this.open.set(file.key, file);
    this.attachedSet.add(stream.id);
    return file;
  }

  /** How a file of `stream`'s source is read into lines. */
  private async fileOptions(stream: FileStream): Promise<OpenFileOptions> {
    const source = this.options.sources[stream.sourceIndex] ?? this.options.sources[0];
    if (source === undefined) throw new Error('tailer: no sources');
    return {
      maxLineBytes: this.options.maxLineBytes,
      multiline: source.multiline,
      parser: source.parser,
      emit: this.options.emit,
      now: this.now,
      labels: source.labels,
      containerFields: await containerFileFields(stream.path),
    };
  }

  private async detach(file: OpenFile, why: 'truncated' | 'gone', emitHeld: boolean, keepHandle = false): Promise<void> {
    // A compressed copy of this file waits until it is read to its end.
    if (this.archives.waitsFor(file.stream.id)) this.rescanWanted = true;
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
    this.identitiesChanged();
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

function sameStats(parked: Parked, stats: { size: number; mtimeMs: number; ctimeMs: number }): boolean {
  return parked.size === stats.size && parked.mtimeMs === stats.mtimeMs && parked.ctimeMs === stats.ctimeMs;
}
