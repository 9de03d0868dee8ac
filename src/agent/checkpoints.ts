/**
 * Checkpoints: per file identity, the offset up to which Daniel acknowledged every line,
 * plus how far the spool was released. Written atomically (temp file, fsync, rename, fsync
 * directory), so after any crash the file holds either the old or the new state, whole.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, type SpoolPosition } from './spool.js';

export const CHECKPOINT_VERSION = 1;

export interface FileCheckpoint {
  /** The file identity sent to Daniel as `file_id`. */
  id: string;
  path: string;
  filename: string;
  sourceIndex: number;
  dev: number;
  ino: number;
  prefixLength: number;
  prefixHash: string;
  /** Every line before this byte offset was acknowledged by Daniel. */
  offset: number;
  /** Event time of the last line shipped (ns, decimal), inherited by a following line without one. */
  lastTimestamp?: string;
  /** Set when the identity no longer lives on its inode (truncated, deleted); forgotten after a while. */
  detachedAtMs?: number;
  /** Why: a 'truncated' identity may still be continued by copytruncate's rotated copy. */
  detachReason?: 'truncated' | 'gone' | 'vanished';
  /** When a scan last found it under a pattern (ms). */
  seenAtMs?: number;
  /** A compressed file read decompressed: offsets are in its decompressed content. */
  archive?: boolean;
  /** Its decompressed length, once read to its end: done when `offset` reaches it. */
  archiveEnd?: number;
}

export interface Checkpoints {
  version: number;
  /** Spool records up to here were acknowledged. */
  spool: SpoolPosition;
  files: FileCheckpoint[];
  /** Inputs that are not files (the journal): the position acknowledged, by key (a journal cursor). */
  inputs?: Record<string, string>;
}

export function emptyCheckpoints(): Checkpoints {
  return { version: CHECKPOINT_VERSION, spool: { segment: 0, offset: 0 }, files: [] };
}

export async function loadCheckpoints(file: string): Promise<Checkpoints> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyCheckpoints();
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`checkpoint file ${file} is not valid JSON; move it away to start over (files would be shipped again)`);
  }
  const data = parsed as Partial<Checkpoints>;
  if (data.version !== CHECKPOINT_VERSION || !Array.isArray(data.files) || typeof data.spool !== 'object' || data.spool === null) {
    throw new Error(`checkpoint file ${file} has an unknown layout (version ${String(data.version)})`);
  }
  const problem = checkpointProblem(data as Checkpoints);
  if (problem !== undefined) {
    throw new Error(`checkpoint file ${file}: ${problem}; fix it or move the file away to start over (files would be shipped again)`);
  }
  return data as Checkpoints;
}

const isOffset = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const NS = /^-?\d{1,19}$/;

/**
 * What makes a loaded checkpoint unusable, or undefined. Checked once at start, so a hand
 * edit or a bad disk is a clear message and exit 2, never a request Daniel refuses. (An
 * offset past the file's current size is no error here: the file was truncated while Henrik
 * was stopped, and the tailer reads it again from its start.)
 */
export function checkpointProblem(data: Checkpoints): string | undefined {
  if (!isOffset(data.spool.segment) || !isOffset(data.spool.offset)) {
    return `spool position ${JSON.stringify(data.spool)} must be two whole numbers >= 0`;
  }
  if (data.inputs !== undefined) {
    if (typeof data.inputs !== 'object' || data.inputs === null || Array.isArray(data.inputs)) return 'inputs must be an object of positions';
    for (const [key, value] of Object.entries(data.inputs)) if (typeof value !== 'string') return `inputs.${key} must be a string (a journal cursor)`;
  }
  const ids = new Set<string>();
  for (const [i, f] of data.files.entries()) {
    const at = `files[${i}]`;
    if (typeof f !== 'object' || f === null) return `${at} is not an object`;
    if (typeof f.id !== 'string' || f.id === '') return `${at}.id must be a non-empty string`;
    if (ids.has(f.id)) return `${at}.id ${f.id} appears twice`;
    ids.add(f.id);
    if (typeof f.path !== 'string' || typeof f.filename !== 'string') return `${at} (${f.id}) needs path and filename strings`;
    if (!isOffset(f.offset)) return `${at}.offset (${JSON.stringify(f.offset)}) of ${f.path} must be a byte offset, a whole number >= 0`;
    for (const key of ['sourceIndex', 'dev', 'ino', 'prefixLength'] as const) {
      if (!isOffset(f[key])) return `${at}.${key} (${JSON.stringify(f[key])}) of ${f.path} must be a whole number >= 0`;
    }
    if (typeof f.prefixHash !== 'string') return `${at}.prefixHash of ${f.path} must be a string`;
    if (f.archive !== undefined && typeof f.archive !== 'boolean') return `${at}.archive of ${f.path} must be true or false`;
    if (f.archiveEnd !== undefined && !isOffset(f.archiveEnd)) return `${at}.archiveEnd (${JSON.stringify(f.archiveEnd)}) of ${f.path} must be a whole number >= 0`;
    if (f.lastTimestamp !== undefined && (typeof f.lastTimestamp !== 'string' || !NS.test(f.lastTimestamp))) {
      return `${at}.lastTimestamp of ${f.path} must be nanoseconds as a decimal string`;
    }
  }
  return undefined;
}

/**
 * Writes the checkpoints atomically. Resolves true when the state dir had to be made again
 * (deleted while the agent ran): the caller says so, and the next start resumes from here
 * instead of shipping every file again.
 */
export async function saveCheckpoints(file: string, data: Checkpoints): Promise<boolean> {
  const dir = path.dirname(file);
  const temp = `${file}.tmp-${process.pid}`;
  let remade = false;
  let handle: FileHandle;
  try {
    handle = await fsp.open(temp, 'w');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await fsp.mkdir(dir, { recursive: true });
    remade = true;
    handle = await fsp.open(temp, 'w');
  }
  try {
    await handle.writeFile(JSON.stringify(data));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(temp, file);
  await syncDirectory(dir);
  return remade;
}
