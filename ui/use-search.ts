/**
 * A search and its histogram for the applied query. Pages come through the API's `next`
 * cursors when the list asks for more (the user scrolled near the end).
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { HistogramResponse, LogEntry } from '../src/protocol/api.js';
import { describeError, histogram, isAbort, nextPage, type QueryProblem, queryProblem, searchLogs } from './api.js';
import { bucketParam, chartRange, refinedBucketMs } from './histogram-data.js';
import { apiParams, type Query } from './query.js';

export const PAGE_SIZE = 200;
/**
 * The level split (`by=level`) reads every matching line to find its level, unlike the
 * plain counts; past this many lines the bars stay plain rather than cost the server a
 * scan of millions of lines on every search.
 */
export const LEVEL_SPLIT_MAX_LINES = 200_000;

export interface SearchState {
  rows: LogEntry[];
  next: string | undefined;
  loading: boolean;
  partial: boolean;
  error: string;
  /** The server refused the search box's text (shown under the box, not here). */
  problem: QueryProblem | undefined;
  histogram: ChartData | undefined;
  histogramError: string;
  /** Milliseconds from starting the search to its first page arriving. */
  firstPageMs: number | undefined;
}

export interface ChartData extends Pick<HistogramResponse['data'], 'bucket_ms' | 'buckets'> {
  /** The time span to draw (ms since the epoch), undefined when there is nothing to draw. */
  range: [number, number] | undefined;
  /** True when the server's time budget ran out: the counts are a lower bound. */
  partial: boolean;
  /** `by=level` buckets for the same bars, once they arrive (the bars are then stacked). */
  levels: HistogramResponse['data']['buckets'] | undefined;
}

/**
 * The histogram for a query: the plain counts first (fast: the store counts them), asked
 * again with a bucket fitted to the data's extent for "all time"; then, through `onLevels`,
 * the same bars split by level (`by=level` reads every line, so it comes second).
 */
async function loadChart(query: Query, params: URLSearchParams, signal: AbortSignal, onChart: (chart: ChartData) => void): Promise<void> {
  let response = await histogram(params, signal);
  const better = query.preset === 'all' ? refinedBucketMs(response.data.buckets, response.data.bucket_ms) : undefined;
  const exact = new URLSearchParams(params);
  if (better !== undefined) {
    exact.set('bucket', bucketParam(better));
    response = await histogram(exact, signal);
  } else {
    exact.set('bucket', bucketParam(response.data.bucket_ms));
  }
  const answer = response.data;
  const chart: ChartData = { ...answer, range: chartRange(query, answer.buckets, answer.bucket_ms, Date.now()), partial: response.partial === true, levels: undefined };
  onChart(chart);
  const total = answer.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
  if (total === 0 || total > LEVEL_SPLIT_MAX_LINES) return;
  exact.set('by', 'level');
  const split = await histogram(exact, signal);
  // A partial split would disagree with the totals drawn: keep the plain bars then; and
  // when no line says its level there is nothing to stack (the chart is not drawn again).
  if (split.partial || split.data.bucket_ms !== answer.bucket_ms) return;
  if (!split.data.buckets.some((bucket) => Object.keys(bucket.by ?? {}).length > 0)) return;
  onChart({ ...chart, levels: split.data.buckets });
}

const EMPTY: SearchState = { rows: [], next: undefined, loading: false, partial: false, error: '', problem: undefined, histogram: undefined, histogramError: '', firstPageMs: undefined };

/** A refused query goes under the search box; any other failure into the status line. */
function failed(error: unknown): Pick<SearchState, 'error' | 'problem'> {
  const problem = queryProblem(error);
  return problem ? { error: '', problem } : { error: describeError(error), problem: undefined };
}

export function useSearch(query: Query, enabled: boolean, generation: number): { state: SearchState; loadMore: () => void } {
  const [state, setState] = useState<SearchState>(EMPTY);
  const controller = useRef<AbortController | undefined>(undefined);
  const loadingMore = useRef(false);

  useEffect(() => {
    controller.current?.abort();
    loadingMore.current = false;
    if (!enabled) {
      setState(EMPTY);
      return undefined;
    }
    const abort = new AbortController();
    controller.current = abort;
    const params = apiParams(query);
    const started = performance.now();
    setState({ ...EMPTY, loading: true });
    performance.mark('daniel:search-start');

    const pageParams = new URLSearchParams(params);
    pageParams.set('count', String(PAGE_SIZE));
    searchLogs(pageParams, abort.signal)
      .then((page) => {
        setState((s) => ({ ...s, rows: page.data, next: page.next, partial: page.partial === true, loading: false, firstPageMs: performance.now() - started }));
      })
      .catch((error: unknown) => {
        if (!isAbort(error)) setState((s) => ({ ...s, loading: false, ...failed(error) }));
      });
    loadChart(query, params, abort.signal, (chart) => setState((s) => ({ ...s, histogram: chart })))
      .catch((error: unknown) => {
        // The search's own answer reports a refused query (once); the chart just stays empty.
        if (isAbort(error)) return;
        setState((s) => ({ ...s, histogramError: queryProblem(error) ? 'No chart: the query is refused.' : describeError(error) }));
      });
    return () => abort.abort();
    // `generation` re-runs the same query (Search pressed again, or after signing in).
  }, [query, enabled, generation]);

  // loadMore is called from scroll effects; it reads the latest state through a ref.
  const latest = useRef(state);
  latest.current = state;

  const loadMore = useCallback(() => {
    const abort = controller.current;
    const current = latest.current;
    if (!abort || abort.signal.aborted || loadingMore.current) return;
    if (!current.next || current.loading || current.error !== '') return;
    loadingMore.current = true;
    setState((s) => ({ ...s, loading: true }));
    nextPage(current.next, abort.signal)
      .then((page) => {
        loadingMore.current = false;
        setState((s) => ({ ...s, rows: s.rows.concat(page.data), next: page.next, partial: page.partial === true, loading: false }));
      })
      .catch((error: unknown) => {
        loadingMore.current = false;
        if (!isAbort(error)) setState((s) => ({ ...s, loading: false, ...failed(error) }));
      });
  }, []);

  return { state, loadMore };
}
