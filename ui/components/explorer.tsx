/** The signed-in page: query bar, histogram, results or live tail, and the context panel. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { FileEntry, HostEntry, LogEntry } from '../../src/protocol/api.js';
import { clearToken } from '../auth.js';
import { describeError, isAbort, listFiles, listHosts } from '../api.js';
import { formatCount } from '../format.js';
import { type Query, queryFromSearch, searchFromQuery } from '../query.js';
import { getTheme, nextTheme, setTheme, type ThemeChoice } from '../theme.js';
import { useLive } from '../use-live.js';
import { useSearch } from '../use-search.js';
import { ContextPanel } from './context-panel.js';
import { Histogram } from './histogram.js';
import { type FileChoice, mergeFiles } from './pickers.js';
import { QueryBar } from './query-bar.js';
import { entryKey, VirtualList } from './virtual-list.js';
import { LiveStatus, SearchStatus } from './status.js';

const HOSTS_REFRESH_MS = 30_000;
/** Beyond this many hosts the file picker lists files only for the hosts picked. */
const FILES_FOR_ALL_HOSTS = 50;

function useHostsAndFiles(selectedHosts: string[]): { hosts: HostEntry[]; files: FileChoice[]; error: string; now: number } {
  const [hosts, setHosts] = useState<HostEntry[]>([]);
  const [files, setFiles] = useState<FileChoice[]>([]);
  const [error, setError] = useState('');
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const controller = new AbortController();
    const load = (): void => {
      setNow(Date.now());
      listHosts(controller.signal)
        .then((answer) => {
          setHosts(answer.data);
          setError('');
        })
        .catch((failure: unknown) => {
          if (!isAbort(failure)) setError(describeError(failure));
        });
    };
    load();
    const timer = setInterval(load, HOSTS_REFRESH_MS);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, []);

  const hostKey = selectedHosts.length > 0 ? selectedHosts.join('\n') : hosts.map((h) => `${h.host}@${h.last_seen ?? ''}`).join('\n');
  useEffect(() => {
    const names = selectedHosts.length > 0 ? selectedHosts : hosts.length <= FILES_FOR_ALL_HOSTS ? hosts.map((h) => h.host) : [];
    const controller = new AbortController();
    Promise.all(names.map((host) => listFiles(host, controller.signal).then((a) => a.data, () => [] as FileEntry[])))
      .then((lists) => setFiles(mergeFiles(lists.flat())))
      .catch(() => setFiles([]));
    return () => controller.abort();
    // hostKey stands for the hosts (and their last-seen, so counts refresh with them).
  }, [hostKey]);

  return { hosts, files, error, now };
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function Explorer() {
  const [query, setQuery] = useState<Query>(() => queryFromSearch(location.search));
  const [generation, setGeneration] = useState(0);
  /** Bumped when the query comes from outside (back/forward): the query bar starts afresh. */
  const [revision, setRevision] = useState(0);
  const [selected, setSelected] = useState<LogEntry | undefined>(undefined);
  const [theme, setThemeChoice] = useState<ThemeChoice>(getTheme());
  const filterInput = useRef<HTMLInputElement>(null);
  const { hosts, files, error: hostsError, now } = useHostsAndFiles(query.hosts);
  const search = useSearch(query, !query.live, generation);
  const live = useLive(query, query.live);

  const apply = useCallback((next: Query) => {
    const search = searchFromQuery(next);
    if (search !== location.search) history.pushState(null, '', `${location.pathname}${search}`);
    else setGeneration((g) => g + 1);
    setQuery(next);
    setSelected(undefined);
  }, []);

  useEffect(() => {
    performance.mark('daniel:interactive');
    const onPop = (): void => {
      setQuery(queryFromSearch(location.search));
      setRevision((r) => r + 1);
      setSelected(undefined);
    };
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === '/' && !isTyping(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        filterInput.current?.focus();
        filterInput.current?.select();
      } else if (event.key === 'Escape') {
        setSelected(undefined);
      }
    };
    addEventListener('popstate', onPop);
    addEventListener('keydown', onKey);
    return () => {
      removeEventListener('popstate', onPop);
      removeEventListener('keydown', onKey);
    };
  }, []);

  useEffect(() => {
    if (!query.live && search.state.firstPageMs !== undefined) performance.mark('daniel:results');
  }, [search.state.firstPageMs, query.live]);

  const highlight = query.regex ? undefined : { text: query.text, caseInsensitive: query.caseInsensitive };
  const onRange = useCallback((from: number, to: number) => apply({ ...query, preset: 'custom', since: new Date(from).toISOString(), until: new Date(to).toISOString() }), [apply, query]);

  return (
    <div class={selected ? 'app with-context' : 'app'}>
      <header class="top">
        <a class="brand" href="/" title="Daniel: all hosts, all files">
          Daniel
        </a>
        <QueryBar key={revision} query={query} onApply={apply} hosts={hosts} files={files} filterInput={filterInput} now={now} />
        <div class="top-actions">
          <div class="mode" role="group" aria-label="Mode">
            <button type="button" data-testid="mode-search" class={query.live ? '' : 'on'} aria-pressed={!query.live} onClick={() => apply({ ...query, live: false })}>
              Search
            </button>
            <button type="button" data-testid="mode-live" class={query.live ? 'on' : ''} aria-pressed={query.live} onClick={() => apply({ ...query, live: true })}>
              Live
            </button>
          </div>
          <button
            type="button"
            class="icon"
            title={`Theme: ${theme} (click for ${nextTheme(theme)})`}
            aria-label="Switch theme"
            onClick={() => {
              const next = nextTheme(theme);
              setTheme(next);
              setThemeChoice(next);
            }}
          >
            {theme === 'auto' ? '◐' : theme === 'dark' ? '☾' : '☀'}
          </button>
          <button type="button" title="Forget the token in this tab" onClick={clearToken}>
            Sign out
          </button>
        </div>
      </header>
      {hostsError !== '' ? <p class="error banner" role="alert">{hostsError}</p> : null}
      {!query.live ? (
        <section class="chart" aria-label="Histogram">
          {search.state.histogram ? (
            <Histogram buckets={search.state.histogram.buckets} bucketMs={search.state.histogram.bucket_ms} range={search.state.histogram.range} onRange={onRange} />
          ) : (
            <div class="histogram placeholder">{search.state.histogramError || 'Counting…'}</div>
          )}
        </section>
      ) : null}
      {query.live ? <LiveStatus live={live} /> : <SearchStatus state={search.state} onMore={search.loadMore} />}
      <div class="main">
        <VirtualList
          rows={query.live ? live.rows : search.state.rows}
          highlight={highlight}
          onNearEnd={query.live ? undefined : search.loadMore}
          onSelect={setSelected}
          followBottom={query.live}
          selectedKey={selected ? entryKey(selected) : undefined}
          label={query.live ? 'Live tail' : 'Search results, newest first'}
        />
        {selected ? <ContextPanel entry={selected} highlight={highlight} onClose={() => setSelected(undefined)} /> : null}
      </div>
      <footer class="sr-only" aria-live="polite">
        {query.live ? `${formatCount(live.received)} new lines` : `${search.state.rows.length} lines`}
      </footer>
    </div>
  );
}
