/**
 * `daniel backup` while lines keep arriving, `daniel restore` into a new data dir, and a
 * Daniel on the restored store reads every line the backup holds: whole batches, no gaps.
 * Uses dist/ (npm run build first).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const DANIEL = fileURLToPath(new URL('../../dist/bin/daniel.js', import.meta.url));
const TOKEN = 'admin-token-for-backup-test';
const dir = mkdtempSync(join(tmpdir(), 'daniel-backup-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function serve(dataDir: string): Promise<string> {
  const child = spawn(process.execPath, ['--enable-experimental-regexp-engine', DANIEL, 'serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], { env: { ...process.env, DANIEL_TOKENS: `admin:${TOKEN}` }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const started = Date.now();
  while (!/listening on (\S+)/.test(out)) {
    if (Date.now() - started > 30_000) throw new Error(`no start: ${out}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return /listening on (\S+)/.exec(out)![1]!;
}

const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const BATCH = 50;

test('a backup taken under load restores into a new data dir with whole batches and no gaps', async () => {
  const url = await serve(join(dir, 'data'));
  let batches = 0;
  let stop = false;
  const load = (async () => {
    while (!stop) {
      const lines = Array.from({ length: BATCH }, (_, i) => ({ offset: (batches * BATCH + i) * 10, end: (batches * BATCH + i) * 10 + 10, timestamp: String(1_700_000_000_000_000_000n + BigInt(batches * BATCH + i)), line: `line ${batches * BATCH + i}` }));
      const answer = await fetch(`${url}/ingest`, { method: 'POST', headers, body: JSON.stringify({ host: 'busy', files: [{ file_id: 'f1', filename: 'app.log', lines }] }) });
      expect(answer.status).toBe(200);
      batches += 1;
    }
  })();
  while (batches < 20) await new Promise((resolve) => setTimeout(resolve, 20));
  const before = batches;
  // Spawned asynchronously, so batches keep arriving while the backup runs.
  const running = spawn(process.execPath, [DANIEL, 'backup', join(dir, 'backup.db'), '--data-dir', join(dir, 'data')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  running.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const status = await new Promise<number | null>((resolve) => running.on('close', resolve));
  const backup = { status, stderr };
  const after = batches;
  expect(after).toBeGreaterThan(before);
  stop = true;
  await load;
  expect(backup.status, backup.stderr).toBe(0);
  expect(statSync(join(dir, 'backup.db')).mode & 0o777).toBe(0o600);

  const restore = spawnSync(process.execPath, [DANIEL, 'restore', join(dir, 'backup.db'), '--data-dir', join(dir, 'restored')], { encoding: 'utf8' });
  expect(restore.status, restore.stderr).toBe(0);
  expect(spawnSync(process.execPath, [DANIEL, 'restore', join(dir, 'backup.db'), '--data-dir', join(dir, 'restored')], { encoding: 'utf8' }).status).toBe(1);

  const restoredUrl = await serve(join(dir, 'restored'));
  const answer = await fetch(`${restoredUrl}/hosts/busy/logs?order=asc&count=10000`, { headers });
  const lines = ((await answer.json()) as { data: { logline: string }[] }).data.map((entry) => entry.logline);
  expect(lines.length % BATCH).toBe(0);
  expect(lines.length).toBeGreaterThanOrEqual(before * BATCH);
  expect(lines.length).toBeLessThanOrEqual((after + 1) * BATCH);
  expect(lines).toEqual(Array.from({ length: lines.length }, (_, i) => `line ${i}`));
}, 120_000);
