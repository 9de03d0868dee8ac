/**
 * Real journal files for tests: entries written in journalctl's export format and piped to
 * Debian's `systemd-journal-remote` (package systemd-journal-remote), which writes a
 * journal file as journald does. Entries carry the running boot's id, so `journalctl
 * --follow` follows them. Running it again on the same file appends (the file keeps its
 * sequence number id and numbering).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';

/** Both tools are there (journalctl and journal-remote). */
export const haveJournalTools = existsSync(JOURNAL_REMOTE) && spawnSync('journalctl', ['--version']).status === 0;

export const bootId = (): string => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '');

export interface TestEntry {
  /** Text, or bytes (written as a binary field: any bytes, newlines, invalid UTF-8). */
  message: string | Buffer;
  unit?: string;
  identifier?: string;
  pid?: number;
  priority?: number;
  /** Microseconds since the epoch (default: now, increasing). */
  realtimeUs?: number;
  /** More fields, written as text. */
  extra?: Record<string, string>;
}

let monotonic = 1_000_000;
let lastRealtime = 0;

function textField(key: string, value: string): Buffer {
  return Buffer.from(`${key}=${value}\n`, 'utf8');
}

function binaryField(key: string, value: Buffer): Buffer {
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(value.length));
  return Buffer.concat([Buffer.from(`${key}\n`), size, value, Buffer.from('\n')]);
}

/** The entries in export format (what journalctl -o export prints and journal-remote reads). */
export function exportFormat(entries: TestEntry[]): Buffer {
  const boot = bootId();
  const parts: Buffer[] = [];
  for (const e of entries) {
    const realtime = e.realtimeUs ?? Math.max(Date.now() * 1000, lastRealtime + 1);
    lastRealtime = Math.max(lastRealtime, realtime);
    parts.push(textField('__REALTIME_TIMESTAMP', String(realtime)), textField('__MONOTONIC_TIMESTAMP', String(++monotonic)), textField('_BOOT_ID', boot));
    parts.push(typeof e.message === 'string' && !e.message.includes('\n') ? textField('MESSAGE', e.message) : binaryField('MESSAGE', Buffer.from(e.message)));
    if (e.priority !== undefined) parts.push(textField('PRIORITY', String(e.priority)));
    if (e.unit !== undefined) parts.push(textField('_SYSTEMD_UNIT', e.unit));
    if (e.identifier !== undefined) parts.push(textField('SYSLOG_IDENTIFIER', e.identifier));
    if (e.pid !== undefined) parts.push(textField('_PID', String(e.pid)));
    for (const [k, v] of Object.entries(e.extra ?? {})) parts.push(textField(k, v));
    parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Appends the entries to the journal file `file` (made when missing). */
export function writeJournal(file: string, entries: TestEntry[]): void {
  const run = spawnSync(JOURNAL_REMOTE, ['-o', file, '-'], { input: exportFormat(entries), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`systemd-journal-remote failed (${String(run.status)}): ${run.stderr}`);
}

/**
 * An entry with this many distinct field names fills the file's field hash table: the next
 * entry written makes journal-remote rotate the file (archived as `name@…journal`), as
 * journald rotates a full file. The new file keeps the sequence numbers going.
 */
export function fullFieldTable(message: string): TestEntry {
  const extra: Record<string, string> = {};
  for (let i = 0; i < 260; i++) extra[`FILL_${String(i).padStart(3, '0')}`] = 'x';
  return { message, extra };
}
