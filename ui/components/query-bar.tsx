/**
 * The search controls. Typing edits a draft that Enter (or Search) applies; toggles,
 * pickers and range presets apply at once, keeping whatever is typed. A query the server
 * refuses is shown under the box with the offending character marked.
 */
import type { Ref } from 'preact';
import { useCallback, useState } from 'preact/hooks';
import type { HostEntry } from '../../src/protocol/api.js';
import type { QueryProblem } from '../api.js';
import { formatTime, fromLocalInput, toLocalInput } from '../format.js';
import { type Query, RANGE_PRESETS } from '../query.js';
import { Dropdown, type FileChoice, FilePicker, HostPicker } from './pickers.js';

export interface QueryBarProps {
  query: Query;
  onApply: (query: Query) => void;
  hosts: HostEntry[];
  files: FileChoice[];
  /** Too many hosts to list every file: the file picker waits for a host. */
  filesNeedHost: boolean;
  filterInput: Ref<HTMLInputElement>;
  now: number;
  problem: QueryProblem | undefined;
}

const PRESET_LABELS: Record<string, string> = { '15m': 'Last 15 minutes', '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days', all: 'All time', custom: 'From … to …' };

type Menu = 'hosts' | 'files' | 'range' | 'help' | undefined;

const SYNTAX: Array<[string, string]> = [
  ['timeout', 'lines containing the word (any case unless Aa)'],
  ['"connection reset"', 'a phrase'],
  ['error api', 'both (AND is implied)'],
  ['failed OR failure', 'either'],
  ['-healthz  NOT healthz', 'without'],
  ['(api OR web) -ping', 'grouping'],
  ['level:error', 'a field equals a value'],
  ['service:api*', 'a field starts with'],
  ['status:>=500', 'a numeric comparison'],
  ['user:*', 'the field exists'],
  ['/fail(ed|ure)/', 'a regular expression'],
  ['path:/^\\/api/', "a field's value matches"],
];

/** The refused text with the character the server named marked (a space past the end). */
function ProblemView({ text, problem }: { text: string; problem: QueryProblem }) {
  const at = problem.position;
  const marked = at !== undefined && at >= 0 && at <= text.length;
  return (
    <div class="query-problem" role="alert" data-testid="query-problem">
      {marked ? (
        <code class="query-echo" aria-hidden="true">
          {text.slice(0, at)}
          <span class="at" data-testid="query-problem-at">
            {text.slice(at, at + 1) || ' '}
          </span>
          {text.slice(at + 1)}
        </code>
      ) : null}
      <span class="query-problem-text">
        {problem.message}
        {marked ? ` (at character ${at + 1})` : ''}
      </span>
    </div>
  );
}

export function QueryBar({ query, onApply, hosts, files, filesNeedHost, filterInput, now, problem }: QueryBarProps) {
  // Drafts start from the applied query. The explorer remounts this bar when the query
  // changes from outside (back button), so nothing here ever overwrites what is being typed.
  const [text, setText] = useState(query.text);
  const [from, setFrom] = useState(toLocalInput(query.since));
  const [to, setTo] = useState(toLocalInput(query.until));
  const [menu, setMenu] = useState<Menu>(undefined);
  const custom = `${query.since}|${query.until}`;
  const [appliedRange, setAppliedRange] = useState(custom);
  // A range applied from elsewhere (a drag on the histogram) replaces the range drafts.
  if (appliedRange !== custom) {
    setAppliedRange(custom);
    setFrom(toLocalInput(query.since));
    setTo(toLocalInput(query.until));
  }
  const [appliedText, setAppliedText] = useState(query.text);
  // A term added from elsewhere (the field sidebar) replaces the draft.
  if (appliedText !== query.text) {
    setAppliedText(query.text);
    setText(query.text);
  }
  const opener = useCallback((which: Exclude<Menu, undefined>) => (open: boolean) => setMenu((current) => (open ? which : current === which ? undefined : current)), []);
  const hostsOpen = useCallback(opener('hosts'), [opener]);
  const filesOpen = useCallback(opener('files'), [opener]);
  const rangeOpen = useCallback(opener('range'), [opener]);
  const helpOpen = useCallback(opener('help'), [opener]);

  const apply = (change: Partial<Query>): void => {
    const next: Query = { ...query, text, ...change };
    if (next.preset === 'custom' && change.since === undefined) {
      next.since = fromLocalInput(from);
      next.until = fromLocalInput(to);
    }
    if (next.preset !== 'custom') {
      next.since = '';
      next.until = '';
    }
    onApply(next);
  };

  // A custom range starts as the last hour, to be edited (in its dropdown) and applied.
  const choosePreset = (preset: Query['preset']): void => {
    if (preset !== 'custom') return apply({ preset });
    const until = new Date().toISOString();
    const since = new Date(Date.now() - 3_600_000).toISOString();
    apply({ preset, since, until });
    setMenu('range');
  };

  const rangeLabel = (): string => {
    const since = query.since === '' ? '…' : formatTime(query.since, 'min');
    const until = query.until === '' ? 'now' : formatTime(query.until, 'min');
    // The second date is shortened to its time when it is the same day.
    return `${since} → ${until.slice(0, 10) === since.slice(0, 10) ? until.slice(11) : until}`;
  };

  const shownProblem = problem && text === query.text ? problem : undefined;
  return (
    <form
      class="query-bar"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        // The box itself, not the draft: a value set without an input event still counts.
        const box = event.currentTarget.elements.namedItem('q');
        const range = menu === 'range';
        setMenu(undefined);
        apply({ ...(box instanceof HTMLInputElement ? { text: box.value } : {}), ...(range ? { preset: 'custom' as const } : {}) });
      }}
    >
      <div class="filter-group">
        <div class="filter-box">
          <input
            ref={filterInput}
            class={shownProblem ? 'filter invalid' : 'filter'}
            type="search"
            name="q"
            placeholder={query.regex ? 'Regular expression   ( / to focus )' : 'Search: words, "phrases", field:value, -exclude, OR   ( / to focus )'}
            aria-label={query.regex ? 'Regular expression to search' : 'Search query'}
            aria-invalid={shownProblem ? true : undefined}
            value={text}
            onInput={(event) => setText(event.currentTarget.value)}
            autoComplete="off"
            spellcheck={false}
          />
          {shownProblem ? <ProblemView text={text} problem={shownProblem} /> : null}
        </div>
        <button
          type="button"
          class={query.caseSensitive ? 'toggle on' : 'toggle'}
          aria-pressed={query.caseSensitive}
          aria-label="Match case"
          title="Match case"
          onClick={() => apply({ caseSensitive: !query.caseSensitive })}
        >
          Aa
        </button>
        <button
          type="button"
          class={query.regex ? 'toggle on' : 'toggle'}
          aria-pressed={query.regex}
          aria-label="Regular expression"
          title="Regular expression: the box is one regex instead of a query"
          onClick={() => apply({ regex: !query.regex })}
        >
          .*
        </button>
        <Dropdown testId="query-help" label="?" title="Query syntax" open={menu === 'help'} onOpenChange={helpOpen}>
          <table class="syntax" aria-label="Query syntax">
            <tbody>
              {SYNTAX.map(([example, meaning]) => (
                <tr key={example}>
                  <td>
                    <code>{example}</code>
                  </td>
                  <td>{meaning}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted small">
            Operators are upper-case. Click a field's value in the sidebar to add it (+) or exclude it (−). More in docs/query.md.
          </p>
        </Dropdown>
        <button type="submit" class="primary">
          Search
        </button>
      </div>
      <div class="scope-group">
        <HostPicker hosts={hosts} selected={query.hosts} onChange={(selected) => apply({ hosts: selected })} now={now} open={menu === 'hosts'} onOpenChange={hostsOpen} />
        <FilePicker files={files} selected={query.files} onChange={(selected) => apply({ files: selected })} now={now} needsHost={filesNeedHost} open={menu === 'files'} onOpenChange={filesOpen} />
        <select
          aria-label="Time range"
          value={query.preset}
          disabled={query.live}
          title={query.live ? 'Live tail shows lines as they arrive: the time range applies to searches' : 'Time range'}
          onChange={(event) => choosePreset(event.currentTarget.value as Query['preset'])}
        >
          {[...RANGE_PRESETS, 'custom'].map((preset) => (
            <option key={preset} value={preset}>
              {PRESET_LABELS[preset]}
            </option>
          ))}
        </select>
        {query.preset === 'custom' && !query.live ? (
          <Dropdown testId="range-picker" label={rangeLabel()} title="Edit the time range" open={menu === 'range'} onOpenChange={rangeOpen}>
            <label class="range-field">
              From
              <input type="datetime-local" step={1} aria-label="From" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
            </label>
            <label class="range-field">
              To
              <input type="datetime-local" step={1} aria-label="To" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
            </label>
            <button type="submit" class="primary">
              Apply
            </button>
          </Dropdown>
        ) : null}
      </div>
    </form>
  );
}
