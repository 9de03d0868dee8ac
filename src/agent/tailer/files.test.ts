/**
 * Files as they really are: any name (control characters, not UTF-8, paths past 255 bytes),
 * swapped for a FIFO under the reader, rewritten in place to the same size, ending without
 * a newline, or unreadable. Names go through a real Daniel (buildApp on a real port).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import type { AgentEvent } from '../events.js';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { nameProblem } from '../../protocol/names.js';
import type { LogEntry } from '../../protocol/api.js';
import { auth, startTestApp, type TestApp } from '../../../test/server/helpers.js';
import { TOKENS } from '../../../test/server/helpers.js';
import { Agent, type AgentOptions } from '../agent.js';
import type { StampedLine } from '../batcher.js';
import { createTimestampParser } from '../timestamps.js';
import { Discovery } from './discovery.js';
import { decodeName, fsPath, wireName, wirePath } from './names.js';
import type { FileStream } from './open-file.js';
import { Tailer, type TailerOptions } from './tailer.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-files-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

interface Emitted {
  filename: string;
  id: string;
  offset: number;
  end: number;
  text: string;
}

function tailer(logs: string, extra: Partial<TailerOptions> = {}): { tailer: Tailer; lines: Emitted[]; log: AgentEvent[] } {
  const lines: Emitted[] = [];
  const log: AgentEvent[] = [];
  const t = new Tailer({
    sources: [{ paths: [path.join(logs, '**', '*.log')], exclude: [], parser: createTimestampParser({}) }],
    maxLineBytes: 64 * 1024,
    readChunkBytes: 64 * 1024,
    orphanIdleMs: 1000,
    copyGraceMs: 1000,
    copyWindowMs: 60_000,
    forgetAfterMs: 3_600_000,
    emit: (stream: FileStream, line: StampedLine) => lines.push({ filename: stream.filename, id: stream.id, offset: line.offset, end: line.end, text: line.text }),
    canRead: () => true,
    log: (event, fields = {}) => log.push({ event, fields }),
    ...extra,
  });
  return { tailer: t, lines, log };
}

async function storedEntries(app: TestApp, host: string): Promise<LogEntry[]> {
  const res = await app.app.inject({ url: `/logs?host=${host}&order=asc&count=10000`, headers: auth(TOKENS.read) });
  expect(res.statusCode).toBe(200);
  const body: { data: LogEntry[] } = res.json();
  return body.data;
}

describe('names', () => {
  it('decodes any bytes losslessly and escapes what Daniel refuses, deterministically', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), (bytes) => {
        const name = decodeName(Buffer.from(bytes));
        const back = fsPath(name);
        expect(Buffer.from(typeof back === 'string' ? Buffer.from(back, 'utf8') : back)).toEqual(Buffer.from(bytes));
        const wire = wireName(name);
        expect(nameProblem(wire)).toBeUndefined();
        expect(wireName(name)).toBe(wire);
        expect(Buffer.byteLength(wirePath(`/var/log/${name}`), 'utf8')).toBeLessThanOrEqual(4096);
      }),
    );
    expect(wireName(decodeName(Buffer.from('caf\xe9.log', 'latin1')))).toBe('caf\\xe9.log');
    expect(wireName('x\x1b.log')).toBe('x\\x1b.log');
    expect(wireName('a\nb.log')).toBe('a\\x0ab.log');
    expect(wireName('café.log')).toBe('café.log');
    expect(wireName('..\\x')).toBe('\\x2e\\x2e\\x');
    const long = `${'d'.repeat(130)}/${'e'.repeat(130)}/app.log`;
    expect(wireName(long)).toMatch(/^d+~[0-9a-f]{16}~d*\/e+\/app\.log$/);
    expect(wireName(long)).not.toBe(wireName(`${'d'.repeat(131)}/${'e'.repeat(129)}/app.log`));
  });

  it('ships every file whatever its name, and no name costs another file its lines', async () => {
    const app = await startTestApp();
    try {
      const address = await app.app.listen({ port: 0, host: '127.0.0.1' });
      const logs = path.join(dir, 'logs');
      const deep = path.join(logs, 'a'.repeat(100), 'b'.repeat(100));
      mkdirSync(deep, { recursive: true });
      const names: Array<string | Buffer> = [
        path.join(logs, 'plain.log'),
        path.join(logs, 'x\x1b.log'),
        path.join(logs, 'new\nline.log'),
        Buffer.concat([Buffer.from(logs + '/caf'), Buffer.from([0xe9]), Buffer.from('.log')]),
        path.join(deep, 'c'.repeat(60) + '.log'),
      ];
      const expected: string[] = [];
      names.forEach((name, i) => {
        const lines = [1, 2, 3].map((n) => `file${i} line${n}`);
        writeFileSync(name, lines.join('\n') + '\n');
        expected.push(...lines);
      });
      const messages: AgentEvent[] = [];
      const agent = await Agent.create({
        server: address,
        token: TOKENS.ingest,
        host: 'box',
        stateDir: path.join(dir, 'state'),
        sources: [{ paths: [path.join(logs, '**', '*.log')] }],
        once: true,
        backoff: { baseMs: 10, maxMs: 50 },
        log: (event, fields = {}) => messages.push({ event, fields }),
      } satisfies AgentOptions);
      expect(await agent.once()).toBe(0);
      const stored = await storedEntries(app, 'box');
      expect(stored.map((e) => e.logline).sort()).toEqual(expected.sort());
      const filenames = new Set(stored.map((e) => e.filename));
      expect(filenames).toContain('caf\\xe9.log');
      expect(filenames).toContain('x\\x1b.log');
      expect(filenames).toContain('new\\x0aline.log');
      for (const name of filenames) expect(nameProblem(name)).toBeUndefined();
      expect(messages.filter((e) => e.event === 'dead_lettered' || (e.event === 'done' && e.fields.dead_lettered !== 0))).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('files that change under the reader', () => {
  it('skips a FIFO swapped in between the scan and the open, with a message, without blocking', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const victim = path.join(logs, 'app.log');
    writeFileSync(victim, 'one\n');
    writeFileSync(path.join(logs, 'other.log'), 'two\n');
    const original = Object.getOwnPropertyDescriptor(Discovery.prototype, 'scan')?.value as (this: Discovery) => ReturnType<Discovery['scan']>;
    vi.spyOn(Discovery.prototype, 'scan').mockImplementation(async function (this: Discovery) {
      const found = await original.call(this);
      rmSync(victim);
      execFileSync('mkfifo', [victim]);
      return found;
    });
    const { tailer: t, lines, log } = tailer(logs);
    await t.scan();
    await t.readAvailable();
    await t.close();
    expect(lines.map((l) => l.text)).toEqual(['two']);
    expect(log).toContainEqual({ event: 'file_skipped', fields: { path: victim, reason: expect.stringMatching(/^a FIFO/) } });
  }, 10_000);

  it('reads again from 0 a file truncated and rewritten to the same size between polls', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const file = path.join(logs, 'app.log');
    const round = (r: string, header = ''): string[] => Array.from({ length: 1000 }, (_, i) => `${header}round ${r} line ${String(i).padStart(4, '0')}`);
    writeFileSync(file, round('a').join('\n') + '\n');
    const { tailer: t, lines } = tailer(logs);
    await t.scan();
    await t.readAvailable();
    expect(lines).toHaveLength(1000);
    truncateSync(file, 0);
    writeFileSync(file, round('b').join('\n') + '\n');
    await t.poll();
    await t.readAvailable();
    expect(lines.slice(1000).map((l) => l.text)).toEqual(round('b'));
    // The same first KiB, the same size, the rest different: still a rewrite.
    const header = 'h'.repeat(1100) + '\n';
    writeFileSync(file, header + round('c').join('\n') + '\n');
    await t.poll();
    await t.readAvailable();
    const before = lines.length;
    writeFileSync(file, header + round('d').join('\n') + '\n');
    await t.poll();
    await t.readAvailable();
    expect(lines.slice(before).map((l) => l.text)).toEqual([header.trimEnd(), ...round('d')]);
    await t.close();
  });
});

describe('a last line without a newline', () => {
  it('is shipped once the file was idle 5 s; what follows is a new line, from where it ended', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const file = path.join(logs, 'app.log');
    writeFileSync(file, 'one\ntwo');
    let now = 1_000_000;
    const { tailer: t, lines } = tailer(logs, { now: () => now });
    await t.scan();
    await t.readAvailable();
    expect(lines.map((l) => l.text)).toEqual(['one']);
    now += 4999;
    await t.poll();
    expect(lines.map((l) => l.text)).toEqual(['one']);
    now += 1;
    await t.poll();
    expect(lines.map((l) => [l.text, l.offset, l.end])).toEqual([['one', 0, 4], ['two', 4, 7]]);
    appendFileSync(file, ' more\nthree\n');
    await t.poll();
    await t.readAvailable();
    expect(lines.slice(2).map((l) => [l.text, l.offset, l.end])).toEqual([[' more', 7, 13], ['three', 13, 19]]);
    expect(new Set(lines.map((l) => l.id)).size).toBe(1);
    await t.close();
  });
});

describe('an unreadable file', () => {
  it('is said once, with the fix, and counted as unreadable (so --once exits 1)', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(path.join(logs, 'secret.log'), 'hidden\n');
    writeFileSync(path.join(logs, 'open.log'), 'seen\n');
    chmodSync(path.join(logs, 'secret.log'), 0o600);
    chmodSync(dir, 0o755);
    if (process.getuid?.() !== 0) {
      chmodSync(path.join(logs, 'secret.log'), 0o000);
      const { tailer: t, lines, log } = tailer(logs);
      for (let i = 0; i < 3; i++) {
        await t.scan();
        await t.readAvailable();
      }
      await t.close();
      expect(lines.map((l) => l.text)).toEqual(['seen']);
      expect(log.filter((e) => String(e.fields.path).endsWith('secret.log'))).toEqual([{ event: 'file_unreadable', fields: expect.objectContaining({ error: 'EACCES' }) }]);
      return;
    }
    // As root every file is readable: the scan runs as `nobody`.
    const script = `
      import { Tailer } from ${JSON.stringify(path.resolve('src/agent/tailer/tailer.ts'))};
      import { createTimestampParser } from ${JSON.stringify(path.resolve('src/agent/timestamps.ts'))};
      const lines = []; const log = [];
      const t = new Tailer({ sources: [{ paths: [${JSON.stringify(path.join(logs, '*.log'))}], exclude: [], parser: createTimestampParser({}) }],
        maxLineBytes: 65536, readChunkBytes: 65536, orphanIdleMs: 1000, copyGraceMs: 1000, copyWindowMs: 60000, forgetAfterMs: 3600000,
        emit: (s, l) => lines.push(l.text), canRead: () => true, log: (event, fields) => log.push({ event, fields }) });
      for (let i = 0; i < 3; i++) { await t.scan(); await t.readAvailable(); }
      await t.close();
      console.log(JSON.stringify({ lines, log, unreadable: t.unreadable.size }));
    `;
    const scriptFile = path.join(dir, 'scan.mts');
    writeFileSync(scriptFile, script);
    chmodSync(scriptFile, 0o644);
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', scriptFile], {
      cwd: process.cwd(),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as { lines: string[]; log: AgentEvent[]; unreadable: number };
    expect(out.lines).toEqual(['seen']);
    expect(out.log.filter((e) => String(e.fields.path).endsWith('secret.log'))).toEqual([{ event: 'file_unreadable', fields: expect.objectContaining({ error: 'EACCES' }) }]);
    expect(out.unreadable).toBe(1);
  }, 30_000);
});

describe('many files', () => {
  it('keeps at most maxOpenFiles open, ships every file, and reopens a closed one when it grows', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    for (let i = 0; i < 60; i++) writeFileSync(path.join(logs, `f${String(i).padStart(2, '0')}.log`), `f${i} a\nf${i} b\n`);
    const { tailer: t, lines } = tailer(logs, { maxOpenFiles: 8 });
    let most = 0;
    do {
      await t.scan();
      most = Math.max(most, t.openFiles);
      await t.readAvailable();
    } while (t.needsScan);
    expect(most).toBeLessThanOrEqual(8);
    expect(lines).toHaveLength(120);
    expect(t.closedQuietFiles).toBeGreaterThanOrEqual(52);
    // A closed quiet file that grows is reopened where it was left, under the same identity.
    const firstId = lines.find((l) => l.text === 'f0 a')?.id;
    appendFileSync(path.join(logs, 'f00.log'), 'f0 c\n');
    await t.scan();
    await t.readAvailable();
    expect(lines.slice(120).map((l) => [l.text, l.offset, l.id])).toEqual([['f0 c', 10, firstId]]);
    expect(t.openFiles).toBeLessThanOrEqual(8);
    await t.close();
  });

  it('under a descriptor limit (EMFILE), closes quiet files instead of stalling: every file is read', () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    for (let i = 0; i < 150; i++) writeFileSync(path.join(logs, `f${String(i).padStart(3, '0')}.log`), `line of ${i}\n`);
    const script = `
      import { Tailer } from ${JSON.stringify(path.resolve('src/agent/tailer/tailer.ts'))};
      import { createTimestampParser } from ${JSON.stringify(path.resolve('src/agent/timestamps.ts'))};
      const lines = []; const log = [];
      const t = new Tailer({ sources: [{ paths: [${JSON.stringify(path.join(logs, '*.log'))}], exclude: [], parser: createTimestampParser({}) }],
        maxLineBytes: 65536, readChunkBytes: 65536, orphanIdleMs: 1000, copyGraceMs: 1000, copyWindowMs: 60000, forgetAfterMs: 3600000,
        emit: (s, l) => lines.push(l.text), canRead: () => true, log: (event, fields) => log.push({ event, fields }) });
      let scans = 0;
      do { await t.scan(); await t.readAvailable(); scans++; } while (t.needsScan && scans < 100);
      await t.close();
      console.log(JSON.stringify({ lines: lines.length, log, scans }));
    `;
    const scriptFile = path.join(dir, 'emfile.mts');
    writeFileSync(scriptFile, script);
    // 80 descriptors: Node and tsx need about 30; the default bound (512) is far above what is left.
    const run = spawnSync('prlimit', ['--nofile=80:80', process.execPath, '--import', 'tsx', scriptFile], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as { lines: number; log: AgentEvent[]; scans: number };
    expect(out.log).toContainEqual({ event: 'too_many_open_files', fields: expect.objectContaining({ error: 'EMFILE' }) });
    expect(out.lines).toBe(150);
  }, 60_000);
});
