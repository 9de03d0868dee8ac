/**
 * Loading segments a query listed: a segment can vanish between listing and loading (merged
 * by an append or deleted by retention meanwhile); the query then starts again from a fresh
 * listing, and on its last attempt skips what is gone (deleted for good: its lines are gone).
 */
import type { SegmentBackend, SegmentMeta } from './backend.js';
import { decodeSegment, type DecodedSegment } from '../segment/codec.js';

/** A segment listed earlier was gone when loaded: the query starts again. */
export class SegmentVanished extends Error {}

const ATTEMPTS = 3;

export async function retryOnVanished<T>(run: (lastAttempt: boolean) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(attempt === ATTEMPTS);
    } catch (error) {
      if (!(error instanceof SegmentVanished) || attempt === ATTEMPTS) throw error;
    }
  }
}

/** The segment's blob; null only on the last attempt, when it is gone. */
export async function loadData(backend: SegmentBackend, meta: SegmentMeta, lastAttempt: boolean): Promise<Buffer | null> {
  const data = await backend.loadData(meta);
  if (data === null && !lastAttempt) throw new SegmentVanished();
  return data;
}

export async function loadDecoded(backend: SegmentBackend, meta: SegmentMeta, lastAttempt: boolean): Promise<DecodedSegment | null> {
  const cache = backend.decodedCache;
  const cached = cache?.get(meta);
  if (cached !== undefined) return cached;
  const data = await loadData(backend, meta, lastAttempt);
  if (data === null) return null;
  const decoded = decodeSegment(data);
  cache?.add(meta, decoded);
  return decoded;
}
