/**
 * Search and live tail over any SegmentBackend, written once for every segment store.
 *
 * Search walks candidate segments by max timestamp, newest first (asc: by min timestamp), and
 * keeps the best `limit + 1` matches; it stops as soon as those are all strictly newer than
 * the next segment's max timestamp, so a page of a long history touches a few segments. The
 * extra match tells whether a next page exists. Only one segment is decoded at a time; kept
 * matches are materialised as soon as they enter the top. When the backend lists lazily
 * (`listSegmentsInOrder`), stopping also ends the listing: a remote backend reads only the
 * metadata pages the walk reached.
 */
import { performance } from 'node:perf_hooks';
import type { SegmentBackend, SegmentListQuery, SegmentMeta } from './backend.js';
import type { SearchPage, SearchQuery, StoredLine, TailPage, TailQuery } from './types.js';
import { decodeCursor, encodeCursor, isAfterPosition, queryFingerprint, type CursorPosition } from './cursor.js';
import { compileMatchers } from './matcher.js';
import { keyOf } from './order.js';
import type { DecodedSegment } from '../segment/codec.js';
import { loadDecoded, retryOnVanished } from './segment-load.js';
import { bloomProbes, quickMayMatch, scanSegmentSliced, segmentMayMatch, storedLineAt, type LineConditions } from './segment-scan.js';
import { TimeSlice } from './time-slice.js';
import { TopLines } from './top-lines.js';

const byBound = {
  desc: (a: SegmentMeta, b: SegmentMeta): number => (a.maxTimestamp > b.maxTimestamp ? -1 : a.maxTimestamp < b.maxTimestamp ? 1 : 0),
  asc: (a: SegmentMeta, b: SegmentMeta): number => (a.minTimestamp < b.minTimestamp ? -1 : a.minTimestamp > b.minTimestamp ? 1 : 0),
};

/** The candidates in the order search visits them, in pages: the backend's lazy listing, else one sorted page of everything. */
async function inSearchOrder(backend: SegmentBackend, list: SegmentListQuery, order: 'asc' | 'desc'): Promise<AsyncIterable<SegmentMeta[]> | Iterable<SegmentMeta[]>> {
  const lazy = backend.listSegmentsInOrder?.(list, order);
  if (lazy !== undefined) return lazy;
  return [(await backend.listSegments(list)).sort(byBound[order])];
}

/** Positions the cursor can reach: a later position must be strictly further along. */
function positionTimestamp(position: CursorPosition): bigint | undefined {
  return position.kind === 'after' ? position.key.timestamp : position.kind === 'boundary' ? position.timestamp : undefined;
}

export async function searchSegments(backend: SegmentBackend, query: SearchQuery): Promise<SearchPage> {
  const fingerprint = queryFingerprint(query);
  const match = compileMatchers(query.match);
  const cursor =
    query.cursor === undefined ? { snapshotSeq: await backend.lastSeq(), position: { kind: 'start' } as CursorPosition } : decodeCursor(query.cursor, fingerprint);
  const { order, limit } = query;
  const desc = order === 'desc';
  const probes = bloomProbes(match);
  const positionTs = positionTimestamp(cursor.position);

  // The cursor's position narrows the time range as well as the per-line test.
  let since = query.since;
  let until = query.until;
  if (positionTs !== undefined) {
    if (desc) until = until === undefined || positionTs + 1n < until ? positionTs + 1n : until;
    else since = since === undefined || positionTs > since ? positionTs : since;
  }
  const list: SegmentListQuery = {
    ...(query.hosts?.length ? { hosts: query.hosts } : {}),
    ...(query.files?.length ? { files: query.files } : {}),
    ...(since === undefined ? {} : { minTimestamp: since }),
    ...(until === undefined ? {} : { beforeTimestamp: until }),
    minSeqAtMost: cursor.snapshotSeq,
  };
  const position = cursor.position;
  const conditions: LineConditions = {
    match,
    ...(query.since === undefined ? {} : { since: query.since }),
    ...(query.until === undefined ? {} : { until: query.until }),
    seqAtMost: cursor.snapshotSeq,
    ...(position.kind === 'start'
      ? {}
      : {
          accept: (segment: DecodedSegment, meta: SegmentMeta, i: number) =>
            isAfterPosition({ timestamp: segment.timestamps[i]!, offset: segment.offsets[i]!, host: meta.host, fileId: meta.fileId, seq: segment.seqs[i]! }, position, order),
        }),
  };
  const bound = (meta: SegmentMeta): bigint => (desc ? meta.maxTimestamp : meta.minTimestamp);
  const beyond = (ts: bigint, limitTs: bigint): boolean => (desc ? ts > limitTs : ts < limitTs);
  const page = (lines: StoredLine[], next: CursorPosition | undefined, partial: boolean): SearchPage => ({
    lines,
    partial,
    ...(next === undefined ? {} : { nextCursor: encodeCursor({ snapshotSeq: cursor.snapshotSeq, position: next }, fingerprint) }),
  });
  const after = (line: StoredLine): CursorPosition => ({ kind: 'after', key: keyOf(line) });

  // Runs in turns on the main thread (time-slice.ts) and stops at a turn once query.signal aborts.
  const slice = new TimeSlice(undefined, query.signal);
  return retryOnVanished(async (lastAttempt) => {
    const top = new TopLines(limit + 1, order);
    // A line older (asc: newer) than a full top's worst cannot enter it: it is not even tested.
    const scanConditions: LineConditions = {
      ...conditions,
      admit: (ts) => {
        const worst = top.worst;
        return worst === undefined || !beyond(worst.timestamp, ts);
      },
      reverse: desc,
    };
    let visited = 0;
    // Returning from inside the loop ends a lazy listing: no further metadata page is read.
    for await (const segments of await inSearchOrder(backend, list, order)) {
      for (const meta of segments) {
        const segmentBound = bound(meta);
        const worst = top.worst;
        if (worst !== undefined && beyond(worst.timestamp, segmentBound)) {
          const best = top.sorted();
          return page(best.slice(0, limit), after(best[limit - 1]!), false);
        }
        if (visited++ > 0 && query.deadline !== undefined && performance.now() >= query.deadline) {
          const final = top.sorted().filter((line) => beyond(line.timestamp, segmentBound));
          if (final.length === limit) return page(final, after(final[limit - 1]!), true);
          if (positionTs === undefined || beyond(positionTs, segmentBound)) return page(final, { kind: 'boundary', timestamp: segmentBound }, true);
          if (final.length > 0) return page(final, after(final[final.length - 1]!), true);
          // Stopping here would not move the cursor: scan on so every call makes progress.
        }
        await slice.check();
        if (!(quickMayMatch(backend, meta, probes) ?? (await segmentMayMatch(backend, meta, probes)))) continue;
        const segment = await loadDecoded(backend, meta, lastAttempt);
        if (segment === null) continue;
        await scanSegmentSliced(meta, segment, scanConditions, slice, (i) => {
          // Only lines that could enter the top are materialised.
          const worstNow = top.worst;
          if (worstNow !== undefined && beyond(worstNow.timestamp, segment.timestamps[i]!)) return;
          top.offer(storedLineAt(meta, segment, i));
        });
      }
    }
    const best = top.sorted();
    return page(best.slice(0, limit), best.length > limit ? after(best[limit - 1]!) : undefined, false);
  });
}

export async function tailSegments(backend: SegmentBackend, query: TailQuery): Promise<TailPage> {
  const snapshot = await backend.lastSeq();
  const match = compileMatchers(query.match);
  const probes = bloomProbes(match);
  const { afterSeq, limit } = query;
  const conditions: LineConditions = {
    match,
    ...(query.since === undefined ? {} : { since: query.since }),
    ...(query.until === undefined ? {} : { until: query.until }),
    seqAbove: afterSeq,
    seqAtMost: snapshot,
  };
  const slice = new TimeSlice(undefined, query.signal);
  return retryOnVanished(async (lastAttempt) => {
    const segments = await backend.listSegments({
      ...(query.hosts?.length ? { hosts: query.hosts } : {}),
      ...(query.files?.length ? { files: query.files } : {}),
      ...(query.since === undefined ? {} : { minTimestamp: query.since }),
      ...(query.until === undefined ? {} : { beforeTimestamp: query.until }),
      maxSeqAbove: afterSeq,
    });
    segments.sort((a, b) => a.minSeq - b.minSeq);
    let top: StoredLine[] = [];
    for (const meta of segments) {
      const worst = top[limit];
      if (worst !== undefined && worst.seq < meta.minSeq) break;
      await slice.check();
      if (!(quickMayMatch(backend, meta, probes) ?? (await segmentMayMatch(backend, meta, probes)))) continue;
      const segment = await loadDecoded(backend, meta, lastAttempt);
      if (segment === null) continue;
      const fresh: StoredLine[] = [];
      await scanSegmentSliced(meta, segment, conditions, slice, (i) => {
        if (worst === undefined || segment.seqs[i]! < worst.seq) fresh.push(storedLineAt(meta, segment, i));
      });
      if (fresh.length > 0) top = [...top, ...fresh].sort((a, b) => a.seq - b.seq).slice(0, limit + 1);
    }
    if (top.length > limit) {
      const lines = top.slice(0, limit);
      return { lines, lastSeq: lines[lines.length - 1]!.seq };
    }
    return { lines: top, lastSeq: Math.max(afterSeq, snapshot) };
  });
}
