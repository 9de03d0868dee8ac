/** Count workers never hold a process open: idle, they let it exit; closed, they are gone. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./count-pool-exit.fixture.ts', import.meta.url));

function run(mode: 'close' | 'idle'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Bounded: a worker holding the process open would hang here until the kill.
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('count workers and process exit', () => {
  it.each(['close', 'idle'] as const)('a process that counted through a worker exits by itself (%s)', async (mode) => {
    const { code, stdout, stderr } = await run(mode);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ counted: [{ tag: 'only', count: 50 }], handedOut: 1 });
  }, 60_000);
});
