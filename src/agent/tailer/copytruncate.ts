/**
 * copytruncate's rotated copy: a new inode whose first bytes are those of a known identity.
 * When that identity was just truncated, the copy continues it from where it was read, so
 * the lines between the last read and the copy are shipped and nothing is shipped twice.
 * When the original is still intact (the copy is being made, the truncation is to come),
 * the copy waits a grace period for the truncation before it is taken as a file of its own.
 */
import { hashPrefix } from './identity.js';
import type { FileStream } from './open-file.js';

export type CopyVerdict = { kind: 'continues'; original: FileStream } | { kind: 'wait' } | { kind: 'new' };

export class CopyTracker {
  /** `dev:ino` of a copy of an intact file -> when it was first seen. */
  private readonly waiting = new Map<string, number>();

  constructor(
    private readonly streams: Map<string, FileStream>,
    private readonly options: { copyGraceMs: number; copyWindowMs: number },
  ) {}

  /** What a new, unknown inode `key` at `at` with these first bytes is. */
  judge(key: string, prefix: Buffer, at: { path: string; size: number; dev: number; ino: number }, attachedIds: Set<string>, now: number): CopyVerdict {
    const original = this.originalOf(prefix, at, attachedIds, now);
    if (original === undefined) return { kind: 'new' };
    if ((original.detachReason === 'truncated' || original.detachReason === 'vanished') && !attachedIds.has(original.id)) {
      this.waiting.delete(key);
      return { kind: 'continues', original };
    }
    const since = this.waiting.get(key) ?? now;
    this.waiting.set(key, since);
    if (now - since < this.options.copyGraceMs) return { kind: 'wait' };
    this.waiting.delete(key);
    return { kind: 'new' };
  }

  /** Forgets copies no longer found (deleted, or renamed out of the patterns). */
  keepOnly(present: Set<string>): void {
    for (const key of this.waiting.keys()) if (!present.has(key)) this.waiting.delete(key);
  }

  /** The identity this new inode is a copy of: a just-truncated one, or one still intact. */
  private originalOf(prefix: Buffer, at: { path: string; size: number; dev: number; ino: number }, attachedIds: Set<string>, now: number): FileStream | undefined {
    let best: FileStream | undefined;
    // The new file's first bytes hashed once per length looked at, not once per identity:
    // with thousands of files open, judging each new one stays cheap.
    const hashes = new Map<number, string>();
    const matches = (stream: FileStream): boolean => {
      if (prefix.length < stream.prefixLength) return false;
      let hash = hashes.get(stream.prefixLength);
      if (hash === undefined) {
        hash = hashPrefix(prefix.subarray(0, stream.prefixLength));
        hashes.set(stream.prefixLength, hash);
      }
      return hash === stream.prefixHash;
    };
    for (const stream of this.streams.values()) {
      if ((stream.dev === at.dev && stream.ino === at.ino) || stream.archive === true) continue;
      const recent = stream.detachedAtMs !== undefined && now - stream.detachedAtMs <= this.options.copyWindowMs;
      const truncatedRecently = stream.detachReason === 'truncated' && recent;
      // An identity found nowhere when the agent started (renamed out of the patterns or
      // deleted while it was stopped): a file elsewhere under the patterns that holds its
      // first bytes, and at least as many bytes as were read, is copytruncate's copy made
      // meanwhile. A file recreated at the vanished file's own path is a new file.
      const copyOfVanished = stream.detachReason === 'vanished' && recent && stream.path !== at.path && at.size >= stream.readEnd;
      if ((!truncatedRecently && !copyOfVanished && !attachedIds.has(stream.id)) || stream.prefixLength === 0) continue;
      if (!matches(stream)) continue;
      const better =
        best === undefined ||
        stream.prefixLength > best.prefixLength ||
        (stream.prefixLength === best.prefixLength && stream.detachReason === 'truncated');
      if (better) best = stream;
    }
    return best;
  }
}
