/**
 * Host and file pickers: checkbox lists with line counts and last-seen, in dropdowns. At
 * most one dropdown is open (the query bar holds which); an outside click or Esc closes it.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { FileEntry, HostEntry } from '../../src/protocol/api.js';
import { formatAge, formatBytes, formatCount } from '../format.js';

export interface DropdownProps {
  testId: string;
  label: string;
  title: string;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  children: ComponentChildren;
}

/** A button and its menu; closes on a click outside it or Esc (focus back on the button). */
export function Dropdown({ testId, label, title, open, onOpenChange, children }: DropdownProps) {
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return undefined;
    const onPointer = (event: Event): void => {
      if (root.current && event.target instanceof Node && !root.current.contains(event.target)) onOpenChange(false);
    };
    const onKey = (event: KeyboardEvent): void => {
      if (event.key !== 'Escape') return;
      event.stopPropagation();
      onOpenChange(false);
      button.current?.focus();
    };
    document.addEventListener('pointerdown', onPointer, true);
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('pointerdown', onPointer, true);
      document.removeEventListener('keydown', onKey, true);
    };
  }, [open, onOpenChange]);
  return (
    <div class={open ? 'picker open' : 'picker'} data-testid={testId} ref={root}>
      <button type="button" class="picker-button" ref={button} title={title} aria-haspopup="true" aria-expanded={open} onClick={() => onOpenChange(!open)}>
        {label}
      </button>
      {open ? <div class="picker-menu">{children}</div> : null}
    </div>
  );
}

type Open = { open: boolean; onOpenChange: (open: boolean) => void };

function toggle(list: string[], value: string, on: boolean): string[] {
  const without = list.filter((item) => item !== value);
  return on ? [...without, value] : without;
}

function summary(label: string, selected: string[]): string {
  if (selected.length === 0) return `All ${label}`;
  if (selected.length === 1) return selected[0] ?? '';
  return `${selected.length} ${label}`;
}

/** Past this many hosts the host list shows the first ones only; the search box finds the rest. */
const HOSTS_SHOWN = 200;

export function HostPicker(props: { hosts: HostEntry[]; selected: string[]; onChange: (hosts: string[]) => void; now: number } & Open) {
  const { hosts, selected, onChange, now } = props;
  const [find, setFind] = useState('');
  const findBox = useRef<HTMLInputElement>(null);
  // Opening the list puts the cursor in its search box: type a few letters of the host.
  useEffect(() => {
    if (props.open) findBox.current?.focus();
  }, [props.open]);
  const needle = find.trim().toLowerCase();
  const matching = needle === '' ? hosts : hosts.filter((host) => host.host.toLowerCase().includes(needle));
  // Picked hosts stay in view whatever the search, so they can be unticked.
  const shown = [...hosts.filter((h) => selected.includes(h.host) && !matching.includes(h)), ...matching].slice(0, HOSTS_SHOWN);
  return (
    <Dropdown testId="host-picker" label={summary('hosts', selected)} title="Hosts to search" open={props.open} onOpenChange={props.onOpenChange}>
        <input
          type="search"
          class="picker-find"
          aria-label="Find host"
          placeholder={`Find among ${hosts.length} hosts`}
          ref={findBox}
          value={find}
          onInput={(e) => setFind(e.currentTarget.value)}
        />
        <button type="button" class="link" disabled={selected.length === 0} onClick={() => onChange([])}>
          All hosts
        </button>
        {hosts.length === 0 ? <p class="muted">No host has sent lines yet.</p> : null}
        {hosts.length > 0 && matching.length === 0 ? <p class="muted">No host name contains “{find.trim()}”.</p> : null}
        {shown.map((host) => (
          <label key={host.host} class="picker-item">
            <input type="checkbox" checked={selected.includes(host.host)} onChange={(e) => onChange(toggle(selected, host.host, e.currentTarget.checked))} />
            <span class="picker-name">{host.host}</span>
            <span class="picker-meta" title={`${host.lines} lines, ${formatBytes(host.bytes)}, last seen ${host.last_seen ?? 'never'}`}>
              {formatCount(host.lines)} lines · {formatAge(host.last_seen, now)}
            </span>
          </label>
        ))}
        {matching.length > shown.length ? <p class="muted">{matching.length - shown.length} more: type to narrow.</p> : null}
    </Dropdown>
  );
}

/** Files of the chosen hosts, merged by filename (the API filters files by name). */
export interface FileChoice {
  filename: string;
  lines: number;
  lastSeen: string | null;
  /** Bytes the agent still has to send, summed over hosts; null when none reported a size. */
  lagBytes: number | null;
  hosts: string[];
}

export function mergeFiles(files: FileEntry[]): FileChoice[] {
  const byName = new Map<string, FileChoice>();
  for (const file of files) {
    const seen = byName.get(file.filename);
    if (!seen) {
      byName.set(file.filename, { filename: file.filename, lines: file.lines, lastSeen: file.last_seen, lagBytes: file.lag_bytes, hosts: [file.host] });
      continue;
    }
    seen.lines += file.lines;
    if (file.last_seen && (!seen.lastSeen || file.last_seen > seen.lastSeen)) seen.lastSeen = file.last_seen;
    if (file.lag_bytes !== null) seen.lagBytes = (seen.lagBytes ?? 0) + file.lag_bytes;
    seen.hosts.push(file.host);
  }
  return [...byName.values()].sort((a, b) => a.filename.localeCompare(b.filename));
}

export function FilePicker(props: { files: FileChoice[]; selected: string[]; onChange: (files: string[]) => void; now: number; needsHost: boolean } & Open) {
  const { files, selected, onChange, now, needsHost } = props;
  return (
    <Dropdown testId="file-picker" label={summary('files', selected)} title="Files to search" open={props.open} onOpenChange={props.onOpenChange}>
        <button type="button" class="link" disabled={selected.length === 0} onClick={() => onChange([])}>
          All files
        </button>
        {needsHost ? <p class="muted">Pick a host first: with this many hosts, files are listed for the hosts picked.</p> : files.length === 0 ? <p class="muted">No files.</p> : null}
        {files.map((file) => (
          <label key={file.filename} class="picker-item">
            <input type="checkbox" checked={selected.includes(file.filename)} onChange={(e) => onChange(toggle(selected, file.filename, e.currentTarget.checked))} />
            <span class="picker-name">{file.filename}</span>
            <span class="picker-meta" title={`on ${file.hosts.join(', ')}`}>
              {formatCount(file.lines)} lines · {formatAge(file.lastSeen, now)}
              {file.lagBytes ? ` · ${formatBytes(file.lagBytes)} behind` : ''}
            </span>
          </label>
        ))}
    </Dropdown>
  );
}
