/**
 * What Henrik does with each kind of answer, against the real Daniel app (ingest-sink.ts):
 * a body limit (413) splits batches, a wrong address (3xx, 404, 405) holds them, and only
 * what Daniel names as refused goes to the dead-letter file.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { EventLog } from '../../src/agent/events.js';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent, type AgentOptions } from '../../src/agent/agent.js';
import { readDeadLetters } from '../../src/agent/dead-letter.js';
import { replayDeadLetters } from '../../src/agent/replay.js';
import { IngestSink } from './ingest-sink.js';

let dir: string;
let sink: IngestSink | undefined;
let logged: EventLog;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-answers-'));
  mkdirSync(path.join(dir, 'logs'));
  logged = new EventLog();
});
afterEach(async () => {
  await sink?.close();
  sink = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function startSink(options: ConstructorParameters<typeof IngestSink>[0] = {}): Promise<IngestSink> {
  sink = new IngestSink({ token: 'T', ...options });
  await sink.listen(0);
  return sink;
}

function options(server: string, extra: Partial<AgentOptions> = {}): AgentOptions {
  return {
    server,
    token: 'T',
    host: 'h1',
    stateDir: path.join(dir, 'state'),
    sources: [{ paths: [path.join(dir, 'logs', '*.log')] }],
    once: true,
    flushIntervalMs: 50,
    checkpointIntervalMs: 50,
    backoff: { baseMs: 10, maxMs: 50 },
    log: logged.log,
    ...extra,
  };
}

/** Joins cut pieces back into lines, per file id, in stored order. */
function joined(s: IngestSink): string[] {
  const out: string[] = [];
  const open = new Map<string, string>();
  for (const l of s.stored) {
    const text = (open.get(l.fileId) ?? '') + l.line;
    if (l.cut) open.set(l.fileId, text);
    else {
      open.delete(l.fileId);
      out.push(text);
    }
  }
  return out;
}

const deadLetterFile = (): string => path.join(dir, 'state', 'dead-letter.ndjson');

describe('413: a body limit splits batches, never drops them', () => {
  it('50,000 lines to a Daniel with --body-limit 512KiB: all stored once, nothing dead-lettered', async () => {
    const s = await startSink({ bodyLimitBytes: 512 * 1024 });
    const lines = Array.from({ length: 50_000 }, (_, i) => `2024-05-01T10:00:00Z line ${i} ${'x'.repeat(60 + (i % 50))}`);
    writeFileSync(path.join(dir, 'logs', 'big.log'), lines.join('\n') + '\n');
    const agent = await Agent.create(options(s.url));
    expect(await agent.once()).toBe(0);
    expect(s.lines()).toEqual(lines);
    expect(existsSync(deadLetterFile())).toBe(false);
    expect(agent.stats.deadLetteredLines).toBe(0);
    expect(logged.named('batch_split')).toContainEqual({ event: 'batch_split', fields: expect.objectContaining({ status: 413 }) });
  }, 120_000);

  it('one line over the limit is cut as long lines are: pieces marked cut, offsets continuous, stored once', async () => {
    const s = await startSink({ bodyLimitBytes: 512 * 1024 });
    const long = `2024-05-01T10:00:00Z ${'é'.repeat(200 * 1024)}${'y'.repeat(300 * 1024)}`;
    const text = `first\n${long}\nlast\n`;
    writeFileSync(path.join(dir, 'logs', 'long.log'), text);
    const agent = await Agent.create(options(s.url, { maxLineBytes: 4 * 1024 * 1024 }));
    expect(await agent.once()).toBe(0);
    expect(joined(s)).toEqual(['first', long, 'last']);
    const pieces = s.stored.slice(1, -1);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.slice(0, -1).every((p) => p.cut)).toBe(true);
    expect(pieces.at(-1)?.cut).toBe(false);
    expect(pieces[0]?.offset).toBe(6);
    for (let i = 1; i < pieces.length; i++) expect(pieces[i]?.offset).toBe(pieces[i - 1]?.end);
    expect(pieces.at(-1)?.end).toBe(6 + Buffer.byteLength(long) + 1);
    expect(existsSync(deadLetterFile())).toBe(false);
  }, 120_000);
});

describe('3xx, 404, 405: the address is wrong, so lines are held', () => {
  it('a proxy answering 301, 404, then 405 for a while, then Daniel: every line stored, nothing dead-lettered, said repeatedly', async () => {
    const s = await startSink();
    const answers = [
      { status: 301, headers: { location: 'https://daniel.example/ingest' } },
      { status: 302, headers: { location: 'https://daniel.example/ingest' } },
      { status: 404, body: '<html>Not Found</html>' },
      { status: 405, body: '{"message":"Method Not Allowed"}' },
      { status: 404 },
    ];
    let answered = 0;
    s.intercept = () => (answered < answers.length ? answers[answered++] : undefined);
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i}`);
    writeFileSync(path.join(dir, 'logs', 'app.log'), lines.join('\n') + '\n');
    const agent = await Agent.create(options(s.url, { heldLogIntervalMs: 0 }));
    expect(await agent.once()).toBe(0);
    expect(s.lines()).toEqual(lines);
    expect(existsSync(deadLetterFile())).toBe(false);
    const held = logged.named('server_misrouted');
    expect(held.length).toBeGreaterThanOrEqual(answers.length);
    expect(held[0]!.fields.reason).toContain('https://daniel.example/ingest');
  });
});

describe("Daniel's per-group answer", () => {
  it('acknowledges the request, advances checkpoints, dead-letters only the named group and line', async () => {
    const s = await startSink();
    const good = Array.from({ length: 50 }, (_, i) => `good ${i}${i === 20 ? ' REFUSE-ME' : ''}`);
    const bad = Array.from({ length: 30 }, (_, i) => `bad ${i}`);
    writeFileSync(path.join(dir, 'logs', 'good.log'), good.join('\n') + '\n');
    writeFileSync(path.join(dir, 'logs', 'bad.log'), bad.join('\n') + '\n');
    s.refuse = (request) =>
      request.files.flatMap((f, file) => {
        if (f.filename === 'bad.log') return [{ file, file_id: f.file_id, code: 'INVALID_NAME', message: 'files[0].filename is refused' }];
        return f.lines.filter((l) => l.line.includes('REFUSE-ME')).map((l) => ({ file, file_id: f.file_id, offset: l.offset, code: 'INVALID_BODY', message: 'refused line' }));
      });
    const agent = await Agent.create(options(s.url));
    expect(await agent.once()).toBe(1); // something was dead-lettered: --once says so
    expect(s.lines().sort()).toEqual(good.filter((l) => !l.includes('REFUSE')).sort());
    const { entries } = await readDeadLetters(deadLetterFile());
    const deadLines = entries.flatMap((e) => (typeof e.request === 'string' ? [] : e.request.files.flatMap((f) => f.lines.map((l) => l.line))));
    expect(deadLines.sort()).toEqual([...bad, good[20]].sort());
    expect(agent.stats.deadLetteredLines).toBe(31);
    expect(entries.map((e) => e.code).sort()).toEqual(['INVALID_BODY', 'INVALID_NAME']);
    expect(logged.has('dead_lettered')).toBe(true);
    // Acknowledged: a second run sends nothing again.
    const requests = s.requests;
    const again = await Agent.create(options(s.url));
    expect(await again.once()).toBe(0);
    expect(s.requests).toBe(requests);
    expect(readFileSync(deadLetterFile(), 'utf8').trim().split('\n')).toHaveLength(entries.length);
  });
});

describe('henrik replay-dead-letter', () => {
  it('sends dead-lettered lines again once the cause is fixed; refused again, they stay', async () => {
    const s = await startSink();
    const good = Array.from({ length: 20 }, (_, i) => `good ${i}`);
    const bad = Array.from({ length: 30 }, (_, i) => `bad ${i}`);
    writeFileSync(path.join(dir, 'logs', 'good.log'), good.join('\n') + '\n');
    writeFileSync(path.join(dir, 'logs', 'bad.log'), bad.join('\n') + '\n');
    let refusing = true;
    s.refuse = (request) =>
      refusing ? request.files.flatMap((f, file) => (f.filename === 'bad.log' ? [{ file, file_id: f.file_id, code: 'INVALID_NAME', message: 'refused' }] : [])) : [];
    const agent = await Agent.create(options(s.url));
    expect(await agent.once()).toBe(1);
    expect(s.lines().sort()).toEqual([...good].sort());
    const replay = { server: s.url, token: 'T', stateDir: path.join(dir, 'state'), log: logged.log, backoff: { baseMs: 10, maxMs: 50 } };
    // Still refused: the lines stay in the file.
    expect(await replayDeadLetters(replay)).toMatchObject({ refused: 30, stored: 0, left: 0 });
    const { entries } = await readDeadLetters(deadLetterFile());
    expect(entries.flatMap((e) => (typeof e.request === 'string' ? [] : e.request.files.flatMap((f) => f.lines.map((l) => l.line))))).toEqual(bad);
    // Fixed: stored, and the file is empty.
    refusing = false;
    expect(await replayDeadLetters(replay)).toMatchObject({ entries: 1, stored: 30, refused: 0, left: 0 });
    expect(s.lines().sort()).toEqual([...good, ...bad].sort());
    expect(existsSync(deadLetterFile())).toBe(false);
    expect(readdirSync(path.join(dir, 'state')).filter((n) => n.includes('dead-letter'))).toEqual([]);
  });

  it('Daniel unreachable: every entry is put back as it was', async () => {
    const s = await startSink();
    writeFileSync(path.join(dir, 'logs', 'bad.log'), 'x\ny\n');
    s.refuse = (request) => request.files.map((f, file) => ({ file, file_id: f.file_id, code: 'INVALID_NAME', message: 'refused' }));
    const agent = await Agent.create(options(s.url));
    expect(await agent.once()).toBe(1);
    const before = readFileSync(deadLetterFile(), 'utf8');
    await s.close();
    const result = await replayDeadLetters({ server: s.url, token: 'T', stateDir: path.join(dir, 'state'), log: logged.log, backoff: { baseMs: 10, maxMs: 20 }, giveUpAfterMs: 200 });
    expect(result).toMatchObject({ entries: 1, stored: 0, left: 1 });
    expect(readFileSync(deadLetterFile(), 'utf8')).toBe(before);
  });
});
