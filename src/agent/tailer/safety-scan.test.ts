/**
 * Change detection without watch events: the safety-net walk (every `fullScanIntervalMs`)
 * finds what a file system whose watches miss events (NFS, FUSE) never announced, and a
 * walk stat'ing on the main thread (local file systems) finds what one on the thread pool
 * does (network ones): the same files, stats and refusals.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StampedLine } from '../batcher.js';
import { createTimestampParser } from '../timestamps.js';
import type { Watcher } from '../watcher.js';
import { Discovery } from './discovery.js';
import { localFileSystem } from './names.js';
import type { FileStream } from './open-file.js';
import { Tailer } from './tailer.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-safety-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the walk', () => {
  it('finds the same files, stats and refusals whether it stats on the main thread or the thread pool', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(path.join(logs, 'sub'), { recursive: true });
    for (let i = 0; i < 600; i++) writeFileSync(path.join(logs, `f${i}.log`), `line ${i}\n`);
    writeFileSync(path.join(logs, 'sub', 'deep.log'), 'deep\n');
    writeFileSync(Buffer.concat([Buffer.from(`${logs}/caf`), Buffer.from([0xe9]), Buffer.from('.log')]), 'latin-1 name\n');
    writeFileSync(path.join(logs, 'skip.xz'), 'x');
    writeFileSync(path.join(logs, 'other.txt'), 'not matched\n');
    execFileSync('mkfifo', [path.join(logs, 'pipe.log')]);
    writeFileSync(path.join(dir, 'outside'), 'outside\n');
    symlinkSync(path.join(dir, 'outside'), path.join(logs, 'out.log'));
    symlinkSync(path.join(logs, 'f1.log'), path.join(logs, 'in.log'));
    const sources = [{ paths: [path.join(logs, '**', '*.log')], exclude: [] }];
    const local = new Discovery(sources, dir, () => Promise.resolve(true));
    const pooled = new Discovery(sources, dir, () => Promise.resolve(false));
    const a = await local.scan();
    const b = await pooled.scan();
    expect(a.size).toBe(600 + 3);
    expect(new Map([...a].sort())).toEqual(new Map([...b].sort()));
    expect(a.get(path.join(logs, 'sub', 'deep.log'))).toMatchObject({ filename: 'sub/deep.log', viaLink: false, stats: { size: 5 } });
    expect(a.get(path.join(logs, 'in.log'))).toMatchObject({ filename: 'in.log', viaLink: true });
    expect(a.has(`${logs}/caf\udce9.log`)).toBe(true);
    expect(local.skipped.map((s) => `${s.code} ${s.path}`).sort()).toEqual(pooled.skipped.map((s) => `${s.code} ${s.path}`).sort());
    expect(local.skipped.map((s) => s.code)).toEqual(['symlink']);
    expect([...local.listed].sort()).toEqual([...pooled.listed].sort());
  });

  it('stats on the main thread only on local file systems', async () => {
    if (process.platform !== 'linux') return;
    expect(await localFileSystem('/proc')).toBe(false);
    expect(await localFileSystem(path.join(dir, 'not-there'))).toBe(false);
  });
});

describe('without watch events', () => {
  it('the safety-net walk finds growth in open and in closed quiet files, and a new file', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    for (let i = 0; i < 20; i++) writeFileSync(path.join(logs, `f${String(i).padStart(2, '0')}.log`), `f${i} a\n`);
    let clock = 1_000_000;
    const lines: string[] = [];
    const t = new Tailer({
      sources: [{ paths: [path.join(logs, '*.log')], exclude: [], parser: createTimestampParser({}) }],
      maxLineBytes: 64 * 1024,
      readChunkBytes: 64 * 1024,
      orphanIdleMs: 1000,
      copyGraceMs: 1000,
      copyWindowMs: 60_000,
      forgetAfterMs: 3_600_000,
      maxOpenFiles: 10,
      idleCloseMs: 60_000,
      fullScanIntervalMs: 30_000,
      onChange: () => {},
      emit: (stream: FileStream, line: StampedLine) => lines.push(`${stream.filename}: ${line.text}`),
      canRead: () => true,
      log: () => {},
      now: () => clock,
    });
    try {
      do {
        await t.scan();
        await t.readAvailable();
      } while (t.needsScan);
      // The walk that follows the watches' start (what changed before them was missed).
      await t.scan();
      expect(lines).toHaveLength(20);
      expect(t.openFiles).toBe(10);
      expect(t.closedQuietFiles).toBe(10);
      // A file system whose watches say nothing (NFS): no events from here on.
      (t as unknown as { watcher: Watcher }).watcher.close();
      clock += 10_000;
      for (let i = 0; i < 20; i++) appendFileSync(path.join(logs, `f${String(i).padStart(2, '0')}.log`), `f${i} b\n`);
      writeFileSync(path.join(logs, 'new.log'), 'new a\n');
      // Polls between walks stat only what events named (none) and what grew lately (none).
      await t.scan();
      await t.readAvailable();
      expect(lines).toHaveLength(20);
      clock += 20_000;
      do {
        await t.scan();
        await t.readAvailable();
      } while (t.needsScan);
      expect(lines.slice(20).sort()).toEqual([...[...Array(20).keys()].map((i) => `f${String(i).padStart(2, '0')}.log: f${i} b`), 'new.log: new a'].sort());
      expect(t.openFiles).toBeLessThanOrEqual(10);
    } finally {
      await t.close();
    }
  });
});
