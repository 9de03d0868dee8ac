/**
 * The search the user is looking at. It lives in the page's query string with the API's
 * own parameter names (`host`, `file`, `filter`/`regex`, `case`, `since`, `until`), so a
 * shared URL reproduces the search and the back button walks through earlier ones.
 */

export const RANGE_PRESETS = ['15m', '1h', '24h', '7d', 'all'] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];

export interface Query {
  hosts: string[];
  files: string[];
  /** The text of the filter box. */
  text: string;
  /** Send `text` as `regex=` instead of `filter=`. */
  regex: boolean;
  caseInsensitive: boolean;
  /** A relative preset, or absolute `since`/`until` (RFC 3339) when `preset` is 'custom'. */
  preset: RangePreset | 'custom';
  since: string;
  until: string;
  /** Live tail instead of a search. */
  live: boolean;
}

/** Everything by default: backfilled logs carry old timestamps and should be found at once. */
export const DEFAULT_PRESET: RangePreset = 'all';

export function emptyQuery(): Query {
  return { hosts: [], files: [], text: '', regex: false, caseInsensitive: false, preset: DEFAULT_PRESET, since: '', until: '', live: false };
}

function isPreset(value: string): value is RangePreset {
  return (RANGE_PRESETS as readonly string[]).includes(value);
}

/** Reads a query from a page query string such as `location.search`. */
export function queryFromSearch(search: string): Query {
  const params = new URLSearchParams(search);
  const query = emptyQuery();
  query.hosts = params.getAll('host').filter((h) => h !== '');
  query.files = params.getAll('file').filter((f) => f !== '');
  const regex = params.get('regex');
  if (regex !== null) {
    query.text = regex;
    query.regex = true;
  } else {
    query.text = params.get('filter') ?? '';
  }
  query.caseInsensitive = params.get('case') === 'insensitive';
  const since = params.get('since') ?? '';
  const until = params.get('until') ?? '';
  if (until !== '' || (since !== '' && !isPreset(since))) {
    query.preset = 'custom';
    query.since = since;
    query.until = until;
  } else if (isPreset(since)) {
    query.preset = since;
  }
  query.live = params.get('live') === '1';
  return query;
}

/** The API's filter parameters for a query (shared by /logs, /logs/histogram and live tail). */
export function apiParams(query: Query, options: { forLive?: boolean } = {}): URLSearchParams {
  const params = new URLSearchParams();
  for (const host of query.hosts) params.append('host', host);
  for (const file of query.files) params.append('file', file);
  if (query.text !== '') params.set(query.regex ? 'regex' : 'filter', query.text);
  if (query.caseInsensitive) params.set('case', 'insensitive');
  // A time range makes no sense for lines that have not arrived yet.
  if (!options.forLive) {
    if (query.preset === 'custom') {
      if (query.since !== '') params.set('since', query.since);
      if (query.until !== '') params.set('until', query.until);
    } else if (query.preset !== 'all') {
      params.set('since', query.preset);
    }
  }
  return params;
}

/** The page query string for a query (with the leading `?`, or '' for the default search). */
export function searchFromQuery(query: Query): string {
  const params = apiParams(query);
  if (query.live) params.set('live', '1');
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export function sameQuery(a: Query, b: Query): boolean {
  return searchFromQuery(a) === searchFromQuery(b);
}
