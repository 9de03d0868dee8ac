/**
 * The search controls. Typing edits a draft that Enter (or Search) applies; toggles,
 * pickers and range presets apply at once, keeping whatever is typed.
 */
import type { Ref } from 'preact';
import { useState } from 'preact/hooks';
import type { HostEntry } from '../../src/protocol/api.js';
import { fromLocalInput, toLocalInput } from '../format.js';
import { type Query, RANGE_PRESETS } from '../query.js';
import { type FileChoice, FilePicker, HostPicker } from './pickers.js';

export interface QueryBarProps {
  query: Query;
  onApply: (query: Query) => void;
  hosts: HostEntry[];
  files: FileChoice[];
  filterInput: Ref<HTMLInputElement>;
  now: number;
}

const PRESET_LABELS: Record<string, string> = { '15m': 'Last 15 minutes', '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days', all: 'All time', custom: 'From … to …' };

export function QueryBar({ query, onApply, hosts, files, filterInput, now }: QueryBarProps) {
  // Drafts start from the applied query. The explorer remounts this bar when the query
  // changes from outside (back button), so nothing here ever overwrites what is being typed.
  const [text, setText] = useState(query.text);
  const [from, setFrom] = useState(toLocalInput(query.since));
  const [to, setTo] = useState(toLocalInput(query.until));
  const custom = `${query.since}|${query.until}`;
  const [appliedRange, setAppliedRange] = useState(custom);
  // A range applied from elsewhere (a drag on the histogram) replaces the range drafts.
  if (appliedRange !== custom) {
    setAppliedRange(custom);
    setFrom(toLocalInput(query.since));
    setTo(toLocalInput(query.until));
  }

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

  // A custom range starts as the last hour, to be edited and applied with Enter.
  const choosePreset = (preset: Query['preset']): void => {
    if (preset !== 'custom') return apply({ preset });
    const until = new Date().toISOString();
    const since = new Date(Date.now() - 3_600_000).toISOString();
    apply({ preset, since, until });
  };

  return (
    <form
      class="query-bar"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        // The box itself, not the draft: a value set without an input event still counts.
        const box = event.currentTarget.elements.namedItem('filter');
        apply(box instanceof HTMLInputElement ? { text: box.value } : {});
      }}
    >
      <div class="filter-group">
        <input
          ref={filterInput}
          class="filter"
          type="search"
          name="filter"
          placeholder={query.regex ? 'Regular expression   ( / to focus )' : 'Filter: text the line contains   ( / to focus )'}
          aria-label={query.regex ? 'Regular expression' : 'Filter text'}
          value={text}
          onInput={(event) => setText(event.currentTarget.value)}
          autoComplete="off"
          spellcheck={false}
        />
        <button
          type="button"
          class={query.caseInsensitive ? 'toggle' : 'toggle on'}
          aria-pressed={!query.caseInsensitive}
          title="Match case"
          onClick={() => apply({ caseInsensitive: !query.caseInsensitive })}
        >
          Aa
        </button>
        <button type="button" class={query.regex ? 'toggle on' : 'toggle'} aria-pressed={query.regex} title="Regular expression" onClick={() => apply({ regex: !query.regex })}>
          .*
        </button>
        <button type="submit" class="primary">
          Search
        </button>
      </div>
      <div class="scope-group">
        <HostPicker hosts={hosts} selected={query.hosts} onChange={(selected) => apply({ hosts: selected })} now={now} />
        <FilePicker files={files} selected={query.files} onChange={(selected) => apply({ files: selected })} now={now} />
        <select aria-label="Time range" value={query.preset} onChange={(event) => choosePreset(event.currentTarget.value as Query['preset'])}>
          {[...RANGE_PRESETS, 'custom'].map((preset) => (
            <option key={preset} value={preset}>
              {PRESET_LABELS[preset]}
            </option>
          ))}
        </select>
        {query.preset === 'custom' ? (
          <span class="custom-range">
            <input type="datetime-local" step={1} aria-label="From" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
            <span aria-hidden="true">→</span>
            <input type="datetime-local" step={1} aria-label="To" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
          </span>
        ) : null}
      </div>
    </form>
  );
}
