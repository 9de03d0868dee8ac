/** Counts over time over any SegmentBackend: whole segments inside one bucket are counted from metadata. */
import { performance } from 'node:perf_hooks';
import type { SegmentBackend } from '../storage/segment-backend.js';
import type { HistogramQuery, HistogramResult } from '../storage/store.js';
import { bucketStartMs, BucketCounter } from './histogram.js';
import { compileMatchers } from './matcher.js';
import { decodeSegment } from './segment-codec.js';
import { bloomProbes, scanSegment, segmentMayMatch } from './segment-scan.js';

export async function histogramFromSegments(backend: SegmentBackend, query: HistogramQuery): Promise<HistogramResult> {
  const match = compileMatchers(query.match);
  const probes = bloomProbes(match);
  const { since, until } = query;
  const segments = await backend.listSegments({
    ...(query.hosts?.length ? { hosts: query.hosts } : {}),
    ...(query.files?.length ? { files: query.files } : {}),
    ...(since === undefined ? {} : { minTimestamp: since }),
    ...(until === undefined ? {} : { beforeTimestamp: until }),
  });
  const counter = new BucketCounter(query.bucketMs);
  for (let s = 0; s < segments.length; s++) {
    if (s > 0 && query.deadline !== undefined && performance.now() >= query.deadline) return { buckets: counter.toBuckets(), partial: true };
    const meta = segments[s]!;
    const inside = (since === undefined || meta.minTimestamp >= since) && (until === undefined || meta.maxTimestamp < until);
    if (match.matchesAll && inside && bucketStartMs(meta.minTimestamp, query.bucketMs) === bucketStartMs(meta.maxTimestamp, query.bucketMs)) {
      counter.add(meta.minTimestamp, meta.lineCount);
      continue;
    }
    if (!(await segmentMayMatch(backend, meta, probes))) continue;
    const data = await backend.loadData(meta);
    if (data === null) continue;
    const segment = decodeSegment(data);
    scanSegment(meta, segment, { match, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) }, (i) =>
      counter.add(segment.timestamps[i]!),
    );
  }
  return { buckets: counter.toBuckets(), partial: false };
}
