/**
 * Text output of the CLI. Log content is untrusted: control characters, ANSI escape
 * sequences and bidi overrides are shown as visible escapes (`\x1b[31m`), never sent raw to
 * the terminal, where they could recolour, move the cursor or retitle the window.
 */
import { domainToASCII } from 'node:url';
import type { FileEntry, HostEntry, LogEntry } from '../protocol/api.js';

// C0 (except tab), DEL, C1, the bidi controls that can reorder what a terminal shows, and
// every invisible character (format characters: zero-width, BOM, soft hyphen; the Hangul
// fillers and variation selectors that render as nothing), so two names that print alike
// are told apart.
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u034f\u115f\u1160\u17b4\u17b5\u3164\ufe00-\ufe0f\uffa0\u2028\u2029]|\p{Cf}/gu;

export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    const code = ch.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** A host name as the CLI shows it: escaped, and non-ASCII names flagged with their ASCII form. */
export function showHost(host: string): string {
  const escaped = escapeForTerminal(host);
  if (/^[\x20-\x7e]*$/.test(host)) return escaped;
  const ascii = domainToASCII(host.toLowerCase());
  return `${escaped} [non-ASCII${ascii === '' ? '' : `: ${ascii}`}]`;
}

/** `2021-12-14T18:54:12.0629189Z andynewman syslog: Line one`; `-` instead of `:` marks a context line. */
export function formatLogLine(entry: LogEntry, marker: ':' | '-' = ':', showFields = false): string {
  const cut = entry.cut === true ? ' [cut]' : '';
  const text = `${entry.timestamp} ${escapeForTerminal(entry.host)} ${escapeForTerminal(entry.filename)}${marker} ${escapeForTerminal(entry.logline)}${cut}`;
  if (!showFields || entry.fields === undefined) return text;
  const pairs = Object.entries(entry.fields).map(([name, value]) => `${escapeForTerminal(name)}=${/[\s"]/.test(value) || value === '' ? JSON.stringify(value) : value}`);
  return `${text}\n    ${escapeForTerminal(pairs.join(' '))}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatHosts(hosts: HostEntry[]): string {
  if (hosts.length === 0) return 'no hosts yet';
  return table(
    ['HOST', 'LAST SEEN', 'LINES', 'BYTES'],
    hosts.map((h) => [showHost(h.host), h.last_seen ?? '-', String(h.lines), String(h.bytes)]),
  );
}

export function formatFiles(files: FileEntry[]): string {
  if (files.length === 0) return 'no files';
  return table(
    ['FILE', 'LAST SEEN', 'LINES', 'BYTES', 'LAG', 'PATH'],
    files.map((f) => [
      escapeForTerminal(f.filename),
      f.last_seen ?? '-',
      String(f.lines),
      String(f.bytes),
      f.lag_bytes === null ? '-' : String(f.lag_bytes),
      escapeForTerminal(f.path),
    ]),
  );
}

/** `daniel fields`: NAME and LINES; with a name, VALUE and LINES. */
export function formatCounts(header: [string, string], rows: Array<[string, number]>, note: string[]): string {
  if (rows.length === 0) return ['nothing found', ...note].join('\n');
  return [table(header, rows.map(([key, lines]) => [escapeForTerminal(key), String(lines)])), ...note].join('\n');
}
