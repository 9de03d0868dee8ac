/**
 * copytruncate's rotated copy: a new inode whose first bytes are those of a known identity.
 * When that identity was just truncated, the copy continues it from where it was read, so
 * the lines between the last read and the copy are shipped and nothing is shipped twice.
 * When the original is still intact (the copy is being made, the truncation is to come),
 * the copy waits a grace period for the truncation before it is taken as a file of its own.
 */
import { prefixMatches } from './identity.js';
import type { FileStream } from './open-file.js';

export type CopyVerdict = { kind: 'continues'; original: FileStream } | { kind: 'wait' } | { kind: 'new' };

export class CopyTracker {
  /** `dev:ino` of a copy of an intact file -> when it was first seen. */
  private readonly waiting = new Map<string, number>();

  constructor(
    private readonly streams: Map<string, FileStream>,
    private readonly options: { copyGraceMs: number; copyWindowMs: number },
  ) {}

  /** What a new, unknown inode `key` with these first bytes is. */
  judge(key: string, prefix: Buffer, dev: number, ino: number, attachedIds: Set<string>, now: number): CopyVerdict {
    const original = this.originalOf(prefix, dev, ino, attachedIds, now);
    if (original === undefined) return { kind: 'new' };
    if (original.detachReason === 'truncated' && !attachedIds.has(original.id)) {
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
  private originalOf(prefix: Buffer, dev: number, ino: number, attachedIds: Set<string>, now: number): FileStream | undefined {
    let best: FileStream | undefined;
    for (const stream of this.streams.values()) {
      if (stream.dev === dev && stream.ino === ino) continue;
      const truncatedRecently =
        stream.detachReason === 'truncated' && stream.detachedAtMs !== undefined && now - stream.detachedAtMs <= this.options.copyWindowMs;
      if ((!truncatedRecently && !attachedIds.has(stream.id)) || stream.prefixLength === 0) continue;
      if (!prefixMatches(stream, prefix)) continue;
      const better =
        best === undefined ||
        stream.prefixLength > best.prefixLength ||
        (stream.prefixLength === best.prefixLength && stream.detachReason === 'truncated');
      if (better) best = stream;
    }
    return best;
  }
}
