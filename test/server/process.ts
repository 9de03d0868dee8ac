/**
 * The one fixture for real `daniel` processes in tests (and the bench's command line): from
 * source through tsx (default) or from dist/ (`from: 'dist'`, after `npm run build`), always
 * with V8's linear-time regex engine, which Daniel needs at start-up. `startDaniel` runs any
 * command; `serveDaniel` starts `daniel serve` on a free port and waits until it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINEAR_REGEX_FLAG } from '../../src/query/matcher.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../src/bin/daniel.ts', import.meta.url));
export const DANIEL_DIST = fileURLToPath(new URL('../../dist/bin/daniel.js', import.meta.url));
// The flag `daniel`'s shebang sets; a bare `node dist/bin/daniel.js serve` refuses to start without it.
export { LINEAR_REGEX_FLAG };

export type DanielFrom = 'tsx' | 'dist';

/** Node's arguments before daniel's own: the regex engine flag and the entry point. */
export function danielNodeArgs(from: DanielFrom = 'tsx'): string[] {
  if (from === 'dist' && !existsSync(DANIEL_DIST)) throw new Error(`${DANIEL_DIST} is missing: run npm run build first`);
  return from === 'dist' ? [LINEAR_REGEX_FLAG, DANIEL_DIST] : [LINEAR_REGEX_FLAG, '--import', 'tsx', BIN];
}

export interface DanielProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` on stdout; rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited(): Promise<number | null>;
}

export function startDaniel(args: string[], env: Record<string, string | undefined> = {}, from: DanielFrom = 'tsx'): DanielProcess {
  const child = spawn(process.execPath, [...danielNodeArgs(from), ...args], {
    cwd: REPO,
    env: { ...process.env, DANIEL_TOKEN: undefined, DANIEL_URL: undefined, DANIEL_TOKENS: undefined, DANIEL_DATA_DIR: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = once(child, 'close').then(([code]) => code as number | null);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = out.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
          return match !== null;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const onData = (): void => void check();
        const onExit = (): void => {
          if (!check()) {
            cleanup();
            reject(new Error(`exited before ${pattern}; stdout: ${out}; stderr: ${err}`));
          }
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.off('close', onExit);
        };
        child.stdout?.on('data', onData);
        child.on('close', onExit);
        check();
      });
    },
  };
}

/** Runs `daniel ARGS` to completion. */
export async function runDaniel(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = startDaniel(args, env);
  const code = await proc.exited();
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

export interface ServeOptions {
  /** Default: a fresh temporary directory, removed by stop(). */
  dataDir?: string;
  /** Default 127.0.0.1:0 (any free port). */
  listen?: string;
  /** More `serve` flags. */
  args?: string[];
  env?: Record<string, string | undefined>;
  from?: DanielFrom;
}

export interface ServedDaniel extends DanielProcess {
  /** http://host:port, without a trailing slash. */
  url: string;
  port: number;
  dataDir: string;
  /** SIGTERM (SIGKILL after 10 s), then removes a data directory it made. */
  stop: () => Promise<void>;
}

/** `daniel serve` on a free port (or `listen`), resolved once it prints its URL. */
export async function serveDaniel(options: ServeOptions = {}): Promise<ServedDaniel> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'daniel-test-'));
  const proc = startDaniel(['serve', '--listen', options.listen ?? '127.0.0.1:0', '--data-dir', dataDir, ...(options.args ?? [])], options.env, options.from);
  let match: RegExpMatchArray;
  try {
    match = await proc.waitFor(/listening on (https?:\/\/[^\s/]+:(\d+))/);
  } catch (error) {
    proc.child.kill('SIGKILL');
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const stop = async (): Promise<void> => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
      await proc.exited();
      clearTimeout(timer);
    }
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  return { ...proc, url: match[1]!, port: Number(match[2]), dataDir, stop };
}
