/**
 * Henrik's journald input over real journal files (made with systemd-journal-remote,
 * journal-files.ts) and read by the real journalctl, shipping to the real Daniel app
 * (ingest-sink.ts): what an entry becomes, a binary MESSAGE, resuming at the cursor, and a
 * journal vacuumed past the saved cursor.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { fastAgentOptions, IngestSink } from './ingest-sink.js';
import { fullFieldTable, haveJournalTools, writeJournal, type TestEntry } from './journal-files.js';

let dir: string;
let journalDir: string;
let sink: IngestSink;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-journal-'));
  journalDir = path.join(dir, 'journal');
  mkdirSync(journalDir);
  sink = new IngestSink({ token: 'T' });
  sink.keepBodies = true;
  await sink.listen(0);
});
afterEach(async () => {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `henrik --once --journal-dir DIR`, in this process; resolves with the exit code and the log. */
async function once(): Promise<{ code: number; log: string[] }> {
  const log: string[] = [];
  const agent = await Agent.create(fastAgentOptions(sink.url, dir, { sources: [], journal: [{ directory: journalDir }], once: true, log: (event, fields = {}) => log.push(event === 'input_note' ? String(fields.message) : event) }));
  return { code: await agent.once(), log };
}

const file = (): string => path.join(journalDir, 'system.journal');

describe.skipIf(!haveJournalTools)('journald input', () => {
  it('ships each entry once: time, text (a binary MESSAGE decoded), journal/<unit> names, sequence numbers as offsets, fields', async () => {
    const t0 = 1_790_000_000_000_000;
    const entries: TestEntry[] = [
      { message: 'GET / 200', unit: 'nginx.service', identifier: 'nginx', pid: 812, priority: 3, realtimeUs: t0 },
      // Bytes that are not UTF-8 and a newline: journald keeps such a MESSAGE as a binary field.
      { message: Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x20, 0x75, 0x74, 0x66, 0x0a, 0x6e, 0x65, 0x78, 0x74]), identifier: 'kernel', priority: 4, realtimeUs: t0 + 1 },
      { message: 'trailing newline\n', unit: 'cron.service', identifier: 'CRON', pid: 77, priority: 6, realtimeUs: t0 + 2 },
      { message: 'no unit, no identifier', realtimeUs: t0 + 3 },
      { message: 'café ✓ 日本', unit: 'nginx.service', identifier: 'nginx', pid: 812, priority: 7, realtimeUs: t0 + 4 },
    ];
    writeJournal(file(), entries);
    const first = await once();
    expect(first.code, first.log.join('\n')).toBe(0);
    // Daniel stores a request's lines identity by identity: in entry order by sequence number.
    const stored = [...sink.stored].sort((a, b) => a.offset - b.offset);
    expect(stored.map((l) => [l.filename, l.line, l.timestamp])).toEqual([
      ['journal/nginx.service', 'GET / 200', `${t0}000`],
      ['journal/kernel', 'bad\ufffd\ufffd utf\nnext', `${t0 + 1}000`],
      ['journal/cron.service', 'trailing newline', `${t0 + 2}000`],
      ['journal/unknown', 'no unit, no identifier', `${t0 + 3}000`],
      ['journal/nginx.service', 'café ✓ 日本', `${t0 + 4}000`],
    ]);
    expect(stored.map((l) => [l.offset, l.end])).toEqual([1, 2, 3, 4, 5].map((n) => [n, n + 1]));
    const ids = new Set(sink.stored.map((l) => l.fileId));
    expect(ids.size).toBe(4);
    for (const id of ids) expect(id).toMatch(/^journal:[0-9a-f]{32}:(nginx\.service|kernel|cron\.service|unknown)$/);
    // The fields as sent…
    const sent = sink.bodies
      .flatMap((b) => b.files.flatMap((f) => f.lines as Array<{ offset: number; fields?: Record<string, string> }>))
      .sort((x, y) => x.offset - y.offset)
      .map((l) => l.fields);
    expect(sent).toEqual([
      { unit: 'nginx.service', identifier: 'nginx', pid: '812', level: 'error' },
      { identifier: 'kernel', level: 'warn' },
      { unit: 'cron.service', identifier: 'CRON', pid: '77', level: 'info' },
      {},
      { unit: 'nginx.service', identifier: 'nginx', pid: '812', level: 'debug' },
    ].map((f) => (Object.keys(f).length === 0 ? undefined : f)));
    // …and as Daniel stored them.
    expect(stored.map((l) => l.fields)).toEqual(sent);
    const saved = JSON.parse(readFileSync(path.join(dir, 'state', 'checkpoints.json'), 'utf8')) as { inputs: Record<string, string> };
    expect(saved.inputs[`journal-dir:${journalDir}`]).toMatch(/^s=[0-9a-f]{32};i=5;/);

    // Again: nothing new, nothing sent. Then two more entries: only they are shipped.
    const requests = sink.requests;
    expect((await once()).code).toBe(0);
    expect(sink.requests).toBe(requests);
    writeJournal(file(), [{ message: 'six', unit: 'nginx.service' }, { message: 'seven', unit: 'x.service' }]);
    expect((await once()).code).toBe(0);
    expect(sink.lines().slice(5)).toEqual(['six', 'seven']);
    expect(sink.stored.map((l) => l.offset).slice(5)).toEqual([6, 7]);
    expect(sink.duplicates).toBe(0);
  });

  it('a journal vacuumed past the saved cursor: what is left is shipped once, and the lost sequence numbers are logged', async () => {
    writeJournal(file(), [1, 2, 3].map((i) => ({ message: `entry ${i}`, unit: 'app.service' })));
    expect((await once()).code).toBe(0);
    expect(sink.lines()).toEqual(['entry 1', 'entry 2', 'entry 3']);
    // While Henrik is stopped: more entries, the file fills and is rotated (archived), and
    // the archive is vacuumed, taking entries 3..6 with it.
    writeJournal(file(), [{ message: 'entry 4', unit: 'app.service' }, { message: 'entry 5', unit: 'app.service' }, { ...fullFieldTable('entry 6'), unit: 'app.service' }]);
    writeJournal(file(), [7, 8].map((i) => ({ message: `entry ${i}`, unit: 'app.service' })));
    expect(readdirSync(journalDir).filter((n) => n.includes('@'))).toHaveLength(1);
    const vacuum = spawnSync('journalctl', ['--directory', journalDir, '--vacuum-files=1'], { encoding: 'utf8' });
    expect(vacuum.status, vacuum.stderr).toBe(0);
    expect(readdirSync(journalDir)).toEqual(['system.journal']);

    const after = await once();
    expect(after.code, after.log.join('\n')).toBe(0);
    expect(sink.lines()).toEqual(['entry 1', 'entry 2', 'entry 3', 'entry 7', 'entry 8']);
    expect(after.log.join('\n')).toMatch(/no longer in the journal: it was vacuumed.*entries 4\.\.6 of journal [0-9a-f]{32} were removed before they were read \(up to 3 entries lost\); reading goes on at entry 7/);
    expect(sink.duplicates).toBe(0);
    // And the next start resumes normally, without a word about a gap.
    writeJournal(file(), [{ message: 'entry 9', unit: 'app.service' }]);
    const next = await once();
    expect(sink.lines().at(-1)).toBe('entry 9');
    expect(next.log.join('\n')).not.toMatch(/vacuumed/);
  });

  it('a full spool and a Daniel that is away while following: every entry arrives once when it is back', async () => {
    writeJournal(file(), Array.from({ length: 200 }, (_, i) => ({ message: `before ${i}`, unit: 'a.service' })));
    sink.failWith = 503;
    const agent = await Agent.create(fastAgentOptions(sink.url, dir, { sources: [], journal: [{ directory: journalDir }], batchMaxLines: 10, spoolMaxBytes: 8192 }));
    agent.start();
    await new Promise((r) => setTimeout(r, 500));
    writeJournal(file(), Array.from({ length: 100 }, (_, i) => ({ message: `while away ${i}`, unit: 'b.service' })));
    sink.failWith = undefined;
    await sink.waitFor(() => sink.stored.length >= 300, 30_000, '300 entries');
    writeJournal(file(), [{ message: 'live', unit: 'a.service' }]);
    await sink.waitFor(() => sink.stored.length >= 301, 30_000, 'the live entry');
    await agent.stop();
    expect(new Set(sink.lines()).size).toBe(301);
    expect(sink.stored).toHaveLength(301);
  });
});
