/**
 * The search the user is looking at. It lives in the page's query string with the API's
 * own parameter names (`host`, `file`, `q` or `regex`, `case`, `since`, `until`), so a
 * shared URL reproduces the search and the back button walks through earlier ones.
 *
 * The search box speaks the query language (`q=`, docs/query.md); the `.*` toggle makes it
 * one regular expression (`regex=`) instead. URLs from before the query language keep
 * working: every `filter=` becomes a quoted phrase of `q`, with the case rule it had.
 */

export const RANGE_PRESETS = ['15m', '1h', '24h', '7d', 'all'] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];

export interface Query {
  hosts: string[];
  files: string[];
  /** The text of the search box: a query (`q=`), or a regular expression when `regex`. */
  text: string;
  /** Send `text` as `regex=` instead of `q=`. */
  regex: boolean;
  /** "Match case": words, phrases and the regex match case exactly (`case=sensitive`). */
  caseSensitive: boolean;
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
  return { hosts: [], files: [], text: '', regex: false, caseSensitive: false, preset: DEFAULT_PRESET, since: '', until: '', live: false };
}

function isPreset(value: string): value is RangePreset {
  return (RANGE_PRESETS as readonly string[]).includes(value);
}

/** A text as a quoted phrase of the query language (`\"` and `\\` inside). */
export function quotePhrase(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A regex as a `/…/` term of the query language (a `/` inside is escaped). */
export function regexTerm(pattern: string): string {
  return `/${pattern.replace(/(^|[^\\])\//g, '$1\\/')}/`;
}

/** Reads a query from a page query string such as `location.search`. */
export function queryFromSearch(search: string): Query {
  const params = new URLSearchParams(search);
  const query = emptyQuery();
  query.hosts = params.getAll('host').filter((h) => h !== '');
  query.files = params.getAll('file').filter((f) => f !== '');
  const q = params.get('q') ?? '';
  const filters = params.getAll('filter').filter((f) => f !== '');
  const regexes = params.getAll('regex').filter((r) => r !== '');
  const single = regexes[0];
  if (q === '' && filters.length === 0 && regexes.length === 1 && single !== undefined) {
    query.text = single;
    query.regex = true;
  } else {
    // Older URLs: every filter (and any further regex) is one more term, ANDed as before.
    query.text = [q, ...filters.map(quotePhrase), ...regexes.map(regexTerm)].filter((t) => t !== '').join(' ');
  }
  // The API's own default: `filter=` and `regex=` match case, `q=` words do not.
  const caseParam = params.get('case');
  query.caseSensitive = caseParam === 'sensitive' || (caseParam !== 'insensitive' && q === '' && (filters.length > 0 || regexes.length > 0));
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

/** The API's filter parameters for a query (shared by /logs, /logs/histogram, /logs/fields and live tail). */
export function apiParams(query: Query, options: { forLive?: boolean } = {}): URLSearchParams {
  const params = new URLSearchParams();
  for (const host of query.hosts) params.append('host', host);
  for (const file of query.files) params.append('file', file);
  if (query.text.trim() !== '') {
    params.set(query.regex ? 'regex' : 'q', query.text);
    // Spelled out for a regex, whose API default (sensitive) differs from q's.
    if (query.caseSensitive || query.regex) params.set('case', query.caseSensitive ? 'sensitive' : 'insensitive');
  }
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

/** Field names the query language accepts in `field:value` (docs/query.md). */
const FIELD_NAME = /^[A-Za-z_@][A-Za-z0-9_.@-]*$/;

export function isQueryField(name: string): boolean {
  return FIELD_NAME.test(name);
}

/** `field:value`, the value quoted when it is not one plain word. */
export function fieldTerm(name: string, value: string, exclude = false): string {
  const plain = /^[^\s"'()\\:*<>=/-][^\s"'()\\:*]*$/.test(value) && !['AND', 'OR', 'NOT'].includes(value);
  return `${exclude ? '-' : ''}${name}:${plain ? value : quotePhrase(value)}`;
}

/** The query with one more term ANDed to it (an `OR` query is put in parentheses first). */
export function addTerm(text: string, term: string): string {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '*') return term;
  if (hasTopLevelOr(trimmed)) return `(${trimmed}) ${term}`;
  return `${trimmed} ${term}`;
}

function hasTopLevelOr(text: string): boolean {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && text.startsWith('OR', i) && /\s/.test(text[i - 1] ?? ' ') && /\s|\(/.test(text[i + 2] ?? ' ')) return true;
  }
  return false;
}

/**
 * The plain words and phrases a query asks lines to contain (not under NOT or `-`, not
 * field terms, not regexes): what the list highlights. A rough reading; the server's
 * parser is the authority.
 */
export function highlightTerms(text: string): string[] {
  const terms: string[] = [];
  const re = /(-?)"((?:[^"\\]|\\.)*)"|(-?)(\/(?:[^/\\]|\\.)*\/i?)|(\S+)/g;
  let negate = false;
  for (const match of text.matchAll(re)) {
    if (match[2] !== undefined) {
      if (!match[1] && !negate) terms.push(match[2].replace(/\\(.)/g, '$1'));
      negate = false;
      continue;
    }
    if (match[4] !== undefined) {
      negate = false;
      continue;
    }
    const word = (match[5] ?? '').replace(/^\(+|\)+$/g, '');
    if (word === 'NOT') {
      negate = true;
      continue;
    }
    if (word === 'AND' || word === 'OR' || word === '' || word === '*') continue;
    const wasNegated = negate;
    negate = false;
    if (wasNegated || word.startsWith('-') || /^[A-Za-z_@][A-Za-z0-9_.@-]*:/.test(word)) continue;
    const plain = word.replace(/\*$/, '').replace(/\\(.)/g, '$1');
    if (plain !== '') terms.push(plain);
  }
  return terms;
}
