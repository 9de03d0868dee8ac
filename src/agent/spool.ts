/**
 * The disk spool: every batch is appended here (and fsynced) before it is shipped, so a
 * batch read from a file survives the agent's `kill -9`, Daniel being down, and the file
 * being rotated away meanwhile. Append-only segment files; each record is
 * `[length u32le][crc32 u32le][payload]`. Every write's length is checked (a full disk makes
 * a write short without an error): a short write is cut off again and the append fails, to
 * be retried. Every record's checksum is checked when it is read: a record that fails it is
 * never shipped. Opening checks every record: at the first torn or corrupt record (or a
 * missing segment) the spool ends there, and the segments after it are deleted (logged, not
 * fatal), so the agent resumes each file after the last record that is whole, and reads the
 * lines of the dropped records again from their files. Records are read back in order by one cursor and
 * released up to a position once acknowledged; fully released segments are deleted, the one
 * being written included (the next append starts a new one), so a spool that keeps up holds
 * almost nothing on disk. Its size is what is not released yet: that is what the limit
 * bounds. Segments are a sixteenth of the limit (at most 64 MiB), so released bytes waiting
 * for their segment to finish never take much room either.
 * The spool knows nothing of files or offsets: payloads are opaque.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from './crc32.js';
import { HEADER, MAX_RECORD, readFully, syncDirectory, validLength } from './spool-file.js';
import type { AgentLog } from './events.js';

export { syncDirectory } from './spool-file.js';

export interface SpoolPosition {
  segment: number;
  /** Byte offset just after a record in that segment. */
  offset: number;
}

/** A record read back does not match its checksum: the disk changed it after it was written. */
export class SpoolCorruption extends Error {
  override name = 'SpoolCorruption';
}

export interface SpoolRecord {
  payload: Buffer;
  /** Position just after this record: what to release once it is acknowledged. */
  position: SpoolPosition;
}

export interface SpoolOptions {
  /** Above this many bytes on disk the spool is full (default 1 GiB). */
  maxBytes?: number;
  /** A segment file is closed past this size (default a sixteenth of maxBytes, 4 KiB to 64 MiB). */
  segmentBytes?: number;
  /** Records up to here were acknowledged before (from the checkpoint file). */
  releasedUpTo?: SpoolPosition;
  log?: AgentLog;
}

const SEGMENT_NAME = /^(\d{10})\.seg$/;

export class Spool {
  /** Valid bytes per segment, in segment order. */
  private readonly segments = new Map<number, number>();
  private writeSegment = 0;
  private writeHandle: FileHandle | undefined;
  private readCursor: SpoolPosition;
  private readHandle: { segment: number; handle: FileHandle } | undefined;
  private released: SpoolPosition;
  private waiters: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];
  /** Appends and releases, one at a time in call order: a release may close the write segment. */
  private chain: Promise<void> = Promise.resolve();
  readonly maxBytes: number;
  private readonly segmentBytes: number;
  private closed = false;

  private constructor(
    private readonly dir: string,
    options: SpoolOptions,
  ) {
    this.maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
    this.segmentBytes = options.segmentBytes ?? Math.min(64 * 1024 * 1024, Math.max(4096, Math.floor(this.maxBytes / 16)));
    this.released = options.releasedUpTo ?? { segment: 0, offset: 0 };
    this.readCursor = { ...this.released };
  }

  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    await fsp.mkdir(dir, { recursive: true });
    const spool = new Spool(dir, options);
    await spool.recover(options.log ?? (() => {}));
    return spool;
  }

  /** Bytes appended and not released yet: what the limit bounds. */
  get sizeBytes(): number {
    let total = 0;
    for (const [segment, length] of this.segments) {
      if (segment > this.released.segment) total += length;
      else if (segment === this.released.segment) total += Math.max(0, length - this.released.offset);
    }
    return total;
  }

  get isFull(): boolean {
    return this.sizeBytes >= this.maxBytes;
  }

  /** True when a record of `payloadBytes` fits under the limit; an empty spool takes any one record. */
  hasRoomFor(payloadBytes: number): boolean {
    const size = this.sizeBytes;
    return size === 0 || size + HEADER + payloadBytes <= this.maxBytes;
  }

  /** Someone waits in waitForRoom(): releasing now would let them on. */
  get awaitingRoom(): boolean {
    return this.roomWaiters.length > 0;
  }

  /** Resolves once `hasRoomFor(payloadBytes)` holds (checked after each release), the spool is closed, or `signal` aborts. */
  async waitForRoom(payloadBytes: number, signal?: AbortSignal): Promise<void> {
    while (!this.closed && signal?.aborted !== true && !this.hasRoomFor(payloadBytes)) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.roomWaiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** True when every record appended has been read by the cursor. */
  get isDrained(): boolean {
    return !this.hasUnread();
  }

  /** Records appended but not yet released (read or not). */
  get isEmpty(): boolean {
    const last = this.lastSegment();
    if (last === undefined) return true;
    return comparePositions(this.released, { segment: last, offset: this.segments.get(last) ?? 0 }) >= 0;
  }

  /** Appends a record durably (write + fdatasync); appends are serialized in call order. */
  append(payload: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('spool: closed'));
    return this.serialized(() => this.appendNow(payload));
  }

  /** The next record after the cursor, or undefined when none is there yet. */
  async next(): Promise<SpoolRecord | undefined> {
    for (;;) {
      const length = this.segments.get(this.readCursor.segment);
      if (length !== undefined && this.readCursor.offset < length) break;
      const following = [...this.segments.keys()].find((s) => s > this.readCursor.segment);
      if (following === undefined) return undefined;
      this.readCursor = { segment: following, offset: 0 };
    }
    const { segment, offset } = this.readCursor;
    const handle = await this.handleFor(segment);
    const header = Buffer.alloc(HEADER);
    await readFully(handle, header, offset);
    const length = header.readUInt32LE(0);
    const segmentPath = this.segmentPath(segment);
    if (length > MAX_RECORD || offset + HEADER + length > (this.segments.get(segment) ?? 0)) {
      throw new SpoolCorruption(`spool record at ${segmentPath}:${offset} has a bad length (${length}); restart Henrik: it resumes each file from the last whole record`);
    }
    const payload = Buffer.alloc(length);
    await readFully(handle, payload, offset + HEADER);
    if (crc32(payload) !== header.readUInt32LE(4)) {
      throw new SpoolCorruption(`spool record at ${segmentPath}:${offset} fails its checksum (the disk changed it); it is not shipped. Restart Henrik: it resumes each file from the last whole record`);
    }
    this.readCursor = { segment, offset: offset + HEADER + length };
    return { payload, position: { ...this.readCursor } };
  }

  /** Resolves when a record is there to read (at once if one is). */
  waitForRecord(): Promise<void> {
    if (this.hasUnread()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Moves the read cursor back to the first unreleased record (to resend after a failure). */
  rewind(): void {
    this.readCursor = { ...this.released };
  }

  /** Records up to `position` are acknowledged and checkpointed: their segments may go. */
  release(position: SpoolPosition): Promise<void> {
    return this.serialized(() => this.releaseNow(position));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeRoomWaiters();
    await this.chain;
    await this.writeHandle?.close();
    await this.readHandle?.handle.close();
    this.writeHandle = undefined;
    this.readHandle = undefined;
  }

  private serialized(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => {});
    return run;
  }

  private async releaseNow(position: SpoolPosition): Promise<void> {
    if (comparePositions(position, this.released) > 0) this.released = { ...position };
    for (const [segment, length] of [...this.segments]) {
      const wholeDone = segment < this.released.segment || (segment === this.released.segment && this.released.offset >= length);
      if (!wholeDone) continue;
      this.segments.delete(segment);
      if (segment === this.writeSegment && this.writeHandle !== undefined) {
        // Fully released: the next append starts a new segment rather than growing this one.
        await this.writeHandle.close();
        this.writeHandle = undefined;
      }
      if (this.readHandle?.segment === segment) {
        await this.readHandle.handle.close();
        this.readHandle = undefined;
      }
      await fsp.rm(this.segmentPath(segment), { force: true });
    }
    this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }

  private async appendNow(payload: Buffer): Promise<void> {
    const header = Buffer.alloc(HEADER);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    const current = this.segments.get(this.writeSegment);
    const shouldRotate =
      this.writeHandle === undefined || current === undefined || (current > 0 && current + HEADER + payload.length > this.segmentBytes);
    if (shouldRotate) await this.startSegment();
    const handle = this.writeHandle as FileHandle;
    const at = this.segments.get(this.writeSegment) as number;
    const wanted = HEADER + payload.length;
    const { bytesWritten } = await handle.writev([header, payload], at);
    if (bytesWritten !== wanted) {
      // ENOSPC (or a quota) mid-write: writev returns short without throwing. Cut the piece
      // off again, so the segment keeps only whole records, and let the caller retry.
      await handle.truncate(at).catch(() => {});
      throw new Error(`short write to ${this.segmentPath(this.writeSegment)} (${bytesWritten} of ${wanted} bytes): is the disk under the state dir full?`);
    }
    await handle.datasync();
    this.segments.set(this.writeSegment, at + HEADER + payload.length);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async startSegment(): Promise<void> {
    const previous = this.writeHandle;
    this.writeHandle = undefined;
    if (previous !== undefined && this.readCursor.segment === this.writeSegment) {
      // The reader may be reading this segment through the write handle right now: it
      // becomes the read handle, closed when the reader moves on.
      const older = this.readHandle;
      this.readHandle = { segment: this.writeSegment, handle: previous };
      await older?.handle.close();
    } else {
      await previous?.close();
    }
    // Numbers only grow: a released position never points into a newer segment.
    const next = Math.max(this.lastSegment() ?? 0, this.released.segment, this.writeSegment) + 1;
    // The state dir may have been deleted under a running agent: make it again.
    await fsp.mkdir(this.dir, { recursive: true });
    // Readable too: the segment being written is read through this handle, so records still
    // reach Daniel if the file is deleted under the agent.
    this.writeHandle = await fsp.open(this.segmentPath(next), 'w+');
    this.writeSegment = next;
    this.segments.set(next, 0);
    await syncDirectory(this.dir);
  }

  /**
   * Keeps the whole records from the released position on, up to the first break: a torn or
   * corrupt record, or a missing segment. Everything after a break is deleted: shipping it
   * would put lines after a hole, and the hole's lines, read again from their files, would
   * then come after lines that follow them (Daniel would take them for duplicates).
   */
  private async recover(log: AgentLog): Promise<void> {
    const names = (await fsp.readdir(this.dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    let broken: string | undefined;
    let expected: number | undefined;
    for (const name of names) {
      const segment = Number(SEGMENT_NAME.exec(name)?.[1]);
      const file = path.join(this.dir, name);
      if (segment < this.released.segment) {
        await fsp.rm(file, { force: true });
        continue;
      }
      if (broken === undefined && segment > (expected ?? this.released.segment + 1)) {
        broken = `segments before ${name} are missing`;
      }
      if (broken !== undefined) {
        log('spool_segment_deleted', { segment: name, break: broken });
        await fsp.rm(file, { force: true });
        continue;
      }
      const valid = await validLength(file);
      const size = (await fsp.stat(file)).size;
      if (valid < size) {
        log('spool_segment_cut', { segment: name, valid, size });
        await fsp.truncate(file, valid);
        broken = `${name} is torn or corrupt at ${valid}`;
      }
      this.segments.set(segment, valid);
      expected = segment + 1;
    }
    if (this.readCursor.segment > 0 && !this.segments.has(this.readCursor.segment)) {
      this.readCursor = { segment: this.readCursor.segment, offset: 0 };
    }
    await this.releaseNow(this.released);
  }

  private hasUnread(): boolean {
    for (const [segment, length] of this.segments) {
      if (segment > this.readCursor.segment && length > 0) return true;
      if (segment === this.readCursor.segment && length > this.readCursor.offset) return true;
    }
    return false;
  }

  private lastSegment(): number | undefined {
    let last: number | undefined;
    for (const segment of this.segments.keys()) if (last === undefined || segment > last) last = segment;
    return last;
  }

  private async handleFor(segment: number): Promise<FileHandle> {
    if (segment === this.writeSegment && this.writeHandle !== undefined) return this.writeHandle;
    if (this.readHandle?.segment === segment) return this.readHandle.handle;
    await this.readHandle?.handle.close();
    this.readHandle = undefined;
    let handle: FileHandle;
    try {
      handle = await fsp.open(this.segmentPath(segment), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new SpoolCorruption(`spool segment ${this.segmentPath(segment)} was deleted before it was shipped; restart Henrik: it reads those lines again from their files`);
    }
    this.readHandle = { segment, handle };
    return handle;
  }

  private segmentPath(segment: number): string {
    return path.join(this.dir, `${String(segment).padStart(10, '0')}.seg`);
  }
}

export function comparePositions(a: SpoolPosition, b: SpoolPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.offset - b.offset;
}
