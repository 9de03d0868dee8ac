/** The lines around one line of one file identity, by file order, over any SegmentBackend. */
import type { SegmentBackend, SegmentMeta } from './backend.js';
import type { ContextQuery, ContextResult, StoredLine } from './types.js';
import { decodeSegment, type DecodedSegment } from '../segment/codec.js';
import { storedLineAt } from './segment-scan.js';

function findOffset(segment: DecodedSegment, offset: number): number {
  let low = 0;
  let high = segment.count - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = segment.offsets[middle]!;
    if (value === offset) return middle;
    if (value < offset) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

export async function contextFromSegments(backend: SegmentBackend, query: ContextQuery): Promise<ContextResult | null> {
  const segments = await backend.listSegments({ hosts: [query.host], fileId: query.fileId });
  segments.sort((a, b) => a.firstOffset - b.firstOffset);
  const home = segments.findIndex((s) => s.firstOffset <= query.offset && query.offset < s.endOffset);
  if (home < 0) return null;
  const load = async (meta: SegmentMeta): Promise<DecodedSegment | null> => {
    const data = await backend.loadData(meta);
    return data === null ? null : decodeSegment(data);
  };
  const homeMeta = segments[home]!;
  const homeSegment = await load(homeMeta);
  if (homeSegment === null) return null;
  const index = findOffset(homeSegment, query.offset);
  if (index < 0) return null;

  const before: StoredLine[] = [];
  for (let i = index - 1; i >= 0 && before.length < query.before; i--) before.push(storedLineAt(homeMeta, homeSegment, i));
  for (let s = home - 1; s >= 0 && before.length < query.before; s--) {
    const meta = segments[s]!;
    const segment = await load(meta);
    if (segment === null) continue;
    for (let i = segment.count - 1; i >= 0 && before.length < query.before; i--) before.push(storedLineAt(meta, segment, i));
  }
  const after: StoredLine[] = [];
  for (let i = index + 1; i < homeSegment.count && after.length < query.after; i++) after.push(storedLineAt(homeMeta, homeSegment, i));
  for (let s = home + 1; s < segments.length && after.length < query.after; s++) {
    const meta = segments[s]!;
    const segment = await load(meta);
    if (segment === null) continue;
    for (let i = 0; i < segment.count && after.length < query.after; i++) after.push(storedLineAt(meta, segment, i));
  }
  return { before: before.reverse(), line: storedLineAt(homeMeta, homeSegment, index), after };
}
