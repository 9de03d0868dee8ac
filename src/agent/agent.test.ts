import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestSink } from '../../test/agent/ingest-sink.js';
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

function options(extra: Partial<AgentOptions> = {}): AgentOptions {
  return {
    server: sink.url,
    token: 'T',
    host: 'h1',
    stateDir: path.join(dir, 'state'),
    sources: [{ paths: [path.join(dir, 'logs', '*.log')] }],
    flushIntervalMs: 50,
    scanIntervalMs: 100,
    pollIntervalMs: 50,
    checkpointIntervalMs: 50,
    orphanIdleMs: 200,
    copyGraceMs: 300,
    backoff: { baseMs: 20, maxMs: 200 },
    ...extra,
  };
}

describe('Agent --once', () => {
  it('ships every complete line with filename, offsets and mtime for lines without a time, then nothing on a second run', async () => {
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(path.join(logs, 'a.log'), 'one\r\ntwo\n2024-05-01T10:00:00Z three\nfour\npartial');
    utimesSync(path.join(logs, 'a.log'), 1_700_000_000, 1_700_000_000);
    const first = await Agent.create({ ...options(), once: true });
    expect(await first.once()).toBe(0);
    expect(sink.lines()).toEqual(['one', 'two', '2024-05-01T10:00:00Z three', 'four']);
    expect(sink.stored.map((l) => [l.offset, l.end])).toEqual([[0, 5], [5, 9], [9, 36], [36, 41]]);
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
    expect(sink.lines().slice(4)).toEqual(['partial done']);
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
