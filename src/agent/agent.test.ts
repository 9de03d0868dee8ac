import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { EventLog } from './events.js';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fastAgentOptions, IngestSink } from '../../test/agent/ingest-sink.js';
import { Agent, type AgentOptions } from './agent.js';

let dir: string;
let sink: IngestSink;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-agent-'));
  sink = new IngestSink({ token: 'T' });
  await sink.listen(0);
});
afterEach(async () => {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The Content-Encoding of every ingest request from now on, in order. */
function recordEncodings(): unknown[] {
  const encodings: unknown[] = [];
  sink.intercept = (request) => {
    if (request.url.startsWith('/ingest')) encodings.push(request.headers['content-encoding']);
    return undefined;
  };
  return encodings;
}

function options(extra: Partial<AgentOptions> = {}): AgentOptions {
  return fastAgentOptions(sink.url, dir, { orphanIdleMs: 200, copyGraceMs: 300, backoff: { baseMs: 20, maxMs: 200 }, ...extra });
}

describe('Agent --once', () => {
  it("counts the journal's entries in the backfill event's read_lines, beside the files' lines", async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(path.join(logs, 'a.log'), 'one\ntwo\n');
    // A journalctl that shows three entries, then takes its time to end: backfill events come meanwhile.
    const sid = '0123456789abcdef0123456789abcdef';
    const entries = [1, 2, 3].map((i) => `__CURSOR=s=${sid};i=${i};b=ff;m=1;t=2;x=3\n__REALTIME_TIMESTAMP=${1_700_000_000_000_000 + i}\n_SYSTEMD_UNIT=a.service\nMESSAGE=entry ${i}\n\n`);
    writeFileSync(path.join(dir, 'export'), entries.join(''));
    const journalctl = path.join(dir, 'journalctl');
    writeFileSync(journalctl, `#!/bin/sh\ncat '${path.join(dir, 'export')}'\nsleep 0.6\n`);
    chmodSync(journalctl, 0o755);
    const events: Array<Record<string, unknown>> = [];
    const agent = await Agent.create({
      ...options(),
      once: true,
      journal: [{ directory: dir }],
      journalctl,
      progressIntervalMs: 20,
      log: (event, fields = {}) => {
        if (event === 'backfill') events.push(fields);
      },
    });
    expect(await agent.once()).toBe(0);
    expect(sink.lines().sort()).toEqual(['entry 1', 'entry 2', 'entry 3', 'one', 'two']);
    expect(events.length).toBeGreaterThan(0);
    // The two file lines and the three entries were read before journalctl ended.
    expect(events.at(-1)).toMatchObject({ read_lines: 5 });
  });

  it("ships two files of the same content in two directories, both whole (neither is waited on as the other one's copy)", async () => {
    const lines = Array.from({ length: 300 }, (_, i) => `2024-05-01T10:00:00Z the same line ${i} in both files`);
    for (const sub of ['a', 'b']) {
      mkdirSync(path.join(dir, sub));
      writeFileSync(path.join(dir, sub, 'app.log'), lines.join('\n') + '\n');
    }
    const agent = await Agent.create({ ...options({ copyGraceMs: 60_000 }), once: true, sources: [{ paths: [path.join(dir, 'a', '*.log'), path.join(dir, 'b', '*.log')] }] });
    expect(await agent.once()).toBe(0);
    expect(sink.lines()).toHaveLength(600);
    expect(new Set(sink.stored.map((l) => l.path))).toEqual(new Set([path.join(dir, 'a', 'app.log'), path.join(dir, 'b', 'app.log')]));
  });

  it('compression gzip with gzipLevel 0 ships the batches stored (gzip framing, the text as it is) and Daniel takes them', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const lines = Array.from({ length: 500 }, (_, i) => `2024-05-01T10:00:00Z line ${i} of a stored batch`);
    writeFileSync(path.join(logs, 'a.log'), lines.join('\n') + '\n');
    const raw: Buffer[] = [];
    sink.intercept = (request) => {
      if (request.url.startsWith('/ingest')) raw.push(request.raw);
      return undefined;
    };
    const agent = await Agent.create({ ...options(), once: true, compression: 'gzip', gzipLevel: 0 });
    expect(await agent.once()).toBe(0);
    expect(sink.lines()).toEqual(lines);
    expect(raw.length).toBeGreaterThan(0);
    expect(Buffer.concat(raw).includes('line 499 of a stored batch')).toBe(true);
  });

  it('ships Zstandard by default (the addon of an npm install), and Daniel takes it', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const lines = Array.from({ length: 500 }, (_, i) => `2024-05-01T10:00:00Z line ${i} of a zstd batch`);
    writeFileSync(path.join(logs, 'a.log'), lines.join('\n') + '\n');
    const encodings = recordEncodings();
    const agent = await Agent.create({ ...options(), once: true });
    expect(await agent.once()).toBe(0);
    expect(sink.lines()).toEqual(lines);
    expect(encodings.length).toBeGreaterThan(0);
    expect(new Set(encodings)).toEqual(new Set(['zstd']));
  });

  it('against the oldest Daniel (415 to zstd, then to brotli), falls back to brotli, then gzip, each line once', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const lines = Array.from({ length: 3000 }, (_, i) => `2024-05-01T10:00:00Z line ${i} ${'x'.repeat(60)}`);
    writeFileSync(path.join(logs, 'a.log'), lines.join('\n') + '\n');
    const encodings: unknown[] = [];
    sink.intercept = (request) => {
      if (!request.url.startsWith('/ingest')) return undefined;
      const encoding = request.headers['content-encoding'];
      encodings.push(encoding);
      if (encoding !== 'br' && encoding !== 'zstd') return undefined;
      // What an older Daniel answers.
      return { status: 415, body: JSON.stringify({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: `Content-Encoding '${String(encoding)}' is not supported: send gzip or no encoding` } }) };
    };
    const fallbacks: Array<Record<string, unknown>> = [];
    const said: string[] = [];
    const agent = await Agent.create({
      ...options(),
      once: true,
      batchMaxLines: 500,
      log: (event, fields = {}) => {
        said.push(event);
        if (event === 'compression_fallback') fallbacks.push(fields);
      },
    });
    expect(await agent.once()).toBe(0);
    expect(sink.lines()).toEqual(lines);
    expect(sink.duplicates).toBe(0);
    expect(fallbacks.map((f) => [f.from, f.to])).toEqual([['zstd', 'br'], ['br', 'gzip']]);
    expect(said).not.toContain('dead_lettered');
    // Each 415 takes one newer thing away: the first batch went as a binary batch in zstd, then as JSON in zstd, brotli, then gzip; the rest (after batches already sealed as zstd) as gzip.
    expect(said.filter((e) => e === 'wire_format_fallback')).toHaveLength(1);
    expect(encodings.slice(0, 4)).toEqual(['zstd', 'zstd', 'br', 'gzip']);
    expect(encodings.at(-1)).toBe('gzip');
    expect(encodings.filter((e) => e === 'gzip').length).toBeGreaterThanOrEqual(6);
  });

  it('against a Daniel older than binary batches (415 to their Content-Type), sends JSON from then on, each line once', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const lines = Array.from({ length: 3000 }, (_, i) => `2024-05-01T10:00:00Z line ${i} "quoted" ${'x'.repeat(60)}`);
    writeFileSync(path.join(logs, 'a.log'), lines.join('\n') + '\n');
    const types: unknown[] = [];
    sink.intercept = (request) => {
      if (!request.url.startsWith('/ingest')) return undefined;
      const type = request.headers['content-type'];
      types.push(type);
      if (type === 'application/json') return undefined;
      // What a Daniel without the binary parser answers (plugins/errors.ts).
      return { status: 415, body: JSON.stringify({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: `Content-Type '${String(type)}' is not supported: send application/json` } }) };
    };
    const said: Array<[string, Record<string, unknown>]> = [];
    const agent = await Agent.create({ ...options(), once: true, batchMaxLines: 500, log: (event, fields = {}) => void said.push([event, fields]) });
    expect(await agent.once()).toBe(0);
    expect(sink.lines()).toEqual(lines);
    expect(sink.duplicates).toBe(0);
    expect(said.filter(([e]) => e === 'wire_format_fallback')).toEqual([['wire_format_fallback', expect.objectContaining({ from: 'binary', to: 'json' })]]);
    expect(said.map(([e]) => e)).not.toContain('dead_lettered');
    expect(said.map(([e]) => e)).not.toContain('compression_fallback');
    expect(types[0]).toBe('application/vnd.logging-aggregator.batch');
    expect(types[1]).toBe('application/json');
    expect(types.at(-1)).toBe('application/json');
    expect(types.filter((t) => t === 'application/json').length).toBeGreaterThanOrEqual(6);
  });

  it('against a Daniel older than brotli bodies, compression: br falls back to gzip once', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const lines = Array.from({ length: 2000 }, (_, i) => `2024-05-01T10:00:00Z line ${i} ${'x'.repeat(60)}`);
    writeFileSync(path.join(logs, 'a.log'), lines.join('\n') + '\n');
    const encodings: unknown[] = [];
    sink.intercept = (request) => {
      if (!request.url.startsWith('/ingest')) return undefined;
      encodings.push(request.headers['content-encoding']);
      if (request.headers['content-encoding'] !== 'br') return undefined;
      return { status: 415, body: JSON.stringify({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: "Content-Encoding 'br' is not supported: send gzip or no encoding" } }) };
    };
    const said: string[] = [];
    const agent = await Agent.create({ ...options(), once: true, compression: 'br', batchMaxLines: 500, log: (event) => void said.push(event) });
    expect(await agent.once()).toBe(0);
    expect(sink.lines()).toEqual(lines);
    expect(sink.duplicates).toBe(0);
    expect(said.filter((e) => e === 'compression_fallback')).toHaveLength(1);
    expect(encodings[0]).toBe('br');
    expect(encodings.at(-1)).toBe('gzip');
  });

  it('ships gzip records an older Henrik spooled, as gzip, after a restart with zstd', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    const first = Array.from({ length: 400 }, (_, i) => `2024-05-01T10:00:00Z old ${i}`);
    writeFileSync(path.join(logs, 'a.log'), first.join('\n') + '\n');
    sink.failWith = 503;
    const spooled = new EventLog();
    const old = await Agent.create({ ...options(), compression: 'gzip', log: spooled.log });
    old.start();
    await spooled.waitFor('ship_retry', 20_000);
    await old.abort();
    sink.failWith = undefined;
    const second = Array.from({ length: 400 }, (_, i) => `2024-05-01T10:00:01Z new ${i}`);
    appendFileSync(path.join(logs, 'a.log'), second.join('\n') + '\n');
    const encodings = recordEncodings();
    const agent = await Agent.create({ ...options(), once: true });
    expect(await agent.once()).toBe(0);
    expect(sink.lines()).toEqual([...first, ...second]);
    expect(encodings[0]).toBe('gzip');
    expect(encodings.at(-1)).toBe('zstd');
  });

  it('ships every complete line with filename, offsets and mtime for lines without a time, then nothing on a second run', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(path.join(logs, 'a.log'), 'one\r\ntwo\n2024-05-01T10:00:00Z three\nfour\npartial');
    utimesSync(path.join(logs, 'a.log'), 1_700_000_000, 1_700_000_000);
    const first = await Agent.create({ ...options(), once: true });
    expect(await first.once()).toBe(0);
    // The last line has no newline: `--once` ships it as a line.
    expect(sink.lines()).toEqual(['one', 'two', '2024-05-01T10:00:00Z three', 'four', 'partial']);
    expect(sink.stored.map((l) => [l.offset, l.end])).toEqual([[0, 5], [5, 9], [9, 36], [36, 41], [41, 48]]);
    expect(sink.stored[0]!.filename).toBe('a.log');
    expect(sink.stored[0]!.timestamp).toBe('1700000000000000000');
    expect(sink.stored[3]!.timestamp).toBe('1714557600000000000');
    const requests = sink.requests;
    const second = await Agent.create({ ...options(), once: true });
    expect(await second.once()).toBe(0);
    expect(sink.requests).toBe(requests);
    appendFileSync(path.join(logs, 'a.log'), ' done\n');
    renameSync(path.join(logs, 'a.log'), path.join(logs, 'b.log'));
    const third = await Agent.create({ ...options(), once: true });
    expect(await third.once()).toBe(0);
    // What the file grew by afterwards is a new line, from where the shipped part ended.
    expect(sink.lines().slice(5)).toEqual([' done']);
    expect(sink.stored.slice(5).map((l) => [l.offset, l.end])).toEqual([[48, 54]]);
    expect(sink.duplicates).toBe(0);
  });

  it('exits 1 when the token is refused, and ships later from the spool', async () => {
    mkdirSync(path.join(dir, 'logs'));
    writeFileSync(path.join(dir, 'logs', 'x.log'), 'a\nb\n');
    const bad = await Agent.create({ ...options(), token: 'wrong', once: true });
    expect(await bad.once()).toBe(1);
    expect(sink.stored).toHaveLength(0);
    const good = await Agent.create({ ...options(), once: true });
    expect(await good.once()).toBe(0);
    expect(sink.lines()).toEqual(['a', 'b']);
  });
});

describe('Agent tailing', () => {
  it('ships a line appended to an idle file at once, not on the flush timer', async () => {
    mkdirSync(path.join(dir, 'logs'));
    const file = path.join(dir, 'logs', 'live.log');
    writeFileSync(file, 'first\n');
    // A timer far beyond the test's patience: only the caught-up flush can deliver in time.
    const agent = await Agent.create({ ...options(), flushIntervalMs: 600_000 });
    agent.start();
    try {
      await sink.waitFor(() => sink.stored.length === 1, 20_000, 'the first line');
      for (let i = 0; i < 3; i++) {
        appendFileSync(file, `live ${i}\n`);
        await sink.waitFor(() => sink.stored.length === 2 + i, 20_000, `live line ${i}`);
      }
      expect(sink.lines()).toEqual(['first', 'live 0', 'live 1', 'live 2']);
    } finally {
      await agent.stop();
    }
  }, 90_000);
});

function writeNumbered(file: string, from: number, count: number): string[] {
  const lines = Array.from({ length: count }, (_, i) => `2024-05-01T10:00:00Z line ${String(from + i).padStart(6, '0')} ${'x'.repeat(40 + ((from + i) % 50))}`);
  appendFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return lines;
}

function spoolBytesOnDisk(): number {
  const spoolDir = path.join(dir, 'state', 'spool');
  return readdirSync(spoolDir).reduce((n, f) => n + statSync(path.join(spoolDir, f)).size, 0);
}

describe('Agent with a full spool', () => {
  const limits = { spoolMaxBytes: 16 * 1024, batchMaxBytes: 4096 };

  async function untilFull(events: EventLog): Promise<void> {
    await events.waitFor('spool_full', 20_000);
    // Give it time to overshoot if it were going to.
    await new Promise((r) => setTimeout(r, 500));
  }

  it('stops reading at the limit, then ships every line once Daniel is back', async () => {
    mkdirSync(path.join(dir, 'logs'));
    const file = path.join(dir, 'logs', 'big.log');
    const written = writeNumbered(file, 0, 6000);
    sink.failWith = 503;
    const events = new EventLog();
    const agent = await Agent.create({ ...options(), ...limits, log: events.log });
    agent.start();
    try {
      await untilFull(events);
      expect(spoolBytesOnDisk()).toBeLessThanOrEqual(limits.spoolMaxBytes);
      written.push(...writeNumbered(file, 6000, 500));
      sink.failWith = undefined;
      await sink.waitFor(() => sink.stored.length >= written.length, 60_000, 'every line');
      expect(sink.lines()).toEqual(written);
      expect(sink.duplicates).toBe(0);
    } finally {
      await agent.stop();
    }
  }, 90_000);

  it('restarted while full (as after kill -9), replays the spool and then ships the rest', async () => {
    mkdirSync(path.join(dir, 'logs'));
    const file = path.join(dir, 'logs', 'big.log');
    const written = writeNumbered(file, 0, 6000);
    sink.failWith = 503;
    const events = new EventLog();
    const first = await Agent.create({ ...options(), ...limits, log: events.log });
    first.start();
    await untilFull(events);
    await first.abort();
    const again = new EventLog();
    const second = await Agent.create({ ...options(), ...limits, log: again.log });
    second.start();
    try {
      await untilFull(again);
      sink.failWith = undefined;
      await sink.waitFor(() => sink.stored.length >= written.length, 60_000, 'every line');
      expect(sink.lines()).toEqual(written);
    } finally {
      await second.stop();
    }
  }, 90_000);
});
