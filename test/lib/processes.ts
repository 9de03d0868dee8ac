/**
 * The one fixture for real `daniel` and `henrik` processes, for the tests and the bench:
 * Daniel from source through tsx (default) or from dist/ (`from: 'dist'`, after `npm run
 * build`), always with V8's linear-time regex engine, which Daniel needs at start-up.
 * `startDaniel` runs any command; `serveDaniel` starts `daniel serve` on a free port and
 * waits until it listens. The second half is the system tests' supervision: every `Child`
 * is registered so `killAllChildren()` can SIGKILL whatever a failed test left running, the
 * last lines of its output are kept for the report, and Henrik's log comes as JSON events
 * that `waitForEvent` awaits by name.
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

/** Node's arguments before daniel's own: the shebang's flags and the entry point. */
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

// The system tests' supervised children.

export const repoRoot = REPO;
export const danielBin = DANIEL_DIST;
export const henrikBin = join(repoRoot, 'dist/bin/henrik.js');

/** Fixed test tokens: the system tests are the only users of these throwaway servers. */
export const tokens = { admin: 'system-admin-secret', read: 'system-read-secret', ingest: 'system-ingest-secret' };
export const tokensEnv = `admin:${tokens.admin},read:${tokens.read},ingest:${tokens.ingest}`;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const outputLimit = 200;
const liveChildren = new Set<Child>();
const spawnedChildren: Child[] = [];
const tempDirs: string[] = [];

export class Child {
  readonly output: string[] = [];
  readonly exited: Promise<ExitStatus>;
  private exitStatus: ExitStatus | undefined;
  private listeners: Array<() => void> = [];

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    liveChildren.add(this);
    spawnedChildren.push(this);
    const collect = (stream: NodeJS.ReadableStream | null, tag: string): void => {
      let pending = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        pending += chunk;
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          this.pushLine(`${tag} ${pending.slice(0, newline)}`);
          pending = pending.slice(newline + 1);
          newline = pending.indexOf('\n');
        }
      });
    };
    collect(proc.stdout, 'out|');
    collect(proc.stderr, 'err|');
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        liveChildren.delete(this);
        this.notify();
        resolve(this.exitStatus);
      });
    });
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Resolves with the first output line matching `pattern`, or rejects at the deadline or exit. */
  waitForOutput(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (const line of this.output) {
          const match = pattern.exec(line);
          if (match) {
            finish();
            resolve(match);
            return true;
          }
        }
        if (!this.running) {
          finish();
          reject(new Error(`${this.name} exited (${JSON.stringify(this.exitStatus)}) before printing ${pattern}:\n${this.tail()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.tail()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((listener) => listener !== onChange);
      };
      const onChange = (): void => void check();
      if (!check()) this.listeners.push(onChange);
    });
  }

  /** Resolves with the fields of the first JSON log event so named (Henrik's --log-format json). */
  async waitForEvent(event: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const match = await this.waitForOutput(new RegExp(`^err\\| (\\{.*"event":"${event}".*\\})$`), timeoutMs);
    return JSON.parse(match[1]!) as Record<string, unknown>;
  }

  /** Sends `signal` and waits for the exit; SIGKILLs and throws when it does not come in time. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<ExitStatus> {
    if (!this.running) return this.exitStatus!;
    this.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      await this.kill9();
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}:\n${this.tail()}`);
    }
    return result;
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  tail(lines = 40): string {
    return this.output.slice(-lines).map((line) => `  [${this.name}] ${line}`).join('\n');
  }

  private pushLine(line: string): void {
    this.output.push(line);
    if (this.output.length > outputLimit) this.output.splice(0, this.output.length - outputLimit);
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

export function spawnNode(name: string, script: string, args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Child {
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  const proc = spawn(process.execPath, [...nodeArgs, script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Child(name, proc);
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `la-system-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** SIGKILLs every child still running: the afterEach safety net, also after a failed test. */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...liveChildren].map((child) => child.kill9()));
}

/** Every child spawned since the last call (running or not): for the failure report. */
export function takeSpawnedChildren(): Child[] {
  return spawnedChildren.splice(0);
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface DanielChildOptions {
  dataDir: string;
  /** Default `127.0.0.1:0`. */
  listen?: string;
  retention?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export interface Daniel {
  child: Child;
  url: string;
  port: number;
  dataDir: string;
}

/** `daniel serve` from dist/ as a supervised Child, with the system tests' tokens. */
export async function startDanielChild(options: DanielChildOptions): Promise<Daniel> {
  const args = ['serve', '--listen', options.listen ?? '127.0.0.1:0', '--data-dir', options.dataDir];
  if (options.retention) args.push('--retention', options.retention);
  args.push(...(options.extraArgs ?? []));
  const nodeArgs = danielNodeArgs('dist');
  const script = nodeArgs.pop()!;
  const child = spawnNode('daniel', script, args, { DANIEL_TOKENS: tokensEnv, ...options.env }, nodeArgs);
  const match = await child.waitForOutput(/listening on (http:\/\/[^\s/]+:(\d+))/, 30_000);
  return { child, url: match[1]!, port: Number(match[2]), dataDir: options.dataDir };
}

export interface HenrikOptions {
  server: string;
  host: string;
  stateDir: string;
  paths: string[];
  token?: string;
  once?: boolean;
  config?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export function startHenrik(options: HenrikOptions): Child {
  const args = ['--server', options.server, '--token', options.token ?? tokens.ingest, '--host', options.host, '--state-dir', options.stateDir];
  if (options.once) args.push('--once');
  if (options.config) args.push('--config', options.config);
  args.push(...(options.extraArgs ?? []), ...options.paths);
  // JSON events, so a test awaits one by name (Child.waitForEvent); an env may ask for text.
  return spawnNode('henrik', henrikBin, args, { HENRIK_LOG_FORMAT: 'json', ...options.env });
}

/** Runs `henrik --once` to its end; resolves with the exit status (throws past the deadline). */
export async function runHenrikOnce(options: Omit<HenrikOptions, 'once'>, timeoutMs = 60_000): Promise<ExitStatus & { child: Child }> {
  const child = startHenrik({ ...options, once: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const result = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    await child.kill9();
    throw new Error(`henrik --once did not finish within ${timeoutMs} ms:\n${child.tail()}`);
  }
  return { ...result, child };
}
