/** GET /logs/histogram: line counts over time with the filters of /logs. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { performance } from 'node:perf_hooks';
import { Type } from 'typebox';
import { AppError } from '../../common/errors.js';
import { nsToRfc3339, parseDuration } from '../../common/time.js';
import type { HistogramResponse as HistogramResponseShape } from '../../protocol/api.js';
import type { RouteOptions } from '../context.js';
import { deadlineFor, toLineFilter } from '../log-query.js';
import { errorResponses, ErrorResponse, filterQueryProperties, HistogramResponse, hostsQueryProperty } from '../schemas.js';
import { callStore } from '../store-call.js';
import type { LineFilter, Store } from '../../storage/store.js';
import { fieldsOfLine, scanMatching, topCounts } from './fields.js';

const HistogramQuery = Type.Object({
  ...filterQueryProperties,
  ...hostsQueryProperty,
  bucket: Type.Optional(Type.String({ description: "Bucket width, a duration ('1m', '1h'); default about 100 buckets over the range" })),
  by: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'A field: each bucket also counts its lines by the top values of that field' })),
});

/** Values of a `by` field kept per bucket; the rest are summed in `by_other`. */
const BY_VALUES = 10;
/** Lines read for a `by` histogram at the most (it reads each line's fields); past it the answer is partial. */
const BY_MAX_LINES = 2_000_000;

const NICE_BUCKETS_MS = [
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
  7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000, 2_592_000_000,
];
const MIN_BUCKET_MS = 1;
const MAX_BUCKET_MS = 366 * 86_400_000;
/** Without `since`, the range a default bucket is chosen for. */
const DEFAULT_RANGE_MS = 86_400_000;

/** The nice bucket width giving about 100 buckets over the range. */
export function defaultBucketMs(rangeMs: number): number {
  const wanted = rangeMs / 100;
  return NICE_BUCKETS_MS.find((width) => width >= wanted) ?? (NICE_BUCKETS_MS.at(-1) as number);
}

function bucketMsFrom(text: string): number {
  const ns = parseDuration(text);
  const ms = ns === undefined ? NaN : Number(ns / 1_000_000n);
  if (!Number.isSafeInteger(ms) || ms < MIN_BUCKET_MS || ms > MAX_BUCKET_MS) {
    throw new AppError('INVALID_PARAMETER', `Query parameter bucket '${text}' must be a duration from 1ms to 366d, such as 1m or 1h`);
  }
  return ms;
}

/** Lines an answer from field statistics may read one by one (segments the statistics do not cover); past it, every line is read. */
const BY_STATS_READ = 50_000;

/**
 * Counts per bucket and per value of one field. From the store's field statistics when it has
 * them (`Store.fieldCounts`: segments inside one bucket and the range are not read); else
 * every matching line is read (its fields come from its text).
 */
async function histogramBy(store: Store, filter: LineFilter, bucketMs: number, deadline: number, by: string, signal: AbortSignal): Promise<HistogramResponseShape> {
  let buckets = new Map<number, { count: number; values: Map<string, number> }>();
  let totals = new Map<string, number>();
  let partial: boolean;
  const counting = store.fieldCounts?.bind(store);
  const counted = counting === undefined ? undefined : await callStore('count fields', () => counting({ ...filter, name: by, bucketMs, maxScanLines: BY_STATS_READ, deadline, signal }));
  if (counted?.buckets !== undefined) {
    totals = counted.counts;
    buckets = new Map([...counted.buckets].map(([startMs, bucket]) => [startMs, { count: bucket.lines, values: bucket.counts }]));
    partial = counted.partial;
  } else {
    const bucketNs = BigInt(bucketMs) * 1_000_000n;
    const scan = await scanMatching(store, filter, deadline, signal, BY_MAX_LINES, (line) => {
      const floor = line.timestamp - (((line.timestamp % bucketNs) + bucketNs) % bucketNs);
      const startMs = Number(floor / 1_000_000n);
      let bucket = buckets.get(startMs);
      if (!bucket) buckets.set(startMs, (bucket = { count: 0, values: new Map() }));
      bucket.count++;
      const value = fieldsOfLine(line)[by];
      if (value === undefined) return;
      bucket.values.set(value, (bucket.values.get(value) ?? 0) + 1);
      totals.set(value, (totals.get(value) ?? 0) + 1);
    });
    partial = scan.partial;
  }
  const kept = topCounts(totals, BY_VALUES).map(([value]) => value);
  const answer: HistogramResponseShape = {
    data: {
      bucket_ms: bucketMs,
      buckets: [...buckets]
        .sort((a, b) => a[0] - b[0])
        .map(([startMs, bucket]) => {
          const byValue: Record<string, number> = {};
          let other = 0;
          for (const [value, count] of bucket.values) {
            if (kept.includes(value)) byValue[value] = count;
            else other += count;
          }
          return { start: nsToRfc3339(BigInt(startMs) * 1_000_000n), start_ms: startMs, count: bucket.count, by: byValue, by_other: other };
        }),
    },
  };
  if (partial) answer.partial = true;
  return answer;
}

export const histogramRoutes: FastifyPluginAsyncTypebox<RouteOptions> = (app, { deps }) => {
  app.get(
    '/logs/histogram',
    {
      config: { scope: 'read', hosts: 'query' },
      schema: {
        summary: 'Counts of matching lines per time bucket',
        tags: ['logs'],
        security: [{ bearer: [] }],
        querystring: HistogramQuery,
        response: { 200: HistogramResponse, ...errorResponses, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const now = deps.now();
      const filter = toLineFilter(request.query, now);
      const { deadline } = deadlineFor(request.query.timeout, deps.limits);
      let bucketMs: number;
      if (request.query.bucket !== undefined && request.query.bucket !== '') {
        bucketMs = bucketMsFrom(request.query.bucket);
      } else {
        const rangeNs = filter.since === undefined ? undefined : (filter.until ?? now) - filter.since;
        bucketMs = defaultBucketMs(rangeNs === undefined ? DEFAULT_RANGE_MS : Number(rangeNs / 1_000_000n));
      }
      const started = performance.now();
      const by = request.query.by;
      if (by !== undefined) {
        const answer = await deps.queries.run(request, reply, (signal) => histogramBy(deps.store, filter, bucketMs, deadline, by, signal));
        if (answer !== undefined) deps.metrics.observeQuery('histogram', (performance.now() - started) / 1000);
        return answer;
      }
      const result = await deps.queries.run(request, reply, (signal) =>
        callStore('count lines', () => deps.store.histogram({ ...filter, bucketMs, deadline, signal })),
      );
      if (result === undefined) return undefined;
      deps.metrics.observeQuery('histogram', (performance.now() - started) / 1000);
      const answer: HistogramResponseShape = {
        data: {
          bucket_ms: bucketMs,
          buckets: result.buckets.map((bucket) => ({
            start: nsToRfc3339(BigInt(bucket.startMs) * 1_000_000n),
            start_ms: bucket.startMs,
            count: bucket.count,
          })),
        },
      };
      if (result.partial) answer.partial = true;
      return answer;
    },
  );
  return Promise.resolve();
};
