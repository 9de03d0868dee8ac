/**
 * Rotated, compressed files through a real agent to a real Daniel: read once, decompressed;
 * the compressed copy of a file already read ships only what was not read of it; what is not
 * gzip is never shipped as text.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fastAgentOptions, IngestSink } from '../../test/agent/ingest-sink.js';
import { Agent, type AgentOptions } from './agent.js';
import { formatEvent } from './events.js';

let dir: string;
let logs: string;
let sink: IngestSink;
let said: string[];

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-archives-'));
  logs = path.join(dir, 'logs');
  mkdirSync(logs);
  sink = new IngestSink({ token: 'T' });
  await sink.listen(0);
  said = [];
});
afterEach(async () => {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(glob = 'app.log*', extra: Partial<AgentOptions> = {}): AgentOptions {
  return fastAgentOptions(sink.url, dir, { sources: [{ paths: [path.join(logs, glob)] }], orphanIdleMs: 200, log: (event, fields = {}) => said.push(event === 'archive_note' ? String(fields.message) : event === 'file_skipped' ? `path=${String(fields.path)}: skipped, ${String(fields.reason)}` : formatEvent('text', event, fields)), ...extra });
}

async function once(glob?: string, extra: Partial<AgentOptions> = {}): Promise<number> {
  const agent = await Agent.create({ ...options(glob, extra), once: true });
  return agent.once();
}

function numbered(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `2024-05-01T10:00:00Z line ${from + i} ${'x'.repeat((from + i) % 40)}`);
}

/** What logrotate's `compress` does: the file gzipped beside it, then removed. */
function compress(file: string, to: string): void {
  writeFileSync(to, gzipSync(readFileSync(file)));
  unlinkSync(file);
}

function expectOnce(expected: string[]): void {
  expect(sink.lines().length).toBe(expected.length);
  expect([...sink.lines()].sort()).toEqual([...expected].sort());
  expect(sink.duplicates).toBe(0);
}

describe('compressed rotated files', () => {
  it('reads a .gz once, decompressed, with the offsets of its content; a second run ships nothing', async () => {
    const lines = numbered(1, 500);
    writeFileSync(path.join(logs, 'app.log.3.gz'), gzipSync(lines.join('\n') + '\n'));
    expect(await once()).toBe(0);
    expect(sink.lines()).toEqual(lines);
    expect(sink.stored[0]!.filename).toBe('app.log.3.gz');
    expect(sink.stored[1]!.offset).toBe(Buffer.byteLength(lines[0]!) + 1);
    const requests = sink.requests;
    // Renamed by the next rotation: the same archive, not read again.
    renameSync(path.join(logs, 'app.log.3.gz'), path.join(logs, 'app.log.4.gz'));
    expect(await once()).toBe(0);
    expect(sink.requests).toBe(requests);
  });

  it('logrotate with delaycompress: the compressed copy of a file already read ships nothing again', async () => {
    const file = path.join(logs, 'app.log');
    const expected: string[] = [];
    let n = 0;
    const write = (count: number): void => {
      const lines = numbered(n + 1, n + count);
      n += count;
      appendFileSync(file, lines.join('\n') + '\n');
      expected.push(...lines);
    };
    writeFileSync(file, '');
    const agent = await Agent.create(options());
    agent.start();
    try {
      for (let rotation = 1; rotation <= 3; rotation++) {
        write(100);
        await sink.waitFor(() => sink.stored.length === expected.length, 20_000, `lines before rotation ${rotation}`);
        // delaycompress: the previous .1 becomes .2.gz, the live file becomes .1, a new live file.
        if (rotation > 1) {
          // Older archives move up first, as logrotate's `rotate N` does.
          for (let k = rotation; k >= 2; k--) if (existsSync(`${file}.${k}.gz`)) renameSync(`${file}.${k}.gz`, `${file}.${k + 1}.gz`);
          renameSync(`${file}.1`, `${file}.2`);
          compress(`${file}.2`, `${file}.2.gz`);
        }
        renameSync(file, `${file}.1`);
        writeFileSync(file, '');
      }
      write(50);
      await sink.waitFor(() => sink.stored.length >= expected.length, 20_000, 'every line');
      // A few scans more, for any archive that would ship again.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await agent.stop();
    }
    // On a failure, what Henrik said and where each line came from.
    if (sink.lines().length !== expected.length) console.log(said.join('\n'), JSON.stringify(sink.stored.map((l) => [l.filename, l.line.slice(25, 35)])));
    expectOnce(expected);
  });

  it('compress without delaycompress while Henrik was stopped: only the lines it had not read come from the .gz', async () => {
    const file = path.join(logs, 'app.log');
    writeFileSync(file, numbered(1, 100).join('\n') + '\n');
    expect(await once()).toBe(0);
    appendFileSync(file, numbered(101, 130).join('\n') + '\n');
    renameSync(file, `${file}.1`);
    compress(`${file}.1`, `${file}.1.gz`);
    writeFileSync(file, numbered(131, 140).join('\n') + '\n');
    expect(await once()).toBe(0);
    expectOnce(numbered(1, 140));
    expect(said.some((m) => /compressed copy of a file already read, shipping what follows offset/.test(m))).toBe(true);
    // The continued lines keep the offsets they had in the original file.
    const first = sink.stored.find((l) => l.line === numbered(101, 101)[0]);
    expect(first?.offset).toBe(Buffer.byteLength(numbered(1, 100).join('\n') + '\n'));
  });

  it('a crash while an archive is read: resumed after what Daniel acknowledged, every line once', async () => {
    const lines = numbered(1, 20_000);
    writeFileSync(path.join(logs, 'app.log.1.gz'), gzipSync(lines.join('\n') + '\n'));
    const first = await Agent.create(options('app.log*', { batchMaxLines: 500 }));
    first.start();
    await sink.waitFor(() => sink.stored.length >= 1000, 30_000, 'part of the archive');
    await first.abort();
    expect(sink.stored.length).toBeLessThan(lines.length);
    const second = await Agent.create(options('app.log*', { batchMaxLines: 500 }));
    second.start();
    try {
      await sink.waitFor(() => sink.stored.length >= lines.length, 30_000, 'the whole archive');
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await second.stop();
    }
    expect(sink.lines()).toEqual(lines);
  });

  it('an archive still being written (logrotate gzip writing in place): what it holds now, the rest once it is complete, each line once', async () => {
    const lines = numbered(1, 30_000);
    const whole = gzipSync(lines.join('\n') + '\n');
    const archive = path.join(logs, 'app.log.2.gz');
    writeFileSync(archive, whole.subarray(0, Math.floor(whole.length / 2)));
    expect(await once()).toBe(0);
    const early = sink.stored.length;
    expect(early).toBeGreaterThan(0);
    expect(early).toBeLessThan(lines.length);
    appendFileSync(archive, whole.subarray(Math.floor(whole.length / 2)));
    expect(await once()).toBe(0);
    expect(sink.lines()).toEqual(lines);
    expect(sink.duplicates).toBe(0);
  });

  it('never ships compressed bytes as text: a .gz that is not gzip, gzip being written under another name, other formats', async () => {
    writeFileSync(path.join(logs, 'app.log.2.gz'), 'not gzip at all\n');
    writeFileSync(path.join(logs, 'app.log.3.gz.tmp'), gzipSync('hidden\n'));
    writeFileSync(path.join(logs, 'app.log.4.xz'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]));
    writeFileSync(path.join(logs, 'app.log.5'), Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from('zstd frame\n')]));
    writeFileSync(path.join(logs, 'app.log'), 'plain\n');
    expect(await once()).toBe(0);
    expect(sink.lines()).toEqual(['plain']);
    expect(said.some((m) => /app\.log\.2\.gz: skipped, named \.gz but not gzip data/.test(m))).toBe(true);
    expect(said.some((m) => /app\.log\.3\.gz\.tmp: skipped, gzip data, not text/.test(m))).toBe(true);
    expect(said.some((m) => /app\.log\.5: skipped, zstd data/.test(m))).toBe(true);
  });

  it('kubelet: 0.log rotated to 0.log.<time>, then compressed through .gz.tmp; CRI lines unwrapped from the archive, each once', async () => {
    const pod = path.join(logs, 'pods', 'shop_web-1_0f1e2d3c', 'nginx');
    mkdirSync(pod, { recursive: true });
    const file = path.join(pod, '0.log');
    const expected: string[] = [];
    let n = 0;
    const write = (at: string, count: number): void => {
      for (let i = 0; i < count; i++) {
        const text = `request ${++n}`;
        expected.push(text);
        appendFileSync(at, `2024-05-01T10:00:${String(n % 60).padStart(2, '0')}.000000001Z stdout F ${text}\n`);
      }
    };
    writeFileSync(file, '');
    const agent = await Agent.create(options('pods/*/*/*.log*'));
    agent.start();
    try {
      write(file, 50);
      await sink.waitFor(() => sink.stored.length === 50, 20_000, 'the first lines');
      const rotated = `${file}.20240501-100000`;
      renameSync(file, rotated);
      write(rotated, 5);
      writeFileSync(file, '');
      write(file, 20);
      await sink.waitFor(() => sink.stored.length === 75, 20_000, 'the lines after rotation');
      writeFileSync(`${rotated}.gz.tmp`, gzipSync(readFileSync(rotated)));
      renameSync(`${rotated}.gz.tmp`, `${rotated}.gz`);
      unlinkSync(rotated);
      write(file, 10);
      await sink.waitFor(() => sink.stored.length >= 85, 20_000, 'every line');
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await agent.stop();
    }
    expectOnce(expected);
    expect(sink.stored.every((l) => !l.line.includes('stdout F'))).toBe(true);
  });
});
