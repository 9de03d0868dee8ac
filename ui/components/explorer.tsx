/** The signed-in page: query bar, histogram, field sidebar, results or live tail, and the entry panel. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { FileEntry, HostEntry, LogEntry } from '../../src/protocol/api.js';
import { clearToken } from '../auth.js';
import { describeError, isAbort, listFiles, listHosts } from '../api.js';
import { formatCount, getZone, setZone, type Zone, zoneName } from '../format.js';
import { addTerm, highlightTerms, type Query, queryFromSearch, regexTerm, searchFromQuery } from '../query.js';
import { getTheme, nextTheme, setTheme, type ThemeChoice } from '../theme.js';
import { useLive } from '../use-live.js';
import { useSearch } from '../use-search.js';
import { ContextPanel } from './context-panel.js';
import { FieldSidebar } from './field-sidebar.js';
import { Histogram } from './histogram.js';
import { type FileChoice, mergeFiles } from './pickers.js';
import { QueryBar } from './query-bar.js';
import { entryKey, VirtualList } from './virtual-list.js';
import { LiveStatus, SearchStatus } from './status.js';

const HOSTS_REFRESH_MS = 30_000;
/** Beyond this many hosts the file picker lists files only for the hosts picked. */
const FILES_FOR_ALL_HOSTS = 50;

function useHostsAndFiles(selectedHosts: string[]): { hosts: HostEntry[]; files: FileChoice[]; filesNeedHost: boolean; error: string; now: number } {
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

  return { hosts, files, filesNeedHost: selectedHosts.length === 0 && hosts.length > FILES_FOR_ALL_HOSTS, error, now };
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function Explorer({ justSignedIn = false }: { justSignedIn?: boolean }) {
  const [query, setQuery] = useState<Query>(() => queryFromSearch(location.search));
  const [zone, setZoneState] = useState<Zone>(getZone());
  const [generation, setGeneration] = useState(0);
  /** Bumped when the query comes from outside (back/forward): the query bar starts afresh. */
  const [revision, setRevision] = useState(0);
  const [selected, setSelected] = useState<LogEntry | undefined>(undefined);
  const [theme, setThemeChoice] = useState<ThemeChoice>(getTheme());
  const filterInput = useRef<HTMLInputElement>(null);
  const { hosts, files, filesNeedHost, error: hostsError, now } = useHostsAndFiles(query.hosts);
  const search = useSearch(query, !query.live, generation);
  const live = useLive(query, query.live);

  const apply = useCallback((next: Query) => {
    const search = searchFromQuery(next);
    if (search !== location.search) history.pushState(null, '', `${location.pathname}${search}`);
    else setGeneration((g) => g + 1);
    setQuery(next);
    setSelected(undefined);
  }, []);

  // Signing in is done in the search box's place: the cursor goes there (not on a page load).
  useEffect(() => {
    if (justSignedIn) filterInput.current?.focus();
  }, []);

  useEffect(() => {
    // An older URL (`filter=`) is shown in the form it is now written in.
    const canonical = searchFromQuery(query);
    if (canonical !== location.search) history.replaceState(null, '', `${location.pathname}${canonical}`);
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

  const highlight = query.regex ? undefined : { terms: highlightTerms(query.text), caseInsensitive: !query.caseSensitive };
  const onTerm = useCallback(
    (term: string) => {
      // A regex box becomes a query: the regex is one of its terms.
      const base = query.regex ? (query.text.trim() === '' ? '' : regexTerm(query.text)) : query.text;
      apply({ ...query, regex: false, text: addTerm(base, term) });
    },
    [apply, query],
  );
  const problem = query.live ? live.problem : search.state.problem;
  const onRange = useCallback((from: number, to: number) => apply({ ...query, preset: 'custom', since: new Date(from).toISOString(), until: new Date(to).toISOString() }), [apply, query]);

  return (
    <div class={selected ? 'app with-context' : 'app'}>
      <header class="top">
        <a class="brand" href="/" title="Daniel: all hosts, all files">
          Daniel
        </a>
        <QueryBar
          key={revision}
          query={query}
          onApply={apply}
          hosts={hosts}
          files={files}
          filesNeedHost={filesNeedHost}
          filterInput={filterInput}
          now={now}
          problem={problem}
        />
        <div class="top-actions">
          <button
            type="button"
            class="zone"
            data-testid="zone"
            title={`Times are shown in ${zoneName(zone)}; click for ${zone === 'utc' ? zoneName('local') : 'UTC'}`}
            aria-label={`Time zone: ${zoneName(zone)}. Switch to ${zone === 'utc' ? 'local time' : 'UTC'}`}
            onClick={() => {
              const next: Zone = zone === 'utc' ? 'local' : 'utc';
              setZone(next);
              setZoneState(next);
            }}
          >
            {zone === 'utc' ? 'UTC' : 'Local'}
          </button>
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
            <Histogram
              buckets={search.state.histogram.buckets}
              bucketMs={search.state.histogram.bucket_ms}
              levels={search.state.histogram.levels}
              range={search.state.histogram.range}
              partial={search.state.histogram.partial}
              onRange={onRange}
            />
          ) : (
            <div class="histogram placeholder">{search.state.histogramError || 'Counting…'}</div>
          )}
        </section>
      ) : null}
      {query.live ? <LiveStatus live={live} /> : <SearchStatus state={search.state} onMore={search.loadMore} />}
      <div class="main">
        {!query.live ? <FieldSidebar query={query} generation={generation} onTerm={onTerm} /> : null}
        <VirtualList
          key={query.live ? searchFromQuery(query) : 'search'}
          rows={query.live ? live.rows : search.state.rows}
          highlight={highlight}
          onNearEnd={query.live ? undefined : search.loadMore}
          onSelect={setSelected}
          followBottom={query.live}
          selectedKey={selected ? entryKey(selected) : undefined}
          label={query.live ? 'Live tail' : 'Search results, newest first'}
        />
        {selected ? <ContextPanel entry={selected} highlight={highlight} onClose={() => setSelected(undefined)} onTerm={onTerm} /> : null}
      </div>
      <footer class="sr-only" aria-live="polite">
        {query.live ? `${formatCount(live.received)} new lines` : `${search.state.rows.length} lines`}
      </footer>
    </div>
  );
}
