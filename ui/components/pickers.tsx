/** Host and file pickers: checkbox lists with line counts and last-seen, in dropdowns. */
import type { FileEntry, HostEntry } from '../../src/protocol/api.js';
import { formatAge, formatBytes, formatCount } from '../format.js';

function toggle(list: string[], value: string, on: boolean): string[] {
  const without = list.filter((item) => item !== value);
  return on ? [...without, value] : without;
}

function summary(label: string, selected: string[]): string {
  if (selected.length === 0) return `All ${label}`;
  if (selected.length === 1) return selected[0] ?? '';
  return `${selected.length} ${label}`;
}

export function HostPicker(props: { hosts: HostEntry[]; selected: string[]; onChange: (hosts: string[]) => void; now: number }) {
  const { hosts, selected, onChange, now } = props;
  return (
    <details class="picker" data-testid="host-picker">
      <summary title="Hosts to search">{summary('hosts', selected)}</summary>
      <div class="picker-menu">
        <button type="button" class="link" disabled={selected.length === 0} onClick={() => onChange([])}>
          All hosts
        </button>
        {hosts.length === 0 ? <p class="muted">No host has sent lines yet.</p> : null}
        {hosts.map((host) => (
          <label key={host.host} class="picker-item">
            <input type="checkbox" checked={selected.includes(host.host)} onChange={(e) => onChange(toggle(selected, host.host, e.currentTarget.checked))} />
            <span class="picker-name">{host.host}</span>
            <span class="picker-meta" title={`${host.lines} lines, ${formatBytes(host.bytes)}, last seen ${host.last_seen ?? 'never'}`}>
              {formatCount(host.lines)} lines · {formatAge(host.last_seen, now)}
            </span>
          </label>
        ))}
      </div>
    </details>
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

export function FilePicker(props: { files: FileChoice[]; selected: string[]; onChange: (files: string[]) => void; now: number }) {
  const { files, selected, onChange, now } = props;
  return (
    <details class="picker" data-testid="file-picker">
      <summary title="Files to search">{summary('files', selected)}</summary>
      <div class="picker-menu">
        <button type="button" class="link" disabled={selected.length === 0} onClick={() => onChange([])}>
          All files
        </button>
        {files.length === 0 ? <p class="muted">No files.</p> : null}
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
      </div>
    </details>
  );
}
