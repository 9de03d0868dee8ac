/**
 * Regex search runs on V8's linear-time engine, whose flag is set when the process starts
 * (daniel's shebang; `node --enable-experimental-regexp-engine dist/bin/daniel.js`), never
 * at run time. Started without it, `daniel serve` refuses at once with a clear message
 * rather than answering every regex query with an error later.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { LINEAR_REGEX_FLAG, REPO, serveDaniel } from '../lib/processes.js';

const BIN = fileURLToPath(new URL('../../src/bin/daniel.ts', import.meta.url));

it('daniel serve without the linear regex engine exits 1 with a message naming the flag', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'daniel-no-engine-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
      cwd: REPO,
      env: { ...process.env, DANIEL_TOKENS: 'admin:test-token-1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/linear-time engine.*--enable-experimental-regexp-engine/);
    expect(stdout).not.toMatch(/listening on/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

it('started with it (as the shared fixture does), a pathological regex is answered', async () => {
  const daniel = await serveDaniel({ env: { DANIEL_TOKENS: 'admin:test-token-1' } });
  try {
    const response = await fetch(`${daniel.url}/logs?regex=${encodeURIComponent('^(a+)+$')}`, { headers: { authorization: 'Bearer test-token-1' } });
    expect(response.status).toBe(200);
    const backreference = await fetch(`${daniel.url}/logs?regex=${encodeURIComponent('(a)\\1')}`, { headers: { authorization: 'Bearer test-token-1' } });
    expect(backreference.status).toBe(400);
  } finally {
    await daniel.stop();
  }
}, 60_000);

it("the fixture starts Daniel with the flags of daniel's shebang, which an installed daniel runs with", () => {
  const shebang = readFileSync(BIN, 'utf8').split('\n')[0]!;
  expect(shebang.split(' ').slice(3)).toEqual([LINEAR_REGEX_FLAG]);
});
