/**
 * The field explorer's counts over every matching line, from the segments' field statistics
 * (field-stats.ts): a segment wholly inside the time range, on a listed host and file, with
 * statistics that answer the question (its names all listed, or the asked field's values
 * kept) is added from them without being read; the others (straddling the range's edges, not
 * yet given statistics, or with too many values of the field) are decoded and their lines'
 * fields extracted, as a plain scan would. Statistics answer only a filter that needs no
 * per-line test (no `q`, `filter` or `regex` beyond `host:`/`file:`): with one, every segment
 * is read. With `bucketMs` the counts are also kept per time bucket (the histogram's `by`),
 * and only a segment inside one bucket is counted from its statistics.
 *
 * What is read line by line is bounded (`maxScanLines`): past it the answer is undefined and
 * the caller falls back to a sample of the newest lines, so a store without statistics (or a
 * text filter over a large store) costs what it cost before.
 */
import { performance } from 'node:perf_hooks';
import type { SegmentBackend, SegmentListQuery, SegmentMeta } from './backend.js';
import { parsePayload } from '../segment/codec.js';
import { decompressPayload } from '../segment/compression.js';
import { extractFields } from './fields.js';
import type { FieldStats } from './field-stats.js';
import { compileMatchers, type CompiledMatch } from './matcher.js';
import { loadData, retryOnVanished } from './segment-load.js';
import { bloomProbes, quickMayMatch, scanSegment, segmentMayMatch } from './segment-scan.js';
import { TimeSlice } from './time-slice.js';
import { bucketStartMs } from './histogram.js';
import type { LineFilter } from './types.js';

export interface FieldCountsQuery extends LineFilter {
  /** The field whose values are counted; undefined: count the field names instead. */
  name?: string;
  /** Also count per time bucket of this width (ms), as the histogram's `by` does. */
  bucketMs?: number;
  /** Lines the answer may read one by one at the most; past it the answer is undefined. */
  maxScanLines: number;
  deadline?: number;
  signal?: AbortSignal;
}

export interface FieldCountsResult {
  /** Matching lines counted. */
  lines: number;
  /** Per value of `name` (or per field name when no name was asked): lines. */
  counts: Map<string, number>;
  /** Lines having the field `name` (every counted line when no name was asked). */
  withField: number;
  /** True when the deadline cut the count short. */
  partial: boolean;
  /** Lines counted from statistics without reading them (diagnostics and tests). */
  fromStats: number;
  /** With `bucketMs`: per bucket start (epoch ms), its lines and its counts. */
  buckets?: Map<number, BucketCounts>;
}

export interface BucketCounts {
  lines: number;
  counts: Map<string, number>;
}

function bucketOf(result: FieldCountsResult, timestamp: bigint, bucketMs: number | undefined): BucketCounts | undefined {
  if (bucketMs === undefined || result.buckets === undefined) return undefined;
  const start = bucketStartMs(timestamp, bucketMs);
  let bucket = result.buckets.get(start);
  if (bucket === undefined) result.buckets.set(start, (bucket = { lines: 0, counts: new Map() }));
  return bucket;
}

function add(counts: Map<string, number>, key: string, lines: number): void {
  counts.set(key, (counts.get(key) ?? 0) + lines);
}

/** Whether `stats` answers the question for its whole segment. */
function answers(stats: FieldStats | undefined, meta: SegmentMeta, name: string | undefined): stats is FieldStats {
  if (stats === undefined || stats.minSeq !== meta.minSeq || stats.maxSeq !== meta.maxSeq || stats.lines !== meta.lineCount) return false;
  if (name === undefined) return stats.allNames;
  if (name === 'host' || name === 'file') return true;
  const stat = stats.fields.get(name);
  return stat === undefined ? stats.allNames : stat.values !== undefined;
}

function addStats(result: FieldCountsResult, meta: SegmentMeta, stats: FieldStats, name: string | undefined, bucketMs: number | undefined): void {
  result.lines += stats.lines;
  result.fromStats += stats.lines;
  const bucket = bucketOf(result, meta.minTimestamp, bucketMs);
  if (bucket !== undefined) bucket.lines += stats.lines;
  const both = (key: string, lines: number): void => {
    add(result.counts, key, lines);
    if (bucket !== undefined) add(bucket.counts, key, lines);
  };
  if (name === undefined) {
    result.withField += stats.lines;
    both('host', stats.lines);
    both('file', stats.lines);
    for (const [field, stat] of stats.fields) both(field, stat.lines);
    return;
  }
  if (name === 'host' || name === 'file') {
    result.withField += stats.lines;
    both(name === 'host' ? meta.host : meta.filename, stats.lines);
    return;
  }
  const stat = stats.fields.get(name);
  if (stat === undefined) return;
  result.withField += stat.lines;
  for (const [value, lines] of stat.values!) both(value, lines);
}

function addLine(result: FieldCountsResult, meta: SegmentMeta, line: string, given: Readonly<Record<string, string>> | undefined, name: string | undefined, bucket: BucketCounts | undefined): void {
  result.lines++;
  if (bucket !== undefined) bucket.lines++;
  const fields: Record<string, string> = { ...extractFields(line, given as Record<string, string> | undefined), host: meta.host, file: meta.filename };
  if (name === undefined) {
    result.withField++;
    for (const field in fields) {
      add(result.counts, field, 1);
      if (bucket !== undefined) add(bucket.counts, field, 1);
    }
    return;
  }
  const value = Object.prototype.hasOwnProperty.call(fields, name) ? fields[name] : undefined;
  if (value === undefined) return;
  result.withField++;
  add(result.counts, value, 1);
  if (bucket !== undefined) add(bucket.counts, value, 1);
}

/** The counts over every matching line, or undefined when more than `maxScanLines` lines would have to be read one by one. */
export async function fieldCountsFromSegments(backend: SegmentBackend, query: FieldCountsQuery): Promise<FieldCountsResult | undefined> {
  const match = compileMatchers(query.match);
  const { since, until, name } = query;
  const list: SegmentListQuery = {
    ...(query.hosts?.length ? { hosts: query.hosts } : {}),
    ...(query.files?.length ? { files: query.files } : {}),
    ...(since === undefined ? {} : { minTimestamp: since }),
    ...(until === undefined ? {} : { beforeTimestamp: until }),
  };
  return retryOnVanished(async (lastAttempt) => {
    const segments = await backend.listSegments(list);
    const counted: { meta: SegmentMeta; stats: FieldStats }[] = [];
    const read: SegmentMeta[] = [];
    let readLines = 0;
    for (const meta of segments) {
      const inside = (since === undefined || meta.minTimestamp >= since) && (until === undefined || meta.maxTimestamp < until);
      const oneBucket = query.bucketMs === undefined || bucketStartMs(meta.minTimestamp, query.bucketMs) === bucketStartMs(meta.maxTimestamp, query.bucketMs);
      const stats = inside && oneBucket && match.matchesAll ? await backend.loadFieldStats?.(meta) : undefined;
      if (answers(stats, meta, name)) {
        counted.push({ meta, stats });
        continue;
      }
      read.push(meta);
      readLines += meta.lineCount;
      if (readLines > query.maxScanLines) return undefined;
    }
    const result: FieldCountsResult = { lines: 0, counts: new Map(), withField: 0, partial: false, fromStats: 0, ...(query.bucketMs === undefined ? {} : { buckets: new Map() }) };
    for (const { meta, stats } of counted) addStats(result, meta, stats, name, query.bucketMs);
    result.partial = await readSegments(backend, read, query, match, result, lastAttempt);
    return result;
  });
}

/** Reads the segments statistics could not answer for, line by line; true when the deadline cut it short. */
async function readSegments(backend: SegmentBackend, segments: readonly SegmentMeta[], query: FieldCountsQuery, match: CompiledMatch, result: FieldCountsResult, lastAttempt: boolean): Promise<boolean> {
  const probes = bloomProbes(match);
  const { since, until, name } = query;
  const slice = new TimeSlice(undefined, query.signal);
  for (let s = 0; s < segments.length; s++) {
    await slice.check();
    if (s > 0 && query.deadline !== undefined && performance.now() >= query.deadline) return true;
    const meta = segments[s]!;
    if (!(quickMayMatch(backend, meta, probes) ?? (await segmentMayMatch(backend, meta, probes)))) continue;
    const data = await loadData(backend, meta, lastAttempt);
    if (data === null) continue;
    const segment = parsePayload(decompressPayload(data));
    const encoding = meta.ascii ? 'latin1' : 'utf8';
    scanSegment(meta, segment, { match, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) }, (i) => {
      const start = segment.starts[i]!;
      addLine(result, meta, segment.text.toString(encoding, start, start + segment.lengths[i]!), segment.fieldsAt?.(i), name, bucketOf(result, segment.timestamps[i]!, query.bucketMs));
    });
  }
  return false;
}

/**
 * The field equality a histogram can count from statistics: a `q` that is one `field:value`
 * term (not `host:`/`file:`, which are lifted into the filter) and nothing else. `level`'s
 * value is normalised as the query's test normalises it.
 */
export function statsCountable(filter: LineFilter, normalise: (name: string, value: string) => string): { name: string; value: string } | undefined {
  const match = filter.match;
  if (match?.length !== 1) return undefined;
  const only = match[0]!;
  if (only.kind !== 'query' || only.node.kind !== 'field' || only.node.op !== 'eq') return undefined;
  const { name, value } = only.node;
  if (name === 'host' || name === 'file') return undefined;
  return { name, value: normalise(name, value) };
}

/** Lines of the segment whose field `name` is `value`, from its statistics; undefined when they cannot tell. */
export function countFromStats(stats: FieldStats | undefined, meta: SegmentMeta, name: string, value: string): number | undefined {
  if (stats === undefined || stats.minSeq !== meta.minSeq || stats.maxSeq !== meta.maxSeq || stats.lines !== meta.lineCount) return undefined;
  const stat = stats.fields.get(name);
  if (stat === undefined) return stats.allNames ? 0 : undefined;
  return stat.values === undefined ? undefined : (stat.values.get(value) ?? 0);
}
