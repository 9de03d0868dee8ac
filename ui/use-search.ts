/**
 * A search and its histogram for the applied query. Pages come through the API's `next`
 * cursors when the list asks for more (the user scrolled near the end).
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { HistogramResponse, LogEntry } from '../src/protocol/api.js';
import { describeError, histogram, isAbort, nextPage, searchLogs } from './api.js';
import { bucketParam, chartRange, refinedBucketMs } from './histogram-data.js';
import { apiParams, type Query } from './query.js';

export const PAGE_SIZE = 200;

export interface SearchState {
  rows: LogEntry[];
  next: string | undefined;
  loading: boolean;
  partial: boolean;
  error: string;
  histogram: ChartData | undefined;
  histogramError: string;
  /** Milliseconds from starting the search to its first page arriving. */
  firstPageMs: number | undefined;
}

export interface ChartData extends Pick<HistogramResponse['data'], 'bucket_ms' | 'buckets'> {
  /** The time span to draw (ms since the epoch), undefined when there is nothing to draw. */
  range: [number, number] | undefined;
}

/** The histogram for a query, asked again with a finer bucket when "all time" gave too few bars. */
async function loadChart(query: Query, params: URLSearchParams, signal: AbortSignal): Promise<ChartData> {
  let answer = (await histogram(params, signal)).data;
  const finer = query.preset === 'all' ? refinedBucketMs(answer.buckets, answer.bucket_ms) : undefined;
  if (finer !== undefined) {
    const refined = new URLSearchParams(params);
    refined.set('bucket', bucketParam(finer));
    answer = (await histogram(refined, signal)).data;
  }
  return { ...answer, range: chartRange(query, answer.buckets, answer.bucket_ms, Date.now()) };
}

const EMPTY: SearchState = { rows: [], next: undefined, loading: false, partial: false, error: '', histogram: undefined, histogramError: '', firstPageMs: undefined };

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
        if (!isAbort(error)) setState((s) => ({ ...s, loading: false, error: describeError(error) }));
      });
    loadChart(query, params, abort.signal)
      .then((chart) => setState((s) => ({ ...s, histogram: chart })))
      .catch((error: unknown) => {
        if (!isAbort(error)) setState((s) => ({ ...s, histogramError: describeError(error) }));
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
        if (!isAbort(error)) setState((s) => ({ ...s, loading: false, error: describeError(error) }));
      });
  }, []);

  return { state, loadMore };
}
