/**
 * Shapes /logs/histogram answers for the chart: the bucket width that gives about 100 bars
 * over the data's real extent (for "all time", where the server cannot know the span in
 * advance), the x range to show, zero-count bars for the buckets the server leaves out,
 * and the bars stacked by level.
 */
import type { HistogramBucket } from '../src/protocol/api.js';
import type { Query } from './query.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NICE_BUCKETS_MS = [
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 30 * DAY, 90 * DAY, 365 * DAY,
];
const PRESET_MS: Record<string, number> = { '15m': 15 * MINUTE, '1h': HOUR, '24h': DAY, '7d': 7 * DAY };

/** Fewer bars than this over the data looks empty: ask again with a finer bucket. */
export const MIN_USEFUL_BARS = 30;
/** More bars than this over the data are slivers (or invisible): ask again with a coarser bucket. */
export const MAX_USEFUL_BARS = 400;
const TARGET_BARS = 100;
/** Beyond this many bars, zero-filling is left out (the chart still draws what is there). */
const MAX_DENSE_BARS = 5000;

/** The smallest nice width giving at most about TARGET_BARS buckets over `spanMs`. */
export function niceBucketMs(spanMs: number): number {
  const wanted = spanMs / TARGET_BARS;
  return NICE_BUCKETS_MS.find((ms) => ms >= wanted) ?? NICE_BUCKETS_MS[NICE_BUCKETS_MS.length - 1] ?? DAY;
}

/** The `bucket=` value for a width (the API takes durations such as `15s`). */
export function bucketParam(ms: number): string {
  return ms % SECOND === 0 ? `${ms / SECOND}s` : `${ms}ms`;
}

export function dataSpan(buckets: HistogramBucket[], bucketMs: number): [number, number] | undefined {
  if (buckets.length === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  for (const bucket of buckets) {
    min = Math.min(min, bucket.start_ms);
    max = Math.max(max, bucket.start_ms + bucketMs);
  }
  return [min, max];
}

/**
 * The bucket for an "all time" answer drawn over the data's real extent: finer when it gave
 * too few bars (a burst of lines in one bucket), coarser when too many (old and new lines
 * years apart in 15-minute buckets); undefined when `bucketMs` is fine.
 */
export function refinedBucketMs(buckets: HistogramBucket[], bucketMs: number): number | undefined {
  const span = dataSpan(buckets, bucketMs);
  if (!span) return undefined;
  const bars = (span[1] - span[0]) / bucketMs;
  if (bars >= MIN_USEFUL_BARS && bars <= MAX_USEFUL_BARS) return undefined;
  const better = niceBucketMs(span[1] - span[0]);
  return better !== bucketMs ? better : undefined;
}

/** Stack order, bottom to top: the most severe at the foot of each bar. */
export const LEVEL_ORDER = ['emergency', 'alert', 'critical', 'error', 'warn', 'notice', 'info', 'debug', 'trace'] as const;
/** The part of a bar whose lines say no level (or one past the server's top values). */
export const NO_LEVEL = 'other';

/** Per-level counts of each bar of `starts` (from `by=level` buckets), levels with no line left out. */
export function levelSeries(buckets: HistogramBucket[], starts: number[]): Array<{ level: string; counts: number[] }> {
  const byStart = new Map(buckets.map((b) => [b.start_ms, b]));
  const names = new Set<string>();
  for (const bucket of buckets) for (const name of Object.keys(bucket.by ?? {})) names.add(name);
  const known: string[] = LEVEL_ORDER.filter((level) => names.has(level));
  const unknown = [...names].filter((name) => !(LEVEL_ORDER as readonly string[]).includes(name)).sort();
  const series = [...known, ...unknown].map((level) => ({ level, counts: starts.map((start) => byStart.get(start)?.by?.[level] ?? 0) }));
  const rest = starts.map((start) => {
    const bucket = byStart.get(start);
    if (!bucket) return 0;
    const named = Object.values(bucket.by ?? {}).reduce((sum, n) => sum + n, 0);
    return Math.max(0, bucket.count - named);
  });
  if (rest.some((n) => n > 0)) series.push({ level: NO_LEVEL, counts: rest });
  return series;
}

/** The time range the chart spans: the query's own, or the data's for "all time". */
export function chartRange(query: Query, buckets: HistogramBucket[], bucketMs: number, now: number): [number, number] | undefined {
  if (query.preset === 'custom') {
    const since = Date.parse(query.since);
    const until = query.until === '' ? now : Date.parse(query.until);
    if (!Number.isNaN(since) && !Number.isNaN(until) && until > since) return [since, until];
  }
  const presetMs = PRESET_MS[query.preset];
  if (presetMs !== undefined) return [now - presetMs, now];
  return dataSpan(buckets, bucketMs);
}

/** Bars for the chart: every bucket in `range` (zero where the server sent none). */
export function denseBars(buckets: HistogramBucket[], bucketMs: number, range: [number, number] | undefined): { starts: number[]; counts: number[] } {
  const sorted = buckets.slice().sort((a, b) => a.start_ms - b.start_ms);
  if (!range || sorted.length === 0 || (range[1] - range[0]) / bucketMs > MAX_DENSE_BARS) {
    return { starts: sorted.map((b) => b.start_ms), counts: sorted.map((b) => b.count) };
  }
  const byStart = new Map(sorted.map((b) => [b.start_ms, b.count]));
  const first = Math.min(Math.floor(range[0] / bucketMs) * bucketMs, sorted[0]?.start_ms ?? Infinity);
  const last = Math.max(range[1], (sorted[sorted.length - 1]?.start_ms ?? 0) + bucketMs);
  const starts: number[] = [];
  const counts: number[] = [];
  for (let start = first; start < last; start += bucketMs) {
    starts.push(start);
    counts.push(byStart.get(start) ?? 0);
  }
  return { starts, counts };
}
