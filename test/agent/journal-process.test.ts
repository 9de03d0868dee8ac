/**
 * The real `henrik` (dist/, so `npm run build` first) with its inputs that are not files,
 * against the real Daniel app (ingest-sink.ts): `--journal-dir` killed -9 in a loop while
 * systemd-journal-remote appends entries (every entry stored once), and `--stdin`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HenrikRunner, type HenrikChild } from './henrik-bin.js';
import { IngestSink } from './ingest-sink.js';
import { exportFormat, haveJournalTools, JOURNAL_REMOTE } from './journal-files.js';


let dir: string;
let sink: IngestSink;
let runner: HenrikRunner;

beforeEach(async () => {
  runner = new HenrikRunner();
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-journal-proc-'));
  sink = new IngestSink({ token: 'T' });
  await sink.listen(0);
});
afterEach(async () => {
  runner.killAll();
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

function henrik(args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): HenrikChild {
  return runner.start({ server: sink.url, stateDir: path.join(dir, 'state'), args, stdin });
}

/** Children of `pid` (its journalctl), read before it is killed: they outlive a kill -9. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Appends 25 numbered entries at a time to the journal file, one journal-remote run after another. */
function startJournalWriter(file: string): { stop: () => Promise<void>; written: () => string[] } {
  const written: string[] = [];
  let n = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const batch = Array.from({ length: 25 }, () => `entry ${++n} ${'z'.repeat(n % 40)}`);
      const input = exportFormat(batch.map((message, i) => ({ message, unit: `svc${i % 3}.service`, priority: i % 8 })));
      await new Promise<void>((resolve, reject) => {
        const writer = spawn(JOURNAL_REMOTE, ['-o', file, '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
        writer.on('error', reject);
        writer.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`journal-remote exited ${String(code)}`))));
        writer.stdin.end(input);
      });
      written.push(...batch);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
    written: () => written,
  };
}

describe.skipIf(!haveJournalTools)('henrik --journal-dir', () => {
  it('kill -9 in a loop while entries are appended: every entry stored once', async () => {
    const journalDir = path.join(dir, 'journal');
    mkdirSync(journalDir);
    const writer = startJournalWriter(path.join(journalDir, 'system.journal'));
    for (let round = 0; round < 6; round++) {
      const h = henrik(['--journal-dir', journalDir]);
      const before = sink.stored.length;
      await sink.waitFor(() => sink.stored.length > before, 30_000, `round ${round} progress`);
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      const readers = childPids(h.child.pid as number);
      h.child.kill('SIGKILL');
      await h.exited;
      for (const pid of readers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await writer.stop();
    const written = writer.written();
    const last = henrik(['--journal-dir', journalDir]);
    await sink.waitFor(() => sink.stored.length >= written.length, 60_000, `${written.length} entries`);
    // A SIGTERM before Node has loaded Henrik's code would kill it outright.
    await last.started();
    last.child.kill('SIGTERM');
    expect(await last.exited, last.stderr()).toBe(0);
    const counts = new Map<string, number>();
    for (const line of sink.lines()) counts.set(line, (counts.get(line) ?? 0) + 1);
    const lost = written.filter((l) => !counts.has(l));
    const twice = [...counts].filter(([, c]) => c > 1);
    expect({ lost: lost.length, twice: twice.length, firstLost: lost[0] }).toEqual({ lost: 0, twice: 0, firstLost: undefined });
    expect(sink.stored).toHaveLength(written.length);
    expect(new Set(sink.stored.map((l) => l.filename))).toEqual(new Set(['journal/svc0.service', 'journal/svc1.service', 'journal/svc2.service']));
  }, 180_000);
});

describe('henrik --stdin', () => {
  it('ships a pipe under --name, the last line without its newline too, and exits 0 at its end', async () => {
    const h = henrik(['--stdin', '--name', 'app'], 'pipe');
    const lines = Array.from({ length: 3000 }, (_, i) => `2026-12-01T10:00:00Z piped ${i}`);
    h.child.stdin?.write(lines.slice(0, 1500).join('\n') + '\n');
    await sink.waitFor(() => sink.stored.length >= 1500, 30_000, 'the first half');
    h.child.stdin?.end(lines.slice(1500).join('\n'));
    expect(await h.exited, h.stderr()).toBe(0);
    expect(sink.lines()).toEqual(lines);
    expect(new Set(sink.stored.map((l) => l.filename))).toEqual(new Set(['app']));
    expect(sink.stored[0]?.fileId).toMatch(/^stdin:app:\d+:\d+$/);
    expect(sink.stored[0]?.timestamp).toBe(String(Date.parse('2026-12-01T10:00:00Z') * 1_000_000));
    // --name without --stdin is a mistake said at once.
    const bad = henrik(['--name', 'x', '/tmp/none.log']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/--name names what --stdin ships/);
  }, 60_000);
});
