/** Honest health over a real SQLite store: files deleted or damaged under Daniel are a 500 naming the file. */
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { auth, ingest, startTestApp, TOKENS, type TestApp } from '../../../test/server/helpers.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function batch(n: number) {
  let offset = 0;
  return {
    host: 'h',
    files: [
      {
        file_id: 'f',
        filename: 'app.log',
        lines: Array.from({ length: n }, (_, i) => {
          const line = `line ${i} ${'x'.repeat(200)}`;
          const entry = { offset, timestamp: String(1_700_000_000_000_000_000n + BigInt(i)), line };
          offset += line.length + 1;
          return entry;
        }),
      },
    ],
  };
}

test('/healthz and /readyz say ok on a healthy store', async () => {
  t = await startTestApp({ storeKind: 'sqlite' });
  for (const path of ['/healthz', '/readyz']) {
    const response = await t.app.inject({ method: 'GET', url: path });
    expect(response.statusCode, path).toBe(200);
    expect(response.json()).toEqual({ data: { status: 'ok' } });
  }
});

test('rm daniel.db* under a running Daniel: health is a 500 naming the file, ingest is refused', async () => {
  t = await startTestApp({ storeKind: 'sqlite' });
  expect((await ingest(t.app, batch(10))).statusCode).toBe(200);
  const file = join(t.dataDir, 'daniel.db');
  for (const suffix of ['', '-wal', '-shm']) await rm(file + suffix, { force: true });
  // The check may be up to 1 s old.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  for (const path of ['/healthz', '/readyz']) {
    const response = await t.app.inject({ method: 'GET', url: path });
    expect(response.statusCode, path).toBe(500);
    const error = response.json<{ error: { code: string; message: string } }>().error;
    expect(error.code).toBe('STORE_DAMAGED');
    expect(error.message).toContain(file);
  }
  const refused = await ingest(t.app, { host: 'h', files: [{ file_id: 'g', filename: 'other.log', lines: [{ offset: 0, timestamp: '1', line: 'after' }] }] });
  expect(refused.statusCode).toBe(500);
  expect(refused.json<{ error: { code: string } }>().error.code).toBe('STORE_DAMAGED');
});

test('a damaged database file: searches and health answer 500 STORE_DAMAGED naming the file, not a retry-later 503', async () => {
  t = await startTestApp({ storeKind: 'sqlite' });
  expect((await ingest(t.app, batch(2000))).statusCode).toBe(200);
  await t.store.close();
  const file = join(t.dataDir, 'daniel.db');
  // The pages of the second half (the segments' tables) get a garbage b-tree header.
  const handle = await open(file, 'r+');
  const { size } = await handle.stat();
  for (let page = Math.floor(size / 8192 / 2); page * 8192 < size; page++) await handle.write(Buffer.alloc(16, 0xee), 0, 16, page * 8192);
  await handle.close();
  const { SqliteStore } = await import('../../storage/sqlite/sqlite-store.js');
  const damaged = await SqliteStore.open({ dataDir: t.dataDir, countPool: { workers: 0 } });
  const { buildApp } = await import('../app.js');
  const { createTokenSet } = await import('../tokens.js');
  const app = await buildApp({ store: damaged, tokens: createTokenSet([{ scope: 'read', token: TOKENS.read }]) });
  try {
    const search = await app.inject({ method: 'GET', url: '/logs?count=10', headers: auth(TOKENS.read) });
    expect(search.statusCode).toBe(500);
    const error = search.json<{ error: { code: string; message: string } }>().error;
    expect(error.code).toBe('STORE_DAMAGED');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/backup|recover/);
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(500);
    expect(health.json<{ error: { code: string } }>().error.code).toBe('STORE_DAMAGED');
  } finally {
    await app.close();
    await damaged.close();
  }
});
