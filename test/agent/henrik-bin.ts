/**
 * The built `henrik` (dist/, so `npm run build` first) as the process tests start it: against
 * a sink (ingest-sink.ts) with token `T`, host `box`, a state dir, and whatever else the test
 * passes; every child started is killed at the test's end (killAll in afterEach).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const HENRIK_BIN = fileURLToPath(new URL('../../dist/bin/henrik.js', import.meta.url));

export interface HenrikChild {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** What it wrote on stderr so far. */
  stderr: () => string;
  /** Its event names so far (with `HENRIK_LOG_FORMAT: 'json'` in env). */
  events: () => string[];
  /** Resolves once it has logged `started` (its state loaded, its inputs open); rejects if it exits first. */
  started: () => Promise<void>;
}

export interface HenrikStart {
  server: string;
  stateDir: string;
  args: string[];
  stdin?: 'ignore' | 'pipe';
  env?: Record<string, string>;
}

export class HenrikRunner {
  private readonly children = new Set<ChildProcess>();

  constructor() {
    if (!existsSync(HENRIK_BIN)) throw new Error(`${HENRIK_BIN} is missing: run npm run build first`);
  }

  start(options: HenrikStart): HenrikChild {
    const child = spawn(process.execPath, [HENRIK_BIN, '--server', options.server, '--state-dir', options.stateDir, '--host', 'box', ...options.args], {
      env: { ...process.env, HENRIK_TOKEN: 'T', ...options.env },
      stdio: [options.stdin ?? 'ignore', 'ignore', 'pipe'],
    });
    this.children.add(child);
    let stderr = '';
    let onStderr = (): void => {};
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr();
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        this.children.delete(child);
        resolve(code);
      }),
    );
    const events = (): string[] => stderr.split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as { event: string }).event);
    // Both log formats name the event as `event=started` or `"event":"started"`.
    const hasStarted = (): boolean => /event"?[=:]"?started\b/.test(stderr);
    const started = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (hasStarted()) return resolve();
        onStderr = () => {
          if (hasStarted()) resolve();
        };
        void exited.then((code) => reject(new Error(`henrik exited ${String(code)} before it started: ${stderr}`)));
      });
    return { child, exited, stderr: () => stderr, events, started };
  }

  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }
}
