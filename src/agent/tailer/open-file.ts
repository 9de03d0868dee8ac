/**
 * One file identity being read through an open handle: chunked reads, lines, multiline
 * records, time stamps. Reading through the handle is what lets a file that was renamed or
 * deleted be read to its end.
 */
import type { FileHandle } from 'node:fs/promises';
import type { StampedLine } from '../batcher.js';
import { MultilineJoiner, type MultilineRule } from '../multiline.js';
import { Stamper } from '../stamper.js';
import type { TimestampParser } from '../timestamps.js';
import { ContainerDecoder, LINES_TO_JUDGE, recognise, type ContainerFormat, type DecodedLine, type LineFields } from './container.js';
import { hashPrefix, prefixMatches, readPrefix } from './identity.js';
import { LineSplitter, type RawLine } from './line-splitter.js';

/** A file identity: what checkpoints record and Daniel knows as `file_id`. */
export interface FileStream {
  id: string;
  filename: string;
  path: string;
  sourceIndex: number;
  dev: number;
  ino: number;
  prefixLength: number;
  prefixHash: string;
  /** Daniel acknowledged every line before this offset. */
  ackedOffset: number;
  ackedTimestamp?: string;
  /** End of the last line handed on to the batcher: where reading resumes. */
  readEnd: number;
  lastTimestamp?: bigint;
  /** Set once the identity left its inode (truncated, deleted, closed after rotation). */
  detachedAtMs?: number;
  /**
   * 'truncated' and 'vanished' (found nowhere when the agent started) identities stay
   * candidates for copytruncate's rotated copy for a while.
   */
  detachReason?: 'truncated' | 'gone' | 'vanished';
  /** When a scan last found it under a pattern (ms): files rotated after that are its successors. */
  seenAtMs?: number;
  /** Fields for every line of this file (`labels` of its group on the wire): the source's labels, a container's names. Not saved. */
  labels?: Readonly<Record<string, string>>;
  /** A compressed file (archives.ts): offsets are those of its decompressed content. */
  archive?: boolean;
  /** An archive's decompressed length, once read to its end: it is done when acknowledged up to here. */
  archiveEnd?: number;
}

/** `line` is reused for the next line: copy what must outlive the call. */
export type LineOut = (stream: FileStream, line: StampedLine, size: number) => void;

export interface OpenFileOptions {
  maxLineBytes: number;
  multiline?: MultilineRule;
  parser: TimestampParser;
  emit: LineOut;
  now: () => number;
  /** The source's labels, sent with every line of the file. */
  labels?: Readonly<Record<string, string>>;
  /** What the path says of a container file (namespace, pod, container): added when its content is a container log. */
  containerFields?: Readonly<Record<string, string>>;
}

/** Bytes kept of what was read last, to tell a file rewritten in place (same size) from one untouched. */
const TAIL_BYTES = 64;

export class OpenFile {
  readOffset: number;
  size = 0;
  mtimeMs = 0;
  ctimeMs = 0;
  /** The last stat showed a new size, mtime or ctime: the content is checked again. */
  changed = false;
  /** Reached the end at least once: lines after this were written while tailing. */
  caughtUp = false;
  /** No longer at a path the patterns match (renamed away, deleted): read to the end, then closed. */
  orphan = false;
  lastGrowthMs: number;
  /** An adopted rotated copy still shorter than what was read of its original (being copied). */
  copyBehind = false;
  /** Where this file was last seen on disk. */
  path: string;
  /** Stat at every poll, not only on a watch event (reached through a symlink, or outside watched directories). */
  alwaysPoll = false;
  private readonly splitter: LineSplitter;
  private readonly joiner: MultilineJoiner | undefined;
  private readonly stamper: Stamper;
  private previousWasCut = false;
  private sizeAtPrefixCheck = -1;
  /** The last bytes read before `readOffset` (up to TAIL_BYTES): a rewrite in place changes them. */
  private tail = Buffer.alloc(0);
  private readonly lineSink = (line: RawLine): void => this.onLine(line);
  private readonly recordSink = (line: RawLine): void => this.onRecord(line);
  private readonly decodedSink = (line: DecodedLine): void => this.onDecoded(line);
  /** Set once the file's lines are known to be Docker json-file or CRI wrappers. */
  private container: ContainerDecoder | undefined;
  /** Lines still looked at to recognise a container format; 0: plain for good. */
  private linesToJudge = LINES_TO_JUDGE;
  private readingLive = false;
  /** When the chunk being split was read: one clock read per chunk, not per line. */
  private chunkReadAtMs = 0;
  /** Handed to `emit` for every line and overwritten by the next: the receiver copies what it keeps. */
  private readonly out: StampedLine = { offset: 0, end: 0, timestamp: 0n, text: '', cut: false, fields: undefined, ascii: false };

  constructor(
    readonly handle: FileHandle,
    readonly stream: FileStream,
    private readonly options: OpenFileOptions,
  ) {
    this.readOffset = stream.readEnd;
    this.path = stream.path;
    this.splitter = new LineSplitter(options.maxLineBytes);
    this.splitter.reset(stream.readEnd);
    this.joiner = options.multiline ? new MultilineJoiner(options.multiline, options.maxLineBytes) : undefined;
    this.stamper = new Stamper(options.parser, stream.lastTimestamp);
    this.lastGrowthMs = options.now();
    stream.labels = options.labels;
  }

  /** The container format the file's lines were recognised as, if any. */
  get containerFormat(): ContainerFormat | undefined {
    return this.container?.format;
  }

  get key(): string {
    return `${this.stream.dev}:${this.stream.ino}`;
  }

  async refreshStat(): Promise<void> {
    this.setStats(await this.handle.stat());
  }

  /** What an fstat of the handle just said. */
  setStats(stats: { size: number; mtimeMs: number; ctimeMs: number }): void {
    this.changed = stats.size !== this.size || stats.mtimeMs !== this.mtimeMs || stats.ctimeMs !== this.ctimeMs;
    this.size = stats.size;
    this.mtimeMs = stats.mtimeMs;
    this.ctimeMs = stats.ctimeMs;
  }

  /** Bytes of an unfinished last line held (not emitted yet). */
  get heldBytes(): number {
    return this.splitter.heldBytes + (this.container?.heldBytes ?? 0);
  }

  /** Emits the unfinished last line as a line, and a container record waiting for its next piece: the file was idle long enough (or `--once` ends). */
  flushHeld(): void {
    this.splitter.flushHeld(this.lineSink);
    this.container?.flush(this.decodedSink);
  }

  /** Reads up to `maxChunks` chunks into `buffer`; 'eof' when the end was reached. */
  async read(buffer: Buffer, maxChunks: number, mayContinue: () => boolean): Promise<'eof' | 'more'> {
    for (let i = 0; i < maxChunks; i++) {
      if (!mayContinue()) return 'more';
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.readOffset);
      if (bytesRead === 0) {
        this.caughtUp = true;
        return 'eof';
      }
      this.readingLive = this.caughtUp;
      const at = this.readOffset;
      this.readOffset += bytesRead;
      if (this.readOffset > this.size) this.size = this.readOffset;
      this.lastGrowthMs = this.options.now();
      this.chunkReadAtMs = this.lastGrowthMs;
      this.keepTail(buffer, bytesRead);
      this.splitter.push(buffer.subarray(0, bytesRead), at, this.lineSink);
      // A short read of a regular file is its end for now: no second read to be told so.
      if (bytesRead < buffer.length) {
        this.caughtUp = true;
        return 'eof';
      }
    }
    return 'more';
  }

  /**
   * Takes `bytes`, already read at `readOffset` (a new file's first bytes, read with its
   * identity): no second read for a small file. `size` is the file's size when they were read.
   */
  feed(bytes: Buffer, size: number): void {
    if (bytes.length === 0) return;
    this.readingLive = this.caughtUp;
    const at = this.readOffset;
    this.readOffset += bytes.length;
    if (this.readOffset > this.size) this.size = this.readOffset;
    this.lastGrowthMs = this.options.now();
    this.chunkReadAtMs = this.lastGrowthMs;
    this.keepTail(bytes, bytes.length);
    this.splitter.push(bytes, at, this.lineSink);
    if (this.readOffset >= size) this.caughtUp = true;
  }

  /** True when bytes past what was read are there (per the last stat). */
  get hasUnread(): boolean {
    return this.size > this.readOffset || this.copyBehind;
  }

  /** Read to its end with nothing held: closing it loses nothing, reopening resumes at `readEnd`. */
  get quiet(): boolean {
    return (
      this.caughtUp &&
      !this.hasUnread &&
      this.splitter.heldBytes === 0 &&
      !(this.joiner?.hasPending ?? false) &&
      (this.container?.heldBytes ?? 0) === 0 &&
      this.readOffset === this.stream.readEnd
    );
  }

  /** Emits a multiline record that waited long enough. */
  flushIdle(nowMs: number): void {
    this.joiner?.flushIfIdle(this.recordSink, nowMs);
  }

  /** Emits the pending multiline record and, when `held` (file rotated away or deleted), the unfinished last line. */
  finish(held: boolean): void {
    if (held) this.splitter.flushHeld(this.lineSink);
    this.joiner?.flush(this.recordSink);
    this.container?.flush(this.decodedSink);
  }

  /**
   * Checks, whenever the size, mtime or ctime changed, that the first bytes recorded are
   * still there (growing the record as the file grows past it), and that the last bytes read
   * are still where they were read. False when they are not: the file was truncated and
   * rewritten, perhaps to the same size or past the offset read.
   */
  async checkPrefix(): Promise<boolean> {
    if (this.size === this.sizeAtPrefixCheck && !this.changed) return true;
    this.sizeAtPrefixCheck = this.size;
    this.changed = false;
    if (!(await this.tailStillThere())) return false;
    const stream = this.stream;
    const prefix = await readPrefix(this.handle, Math.max(this.size, stream.prefixLength));
    if (!prefixMatches(stream, prefix)) return false;
    if (prefix.length > stream.prefixLength) {
      stream.prefixLength = prefix.length;
      stream.prefixHash = hashPrefix(prefix);
    }
    return true;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }

  private keepTail(buffer: Buffer, bytesRead: number): void {
    if (bytesRead >= TAIL_BYTES) {
      this.tail = Buffer.from(buffer.subarray(bytesRead - TAIL_BYTES, bytesRead));
      return;
    }
    const joined = Buffer.concat([this.tail, buffer.subarray(0, bytesRead)]);
    this.tail = joined.length > TAIL_BYTES ? joined.subarray(joined.length - TAIL_BYTES) : joined;
  }

  private async tailStillThere(): Promise<boolean> {
    const length = this.tail.length;
    if (length === 0) return true;
    if (this.size < this.readOffset) return this.copyBehind;
    const now = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(now, 0, length, this.readOffset - length);
    return bytesRead === length && now.equals(this.tail);
  }

  private onLine(line: RawLine): void {
    if (this.container !== undefined) {
      this.container.push(line, this.decodedSink);
      return;
    }
    if (this.linesToJudge > 0) {
      const format = recognise(line.text);
      if (format !== undefined) {
        this.startContainer(format);
        (this.container as ContainerDecoder | undefined)?.push(line, this.decodedSink);
        return;
      }
      this.linesToJudge--;
    }
    if (this.joiner) this.joiner.push(line, this.recordSink, this.chunkReadAtMs);
    else this.onRecord(line);
  }

  /** From here on the file's lines are unwrapped (a multiline rule applies to plain files only). */
  private startContainer(format: ContainerFormat): void {
    this.joiner?.flush(this.recordSink);
    this.container = new ContainerDecoder(format, this.options.maxLineBytes);
    this.linesToJudge = 0;
    const facts = this.options.containerFields;
    if (facts !== undefined) this.stream.labels = { ...facts, ...this.options.labels };
  }

  /** A container record (time from its wrapper) or a line of the file that is not one (stamped as any line). */
  private onDecoded(line: DecodedLine): void {
    const time = line.time;
    if (time === undefined) {
      this.onRecord(line);
      return;
    }
    this.previousWasCut = line.cut;
    this.stamper.lastTimestamp = time;
    this.send(line, time, line.fields);
  }

  private onRecord(line: RawLine): void {
    // A multiline record emitted by the idle flush was not read just now: ask the clock.
    const nowMs = this.joiner !== undefined ? this.options.now() : this.chunkReadAtMs;
    const timestamp = this.stamper.stamp(line.text, this.readingLive, this.mtimeMs, nowMs, this.previousWasCut);
    this.previousWasCut = line.cut;
    this.send(line, timestamp, undefined);
  }

  private send(line: RawLine, timestamp: bigint, fields: LineFields | undefined): void {
    this.stream.readEnd = line.end;
    this.stream.lastTimestamp = timestamp;
    const out = this.out;
    out.offset = line.offset;
    out.end = line.end;
    out.timestamp = timestamp;
    out.text = line.text;
    out.cut = line.cut;
    out.fields = fields;
    out.ascii = line.ascii === true;
    this.options.emit(this.stream, out, this.size > line.end ? this.size : line.end);
  }
}
