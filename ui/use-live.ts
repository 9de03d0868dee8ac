/**
 * Live tail for the applied query: the newest lines first come from a search (so the view
 * is not empty), then every new line arrives over the event stream. The view keeps the
 * newest MAX_ROWS lines so memory stays bounded however long it runs.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { LogEntry } from '../src/protocol/api.js';
import { ApiFailure, describeError, isAbort, type QueryProblem, queryProblem, searchLogs } from './api.js';
import { entryKey } from './components/virtual-list.js';
import { LiveTail, type LiveState, RateMeter } from './live.js';
import { apiParams, type Query } from './query.js';

export const MAX_ROWS = 5000;
const BACKFILL = 100;

export interface LiveView {
  rows: LogEntry[];
  state: LiveState;
  detail: string;
  /** Lines per second over the last few seconds. */
  rate: number;
  received: number;
  /** The server refused the search box's text. */
  problem: QueryProblem | undefined;
  pause: () => void;
  resume: () => void;
}

export function useLive(query: Query, enabled: boolean): LiveView {
  const [rows, setRows] = useState<LogEntry[]>([]);
  const [status, setStatus] = useState<{ state: LiveState; detail: string }>({ state: 'stopped', detail: '' });
  const [rate, setRate] = useState(0);
  const [received, setReceived] = useState(0);
  const [problem, setProblem] = useState<QueryProblem | undefined>(undefined);
  const tail = useRef<LiveTail | undefined>(undefined);

  useEffect(() => {
    setRows([]);
    setReceived(0);
    setProblem(undefined);
    if (!enabled) return undefined;
    const params = apiParams(query, { forLive: true });
    const meter = new RateMeter();
    const seen = new Set<string>();
    let buffer: LogEntry[] = [];
    let frame = 0;
    const flush = (): void => {
      frame = 0;
      const incoming = buffer;
      buffer = [];
      setRows((current) => {
        const merged = current.concat(incoming);
        return merged.length > MAX_ROWS ? merged.slice(merged.length - MAX_ROWS) : merged;
      });
    };
    const accept = (lines: LogEntry[]): number => {
      let added = 0;
      for (const line of lines) {
        const key = entryKey(line);
        if (seen.has(key)) continue;
        seen.add(key);
        buffer.push(line);
        added++;
      }
      // The dedupe set only needs to cover what may still arrive twice: the backfill overlap.
      if (seen.size > MAX_ROWS * 2) seen.clear();
      if (added > 0 && frame === 0) frame = requestAnimationFrame(flush);
      return added;
    };

    const live = new LiveTail({
      params,
      onLines: (lines) => {
        const added = accept(lines);
        meter.add(added);
        setReceived((n) => n + added);
      },
      onState: (state, detail) => setStatus({ state, detail: detail ?? '' }),
      onError: (error: ApiFailure) => {
        const refused = queryProblem(error);
        if (refused) setProblem(refused);
        setStatus({ state: 'stopped', detail: refused ? '' : describeError(error) });
      },
    });
    tail.current = live;
    // Start following first, then fetch the recent lines: a line that arrives in between is
    // in both and shown once, instead of in neither.
    live.start();
    const backfill = new AbortController();
    const backfillParams = new URLSearchParams(params);
    backfillParams.set('count', String(BACKFILL));
    searchLogs(backfillParams, backfill.signal)
      .then((page) => {
        const older = page.data.slice().reverse().filter((line) => !seen.has(entryKey(line)));
        for (const line of older) seen.add(entryKey(line));
        setRows((current) => older.concat(current));
      })
      .catch((error: unknown) => {
        if (isAbort(error) || (error instanceof ApiFailure && error.status === 401)) return;
        const refused = queryProblem(error);
        if (refused) setProblem(refused);
        else setStatus((s) => ({ ...s, detail: describeError(error) }));
      });
    const ticker = setInterval(() => setRate(meter.perSecond()), 1000);
    return () => {
      clearInterval(ticker);
      cancelAnimationFrame(frame);
      backfill.abort();
      live.stop();
      tail.current = undefined;
    };
  }, [query, enabled]);

  const pause = useCallback(() => tail.current?.pause(), []);
  const resume = useCallback(() => tail.current?.resume(), []);
  return { rows, state: status.state, detail: status.detail, rate, received, problem, pause, resume };
}
