/**
 * Counts over time over any SegmentBackend. Cheapest first: a segment inside one bucket is
 * counted from its metadata when there is no condition; a segment its bloom rules out is
 * skipped; a segment inside one bucket and the time range has only its text searched (its
 * columns are never parsed); any other segment is scanned line by line. One segment is
 * decoded at a time. Decompressing on libuv's thread pool (several segments in flight, or
 * every other one beside the main thread) was measured slower on this 2-core machine: the
 * async zlib path's stream objects and callbacks cost more main-thread time than the second
 * core saved (10M lines, ERROR: 305 ms sync against 395 ms either way).
 */
import { performance } from 'node:perf_hooks';
import type { SegmentBackend, SegmentListQuery, SegmentMeta } from '../storage/segment-backend.js';
import type { HistogramQuery, HistogramResult } from '../storage/store.js';
import { bucketStartMs, BucketCounter } from './histogram.js';
import { compileMatchers, type CompiledMatch } from './matcher.js';
import { parsePayload, payloadText } from './segment-codec.js';
import { decompressPayload } from './segment-compression.js';
import { countMatchingLines } from './segment-count.js';
import { loadData, retryOnVanished } from './segment-load.js';
import { bloomProbes, quickMayMatch, scanSegment, segmentMayMatch } from './segment-scan.js';

function countSegment(payload: Buffer, meta: SegmentMeta, match: CompiledMatch, query: HistogramQuery, counter: BucketCounter, textOnly: boolean): void {
  if (textOnly) {
    const { text } = payloadText(payload);
    const count = countMatchingLines(text, meta.ascii, match);
    if (count > 0) counter.add(meta.minTimestamp, count);
    return;
  }
  const segment = parsePayload(payload);
  const { since, until } = query;
  scanSegment(meta, segment, { match, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) }, (i) => counter.add(segment.timestamps[i]!));
}

export async function histogramFromSegments(backend: SegmentBackend, query: HistogramQuery): Promise<HistogramResult> {
  const match = compileMatchers(query.match);
  const probes = bloomProbes(match);
  const { since, until } = query;
  const list: SegmentListQuery = {
    ...(query.hosts?.length ? { hosts: query.hosts } : {}),
    ...(query.files?.length ? { files: query.files } : {}),
    ...(since === undefined ? {} : { minTimestamp: since }),
    ...(until === undefined ? {} : { beforeTimestamp: until }),
  };
  return retryOnVanished(async (lastAttempt) => {
    const segments = await backend.listSegments(list);
    const counter = new BucketCounter(query.bucketMs);
    let partial = false;
    for (let s = 0; s < segments.length; s++) {
      if (s > 0 && query.deadline !== undefined && performance.now() >= query.deadline) {
        partial = true;
        break;
      }
      const meta = segments[s]!;
      const inside = (since === undefined || meta.minTimestamp >= since) && (until === undefined || meta.maxTimestamp < until);
      const textOnly = inside && bucketStartMs(meta.minTimestamp, query.bucketMs) === bucketStartMs(meta.maxTimestamp, query.bucketMs);
      if (match.matchesAll && textOnly) {
        counter.add(meta.minTimestamp, meta.lineCount);
        continue;
      }
      if (!(quickMayMatch(backend, meta, probes) ?? (await segmentMayMatch(backend, meta, probes)))) continue;
      const data = await loadData(backend, meta, lastAttempt);
      if (data === null) continue;
      countSegment(decompressPayload(data), meta, match, query, counter, textOnly);
    }
    return { buckets: counter.toBuckets(), partial };
  });
}
