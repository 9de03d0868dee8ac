/** Real `daniel` processes for the cross-process tests (run from source through tsx). */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../src/bin/daniel.ts', import.meta.url));

export interface DanielProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` on stdout; rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited(): Promise<number | null>;
}

export function startDaniel(args: string[], env: Record<string, string | undefined> = {}): DanielProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
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
