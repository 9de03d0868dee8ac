/**
 * The systemd journal as an input: `journalctl -o export` (the system journal, or
 * `--directory DIR`), with `--follow` while tailing, resumed at the saved cursor.
 *
 * Each entry becomes one line: time from `__REALTIME_TIMESTAMP`, text from `MESSAGE`,
 * filename `journal/<unit>` (else `journal/<identifier>`, else `journal/<comm>`), fields
 * `unit`, `identifier`, `pid` and `level` (from PRIORITY). Its identity for Daniel is
 * `journal:<seqnum id>:<unit or identifier>` and its offset the entry's sequence number
 * (end: the number + 1): journald numbers the entries of one journal in order, so every
 * identity's offsets ascend and Daniel recognises an entry sent again by (host, identity,
 * sequence number). (One identity per unit rather than per journal: Daniel keeps one file
 * name per identity and request.)
 *
 * Exactly once: the cursor of a batch's last entry goes into its spool record; the
 * checkpoints take it only once Daniel acknowledged the record. A restart reads again from
 * the last cursor spooled (or saved): with `--cursor`, so that the first entry shown is that
 * entry itself when it is still in the journal, and is skipped. When it is not, the journal
 * was vacuumed (or its files removed) past the cursor: the entries in between are gone before
 * Henrik read them, which is logged with their sequence numbers, and reading goes on from
 * the oldest entry left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { MAX_NAME_BYTES } from '../../protocol/names.js';
import type { AgentInput, InputHost } from '../input.js';
import { fieldsJson, InputBatcher, type InputGroup, type InputLine } from '../input-batcher.js';
import { sha256Hex } from '../sha256.js';
import { wireName, wirePath } from '../tailer/names.js';
import { ExportParser, type ExportEntry } from './export-parser.js';

/** syslog / journald PRIORITY 0..7 as Daniel's level names. */
export const PRIORITY_LEVELS = ['emergency', 'alert', 'critical', 'error', 'warn', 'notice', 'info', 'debug'] as const;

export interface JournalSource {
  /** A directory of journal files (`journalctl --directory`); absent: the system journal. */
  directory?: string;
  /** Only these units (`journalctl --unit`, each a name or a glob). */
  units?: string[];
  /** Only this priority and more urgent, or a range (`journalctl --priority`): `warning`, `0..4`. */
  priority?: string;
}

export interface JournalInputOptions {
  host: string;
  maxLineBytes: number;
  batchMaxLines: number;
  batchMaxBytes: number;
  flushIntervalMs: number;
  /** The journalctl to run (default `journalctl` from PATH). */
  journalctl?: string;
  /** Waits before journalctl is started again after it ended while following. */
  restartMs?: number;
}

/** The key of a source's position in the checkpoints. */
export function journalKey(source: JournalSource): string {
  return source.directory === undefined ? 'journal' : `journal-dir:${path.resolve(source.directory)}`;
}

interface Group extends InputGroup {
  /** The sequence number after the last entry batched: later ones must not be below it. */
  lastEnd: number;
  seqnumId: string;
  name: string;
  /** The fields' JSON by pid, then priority + 1 (+ 9 when truncated), for entries of `fieldsIdentifier`: entries of a unit mostly repeat them. */
  fields: Map<string, Array<string | undefined>>;
  fieldsIdentifier: string | undefined;
}

export class JournalInput implements AgentInput {
  readonly key: string;
  readonly description: string;
  readonly ended: Promise<void> = new Promise<void>(() => {});
  private readonly parser: ExportParser;
  private readonly batcher: InputBatcher;
  private readonly groups = new Map<string, Map<string, Group>>();
  private lastGroup: Group | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  /** Cursor of the last entry handed to the batcher: where reading resumes. */
  private position: string | undefined;
  /** The entry a `--cursor` start should show first (and that is skipped). */
  private expectFirst: string | undefined;
  private paused = false;
  private stopped = false;
  private following = false;
  private caughtUp = false;
  private chunkSeq = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private outOfOrderLogged = 0;
  private readonly pathName: string;
  /** Entries read (tests, the bench). */
  entries = 0;

  get linesRead(): number {
    return this.entries;
  }

  constructor(
    private readonly source: JournalSource,
    private readonly host: InputHost,
    private readonly options: JournalInputOptions,
    /** Where to resume: the last cursor spooled or acknowledged before. */
    resumeAt: string | undefined,
  ) {
    this.key = journalKey(source);
    this.description = source.directory === undefined ? 'journal' : `journal:${path.resolve(source.directory)}`;
    this.pathName = source.directory === undefined ? '' : wirePath(path.resolve(source.directory));
    this.position = resumeAt;
    this.parser = new ExportParser({ maxMessageBytes: options.maxLineBytes });
    this.batcher = new InputBatcher(
      { host: options.host, maxLines: options.batchMaxLines, maxBytes: options.batchMaxBytes, flushIntervalMs: options.flushIntervalMs },
      (batch) => host.seal(batch, this.key, this.position),
    );
  }

  start(): void {
    this.following = true;
    void this.spawnReader();
  }

  async readOnce(): Promise<boolean> {
    this.following = false;
    const exited = this.spawnReader();
    const code = await exited;
    this.batcher.flush();
    if (code !== 0) this.host.log(`${this.description}: journalctl exited with status ${String(code)}`);
    return code === 0;
  }

  async stop(flush: boolean): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(flush ? 'SIGTERM' : 'SIGKILL');
    await this.exited;
    if (flush) this.batcher.flush();
    this.batcher.stop();
  }

  roomMade(): void {
    if (this.paused && this.host.hasRoom()) {
      this.paused = false;
      this.child?.stdout?.resume();
    }
    this.idle();
  }

  idle(): void {
    if (this.caughtUp && this.batcher.pendingLines > 0 && this.host.idle()) this.batcher.flush();
  }

  private args(): string[] {
    const s = this.source;
    const args = ['-o', 'export', '--no-pager', '--no-tail'];
    if (s.directory !== undefined) args.push('--directory', s.directory);
    for (const unit of s.units ?? []) args.push('--unit', unit);
    if (s.priority !== undefined) args.push('--priority', s.priority);
    if (this.following) args.push('--follow');
    if (this.position !== undefined) args.push('--cursor', this.position);
    return args;
  }

  /** Starts journalctl at the position; resolves with its exit status once its output is read. */
  private spawnReader(): Promise<number | null> {
    this.parser.reset();
    this.expectFirst = this.position;
    this.paused = false;
    const child = spawn(this.options.journalctl ?? 'journalctl', this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const stdout = child.stdout;
    stdout.on('data', (chunk: Buffer) => this.onChunk(chunk));
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr += text;
      const lines = stderr.split('\n');
      stderr = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.host.log(`${this.description}: journalctl: ${line.trim()}`);
    });
    const exited = new Promise<number | null>((resolve) => {
      let spawnFailed = false;
      child.once('error', (err: NodeJS.ErrnoException) => {
        spawnFailed = true;
        const hint = err.code === 'ENOENT' ? ' (journalctl is not installed: install systemd, or pass --journal-dir on a machine that has it)' : '';
        this.host.log(`${this.description}: cannot run journalctl: ${err.message}${hint}`);
        resolve(null);
      });
      child.once('close', (code) => {
        if (!spawnFailed) resolve(code);
      });
    });
    this.exited = exited;
    void exited.then((code) => {
      if (this.child === child) this.child = undefined;
      if (this.stopped || !this.following) return;
      // journalctl ended while following (the directory went away, it was killed): start it
      // again after the last entry read.
      const wait = this.options.restartMs ?? 5000;
      this.host.log(`${this.description}: journalctl ended (status ${String(code)}); starting it again in ${wait} ms after the last entry read`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.stopped) void this.spawnReader();
      }, wait);
    });
    return exited;
  }

  private onChunk(chunk: Buffer): void {
    this.caughtUp = false;
    const seq = ++this.chunkSeq;
    this.parser.push(chunk, (entry) => this.onEntry(entry));
    if (!this.host.hasRoom() && !this.paused) {
      this.paused = true;
      this.child?.stdout?.pause();
    }
    // No more output queued behind this chunk: the reader has caught up.
    setImmediate(() => {
      if (seq !== this.chunkSeq || this.paused) return;
      this.caughtUp = true;
      this.idle();
    });
  }

  private onEntry(entry: ExportEntry): void {
    if (this.expectFirst !== undefined) {
      const expected = this.expectFirst;
      this.expectFirst = undefined;
      if (sameEntry(expected, entry)) return;
      this.sayGap(expected, entry);
    }
    this.entries++;
    const name = entry.unit ?? entry.identifier ?? entry.comm ?? 'unknown';
    const group = this.groupFor(entry.seqnumId, name);
    const offset = entry.seqnum;
    if (offset < group.lastEnd) {
      // Daniel would take it for one it has: say so rather than let it pass unnoticed.
      if (this.outOfOrderLogged++ < 10) {
        this.host.log(`${this.description}: entry ${entry.cursor} comes after a later one of the same journal (seqnum ${offset} < ${group.lastEnd}); it is not shipped (a copy of a journal file in the directory?)`);
      }
      this.position = entry.cursor;
      return;
    }
    group.lastEnd = offset + 1;
    const line: InputLine = { offset, end: offset + 1, timestamp: nsOf(entry.realtime), text: entry.message ?? '', fieldsJson: this.fieldsOf(group, entry) };
    this.position = entry.cursor;
    this.batcher.add(group, line);
  }

  private fieldsOf(group: Group, entry: ExportEntry): string {
    // By identifier (mostly one per unit), then pid, then priority and truncation: no key
    // string made per entry.
    if (entry.identifier !== group.fieldsIdentifier || group.fields.size >= 256) {
      group.fields.clear();
      group.fieldsIdentifier = entry.identifier;
    }
    const pid = entry.pid ?? '';
    let byLevel = group.fields.get(pid);
    if (byLevel === undefined) {
      byLevel = [];
      group.fields.set(pid, byLevel);
    }
    const slot = entry.priority + 1 + (entry.truncated ? 9 : 0);
    let json = byLevel[slot];
    if (json === undefined) {
      const fields: Array<[string, string]> = [];
      if (entry.unit !== undefined) fields.push(['unit', entry.unit]);
      if (entry.identifier !== undefined) fields.push(['identifier', entry.identifier]);
      if (entry.pid !== undefined) fields.push(['pid', entry.pid]);
      if (entry.priority >= 0) fields.push(['level', PRIORITY_LEVELS[entry.priority] as string]);
      if (entry.truncated) fields.push(['truncated', 'true']);
      json = fieldsJson(fields);
      byLevel[slot] = json;
    }
    return json;
  }

  private groupFor(seqnumId: string, name: string): Group {
    const last = this.lastGroup;
    if (last !== undefined && last.seqnumId === seqnumId && last.name === name) return last;
    // By journal, then name: the parser hands back the same strings, whose hashes V8 keeps.
    let byName = this.groups.get(seqnumId);
    if (byName === undefined) {
      byName = new Map();
      this.groups.set(seqnumId, byName);
    }
    let group = byName.get(name);
    if (group === undefined) {
      let id = `journal:${seqnumId}:${name}`;
      if (Buffer.byteLength(id, 'utf8') > MAX_NAME_BYTES) id = `journal:${seqnumId}:~${sha256Hex(name).slice(0, 32)}`;
      group = { id: wireName(id), filename: wireName(`journal/${name}`), path: this.pathName, lastEnd: 0, seqnumId, name, fields: new Map(), fieldsIdentifier: undefined };
      byName.set(name, group);
    }
    this.lastGroup = group;
    return group;
  }

  private sayGap(expected: string, first: ExportEntry): void {
    const saved = parseCursor(expected);
    const where = `the saved position (${expected}) is no longer in the journal: it was vacuumed or its files removed while Henrik was behind`;
    if (saved !== undefined && saved.seqnumId === first.seqnumId && first.seqnum > saved.seqnum + 1) {
      this.host.log(`${this.description}: ${where}; entries ${saved.seqnum + 1}..${first.seqnum - 1} of journal ${saved.seqnumId} were removed before they were read (up to ${first.seqnum - saved.seqnum - 1} entries lost); reading goes on at entry ${first.seqnum}`);
    } else {
      this.host.log(`${this.description}: ${where}; reading goes on at the oldest entry after it (${first.cursor}); entries removed in between were not read`);
    }
  }
}

/** `s=` and `i=` of a cursor. */
export function parseCursor(cursor: string): { seqnumId: string; seqnum: number } | undefined {
  const m = /(?:^|;)s=([0-9a-f]{32});i=([0-9a-f]{1,13})(?:;|$)/.exec(cursor);
  if (m === null) return undefined;
  return { seqnumId: m[1] as string, seqnum: parseInt(m[2] as string, 16) };
}

function sameEntry(cursor: string, entry: ExportEntry): boolean {
  if (cursor === entry.cursor) return true;
  const c = parseCursor(cursor);
  return c !== undefined && c.seqnumId === entry.seqnumId && c.seqnum === entry.seqnum;
}

/** µs digits -> ns digits (the wire's decimal string). */
function nsOf(realtime: string | undefined): string {
  if (realtime === undefined || realtime.length === 0 || realtime.length > 16 || !isDigits(realtime)) return String(Date.now() * 1_000_000);
  return realtime === '0' ? '0' : `${realtime}000`;
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
