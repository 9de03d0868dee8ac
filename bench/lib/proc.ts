/**
 * Child processes for the bench: spawn with captured output, wait for a start line, sample
 * resident memory and CPU time from /proc, stop by pid. Every process is the harness's own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const OUTPUT_KEEP = 64 * 1024;

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** The last 64 KiB of stdout+stderr, for error messages. */
  output: () => string;
  /** Resolves with the first match of `pattern` in the output; rejects on exit or timeout. */
  waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<number | string>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Pin to these CPUs with taskset (exec'd, so the pid is the program's own). */
  cpus?: string;
}

let tasksetAvailable: boolean | undefined;
export function hasTaskset(): boolean {
  tasksetAvailable ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return tasksetAvailable;
}

export function startProcess(name: string, command: string, args: string[], options: SpawnOptions = {}): Proc {
  const pinned = options.cpus !== undefined && hasTaskset();
  const [file, argv] = pinned ? ['taskset', ['-c', options.cpus!, command, ...args]] : [command, args];
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEEP);
    for (const wake of waiters) wake();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exitedFlag = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on('error', (err) => {
      output += `\n[spawn error] ${err.message}`;
      exitedFlag = true;
      for (const wake of waiters) wake();
      resolve('spawn-error');
    });
    child.on('exit', (code, signal) => {
      exitedFlag = true;
      for (const wake of waiters) wake();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const waitFor = (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = output.match(pattern);
        if (match) return finish(() => resolve(match));
        if (exitedFlag) finish(() => reject(new Error(`${name} exited before printing ${pattern}: ${tail(output)}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms: ${tail(output)}`))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });
  const stop = async (graceMs = 10_000): Promise<number | string> => {
    if (!exitedFlag) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { name, child, pid: child.pid ?? -1, exited, output: () => output, waitFor, stop };
}

/** The promise's value, or `fallback` after `ms` (the timer is cleared either way). */
export async function withTimeout<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The end of some output on one line, for a "not measured" reason. */
export function tail(text: string, chars = 600): string {
  const trimmed = text.replace(/\s+/g, ' ').trim();
  return trimmed.length > chars ? `…${trimmed.slice(-chars)}` : trimmed;
}

/** Wall time of a command run to completion, its output, and its exit status. */
export function timeCommand(command: string, args: string[], options: SpawnOptions = {}): { ms: number; stdout: string; stderr: string; status: number | null } {
  const pinned = options.cpus !== undefined && hasTaskset();
  const [file, argv] = pinned ? ['taskset', ['-c', options.cpus!, command, ...args]] : [command, args];
  const started = performance.now();
  const result = spawnSync(file, argv, { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 256 * 2 ** 20 });
  const ms = performance.now() - started;
  return { ms, stdout: result.stdout?.toString('utf8') ?? '', stderr: result.stderr?.toString('utf8') ?? '', status: result.status };
}

/** Whether a program is on PATH. */
export function which(program: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${program}`]);
  const found = result.stdout?.toString().trim();
  return result.status === 0 && found ? found : undefined;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
  return clockTicks;
}

/** User+system CPU seconds of a live process, from /proc/PID/stat; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** A field of /proc/PID/status in bytes (VmRSS, VmHWM); undefined once the process is gone. */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples a process's resident memory and CPU time every `intervalMs` until stopped or
 * gone. The peak is the kernel's own high-water mark (VmHWM) where it was readable, so a
 * spike between two samples still counts; CPU is the last reading (user + system).
 */
export class ProcSampler {
  peakBytes = 0;
  cpuSeconds = 0;
  private samples: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.sample();
  }

  sample(): void {
    const rss = statusBytes(this.pid, 'VmRSS');
    const hwm = statusBytes(this.pid, 'VmHWM');
    if (rss !== undefined) this.samples.push(rss);
    this.cpuSeconds = cpuSeconds(this.pid) ?? this.cpuSeconds;
    this.peakBytes = Math.max(this.peakBytes, rss ?? 0, hwm ?? 0);
  }

  /** Median of the samples: the steady-state footprint. */
  typicalBytes(): number {
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}
