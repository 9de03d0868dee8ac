/**
 * Search and live tail over any SegmentBackend, written once for every segment store.
 *
 * Search walks candidate segments by max timestamp, newest first (asc: by min timestamp), and
 * keeps the best `limit + 1` matches; it stops as soon as those are all strictly newer than
 * every line not yet examined, so a page of a long history touches a few segments. The extra
 * match tells whether a next page exists. Newest first, the lines of the segments that
 * overlap in time are examined in time windows across them (`newestFirst`); oldest first,
 * one segment after another. Kept matches are materialised as soon as they enter the top. When the backend lists lazily
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
import { loadDecoded, loadFiltered, Prefetch, retryOnVanished, type AheadFilter, type Offload } from './segment-load.js';
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

/**
 * `offload`: where segments decoded ahead of a long walk are decompressed, and filtered to the
 * lines the query matches (count workers); without it, here.
 */
export async function searchSegments(backend: SegmentBackend, query: SearchQuery, offload?: Offload): Promise<SearchPage> {
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
            isAfterPosition({ timestamp: segment.timestamps[i]!, offset: segment.offsets[i]!, seq: segment.seqs[i]! }, position, order),
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
  // A page of many lines of a query that tests lines wants most matches of every segment it reads:
  // each is cut down to them (segment-filter.ts) and cached so under its matchers. A short page
  // tests only the lines that can still enter it, and reads segments whole.
  const filter: AheadFilter | undefined =
    match.matchesAll || offload === undefined || limit < FILTER_LIMIT ? undefined : { matchers: query.match ?? [], match, variant: JSON.stringify(query.match), slice };
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
    /**
     * The page to answer with before examining more, when the walk can stop: the top is full of
     * lines strictly better than every line not examined yet (all at or beyond `pending`,
     * inclusive), or the deadline has passed (then the lines that are final are returned).
     */
    const stopAt = (pending: bigint): SearchPage | undefined => {
      const worst = top.worst;
      if (worst !== undefined && beyond(worst.timestamp, pending)) {
        const best = top.sorted();
        return page(best.slice(0, limit), after(best[limit - 1]!), false);
      }
      if (visited++ > 0 && query.deadline !== undefined && performance.now() >= query.deadline) {
        const final = top.sorted().filter((line) => beyond(line.timestamp, pending));
        if (final.length === limit) return page(final, after(final[limit - 1]!), true);
        if (positionTs === undefined || beyond(positionTs, pending)) return page(final, { kind: 'boundary', timestamp: pending }, true);
        if (final.length > 0) return page(final, after(final[final.length - 1]!), true);
        // Stopping here would not move the cursor: scan on so every call makes progress.
      }
      return undefined;
    };
    const prefetch = new Prefetch(backend, filter === undefined ? PREFETCH_DEPTH : FILTER_PREFETCH_DEPTH, offload, filter);
    let opened = 0;
    /** The segment if a line of it may match (its bloom admits the query), decoded; null when not. */
    const open = async (meta: SegmentMeta): Promise<DecodedSegment | null> => {
      await slice.check();
      const quick = quickMayMatch(backend, meta, probes);
      if (quick === false || (quick === undefined && !(await segmentMayMatch(backend, meta, probes)))) return null;
      opened++;
      const ahead = await prefetch.take(meta);
      if (ahead !== undefined) return ahead;
      // A page of many lines cuts what it decodes itself down to the query's matches too, unless it is held whole already.
      if (filter !== undefined && !backend.decodedCache?.has(meta)) return loadFiltered(backend, meta, lastAttempt, filter);
      return loadDecoded(backend, meta, lastAttempt);
    };
    /** Once the walk is a long one, the next candidates its bloom summaries admit inflate ahead (segment-load.ts). */
    const lookahead = (upcoming: readonly SegmentMeta[], from: number): void => {
      if (opened < PREFETCH_AFTER && filter === undefined) return;
      prefetch.passed(upcoming, from);
      const end = Math.min(upcoming.length, from + PREFETCH_HORIZON);
      for (let i = from; i < end && prefetch.hasRoom; i++) {
        if (quickMayMatch(backend, upcoming[i]!, probes) === true) prefetch.start(upcoming, i);
      }
    };
    const ruledOut = (meta: SegmentMeta): boolean => !slice.due() && quickMayMatch(backend, meta, probes) === false;
    const scan = (meta: SegmentMeta, segment: DecodedSegment, range?: { from: number; to: number }): Promise<void> =>
      scanSegmentSliced(meta, segment, range === undefined ? scanConditions : { ...scanConditions, range }, slice, (i) => {
        // Only lines that could enter the top are materialised.
        const worstNow = top.worst;
        if (worstNow !== undefined && beyond(worstNow.timestamp, segment.timestamps[i]!)) return;
        top.offer(storedLineAt(meta, segment, i));
      });
    if (desc) {
      const answer = await newestFirst(await inSearchOrder(backend, list, order), { limit, top, stopAt, ruledOut, open, scan, lookahead });
      if (answer !== undefined) return answer;
    } else {
      // Returning from inside the loop ends a lazy listing: no further metadata page is read.
      for await (const segments of await inSearchOrder(backend, list, order)) {
        for (const [i, meta] of segments.entries()) {
          const stopped = stopAt(bound(meta));
          if (stopped !== undefined) return stopped;
          lookahead(segments, i + 1);
          const segment = await open(meta);
          if (segment !== null) await scan(meta, segment);
        }
      }
    }
    const best = top.sorted();
    return page(best.slice(0, limit), best.length > limit ? after(best[limit - 1]!) : undefined, false);
  });
}

/**
 * A page of at least this many lines has the segments it reads cut down to its matches
 * (segment-filter.ts). A short page that reads many segments (a rare term, or lines spread over
 * files whose times overlap) tests only the lines that can still enter it; filtering would
 * test and copy every match of every segment, and on huge lines that measured 4x slower.
 */
const FILTER_LIMIT = 1000;
/** A walk inflates ahead once it has opened this many segments (a short query stops before: nothing wasted). */
const PREFETCH_AFTER = 3;
/** Segments decoding ahead at once (on a count worker or the thread pool: one spare core keeps up with the main thread's scans). */
const PREFETCH_DEPTH = 3;
/**
 * The same when they are filtered ahead: a filtered segment holds only its matches, so holding
 * more costs little, and the main thread, with less to do a segment, would otherwise wait.
 */
const FILTER_PREFETCH_DEPTH = 8;
/** How far ahead in the listing the walk looks for candidates its bloom summaries admit. */
const PREFETCH_HORIZON = 64;

/** Segments held decoded at once by a newest-first walk; past this, a segment is scanned whole when reached. */
const MAX_OPEN_SEGMENTS = 32;
/** The first window of a newest-first walk: this part of the newest segment's time span. */
const FIRST_WINDOW_PARTS = 8n;

/** Whether a decoded segment's timestamps never decrease (then a time window is one index range); memoised. */
const monotonicSegments = new WeakMap<DecodedSegment, boolean>();
function isMonotonic(segment: DecodedSegment): boolean {
  let known = monotonicSegments.get(segment);
  if (known === undefined) {
    known = true;
    const timestamps = segment.timestamps;
    for (let i = 1; i < segment.count; i++) {
      if (timestamps[i]! < timestamps[i - 1]!) {
        known = false;
        break;
      }
    }
    monotonicSegments.set(segment, known);
  }
  return known;
}

/** In a monotonic segment: the first index whose timestamp is at least `ts` (count when none). */
function firstAtLeast(segment: DecodedSegment, ts: bigint): number {
  let low = 0;
  let high = segment.count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (segment.timestamps[middle]! < ts) low = middle + 1;
    else high = middle;
  }
  return low;
}

interface WalkParts {
  limit: number;
  top: TopLines;
  stopAt: (pending: bigint) => SearchPage | undefined;
  /** True when the segment's bloom summary rules it out and the walk need not pause first (no await). */
  ruledOut: (meta: SegmentMeta) => boolean;
  open: (meta: SegmentMeta) => Promise<DecodedSegment | null>;
  scan: (meta: SegmentMeta, segment: DecodedSegment, range?: { from: number; to: number }) => Promise<void>;
  /** The walk is about to open `upcoming[from - 1]`: the candidates after it may be decoded ahead. */
  lookahead: (upcoming: readonly SegmentMeta[], from: number) => void;
}

/**
 * The newest-first walk, in time windows across segments rather than one whole segment after
 * another. When many files log over the same minutes (every file's newest segment overlaps the
 * others), scanning the newest segment whole before the next fills the top with lines that
 * the other files' newer lines then push out: every line of it is tested (for a field term,
 * its fields extracted) in vain. Instead, the lines of every segment that reaches into a
 * window [low, frontier) are examined window by window, newest window first, so the walk stops
 * once the top is full of lines newer than everything not yet examined. A window's width is
 * estimated from how many matches the windows before it gave.
 *
 * A segment whose timestamps never decrease takes its window as one index range; any other
 * (rare: lines out of time order within one file) is scanned whole when reached, as is a
 * segment reached while MAX_OPEN_SEGMENTS are held. Answers the page when it stops early,
 * undefined when every candidate was examined.
 */
async function newestFirst(listing: AsyncIterable<SegmentMeta[]> | Iterable<SegmentMeta[]>, parts: WalkParts): Promise<SearchPage | undefined> {
  const { limit, top, stopAt, ruledOut, open, scan, lookahead } = parts;
  // Pages pulled one at a time (a lazy listing reads its next page only when the walk gets there).
  const pages = Symbol.asyncIterator in listing ? listing[Symbol.asyncIterator]() : listing[Symbol.iterator]();
  let page: SegmentMeta[] = [];
  let at = 0;
  let ended = false;
  /** The next candidate, or undefined when the listing is done. */
  const peek = async (): Promise<SegmentMeta | undefined> => {
    while (at >= page.length && !ended) {
      const pulled = await pages.next();
      if (pulled.done === true) ended = true;
      else {
        page = pulled.value;
        at = 0;
      }
    }
    return at < page.length ? page[at] : undefined;
  };
  try {
    /** Segments in progress: lines [0, to) not yet examined, all older than `frontier`. */
    let held: { meta: SegmentMeta; segment: DecodedSegment; to: number }[] = [];
    let frontier = 0n;
    let width = 0n;
    for (;;) {
      const upcoming = await peek();
      if (held.length === 0) {
        if (upcoming === undefined) return undefined;
        // Nothing in progress: the next window starts at the next segment's newest line.
        frontier = upcoming.maxTimestamp + 1n;
        if (width <= 0n) width = (upcoming.maxTimestamp - upcoming.minTimestamp) / FIRST_WINDOW_PARTS + 1n;
      }
      // Every line not yet examined is at or before this (inclusive).
      const pending = upcoming !== undefined && upcoming.maxTimestamp > frontier - 1n ? upcoming.maxTimestamp : frontier - 1n;
      const stopped = stopAt(pending);
      if (stopped !== undefined) return stopped;
      // A segment joins the walk once every line newer than its newest has been examined, and
      // only if the walk did not stop there: the segments read (and, with a lazy listing, the
      // metadata pages) are those a walk of one whole segment after another would read.
      let meta = upcoming;
      while (meta !== undefined && (meta.maxTimestamp >= frontier - 1n || held.length === 0)) {
        if (meta.maxTimestamp < frontier - 1n) {
          // Nothing held (every segment so far ruled out or done): the walk moves on to this one.
          frontier = meta.maxTimestamp + 1n;
          const stop = stopAt(meta.maxTimestamp);
          if (stop !== undefined) return stop;
        }
        at++;
        // Most segments are ruled out by the bloom summary in memory: those cost no await at all.
        if (!ruledOut(meta)) {
          lookahead(page, at);
          const segment = await open(meta);
          if (segment !== null) {
            if (held.length < MAX_OPEN_SEGMENTS && isMonotonic(segment)) held.push({ meta, segment, to: segment.count });
            else await scan(meta, segment);
          }
        }
        meta = at < page.length ? page[at] : await peek();
      }
      // The window [low, frontier) ends above the next segment's newest line, so the walk can stop before reading it.
      if (held.length === 0) continue; // the listing is done (or the walk reads on at the top of the loop)
      let low = frontier - width;
      const clamped = meta !== undefined && meta.maxTimestamp >= low;
      if (meta !== undefined && clamped) low = meta.maxTimestamp + 1n;
      const before = top.size;
      for (const entry of held) {
        const from = firstAtLeast(entry.segment, low);
        if (from < entry.to) await scan(entry.meta, entry.segment, { from, to: entry.to });
        entry.to = from;
      }
      held = held.filter((entry) => entry.to > 0);
      frontier = low;
      // The next window: wide enough for the matches still missing at the rate this one gave, within 16 times.
      const found = top.size - before;
      const missing = limit + 1 - top.size;
      if (!clamped && missing > 0) width = found === 0 ? width * 4n : width * BigInt(Math.min(16, Math.max(1, Math.ceil((missing / found) * 1.25))));
    }
  } finally {
    // Ends a lazy listing: no further metadata page is read.
    if (!ended) await pages.return?.(undefined);
  }
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
