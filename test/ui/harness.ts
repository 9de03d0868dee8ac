/**
 * Real parts for the browser tests and the first-load measurement: a `daniel serve` child
 * process on port 0 with a temp data dir, POST /ingest, and Debian's chromium.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { serveDaniel } from '../lib/processes.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
export const TOKEN = 'ui-test-admin-secret';

export const hasChromium = existsSync(CHROMIUM);

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface Daniel {
  url: string;
  dataDir: string;
  process: ChildProcess;
  stop: () => Promise<void>;
}

/** Starts `daniel serve` from dist/ on a free port (the shared fixture) and waits for its `listening on` line. */
export async function startDaniel(): Promise<Daniel> {
  if (!existsSync(join(ROOT, 'ui-dist/index.html'))) throw new Error('ui-dist/ is missing: run npm run build first');
  const daniel = await serveDaniel({ from: 'dist', env: { DANIEL_TOKENS: `admin:${TOKEN}` } });
  return { url: daniel.url, dataDir: daniel.dataDir, process: daniel.child, stop: daniel.stop };
}

export interface IngestLine {
  line: string;
  /** Event time in ms since the epoch. */
  timeMs: number;
}

/** Sends lines of one file the way Henrik would, tracking each file's byte offsets. */
export class Ingester {
  private readonly offsets = new Map<string, number>();

  constructor(
    private readonly url: string,
    private readonly token = TOKEN,
  ) {}

  async send(host: string, filename: string, lines: IngestLine[]): Promise<void> {
    const key = `${host}/${filename}`;
    let offset = this.offsets.get(key) ?? 0;
    const wire = lines.map(({ line, timeMs }) => {
      const length = Buffer.byteLength(line) + 1;
      const entry = { offset, end: offset + length, timestamp: (BigInt(Math.round(timeMs)) * 1_000_000n).toString(), line };
      offset += length;
      return entry;
    });
    this.offsets.set(key, offset);
    const body = {
      host,
      files: [{ file_id: `1:${createHash('sha256').update(key).digest('hex').slice(0, 12)}:0`, filename, path: `/var/log/${filename}`, size: offset, lines: wire }],
    };
    const response = await fetch(`${this.url}/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
  }
}

export const hasHenrik = existsSync(join(ROOT, 'dist/bin/henrik.js'));

/** Starts a real Henrik (`node dist/bin/henrik.js`) tailing `paths` into Daniel as `host`. */
export function startHenrik(url: string, host: string, paths: string[]): { stop: () => Promise<void>; output: () => string } {
  const stateDir = mkdtempSync(join(tmpdir(), 'henrik-ui-'));
  const child = spawn(process.execPath, [join(ROOT, 'dist/bin/henrik.js'), '--server', url, '--token', TOKEN, '--host', host, '--state-dir', stateDir, ...paths], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true (bounded): for conditions no event announces. */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
