import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { LogsResponse } from '../../src/protocol/api.js';
import { startDaniel } from '../lib/processes.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'daniel-crash-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const LINES_PER_BATCH = 50;

test('kill -9 during a stream of ingest requests loses nothing acknowledged; a restart serves it all once', async () => {
  if (process.env.DANIEL_TEST_STORE === 'memory') return;
  const dataDir = join(dir, 'data');
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  const first = startDaniel(args);
  const [, url] = await first.waitFor(/^listening on (http:\/\/\S+)$/m);
  const token = (await readFile(join(dataDir, 'token'), 'utf8')).trim();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

  const acknowledged = new Set<string>();
  let killed = false;
  const sender = async (fileId: string): Promise<void> => {
    for (let batch = 0; !killed; batch += 1) {
      const lines = Array.from({ length: LINES_PER_BATCH }, (_, i) => {
        const n = batch * LINES_PER_BATCH + i;
        return { offset: n * 100, end: n * 100 + 100, timestamp: String(1_700_000_000_000_000_000n + BigInt(n) * 1000n), line: `${fileId} line ${n}` };
      });
      try {
        const response = await fetch(`${url}/ingest`, { method: 'POST', headers, body: JSON.stringify({ host: 'crash', files: [{ file_id: fileId, filename: fileId, lines }] }) });
        if (response.status === 200) for (const line of lines) acknowledged.add(line.line);
      } catch {
        return; // the server is gone
      }
    }
  };
  const senders = ['a', 'b', 'c'].map((id) => sender(id));
  while (acknowledged.size < 3000) await new Promise((resolve) => setTimeout(resolve, 20));
  first.child.kill('SIGKILL');
  killed = true;
  await Promise.all(senders);
  await first.exited();

  const second = startDaniel(args);
  const [, url2] = await second.waitFor(/^listening on (http:\/\/\S+)$/m);
  const stored: string[] = [];
  let next: string | undefined = `${url2}/logs?host=crash&count=10000&order=asc`;
  while (next !== undefined) {
    const response = await fetch(next, { headers });
    const page = (await response.json()) as LogsResponse;
    stored.push(...page.data.map((entry) => entry.logline));
    next = page.next;
  }
  expect(new Set(stored).size).toBe(stored.length);
  const storedSet = new Set(stored);
  const missing = [...acknowledged].filter((line) => !storedSet.has(line));
  expect(missing).toEqual([]);
  second.child.kill('SIGTERM');
  expect(await second.exited()).toBe(0);
}, 120_000);
