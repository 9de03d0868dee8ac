/**
 * Checkpoints: per file identity, the offset up to which Daniel acknowledged every line,
 * plus how far the spool was released. Written atomically (temp file, fsync, rename, fsync
 * directory), so after any crash the file holds either the old or the new state, whole.
 */
import { promises as fsp } from 'node:fs';
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
}

export interface Checkpoints {
  version: number;
  /** Spool records up to here were acknowledged. */
  spool: SpoolPosition;
  files: FileCheckpoint[];
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
  if (data.version !== CHECKPOINT_VERSION || !Array.isArray(data.files) || typeof data.spool !== 'object') {
    throw new Error(`checkpoint file ${file} has an unknown layout (version ${String(data.version)})`);
  }
  return data as Checkpoints;
}

export async function saveCheckpoints(file: string, data: Checkpoints): Promise<void> {
  const dir = path.dirname(file);
  const temp = `${file}.tmp-${process.pid}`;
  const handle = await fsp.open(temp, 'w');
  try {
    await handle.writeFile(JSON.stringify(data));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(temp, file);
  await syncDirectory(dir);
}
