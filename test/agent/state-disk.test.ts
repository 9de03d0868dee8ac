/**
 * Henrik's state dir on a disk that misbehaves, against the real Daniel app: a full disk
 * (a small tmpfs, when the tests may mount one), spool bytes changed between runs, the state
 * dir deleted while Henrik runs, a checkpoint file edited by hand. Every line is stored once.
 */
import { execFileSync } from 'node:child_process';
import { EventLog } from '../../src/agent/events.js';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent, type AgentOptions } from '../../src/agent/agent.js';
import { fastAgentOptions, IngestSink } from './ingest-sink.js';

let dir: string;
let sink: IngestSink;
let logged: EventLog;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-disk-'));
  mkdirSync(path.join(dir, 'logs'));
  logged = new EventLog();
  sink = new IngestSink({ token: 'T' });
  await sink.listen(0);
});
afterEach(async () => {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(extra: Partial<AgentOptions> = {}): AgentOptions {
  return fastAgentOptions(sink.url, dir, { log: logged.log, ...extra });
}

function lines(from: number, count: number, width = 40): string[] {
  return Array.from({ length: count }, (_, i) => `line ${from + i} ${randomBytes(width).toString('hex')}`);
}

async function until(probe: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function canMountTmpfs(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(path.join(os.tmpdir(), 'henrik-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

describe('a full disk under the state dir', () => {
  it.skipIf(!canMountTmpfs())('pauses on short writes (ENOSPC) and ships every line once the disk has room: none lost, none dead-lettered', async () => {
    const state = path.join(dir, 'state');
    mkdirSync(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', state]);
    try {
      // Leave ~64 KiB free: a batch's record (hundreds of KiB of random text) cannot fit.
      const filler = path.join(state, 'filler');
      try {
        writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
      } catch {
        // the disk is full now
      }
      execFileSync('truncate', ['-s', `${4 * 1024 * 1024 - 64 * 1024}`, filler]);
      const written = lines(0, 20_000);
      writeFileSync(path.join(dir, 'logs', 'app.log'), written.join('\n') + '\n');
      const agent = await Agent.create(options());
      agent.start();
      await logged.waitFor('spool_write_failed', 30_000, (fields) => String(fields.error).includes('short write'));
      expect(sink.stored.length).toBeLessThan(written.length);
      rmSync(filler);
      await sink.waitFor(() => sink.stored.length >= written.length, 60_000, `${written.length} lines`);
      await agent.stop();
      expect(sink.lines()).toEqual(written);
      expect(agent.stats.deadLetteredLines).toBe(0);
      expect(existsSync(path.join(state, 'dead-letter.ndjson'))).toBe(false);
    } finally {
      execFileSync('umount', ['-l', state]);
    }
  }, 120_000);
});

describe('spool bytes changed between runs', () => {
  it('a corrupt record in a segment that is not the last: files resume before it, every line stored once, in order', async () => {
    await sink.close({ keepData: true });
    const written = lines(0, 6000, 20);
    writeFileSync(path.join(dir, 'logs', 'app.log'), written.join('\n') + '\n');
    // Daniel away: everything goes to the spool, in several segments (small batches, small segments).
    const first = await Agent.create(options({ spoolMaxBytes: 512 * 1024, batchMaxLines: 300 }));
    first.start();
    const spoolDir = path.join(dir, 'state', 'spool');
    const segments = (): string[] => (existsSync(spoolDir) ? readdirSync(spoolDir).filter((n) => n.endsWith('.seg')).sort() : []);
    await until(() => first.stats.linesRead === written.length && segments().length >= 4, 'the spool to hold every line in several segments');
    await new Promise((r) => setTimeout(r, 300));
    await first.abort(); // as kill -9
    const victim = path.join(spoolDir, segments()[1]!);
    const bytes = readFileSync(victim);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] ?? 0) ^ 0xff;
    writeFileSync(victim, bytes);
    await sink.listen();
    const second = await Agent.create(options({ once: true }));
    expect(await second.once()).toBe(0);
    expect(sink.lines()).toEqual(written);
    expect(logged.has('spool_segment_cut')).toBe(true);
  }, 120_000);
});

describe('a spool record changed on disk while Henrik runs', () => {
  it('is never shipped: delivery stops with a reason (the process exits 1), and the restart stores every line once', async () => {
    await sink.close({ keepData: true });
    const written = lines(0, 3000, 20);
    writeFileSync(path.join(dir, 'logs', 'app.log'), written.join('\n') + '\n');
    const agent = await Agent.create(options({ batchMaxLines: 300 }));
    agent.start();
    const spoolDir = path.join(dir, 'state', 'spool');
    const segment = (): string => path.join(spoolDir, readdirSync(spoolDir).filter((n) => n.endsWith('.seg')).sort()[0]!);
    const records = (bytes: Buffer): number[] => {
      const starts: number[] = [];
      for (let at = 0; at + 8 <= bytes.length; at += 8 + bytes.readUInt32LE(at)) starts.push(at);
      return starts;
    };
    const hasSegment = (): boolean => existsSync(spoolDir) && readdirSync(spoolDir).some((n) => n.endsWith('.seg'));
    await until(() => hasSegment() && records(readFileSync(segment())).length >= 6, 'records in the spool');
    // The reader waits on the first record (Daniel is away): change the fifth.
    const bytes = readFileSync(segment());
    const at = records(bytes)[4]!;
    bytes[at + 8 + 100] = (bytes[at + 8 + 100] ?? 0) ^ 0xff;
    writeFileSync(segment(), bytes);
    await sink.listen();
    const reason = await agent.failed;
    expect(reason).toMatch(/fails its checksum/);
    await agent.stop();
    expect(sink.stored.length).toBeLessThan(written.length);
    const again = await Agent.create(options({ once: true }));
    expect(await again.once()).toBe(0);
    expect(sink.lines()).toEqual(written);
  }, 120_000);
});

describe('the state dir deleted while Henrik runs', () => {
  it('is made again: the next start resumes, nothing shipped twice', async () => {
    const file = path.join(dir, 'logs', 'app.log');
    const written = lines(0, 5000, 10);
    writeFileSync(file, written.join('\n') + '\n');
    const agent = await Agent.create(options());
    agent.start();
    await sink.waitFor(() => sink.stored.length >= 5000, 30_000, 'first lines');
    rmSync(path.join(dir, 'state'), { recursive: true, force: true });
    const more = lines(5000, 5000, 10);
    appendFileSync(file, more.join('\n') + '\n');
    await sink.waitFor(() => sink.stored.length >= 10_000, 30_000, 'lines after the deletion');
    await agent.stop();
    expect(logged.has('state_dir_recreated')).toBe(true);
    const last = lines(10_000, 100, 10);
    appendFileSync(file, last.join('\n') + '\n');
    const again = await Agent.create(options({ once: true }));
    expect(await again.once()).toBe(0);
    expect(sink.lines()).toEqual([...written, ...more, ...last]);
  }, 120_000);
});

describe('checkpoints are checked when loaded', () => {
  it('a negative offset is a clear error at start, not a request Daniel refuses', async () => {
    writeFileSync(path.join(dir, 'logs', 'app.log'), 'one\ntwo\n');
    const first = await Agent.create(options({ once: true }));
    expect(await first.once()).toBe(0);
    const checkpointFile = path.join(dir, 'state', 'checkpoints.json');
    const data = JSON.parse(readFileSync(checkpointFile, 'utf8')) as { files: Array<{ offset: number }> };
    data.files[0]!.offset = -2001;
    writeFileSync(checkpointFile, JSON.stringify(data));
    await expect(Agent.create(options({ once: true }))).rejects.toThrow(/files\[0\]\.offset \(-2001\) of .*app\.log must be a byte offset/);
  });
});
