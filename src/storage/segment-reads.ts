/**
 * The read half of a segment store, written once: search, context, histogram, tail and field counts are the
 * shared engine (src/query/) over the store's SegmentBackend, each run inside the store's own
 * guard (its closed check and its error mapping).
 */
import type { CountPool } from '../query/count-pool.js';
import { contextFromSegments } from '../query/segment-context.js';
import { histogramFromSegments } from '../query/segment-histogram.js';
import { searchSegments, tailSegments } from '../query/segment-search.js';
import type { SegmentBackend } from '../query/backend.js';
import { fieldCountsFromSegments } from '../query/segment-field-counts.js';
import type { Store } from './store.js';

export type SegmentReads = Required<Pick<Store, 'search' | 'context' | 'histogram' | 'tail' | 'fieldCounts'>>;

/** Runs a read for the store: rejects when the store is closed, maps what the work throws. */
export type ReadGuard = <T>(work: () => Promise<T>) => Promise<T>;

/** `countPool`: worker threads the histogram may hand segments to, and a long search its decompression and filtering (the store owns and closes it). */
export function segmentReads(backend: SegmentBackend, guard: ReadGuard, countPool?: CountPool): SegmentReads {
  return {
    search: (query) => guard(() => searchSegments(backend, query, countPool)),
    context: (query) => guard(() => contextFromSegments(backend, query)),
    histogram: (query) => guard(() => histogramFromSegments(backend, query, countPool)),
    tail: (query) => guard(() => tailSegments(backend, query)),
    fieldCounts: (query) => guard(() => fieldCountsFromSegments(backend, query)),
  };
}
