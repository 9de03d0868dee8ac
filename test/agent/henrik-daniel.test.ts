/**
 * The real pair: `henrik` shipping to `daniel serve` (both from dist/, so `npm run build`
 * first), with Henrik killed -9 and Daniel killed -9 and restarted mid-stream. Every line
 * is stored exactly once, read back through the REST API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DANIEL_DIST, serveDaniel, type ServedDaniel } from '../lib/processes.js';

const HENRIK = fileURLToPath(new URL('../../dist/bin/henrik.js', import.meta.url));
const TOKEN = 'admin-token-for-tests';

let dir: string;
const children = new Set<ChildProcess>();

beforeEach(() => {
  for (const bin of [HENRIK, DANIEL_DIST]) if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-daniel-'));
  mkdirSync(path.join(dir, 'logs'));
});
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(bin: string, args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (children.delete(child), resolve(code))));
  return { child, output: () => output, exited };
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startDaniel(listen: string): Promise<ServedDaniel> {
  const daniel = await serveDaniel({ from: 'dist', listen, dataDir: path.join(dir, 'data'), env: { DANIEL_TOKENS: `admin:${TOKEN}` } });
  children.add(daniel.child);
  return daniel;
}

async function storedLines(url: string): Promise<string[] | undefined> {
  try {
    const res = await fetch(`${url}/hosts/box/logs?count=10000`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (res.status === 404) return [];
    if (!res.ok) return undefined;
    return ((await res.json()) as { data: Array<{ logline: string }> }).data.map((l) => l.logline);
  } catch {
    return undefined;
  }
}

it('henrik -> daniel with both killed -9 mid-stream: every line stored once', async () => {
  let daniel = await startDaniel('127.0.0.1:0');
  const port = new URL(daniel.url).port;
  const file = path.join(dir, 'logs', 'app.log');
  writeFileSync(file, '');
  const henrikArgs = ['--server', daniel.url, '--host', 'box', '--state-dir', path.join(dir, 'state'), path.join(dir, 'logs', '*.log')];
  let henrik = run(HENRIK, henrikArgs, { HENRIK_TOKEN: TOKEN });
  const written: string[] = [];
  const write = (count: number): void => {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const n = written.length + lines.length + 1;
      lines.push(`2024-05-01T10:00:00Z record ${n} ${'q'.repeat(n % 30)}`);
    }
    appendFileSync(file, lines.join('\n') + '\n');
    written.push(...lines);
  };
  for (let round = 0; round < 4; round++) {
    write(500);
    await until(async () => ((await storedLines(daniel.url))?.length ?? 0) > round * 400 || undefined, `round ${round}`);
    if (round === 1) {
      henrik.child.kill('SIGKILL');
      await henrik.exited;
      write(300);
      henrik = run(HENRIK, henrikArgs, { HENRIK_TOKEN: TOKEN });
    }
    if (round === 2) {
      daniel.child.kill('SIGKILL');
      await daniel.exited();
      write(300);
      daniel = await startDaniel(`127.0.0.1:${port}`);
    }
  }
  const stored = await until(async () => {
    const lines = await storedLines(daniel.url);
    return lines !== undefined && lines.length >= written.length ? lines : undefined;
  }, `${written.length} lines in daniel`, 60_000);
  henrik.child.kill('SIGTERM');
  expect(await henrik.exited).toBe(0);
  expect(stored.length).toBe(written.length);
  expect(new Set(stored).size).toBe(stored.length);
  expect([...stored].sort()).toEqual([...written].sort());
}, 180_000);
