/**
 * File names as bytes. Linux names are bytes, not text: a name that is not UTF-8 (Latin-1
 * `caf\xe9.log`) must still be opened and shipped. Inside Henrik a path is a string in which
 * each byte that is not part of valid UTF-8 is kept as a lone surrogate U+DC80..U+DCFF (the
 * "surrogateescape" convention): valid UTF-8 never decodes to those, so the mapping back to
 * the exact bytes is lossless, and the string survives JSON (checkpoints) unchanged.
 *
 * On the wire a name must be what Daniel accepts (src/protocol/names.ts): no control
 * characters, valid Unicode, no `..` segment, at most 255 bytes (4096 for the full path).
 * `wireName`/`wirePath` escape what is not: every such byte as `\xNN` (lower-case hex), and
 * a name still too long is shortened to its start, `~`, 16 hex digits of the SHA-256 of the
 * full escaped name, `~`, and its end. The same name always gives the same wire name.
 */
import { promises as fsp, constants, stat, statSync, type Dirent, type Stats } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';
import { sha256Hex } from '../sha256.js';
import { MAX_NAME_BYTES, MAX_PATH_BYTES, nameProblem } from '../../protocol/names.js';

const ESCAPED_BYTE = /[\udc80-\udcff]/;

/** Bytes of a directory entry or path -> Henrik's string for it (lossless). */
export function decodeName(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(0xdc00 + (bytes[i] as number));
      i += 1;
    } else {
      out += bytes.toString('utf8', i, i + length);
      i += length;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function sequenceLength(b: Buffer, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const cont = (k: number): boolean => i + k < b.length && ((b[i + k] as number) & 0xc0) === 0x80;
  const c1 = b[i + 1] ?? 0;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // a surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c === 0xf0 && c1 < 0x90) return 0;
    if (c === 0xf4 && c1 >= 0x90) return 0;
    return 4;
  }
  return 0;
}

/** Henrik's string for a path -> what the file system calls it (a Buffer only when needed). */
export function fsPath(p: string): string | Buffer {
  if (!ESCAPED_BYTE.test(p)) return p;
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of p) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && code >= 0xdc80 && code <= 0xdcff) {
      parts.push(Buffer.from(run, 'utf8'), Buffer.from([code - 0xdc00]));
      run = '';
    } else run += ch;
  }
  parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

// What needs escaping: C0, DEL, C1 and surrogates (escaped bytes, or lone ones from elsewhere).
const NEEDS_ESCAPE = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;

function hex(n: number): string {
  return `\\x${n.toString(16).padStart(2, '0')}`;
}

/** Control characters and bytes that are not UTF-8 as `\xNN`; everything else kept. */
function escapeText(name: string): string {
  if (!NEEDS_ESCAPE.test(name)) return name;
  let out = '';
  for (const ch of name) {
    const code = ch.codePointAt(0) as number;
    if (code >= 0xdc80 && code <= 0xdcff) out += hex(code - 0xdc00);
    else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd';
    else if (code <= 0x1f || code === 0x7f) out += hex(code);
    else if (code >= 0x80 && code <= 0x9f) out += hex(0xc2) + hex(code);
    else out += ch;
  }
  return out;
}

/** Cuts `text` to at most `maxBytes` of UTF-8 keeping its start and end, with a hash of the whole between. */
function shorten(text: string, maxBytes: number): string {
  const hash = sha256Hex(text).slice(0, 16);
  const room = maxBytes - hash.length - 2;
  const head = cutBytes(text, Math.floor(room / 3), 'start');
  const tail = cutBytes(text, room - Buffer.byteLength(head, 'utf8'), 'end');
  return `${head}~${hash}~${tail}`;
}

/** The longest start (or end) of `text` within `maxBytes` of UTF-8, never splitting a character. */
function cutBytes(text: string, maxBytes: number, from: 'start' | 'end'): string {
  const chars = [...text];
  if (from === 'end') chars.reverse();
  let bytes = 0;
  let n = 0;
  for (const ch of chars) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    n++;
  }
  const kept = chars.slice(0, n);
  if (from === 'end') kept.reverse();
  return kept.join('');
}

const DOT_DOT_SEGMENT = /(^|[/\\])\.\.(?=$|[/\\])/g;

/** A file name (relative path) as Daniel accepts it: see the header. */
export function wireName(name: string): string {
  let out = escapeText(name);
  if (out === '') return '\\x00';
  out = out.replace(DOT_DOT_SEGMENT, '$1\\x2e\\x2e');
  if (Buffer.byteLength(out, 'utf8') > MAX_NAME_BYTES) out = shorten(out, MAX_NAME_BYTES).replace(DOT_DOT_SEGMENT, '$1\\x2e\\x2e');
  if (nameProblem(out) !== undefined) out = sha256Hex(name);
  return out;
}

/** A full path as Daniel accepts it: escaped like a name, at most 4096 bytes. */
export function wirePath(p: string): string {
  const out = escapeText(p);
  return Buffer.byteLength(out, 'utf8') > MAX_PATH_BYTES ? shorten(out, MAX_PATH_BYTES) : out;
}

/** Directory entries, any name (see the header); throws like readdir. */
export async function readDirectory(dir: string): Promise<Array<{ name: string; entry: Dirent }>> {
  const at = fsPath(dir) as string;
  // Read as text first (no Buffer per entry): a name that is not UTF-8 shows as U+FFFD, and
  // only then is the directory read again as bytes.
  const entries = await fsp.readdir(at, { withFileTypes: true });
  if (!entries.some((entry) => entry.name.includes('\ufffd'))) return entries.map((entry) => ({ name: entry.name, entry }));
  const raw = (await fsp.readdir(at, { withFileTypes: true, encoding: 'buffer' as BufferEncoding })) as unknown as Dirent[];
  return raw.map((entry) => ({ name: decodeName(entry.name as unknown as Buffer), entry }));
}

/** Names in a directory, any name; [] when it cannot be read. */
export async function listNames(dir: string): Promise<string[]> {
  try {
    const names = (await fsp.readdir(fsPath(dir) as string, { encoding: 'buffer' as BufferEncoding })) as unknown as Buffer[];
    return names.map(decodeName);
  } catch {
    return [];
  }
}

/** stat(2) on the thread pool (the callback API: about half the CPU of fs.promises.stat). */
export function statPath(p: string): Promise<Stats> {
  return new Promise((resolve, reject) => stat(fsPath(p), (err, stats) => (err === null ? resolve(stats) : reject(err))));
}

/**
 * stat(2) on the calling thread: about a tenth of the CPU of a thread-pool round trip, for
 * file systems where a stat cannot hang (localFileSystem). Undefined when nothing is there.
 */
export function statPathNow(p: string): Stats | undefined {
  return statSync(fsPath(p), { throwIfNoEntry: false });
}

/**
 * Linux file systems on local storage, by statfs(2) magic: a stat there answers from the
 * inode cache or a local disk. Network and FUSE file systems (NFS, CIFS, sshfs), whose stat
 * can wait on a server for as long as it is away, are not among them.
 */
const LOCAL_FILE_SYSTEMS = new Set([
  0xef53, // ext2, ext3, ext4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0x3153464a, // jfs
  0x52654973, // reiserfs
  0xca451a4e, // bcachefs
]);

/** True when `dir` is on a local file system (Linux only): its files may be stat'ed with statPathNow. */
export async function localFileSystem(dir: string): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  try {
    const { type } = await fsp.statfs(fsPath(dir) as string);
    return LOCAL_FILE_SYSTEMS.has(type >>> 0);
  } catch {
    return false;
  }
}

export type OpenResult =
  | { kind: 'open'; handle: FileHandle; stats: import('node:fs').Stats }
  | { kind: 'special'; what: string }
  | { kind: 'failed'; code: string; message: string };

/**
 * Opens a file to read it, never blocking (a FIFO swapped in for a log file would block an
 * ordinary open, and its reads, forever): O_NONBLOCK, then fstat on the handle itself, and
 * anything but a regular file is closed again and reported as `special`.
 */
export async function openRegular(p: string): Promise<OpenResult> {
  let handle: FileHandle;
  try {
    handle = await fsp.open(fsPath(p), constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { kind: 'failed', code: e.code ?? 'EIO', message: e.message };
  }
  try {
    const stats = await handle.stat();
    if (stats.isFile()) return { kind: 'open', handle, stats };
    await handle.close().catch(() => {});
    return { kind: 'special', what: kindOf(stats) };
  } catch (err) {
    await handle.close().catch(() => {});
    const e = err as NodeJS.ErrnoException;
    return { kind: 'failed', code: e.code ?? 'EIO', message: e.message };
  }
}

function kindOf(stats: import('node:fs').Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isDirectory()) return 'a directory';
  return 'not a regular file';
}
