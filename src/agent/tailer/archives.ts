/**
 * Rotated, compressed files (`syslog.2.gz`, kubelet's `0.log.20240501-100000.gz`) that a
 * pattern matches: each is read once, decompressed, with the offsets of its decompressed
 * content, and never again. Only gzip is read (`.gz`); other compressed names are never
 * shipped, and a file whose first bytes say it is compressed is never shipped as text.
 *
 * A compressed file is usually the copy of a file already read (logrotate's `compress`,
 * with or without `delaycompress`; kubelet compressing a rotated log). The rule: when the
 * first bytes of its decompressed content are those recorded for a known file identity in
 * the same directory (the identity's fingerprint, up to its first KiB), it is that file's
 * copy, and the bytes up to where that identity was read are not shipped again; only what
 * follows (lines written after Henrik last read the original, before it was compressed and
 * deleted) is. While that identity is still being read (open), the copy waits. A copy
 * shorter than what was read of the identity holds nothing new.
 *
 * An archive's identity is its device, inode and the hash of its first compressed bytes;
 * `archiveEnd` (the decompressed length, once read to its end) in the checkpoints tells a
 * finished archive from one a crash interrupted: that one is decompressed again and
 * resumed after what was acknowledged or spooled.
 */
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FoundFile } from './discovery.js';
import { hashPrefix, newFileId, prefixMatches, readPrefix, FINGERPRINT_BYTES } from './identity.js';
import { openRegular } from './names.js';
import { OpenFile, type FileStream, type OpenFileOptions } from './open-file.js';

/** Names read as gzip archives. */
export const ARCHIVE_NAME = /\.gz$/;

/** What the first bytes of a compressed file look like, by format; undefined for anything else. */
export function compressedFormat(prefix: Buffer): string | undefined {
  const starts = (...bytes: number[]): boolean => prefix.length >= bytes.length && bytes.every((b, i) => prefix[i] === b);
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  if (starts(0x04, 0x22, 0x4d, 0x18)) return 'lz4';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'zip';
  if (starts(0x42, 0x5a, 0x68) && prefix.length >= 10 && prefix[3]! >= 0x31 && prefix[3]! <= 0x39 && prefix.subarray(4, 10).equals(Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]))) return 'bzip2';
  return undefined;
}

export interface ArchivePort {
  readonly streams: Map<string, FileStream>;
  attachedIds(): Set<string>;
  /** Options for the OpenFile that splits, decodes and stamps an archive's lines (its source's). */
  fileOptions(stream: FileStream): Promise<OpenFileOptions>;
  identitiesChanged(): void;
  log(message: string): void;
  now(): number;
}

/** A read that ends early this long after the archive last changed is taken as a truncated archive. */
const SETTLE_MS = 60_000;
const CHUNK = 256 * 1024;

interface Reading {
  key: string;
  stream: FileStream;
  handle: FileHandle;
  file: OpenFile;
  out: Readable;
  chunks: AsyncIterator<Buffer>;
  /** Decompressed bytes seen so far. */
  position: number;
  /** Bytes before this are not handed on (read before a crash, or covered by the original). */
  skipTo: number;
  size: number;
  mtimeMs: number;
}

export class Archives {
  private readonly reading = new Map<string, Reading>();
  /** Copies whose original is still open: `dev:ino` -> the original's id. */
  private readonly waiting = new Map<string, string>();
  /** Archives not read for now (not gzip, ended early): `dev:ino` -> size and mtime when judged, asked again when they change. */
  private readonly setAside = new Map<string, { size: number; mtimeMs: number; since: number; final?: boolean }>();
  private readonly said = new Set<string>();
  /** Finished archives as last looked at: one unchanged since is not opened again at every scan. */
  private readonly done = new Map<string, { id: string; size: number; mtimeMs: number }>();

  constructor(private readonly port: ArchivePort) {}

  get active(): number {
    return this.reading.size;
  }

  /** True when a compressed copy waits for the identity `id` to be read to its end. */
  waitsFor(id: string): boolean {
    for (const original of this.waiting.values()) if (original === id) return true;
    return false;
  }

  /** A full scan found these archives under the patterns: new ones are judged, unfinished ones (re)started. */
  async scan(found: FoundFile[]): Promise<void> {
    const byKey = new Map<string, FileStream>();
    for (const s of this.port.streams.values()) if (s.archive === true) byKey.set(`${s.dev}:${s.ino}`, s);
    const present = new Set<string>();
    for (const f of found) {
      const key = `${f.stats.dev}:${f.stats.ino}`;
      present.add(key);
      const active = this.reading.get(key);
      if (active !== undefined) {
        active.stream.path = f.path;
        continue;
      }
      const known = byKey.get(key);
      const done = this.done.get(key);
      if (known !== undefined && done?.id === known.id && done.size === f.stats.size && done.mtimeMs === f.stats.mtimeMs) {
        known.path = f.path;
        known.detachedAtMs = undefined;
        known.detachReason = undefined;
        continue;
      }
      const aside = this.setAside.get(key);
      if (aside !== undefined && aside.size === f.stats.size && aside.mtimeMs === f.stats.mtimeMs) {
        // Not gzip, or it ended early: asked again when it changes. One that ended early and
        // stays untouched is a truncated archive: read once more as far as it goes, and finished.
        if (aside.final || byKey.get(key) === undefined || this.port.now() - aside.since < SETTLE_MS) continue;
        aside.final = true;
      }
      await this.consider(f, key, known);
    }
    for (const [key, stream] of byKey) {
      if (present.has(key) || this.reading.has(key)) continue;
      if (stream.detachedAtMs === undefined) {
        stream.detachedAtMs = this.port.now();
        stream.detachReason = 'gone';
      }
    }
    for (const key of [...this.setAside.keys()]) if (!present.has(key)) this.setAside.delete(key);
    for (const key of [...this.done.keys()]) if (!present.has(key)) this.done.delete(key);
    for (const key of [...this.waiting.keys()]) if (!present.has(key)) this.waiting.delete(key);
  }

  private async consider(f: FoundFile, key: string, known: FileStream | undefined): Promise<void> {
    const opened = await openRegular(f.path);
    if (opened.kind !== 'open') return;
    const handle = opened.handle;
    let keep = false;
    try {
      const stats = await handle.stat();
      if (`${stats.dev}:${stats.ino}` !== key) return;
      const prefix = await readPrefix(handle, stats.size);
      if (known !== undefined && prefixMatches(known, prefix)) {
        known.path = f.path;
        known.detachedAtMs = undefined;
        known.detachReason = undefined;
        known.seenAtMs = this.port.now();
        if (known.archiveEnd !== undefined && known.readEnd >= known.archiveEnd) {
          this.done.set(key, { id: known.id, size: stats.size, mtimeMs: stats.mtimeMs });
          return;
        }
        keep = await this.start(key, known, handle, stats, known.readEnd);
        return;
      }
      if (compressedFormat(prefix) !== 'gzip') {
        this.setAside.set(key, { size: stats.size, mtimeMs: stats.mtimeMs, since: this.port.now() });
        this.sayOnce(`${f.path}:gzip`, `path=${f.path}: skipped, named .gz but not gzip data; it is not shipped`);
        return;
      }
      const first = await firstBytes(handle);
      if (first === undefined) {
        this.setAside.set(key, { size: stats.size, mtimeMs: stats.mtimeMs, since: this.port.now() });
        this.sayOnce(`${f.path}:corrupt`, `path=${f.path}: skipped, its gzip data cannot be read (corrupt, or still being written)`);
        return;
      }
      const original = this.originalOf(first, f.path);
      if (original !== undefined && this.port.attachedIds().has(original.id)) {
        // The original is still being read (rotated away, to its end): what it reads is not shipped twice.
        this.waiting.set(key, original.id);
        return;
      }
      this.waiting.delete(key);
      const prefixHash = hashPrefix(prefix);
      const skip = original?.readEnd ?? 0;
      const stream: FileStream = {
        id: newFileId(stats.dev, stats.ino, prefixHash),
        filename: f.filename,
        path: f.path,
        sourceIndex: f.sourceIndex,
        dev: stats.dev,
        ino: stats.ino,
        prefixLength: prefix.length,
        prefixHash,
        ackedOffset: skip,
        readEnd: skip,
        archive: true,
        seenAtMs: this.port.now(),
      };
      this.port.streams.set(stream.id, stream);
      if (original !== undefined) this.port.log(`path=${f.path} copy_of=${original.path}: compressed copy of a file already read, shipping what follows offset ${skip}`);
      this.port.identitiesChanged();
      keep = await this.start(key, stream, handle, stats, skip);
    } finally {
      if (!keep) await handle.close().catch(() => {});
    }
  }

  /** The known, uncompressed identity in the same directory whose recorded first bytes `first` begins with. */
  private originalOf(first: Buffer, at: string): FileStream | undefined {
    const dir = path.dirname(at);
    let best: FileStream | undefined;
    for (const s of this.port.streams.values()) {
      if (s.archive === true || s.prefixLength === 0 || first.length < s.prefixLength || path.dirname(s.path) !== dir) continue;
      if (hashPrefix(first.subarray(0, s.prefixLength)) !== s.prefixHash) continue;
      if (best === undefined || s.prefixLength > best.prefixLength || (s.prefixLength === best.prefixLength && s.readEnd > best.readEnd)) best = s;
    }
    return best;
  }

  private async start(key: string, stream: FileStream, handle: FileHandle, stats: { size: number; mtimeMs: number; ctimeMs: number }, skipTo: number): Promise<boolean> {
    stream.readEnd = skipTo;
    const file = new OpenFile(handle, stream, await this.port.fileOptions(stream));
    file.setStats(stats);
    const gunzip = createGunzip({ chunkSize: CHUNK });
    pipeline(Readable.from(rawChunks(handle, CHUNK)), gunzip, () => {});
    this.reading.set(key, { key, stream, handle, file, out: gunzip, chunks: gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>, position: 0, skipTo, size: stats.size, mtimeMs: stats.mtimeMs });
    return true;
  }

  /** Decompresses and hands on lines, archive by archive; 'more' while some are not read to their end. */
  async read(maxChunks: number, mayContinue: () => boolean): Promise<'done' | 'more'> {
    for (const r of [...this.reading.values()]) {
      for (let i = 0; i < maxChunks; i++) {
        if (!mayContinue()) return 'more';
        let next: IteratorResult<Buffer>;
        try {
          next = await r.chunks.next();
        } catch (err) {
          await this.failed(r, err as NodeJS.ErrnoException);
          break;
        }
        if (next.done === true) {
          await this.finished(r);
          break;
        }
        let chunk = next.value;
        const at = r.position;
        r.position += chunk.length;
        if (r.position <= r.skipTo) continue;
        if (at < r.skipTo) chunk = chunk.subarray(r.skipTo - at);
        r.file.feed(chunk, Number.MAX_SAFE_INTEGER);
      }
    }
    return this.reading.size > 0 ? 'more' : 'done';
  }

  private async finished(r: Reading): Promise<void> {
    r.file.finish(true);
    const stream = r.stream;
    // Done once everything up to here is acknowledged (a copy shorter than what was read of its original: at once).
    stream.archiveEnd = r.position;
    await this.end(r);
    this.setAside.delete(r.key);
    this.port.identitiesChanged();
  }

  private async failed(r: Reading, err: NodeJS.ErrnoException): Promise<void> {
    const aside = this.setAside.get(r.key);
    const truncated = err.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(err.message);
    if (truncated && (aside === undefined || aside.size !== r.size || aside.mtimeMs !== r.mtimeMs)) {
      // Still being written, or cut short: what was handed on stays; the rest is read when it changes (or settles).
      this.setAside.set(r.key, { size: r.size, mtimeMs: r.mtimeMs, since: this.port.now() });
      await this.end(r);
      return;
    }
    this.port.log(`path=${r.stream.path} error=${err.code ?? 'gzip'}: compressed file ${truncated ? 'ends early' : 'is corrupt'} (${err.message}); shipped the ${r.position} bytes it holds, it is not read again`);
    await this.finished(r);
  }

  private async end(r: Reading): Promise<void> {
    this.reading.delete(r.key);
    r.out.destroy();
    await r.handle.close().catch(() => {});
  }

  async close(): Promise<void> {
    for (const r of [...this.reading.values()]) await this.end(r);
  }

  private sayOnce(key: string, message: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.port.log(message);
  }
}

/** The compressed bytes, read through the handle (a stream over it would close it when destroyed). */
async function* rawChunks(handle: FileHandle, size: number): AsyncGenerator<Buffer> {
  let position = 0;
  for (;;) {
    const buffer = Buffer.allocUnsafe(size);
    const { bytesRead } = await handle.read(buffer, 0, size, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

/** The first decompressed bytes (up to the fingerprint's length), or undefined when they cannot be had. */
async function firstBytes(handle: FileHandle): Promise<Buffer | undefined> {
  const gunzip = createGunzip();
  const source = Readable.from(rawChunks(handle, 64 * 1024));
  pipeline(source, gunzip, () => {});
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      parts.push(chunk);
      length += chunk.length;
      if (length >= FINGERPRINT_BYTES) break;
    }
  } catch {
    // Corrupt, or still being written: what came out is enough when it fills the fingerprint.
    if (length < FINGERPRINT_BYTES) return undefined;
  } finally {
    gunzip.destroy();
    source.destroy();
  }
  return Buffer.concat(parts).subarray(0, FINGERPRINT_BYTES);
}
