/**
 * Counts over time over any SegmentBackend. Cheapest first: a segment inside one bucket is
 * counted from its metadata when there is no condition; a segment its bloom rules out is
 * skipped; a segment inside one bucket and the time range has only its text searched (its
 * columns are never parsed); any other segment is scanned line by line. One segment is
 * decoded at a time on the main thread. With a CountPool (count-pool.ts), segments whose text
 * alone is searched are also handed to worker threads whenever one has room, so a count over
 * many segments runs on every core. (Decompressing on libuv's thread pool was measured slower:
 * the async zlib path's stream objects and callbacks cost more main-thread time than the
 * second core saved.)
 *
 * A `q` that is one `field:value` term is counted from a segment's field statistics
 * (field-stats.ts) when its statistics keep that field's values and the segment lies inside
 * one bucket and the time range, or the value's own lines do (the statistics keep the time of
 * each value's first and last line): `level:error` over a day reads metadata, not text, and
 * so does most of a segment that crosses a bucket's edge. A segment none of whose lines holds
 * the value is skipped.
 * Likewise a match of one substring (`filter=ERROR`, or a `q` of one bare word) is counted from
 * the statistics' term counts (term-stats.ts) when the word is one of that segment's kept
 * words; a segment where it is not is checked against its full bloom (its summary, half the
 * bits, admits many segments that do not hold the word), then read.
 */
import { performance } from 'node:perf_hooks';
import type { SegmentBackend, SegmentListQuery, SegmentMeta } from './backend.js';
import type { HistogramQuery, HistogramResult } from './types.js';
import type { CountBatcher, CountPool } from './count-pool.js';
import { bucketStartMs, BucketCounter } from './histogram.js';
import { compileMatchers, type CompiledMatch } from './matcher.js';
import { parsePayload } from '../segment/codec.js';
import { decompressPayload } from '../segment/compression.js';
import { countPayloadLines } from './segment-count.js';
import { loadData, retryOnVanished } from './segment-load.js';
import { bloomProbes, fullBloomMayMatch, quickMayMatch, scanSegment } from './segment-scan.js';
import { TimeSlice } from './time-slice.js';
import { normaliseLevel } from './fields.js';
import { countFromStats, statsCountable } from './segment-field-counts.js';
import type { FieldStats, ValueSpan } from './field-stats.js';
import { termCountable, type TermLookup } from './term-stats.js';

/** Lines of the segment containing the term, from its statistics; undefined when they do not tell. */
function countTermFromStats(stats: FieldStats | undefined, meta: SegmentMeta, term: TermLookup): number | undefined {
  if (stats === undefined || stats.minSeq !== meta.minSeq || stats.maxSeq !== meta.maxSeq || stats.lines !== meta.lineCount) return undefined;
  return stats.terms?.linesOf(term);
}

/** The first line's timestamp when the value's lines all lie in one bucket and inside the range; undefined when they may not. */
function spanInside(span: ValueSpan | undefined, query: HistogramQuery): bigint | undefined {
  if (span === undefined) return undefined;
  // The spans are floored milliseconds: a line lies within [firstMs, lastMs + 1) ms.
  const first = BigInt(span.firstMs) * 1_000_000n;
  const end = (BigInt(span.lastMs) + 1n) * 1_000_000n;
  if (query.since !== undefined && first < query.since) return undefined;
  if (query.until !== undefined && end > query.until) return undefined;
  if (bucketStartMs(first, query.bucketMs) !== bucketStartMs(end - 1n, query.bucketMs)) return undefined;
  return first;
}

function countSegment(payload: Buffer, meta: SegmentMeta, match: CompiledMatch, query: HistogramQuery, counter: BucketCounter, textOnly: boolean): void {
  if (textOnly) {
    const count = countText(payload, meta.ascii, match);
    if (count > 0) counter.add(meta.minTimestamp, count);
    return;
  }
  const segment = parsePayload(payload);
  const { since, until } = query;
  scanSegment(meta, segment, { match, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) }, (i) => counter.add(segment.timestamps[i]!));
}

function countText(payload: Buffer, ascii: boolean, match: CompiledMatch): number {
  return countPayloadLines(payload, ascii, match);
}

export async function histogramFromSegments(backend: SegmentBackend, query: HistogramQuery, pool?: CountPool): Promise<HistogramResult> {
  const match = compileMatchers(query.match);
  const { since, until } = query;
  const list: SegmentListQuery = {
    ...(query.hosts?.length ? { hosts: query.hosts } : {}),
    ...(query.files?.length ? { files: query.files } : {}),
    ...(since === undefined ? {} : { minTimestamp: since }),
    ...(until === undefined ? {} : { beforeTimestamp: until }),
  };
  if (pool?.waitForWorkers) await pool.ready();
  return retryOnVanished(async (lastAttempt) => {
    const segments = await backend.listSegments(list);
    const counter = new BucketCounter(query.bucketMs);
    // With no condition a segment inside one bucket is counted from its metadata: nothing to hand out.
    const batcher = match.matchesAll ? undefined : pool?.batcher<bigint>(query.match ?? []);
    try {
      const partial = await countSegments(backend, segments, query, match, counter, batcher, lastAttempt);
      if (batcher !== undefined) {
        const counted = await batcher.finish((blob, ascii) => countText(decompressPayload(blob), ascii, match));
        for (const { tag, count } of counted) if (count > 0) counter.add(tag, count);
      }
      return { buckets: counter.toBuckets(), partial };
    } finally {
      batcher?.abandon(); // only when the walk threw (a vanished segment): the retry starts afresh
    }
  });
}

/** Counts the listed segments into `counter`, or hands them to `batcher`; true when the deadline cut the walk short. */
async function countSegments(
  backend: SegmentBackend,
  segments: readonly SegmentMeta[],
  query: HistogramQuery,
  match: CompiledMatch,
  counter: BucketCounter,
  batcher: CountBatcher<bigint> | undefined,
  lastAttempt: boolean,
): Promise<boolean> {
  const probes = bloomProbes(match);
  const { since, until } = query;
  const countable = backend.loadFieldStats === undefined ? undefined : statsCountable(query, (name, value) => (name === 'level' ? (normaliseLevel(value) ?? value) : value));
  const term = backend.loadFieldStats === undefined ? undefined : termCountable(query);
  // One segment at a time between turns of the main thread (time-slice.ts).
  const slice = new TimeSlice(undefined, query.signal);
  for (let s = 0; s < segments.length; s++) {
    if (slice.due()) await slice.check();
    if (s > 0 && query.deadline !== undefined && performance.now() >= query.deadline) return true;
    const meta = segments[s]!;
    const inside = (since === undefined || meta.minTimestamp >= since) && (until === undefined || meta.maxTimestamp < until);
    const textOnly = inside && bucketStartMs(meta.minTimestamp, query.bucketMs) === bucketStartMs(meta.maxTimestamp, query.bucketMs);
    if (match.matchesAll && textOnly) {
      counter.add(meta.minTimestamp, meta.lineCount);
      continue;
    }
    if (countable !== undefined) {
      // A backend whose statistics are in memory answers at once: no await a segment.
      let stats = backend.loadFieldStats!(meta);
      if (stats instanceof Promise) stats = await stats;
      const count = countFromStats(stats, meta, countable.name, countable.value);
      // No line holds the value: nothing to count, whatever the segment's times.
      if (count === 0) continue;
      if (count !== undefined) {
        if (textOnly) {
          counter.add(meta.minTimestamp, count);
          continue;
        }
        // Across a bucket's or the range's edge: counted still when every line holding the value lies in one bucket inside the range.
        const at = spanInside(stats!.fields.get(countable.name)?.spans?.get(countable.value), query);
        if (at !== undefined) {
          counter.add(at, count);
          continue;
        }
      }
    }
    /** The bloom's verdict once asked: undefined until then, or while only the full bloom can tell. */
    let mayMatch: boolean | undefined;
    if (term !== undefined && textOnly) {
      mayMatch = quickMayMatch(backend, meta, probes);
      if (mayMatch === false) continue;
      let stats = backend.loadFieldStats!(meta);
      if (stats instanceof Promise) stats = await stats;
      const count = countTermFromStats(stats, meta, term);
      if (count !== undefined) {
        if (count > 0) counter.add(meta.minTimestamp, count);
        continue;
      }
      // Counted, but the word is not kept: most such segments do not hold it, and the bloom
      // summary (half the bits) admits many of them. The full bloom costs less than the text.
      if (stats?.terms !== undefined) mayMatch = await fullBloomMayMatch(backend, meta, probes);
    }
    if (!(mayMatch ?? quickMayMatch(backend, meta, probes) ?? (await fullBloomMayMatch(backend, meta, probes)))) continue;
    const data = await loadData(backend, meta, lastAttempt);
    if (data === null) continue;
    if (textOnly && batcher?.offer(data, meta.ascii, meta.rawBytes, meta.minTimestamp)) continue;
    countSegment(decompressPayload(data), meta, match, query, counter, textOnly);
  }
  return false;
}
