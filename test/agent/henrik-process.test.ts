/**
 * The real `henrik` binary (dist/, so `npm run build` first) against the real Daniel app
 * (ingest-sink.ts): kill -9 in a loop while a writer appends, and the sink going away and coming back
 * while lines keep coming. Zero lost, zero duplicated.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HENRIK_BIN, HenrikRunner, type HenrikChild } from './henrik-bin.js';
import { IngestSink } from './ingest-sink.js';


let dir: string;
let logs: string;
let sink: IngestSink;
let runner: HenrikRunner;

beforeEach(async () => {
  runner = new HenrikRunner();
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-proc-'));
  logs = path.join(dir, 'logs');
  mkdirSync(logs);
  sink = new IngestSink({ token: 'T' });
  await sink.listen(0);
});
afterEach(async () => {
  runner.killAll();
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Henrik with its log as JSON events (--log-format json through the environment). */
function startHenrik(): HenrikChild {
  return runner.start({ server: sink.url, stateDir: path.join(dir, 'state'), args: [path.join(logs, '*.log')], env: { HENRIK_LOG_FORMAT: 'json' } });
}

/** Appends numbered lines to logs/app.log every few ms until stopped. */
function startWriter(): { stop: () => Promise<void>; written: () => string[]; rotate: () => void } {
  const written: string[] = [];
  const file = path.join(logs, 'app.log');
  writeFileSync(file, '');
  let n = 0;
  let rotations = 0;
  const timer = setInterval(() => {
    const batch: string[] = [];
    for (let i = 0; i < 20; i++) batch.push(`line ${++n} ${'z'.repeat(n % 50)}`);
    appendFileSync(file, batch.join('\n') + '\n');
    written.push(...batch);
  }, 5);
  return {
    stop: async () => {
      clearInterval(timer);
      await new Promise((r) => setImmediate(r));
    },
    written: () => written,
    rotate: () => {
      renameSync(file, path.join(logs, `app.log.${++rotations}`));
      writeFileSync(file, '');
    },
  };
}

function expectExactlyOnce(written: string[]): void {
  const stored = sink.lines();
  const counts = new Map<string, number>();
  for (const line of stored) counts.set(line, (counts.get(line) ?? 0) + 1);
  const duplicated = [...counts].filter(([, c]) => c > 1).map(([l]) => l);
  const lost = written.filter((l) => !counts.has(l));
  expect({ lost: lost.length, duplicated: duplicated.length, firstLost: lost[0], firstDuplicated: duplicated[0] }).toEqual({
    lost: 0,
    duplicated: 0,
    firstLost: undefined,
    firstDuplicated: undefined,
  });
  expect(stored.length).toBe(written.length);
}

function spoolBytes(): number {
  const spool = path.join(dir, 'state', 'spool');
  if (!existsSync(spool)) return 0;
  return readdirSync(spool).reduce((sum, n) => sum + statSync(path.join(spool, n)).size, 0);
}

async function until(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('henrik process', () => {
  it('kill -9 in a loop while a writer appends: zero lost, zero duplicated', async () => {
    const writer = startWriter();
    for (let round = 0; round < 6; round++) {
      const henrik = startHenrik();
      const before = sink.stored.length;
      // Killed once it has shipped something (so each round makes progress), at a random moment after.
      await sink.waitFor(() => sink.stored.length > before, 30_000, `round ${round} progress`);
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      if (round === 2) writer.rotate();
      henrik.child.kill('SIGKILL');
      await henrik.exited;
    }
    await writer.stop();
    const last = startHenrik();
    const written = writer.written();
    await sink.waitFor(() => sink.stored.length >= written.length, 60_000, `${written.length} lines`);
    // A SIGTERM before Node has loaded Henrik's code would kill it outright.
    await last.started();
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    expect(last.events()).toEqual(expect.arrayContaining(['started', 'stopped']));
    expectExactlyOnce(written);
  }, 180_000);

  it('the sink going away and coming back (with a kill -9 while it is away): spool replay, zero lost or duplicated', async () => {
    const writer = startWriter();
    let henrik = startHenrik();
    await sink.waitFor(() => sink.stored.length > 100, 30_000, 'first lines');
    const port = sink.port;
    await sink.close({ keepData: true });
    // Lines keep coming and go to the spool.
    await until(() => spoolBytes() > 20_000, 'spool to grow');
    henrik.child.kill('SIGKILL');
    await henrik.exited;
    const spooledBefore = spoolBytes();
    henrik = startHenrik();
    await until(() => spoolBytes() > spooledBefore + 20_000, 'spool to grow after restart');
    sink.failWith = 503;
    await sink.listen(port);
    await until(() => sink.requests > 0, 'a retry to arrive while answering 503');
    sink.failWith = undefined;
    await writer.stop();
    const written = writer.written();
    await sink.waitFor(() => sink.stored.length >= written.length, 60_000, `${written.length} lines`);
    henrik.child.kill('SIGTERM');
    expect(await henrik.exited).toBe(0);
    expectExactlyOnce(written);
    expect(henrik.events(), henrik.stderr()).toEqual(expect.arrayContaining(['spool_replay', 'ship_retry']));
  }, 180_000);

  it('--once ships everything, exits 0, and a second --once ships nothing; bad flags exit 2', async () => {
    writeFileSync(path.join(logs, 'a.log'), Array.from({ length: 5000 }, (_, i) => `once ${i}`).join('\n') + '\n');
    const run = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [HENRIK_BIN, ...args], { env: { ...process.env, HENRIK_TOKEN: 'T' }, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
    const args = ['--once', '--server', sink.url, '--state-dir', path.join(dir, 'state'), path.join(logs, '*.log')];
    const first = await run(args);
    expect(first.code).toBe(0);
    expect(sink.stored).toHaveLength(5000);
    // The default log is for people: `TIME henrik event=NAME key=value ...: sentence`.
    expect(first.stderr).toMatch(/^\S+Z henrik event=reading_once host=\S+ .*: reading once$/m);
    expect(first.stderr).toMatch(/^\S+Z henrik event=done lines=5000 duplicates=0 dead_lettered=0 unreadable_files=0: done$/m);
    const requests = sink.requests;
    expect((await run(args)).code).toBe(0);
    expect(sink.requests).toBe(requests);
    const badFormat = await run([...args, '--log-format', 'xml']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toMatch(/--log-format .* must be text or json/);
    const bad = await run(['--once', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const noToken = await run(['--once', '--token', '', path.join(logs, '*.log')]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/token/);
    // A CRLF env file: the token ends with \r. Said at start, exit 2, not a ship loop failing later.
    const crToken = await run(['--once', '--token', 'T\r', '--server', sink.url, '--state-dir', path.join(dir, 'state2'), path.join(logs, '*.log')]);
    expect(crToken.code).toBe(2);
    expect(crToken.stderr).toMatch(/carriage return/);
  }, 60_000);
});
