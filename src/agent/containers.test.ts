/**
 * Container log files through a real agent to a real Daniel (test/agent/ingest-sink.ts):
 * Docker json-file and CRI files recognised by content and shipped unwrapped, partial lines
 * joined, the runtime's rotations and container restarts, malformed wrappers kept as text,
 * a huge partial sequence cut at the limit, and a crash in the middle of a partial sequence.
 */
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fastAgentOptions, IngestSink } from '../../test/agent/ingest-sink.js';
import { Agent, type AgentOptions } from './agent.js';

let dir: string;
let sink: IngestSink;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-containers-'));
  sink = new IngestSink({ token: 'T' });
  sink.keepBodies = true;
  await sink.listen(0);
});
afterEach(async () => {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(paths: string[], extra: Partial<AgentOptions> = {}): AgentOptions {
  return fastAgentOptions(sink.url, dir, { sources: [{ paths }], orphanIdleMs: 200, backoff: { baseMs: 20, maxMs: 200 }, ...extra });
}

const ID = 'a'.repeat(64);
let clock = Date.UTC(2024, 4, 1, 10, 0, 0);

/** An RFC 3339 time with nanoseconds, a little later each call. */
function nextTime(): { text: string; ns: bigint } {
  clock += 1;
  const nanos = 123_457;
  return { text: new Date(clock).toISOString().replace('Z', `${nanos}Z`), ns: BigInt(clock) * 1_000_000n + BigInt(nanos) };
}

function dockerLine(log: string, stream = 'stdout'): { wire: string; ns: bigint } {
  const t = nextTime();
  return { wire: `${JSON.stringify({ log, stream, time: t.text })}\n`, ns: t.ns };
}

function criLine(text: string, tag: 'P' | 'F' = 'F', stream = 'stdout'): { wire: string; ns: bigint } {
  const t = nextTime();
  return { wire: `${t.text} ${stream} ${tag} ${text}\n`, ns: t.ns };
}

function dockerDir(): string {
  const at = path.join(dir, 'docker', 'containers', ID);
  mkdirSync(at, { recursive: true });
  writeFileSync(path.join(at, 'config.v2.json'), JSON.stringify({ ID, Name: '/shop-api', State: { Running: true } }));
  return at;
}

function podDir(container = 'nginx'): string {
  const at = path.join(dir, 'pods', 'shop_web-7d9f8-xk2p9_3b1f4c2e-8d6a-4b1e-9f0a-2c3d4e5f6a7b', container);
  mkdirSync(at, { recursive: true });
  return at;
}

/** Every group and line Daniel was sent: labels of the group, fields of the line. */
function sentLines(): Array<{ line: string; labels?: Record<string, string>; fields?: Record<string, string> }> {
  type WireGroup = { labels?: Record<string, string>; lines: Array<{ line: string; fields?: Record<string, string> }> };
  return sink.bodies.flatMap((b) => (b.files as WireGroup[]).flatMap((g) => g.lines.map((l) => ({ line: l.line, labels: g.labels, fields: l.fields }))));
}

function expectOnce(expected: string[]): void {
  expect([...sink.lines()].sort()).toEqual([...expected].sort());
  expect(sink.duplicates).toBe(0);
}

describe('container files', () => {
  it('ships Docker json-file lines unwrapped: text, nanosecond time, stream, the container name, 16 KiB pieces joined', async () => {
    const at = dockerDir();
    const file = path.join(at, `${ID}-json.log`);
    const big = 'b'.repeat(16384);
    const lines = [
      dockerLine('hello from the api\n'),
      dockerLine('warn: disk "almost" full\n', 'stderr'),
      dockerLine(big),
      dockerLine(big),
      dockerLine('tail\n'),
      dockerLine('ünïcödé \t tab\n'),
    ];
    writeFileSync(file, lines.map((l) => l.wire).join(''));
    const agent = await Agent.create({ ...options([path.join(dir, 'docker', 'containers', '*', '*-json.log*')]), once: true });
    expect(await agent.once()).toBe(0);
    expect(sink.lines()).toEqual(['hello from the api', 'warn: disk "almost" full', `${big}${big}tail`, 'ünïcödé \t tab']);
    expect(sink.stored.map((l) => l.timestamp)).toEqual([lines[0]!.ns, lines[1]!.ns, lines[2]!.ns, lines[5]!.ns].map(String));
    const offsets = [0, lines[0]!.wire.length, lines[0]!.wire.length + lines[1]!.wire.length];
    expect(sink.stored.map((l) => l.offset).slice(0, 3)).toEqual(offsets);
    // The joined record ends where its last piece ends.
    expect(sink.stored[2]!.end).toBe(lines.slice(0, 5).reduce((n, l) => n + Buffer.byteLength(l.wire), 0));
    expect(sink.stored[0]!.filename).toBe(`${ID}/${ID}-json.log`);
    const sent = sentLines();
    expect(sent.map((l) => l.fields)).toEqual([{ stream: 'stdout' }, { stream: 'stderr' }, { stream: 'stdout' }, { stream: 'stdout' }]);
    expect(sent.every((l) => l.labels?.container === 'shop-api')).toBe(true);
  });

  it('ships CRI lines with P pieces joined, pod fields from the path and the source labels', async () => {
    const at = podDir();
    const lines = [criLine('GET / 200'), criLine('part one, ', 'P'), criLine('part two, ', 'P'), criLine('end', 'F'), criLine('oops', 'F', 'stderr')];
    writeFileSync(path.join(at, '0.log'), lines.map((l) => l.wire).join(''));
    const agent = await Agent.create({ ...options([]), sources: [{ paths: [path.join(dir, 'pods', '*', '*', '*.log')], labels: { service: 'api', container: 'mine' } }], once: true });
    expect(await agent.once()).toBe(0);
    expect(sink.lines()).toEqual(['GET / 200', 'part one, part two, end', 'oops']);
    expect(sink.stored.map((l) => l.timestamp)).toEqual([lines[0]!.ns, lines[1]!.ns, lines[4]!.ns].map(String));
    const sent = sentLines();
    expect(sent.map((l) => l.fields?.stream)).toEqual(['stdout', 'stdout', 'stderr']);
    // The source's labels win over what the path says.
    expect(sent[0]!.labels).toEqual({ namespace: 'shop', pod: 'web-7d9f8-xk2p9', container: 'mine', service: 'api' });
  });

  it('keeps malformed wrappers and plain lines as text, never dropping one; plain files stay plain', async () => {
    const at = podDir();
    const good = criLine('fine');
    const content = [good.wire, 'this is not a wrapper\n', criLine('half-', 'P').wire, '2024-05-01T10:00:00Z stdin F wrong stream\n', '\n', criLine('after').wire].join('');
    writeFileSync(path.join(at, '0.log'), content);
    mkdirSync(path.join(dir, 'logs'));
    // A plain file that quotes a wrapper after its first lines stays plain.
    const plain = ['2024-05-01 10:00:00 INFO one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', good.wire.trimEnd()];
    writeFileSync(path.join(dir, 'logs', 'app.log'), plain.join('\n') + '\n');
    const agent = await Agent.create({ ...options([path.join(dir, 'pods', '*', '*', '*.log'), path.join(dir, 'logs', '*.log')]), once: true });
    expect(await agent.once()).toBe(0);
    expectOnce(['fine', 'this is not a wrapper', 'half-', '2024-05-01T10:00:00Z stdin F wrong stream', '', 'after', ...plain]);
    const sent = sentLines();
    expect(sent.find((l) => l.line === 'this is not a wrapper')?.fields).toBeUndefined();
    expect(sent.find((l) => l.line === 'this is not a wrapper')?.labels?.pod).toBe('web-7d9f8-xk2p9');
    expect(sent.find((l) => l.line === 'seven')?.labels).toBeUndefined();
  });

  it('cuts a huge partial sequence at the long-line limit, every byte once, in order', async () => {
    const at = dockerDir();
    const piece = (i: number) => String.fromCharCode(97 + (i % 26)).repeat(16384);
    const pieces = Array.from({ length: 64 }, (_, i) => dockerLine(i === 63 ? `${piece(i)}\n` : piece(i)));
    writeFileSync(path.join(at, `${ID}-json.log`), pieces.map((p) => p.wire).join('') + dockerLine('small\n').wire);
    const agent = await Agent.create({ ...options([path.join(dir, 'docker', 'containers', '*', '*-json.log')]), maxLineBytes: 65536, once: true });
    expect(await agent.once()).toBe(0);
    const stored = sink.stored;
    expect(stored).toHaveLength(17);
    expect(stored.slice(0, 16).every((l) => Buffer.byteLength(l.line) <= 65536)).toBe(true);
    expect(stored.slice(0, 15).every((l) => l.cut)).toBe(true);
    expect(stored[15]!.cut).toBe(false);
    expect(stored.slice(0, 16).map((l) => l.line).join('')).toBe(Array.from({ length: 64 }, (_, i) => piece(i)).join(''));
    // Every piece of the record carries its first piece's time.
    expect(new Set(stored.slice(0, 16).map((l) => l.timestamp))).toEqual(new Set([String(pieces[0]!.ns)]));
    expect(stored[16]!.line).toBe('small');
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.offset).toBe(stored[i - 1]!.end);
  });

  it('follows the runtime: Docker renaming -json.log to .1, kubelet rotating 0.log, a container restart writing 1.log', async () => {
    const docker = dockerDir();
    const pod = podDir();
    const dockerFile = path.join(docker, `${ID}-json.log`);
    const criFile = path.join(pod, '0.log');
    const expected: string[] = [];
    let n = 0;
    const write = (file: string, kind: 'docker' | 'cri'): void => {
      const text = `${kind} line ${++n}`;
      expected.push(text);
      // Every third line comes in two pieces.
      if (n % 3 === 0) {
        appendFileSync(file, kind === 'docker' ? dockerLine(text.slice(0, 5)).wire + dockerLine(`${text.slice(5)}\n`).wire : criLine(text.slice(0, 5), 'P').wire + criLine(text.slice(5)).wire);
      } else appendFileSync(file, kind === 'docker' ? dockerLine(`${text}\n`).wire : criLine(text).wire);
    };
    writeFileSync(dockerFile, '');
    writeFileSync(criFile, '');
    const agent = await Agent.create(options([path.join(dir, 'docker', 'containers', '*', '*-json.log*'), path.join(dir, 'pods', '*', '*', '*.log*')]));
    agent.start();
    try {
      for (let i = 0; i < 10; i++) {
        write(dockerFile, 'docker');
        write(criFile, 'cri');
      }
      await sink.waitFor(() => sink.stored.length === expected.length, 20_000, 'the first lines');
      renameSync(dockerFile, `${dockerFile}.1`);
      renameSync(criFile, `${criFile}.20240501-100000`);
      // The runtimes go on writing to the renamed files until they reopen.
      write(`${dockerFile}.1`, 'docker');
      write(`${criFile}.20240501-100000`, 'cri');
      writeFileSync(dockerFile, '');
      writeFileSync(criFile, '');
      for (let i = 0; i < 10; i++) {
        write(dockerFile, 'docker');
        write(criFile, 'cri');
      }
      // The container restarts: kubelet starts 1.log beside 0.log.
      const restarted = path.join(pod, '1.log');
      for (let i = 0; i < 10; i++) write(restarted, 'cri');
      await sink.waitFor(() => sink.stored.length >= expected.length, 20_000, 'every line');
    } finally {
      await agent.stop();
    }
    expectOnce(expected);
    expect(sink.stored.filter((l) => l.filename.endsWith('1.log')).length).toBe(10);
  });

  it('a crash in the middle of a partial sequence: the record is read again from its first piece, stored once and whole', async () => {
    const pod = podDir();
    const file = path.join(pod, '0.log');
    writeFileSync(file, criLine('before').wire);
    const paths = [path.join(dir, 'pods', '*', '*', '*.log')];
    const first = await Agent.create(options(paths));
    first.start();
    await sink.waitFor(() => sink.stored.length === 1, 20_000, 'the first line');
    appendFileSync(file, criLine('piece 1 / ', 'P').wire + criLine('piece 2 / ', 'P').wire);
    // Read, held (waiting for its F piece), never shipped: then the process dies.
    const size = statSync(file).size;
    await sink.waitFor(() => [...first.readPositions().values()].includes(size), 20_000, 'the pieces read');
    await first.abort();
    expect(sink.lines()).toEqual(['before']);
    appendFileSync(file, criLine('piece 3').wire + criLine('after').wire);
    const second = await Agent.create(options(paths));
    second.start();
    try {
      await sink.waitFor(() => sink.stored.length >= 3, 20_000, 'the joined record');
    } finally {
      await second.stop();
    }
    expect(sink.lines()).toEqual(['before', 'piece 1 / piece 2 / piece 3', 'after']);
    expect(sink.duplicates).toBe(0);
  });

  it('ships a record left waiting for its next piece once its file is quiet', async () => {
    const pod = podDir();
    const file = path.join(pod, '0.log');
    writeFileSync(file, criLine('no end yet', 'P').wire);
    const agent = await Agent.create(options([path.join(dir, 'pods', '*', '*', '*.log')]));
    agent.start();
    try {
      await sink.waitFor(() => sink.stored.length === 1, 30_000, 'the unfinished record');
      appendFileSync(file, criLine('later').wire);
      await sink.waitFor(() => sink.stored.length === 2, 20_000, 'the next line');
    } finally {
      await agent.stop();
    }
    expect(sink.lines()).toEqual(['no end yet', 'later']);
  });
});

describe('container fields and source labels in Daniel', () => {
  async function query(q: string): Promise<Array<{ logline: string; fields?: Record<string, string> }>> {
    const res = await fetch(`${sink.url}/logs?count=1000&q=${encodeURIComponent(q)}`, { headers: { authorization: 'Bearer T' } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: Array<{ logline: string; fields?: Record<string, string> }> }).data;
  }
  const texts = (entries: Array<{ logline: string }>): string[] => entries.map((e) => e.logline).sort();

  it('answers q=stream:stderr, q=namespace:..., q=pod:..., q=container:... and q=service:api with the right lines', async () => {
    const pod = podDir();
    writeFileSync(
      path.join(pod, '0.log'),
      [criLine('GET /healthz 200'), criLine('upstream timed out', 'F', 'stderr'), criLine('long ', 'P', 'stderr'), criLine('error joined', 'F', 'stderr'), criLine('GET / 200')]
        .map((l) => l.wire)
        .join(''),
    );
    const other = path.join(dir, 'pods', 'billing_worker-0_9a8b7c6d', 'worker');
    mkdirSync(other, { recursive: true });
    writeFileSync(path.join(other, '3.log'), criLine('charged 12 EUR').wire + criLine('card declined', 'F', 'stderr').wire);
    const docker = dockerDir();
    writeFileSync(path.join(docker, `${ID}-json.log`), dockerLine('docker out\n').wire + dockerLine('docker err\n', 'stderr').wire);
    mkdirSync(path.join(dir, 'logs'));
    writeFileSync(path.join(dir, 'logs', 'plain.log'), 'a plain line\n');
    const agent = await Agent.create({
      ...options([]),
      sources: [
        { paths: [path.join(dir, 'pods', 'shop_*', '*', '*.log')], labels: { service: 'api' } },
        { paths: [path.join(dir, 'pods', 'billing_*', '*', '*.log')], labels: { service: 'billing', team: 'payments' } },
        { paths: [path.join(dir, 'docker', 'containers', '*', '*-json.log')] },
        { paths: [path.join(dir, 'logs', '*.log')], labels: { service: 'api' } },
      ],
      once: true,
    });
    expect(await agent.once()).toBe(0);
    expect(texts(await query('stream:stderr'))).toEqual(['card declined', 'docker err', 'long error joined', 'upstream timed out']);
    expect(texts(await query('namespace:shop'))).toEqual(['GET / 200', 'GET /healthz 200', 'long error joined', 'upstream timed out']);
    expect(texts(await query('pod:worker-0 stream:stdout'))).toEqual(['charged 12 EUR']);
    expect(texts(await query('container:shop-api'))).toEqual(['docker err', 'docker out']);
    expect(texts(await query('service:api'))).toEqual(['GET / 200', 'GET /healthz 200', 'a plain line', 'long error joined', 'upstream timed out']);
    expect(texts(await query('service:api -healthz stream:stdout'))).toEqual(['GET / 200']);
    expect(texts(await query('team:payments'))).toEqual(['card declined', 'charged 12 EUR']);
    const [entry] = await query('"card declined"');
    expect(entry?.fields).toMatchObject({ stream: 'stderr', namespace: 'billing', pod: 'worker-0', container: 'worker', service: 'billing', team: 'payments' });
  });
});
