/**
 * File identity: device + inode + the file's first bytes. The bytes are kept as a hash of the
 * first `prefixLength` bytes (at most FINGERPRINT_BYTES), recorded the first time a file is
 * seen and extended as it grows; a file shorter than the fingerprint is still an identity.
 * Two identities are the same file when device and inode agree and the recorded prefix is
 * still there: that tells a growing file from a replaced (inode reuse) or truncated one,
 * without ever merging two short files by content alone.
 */
import type { FileHandle } from 'node:fs/promises';
import { sha256Hex } from '../sha256.js';

export const FINGERPRINT_BYTES = 1024;

export interface Fingerprint {
  dev: number;
  ino: number;
  /** Bytes hashed: min(FINGERPRINT_BYTES, size when last checked). */
  prefixLength: number;
  prefixHash: string;
}

export function hashPrefix(bytes: Buffer): string {
  return sha256Hex(bytes).slice(0, 32);
}

export async function readPrefix(handle: FileHandle, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(Math.min(length, FINGERPRINT_BYTES));
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** True when `prefix` (the file's first bytes, as long as it has) starts with what `known` recorded. */
export function prefixMatches(known: Pick<Fingerprint, 'prefixLength' | 'prefixHash'>, prefix: Buffer): boolean {
  if (prefix.length < known.prefixLength) return false;
  return hashPrefix(prefix.subarray(0, known.prefixLength)) === known.prefixHash;
}

/**
 * A new, never reused file id. The nonce keeps a truncated-and-rewritten file, or a reused
 * inode starting with the same bytes, from being taken by Daniel as lines it already stored.
 * (Math.random, not node:crypto: the nonce needs to differ, not to be secret.)
 */
export function newFileId(dev: number, ino: number, prefixHash: string): string {
  return `${dev}-${ino}-${prefixHash.slice(0, 12)}-${Date.now().toString(36)}${Math.floor(Math.random() * 0x1000000).toString(16).padStart(6, '0')}`;
}
