/**
 * Real child processes for the system tests: Daniel on port 0 in a temp data dir, Henrik
 * pointed at it. Every child is registered so `killAllChildren()` can SIGKILL whatever a
 * failed test left running; the last lines of each child's output are kept for the report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINEAR_REGEX_FLAG } from '../../../src/query/matcher.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const danielBin = join(repoRoot, 'dist/bin/daniel.js');
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

export interface DanielOptions {
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

export async function startDaniel(options: DanielOptions): Promise<Daniel> {
  const args = ['serve', '--listen', options.listen ?? '127.0.0.1:0', '--data-dir', options.dataDir];
  if (options.retention) args.push('--retention', options.retention);
  args.push(...(options.extraArgs ?? []));
  const child = spawnNode('daniel', danielBin, args, { DANIEL_TOKENS: tokensEnv, ...options.env }, [LINEAR_REGEX_FLAG]);
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
  return spawnNode('henrik', henrikBin, args, options.env);
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
