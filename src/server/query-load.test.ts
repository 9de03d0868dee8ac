/**
 * Searches cannot starve the server: a slow search runs in turns so /healthz answers while
 * it runs, searches are bounded per token and in all (429 with Retry-After), and a search
 * whose client disconnects stops. Real Daniel on a real port over a real SQLite store.
 */
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SqliteStore } from '../storage/sqlite/sqlite-store.js';
import type { AppendLine } from '../storage/store.js';
import { buildApp, type AppOptions } from './app.js';
import { createTokenSet } from './tokens.js';
import { TOKENS } from '../../test/server/helpers.js';

/** No literal of 3 characters and no match: every line of every segment is tested. */
const SLOW = `/logs?regex=${encodeURIComponent('[a-z]+[0-9]+[a-z]+[0-9]+[#]')}&timeout=30s&count=10`;
const LINES = 40_000;

let dataDir: string;
let store: SqliteStore;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'daniel-load-'));
  store = await SqliteStore.open({ dataDir, countPool: { workers: 0 } });
  const t0 = 1_700_000_000_000_000_000n;
  for (let batch = 0; batch < LINES / 5000; batch++) {
    let offset = 0;
    const lines: AppendLine[] = [];
    for (let i = 0; i < 5000; i++) {
      const n = batch * 5000 + i;
      const line = `INFO worker-${n % 97} handled request id=${n} path=/api/items/${n % 1013} status=200 in ${n % 500}ms`;
      const end = offset + Buffer.byteLength(line) + 1;
      lines.push({ offset, end, timestamp: t0 + BigInt(n) * 1_000_000n, line, cut: false });
      offset = end;
    }
    await store.append({ host: 'web1', files: [{ fileId: `f${batch}`, filename: `app-${batch}.log`, path: `/var/log/app-${batch}.log`, lines }], receivedAt: t0 });
  }
}, 120_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function serve(limits: AppOptions['limits']): Promise<string> {
  const tokens = createTokenSet([
    { scope: 'read', token: TOKENS.read },
    { scope: 'admin', token: TOKENS.admin },
  ]);
  const app = await buildApp({ store, tokens, limits: { closeGraceMs: 300, ...limits } });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

const headers = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: headers(TOKENS.admin) })).text();
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

/** Resolves once the server reports `count` queries running; fails if `done` settles first. */
async function untilRunning(base: string, count: number, done: { settled: boolean }): Promise<void> {
  for (;;) {
    if (done.settled) throw new Error('the search ended before it was seen running');
    if ((await metric(base, 'daniel_queries_active')) >= count) return;
    await sleep(5);
  }
}

function track<T>(promise: Promise<T>): { promise: Promise<T>; state: { settled: boolean } } {
  const state = { settled: false };
  return {
    promise: promise.finally(() => {
      state.settled = true;
    }),
    state,
  };
}

describe('searches cannot starve the server', () => {
  test('/healthz answers while slow searches run, and fast', async () => {
    const base = await serve({});
    const searches = Array.from({ length: 4 }, () => track(fetch(`${base}${SLOW}`, { headers: headers(TOKENS.read) }).then((r) => r.status)));
    await untilRunning(base, 4, searches[0]!.state);
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      await health.text();
      latencies.push(performance.now() - started);
    }
    // Answered while every search was still running: the searches leave the loop in turns.
    expect(searches.map((s) => s.state.settled)).toEqual([false, false, false, false]);
    // Generous: a turn is a few ms; this only fails when a search holds the loop for its whole run.
    expect(Math.max(...latencies)).toBeLessThan(2000);
    expect(await Promise.all(searches.map((s) => s.promise))).toEqual([200, 200, 200, 200]);
  }, 120_000);

  test('concurrent searches are bounded per token and in all: 429 with Retry-After', async () => {
    const base = await serve({ maxQueries: 2, maxQueriesPerToken: 1 });
    const first = track(fetch(`${base}${SLOW}`, { headers: headers(TOKENS.read) }));
    await untilRunning(base, 1, first.state);
    const sameToken = await fetch(`${base}${SLOW}`, { headers: headers(TOKENS.read) });
    expect(sameToken.status).toBe(429);
    expect(sameToken.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await sameToken.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('RATE_LIMITED');
    expect(body.error.message).toContain('this token');
    // The histogram scans too, and shares the bound.
    const histogram = await fetch(`${base}/logs/histogram?regex=x%5B0-9%5D`, { headers: headers(TOKENS.read) });
    expect(histogram.status).toBe(429);

    // Another token still gets in, up to the bound in all.
    const second = track(fetch(`${base}${SLOW}`, { headers: headers(TOKENS.admin) }));
    await untilRunning(base, 2, second.state);
    const globalBase = await serve({ maxQueries: 1, maxQueriesPerToken: 1 });
    const third = track(fetch(`${globalBase}${SLOW}`, { headers: headers(TOKENS.read) }));
    await untilRunning(globalBase, 1, third.state);
    const overall = await fetch(`${globalBase}${SLOW}`, { headers: headers(TOKENS.admin) });
    expect(overall.status).toBe(429);
    expect(((await overall.json()) as { error: { message: string } }).error.message).toContain('--max-queries');
    expect((await first.promise).status).toBe(200);
    expect((await second.promise).status).toBe(200);
    expect((await third.promise).status).toBe(200);
    // Places are freed when searches end.
    expect(await metric(base, 'daniel_queries_active')).toBe(0);
    expect((await fetch(`${base}/logs?count=1`, { headers: headers(TOKENS.read) })).status).toBe(200);
  }, 120_000);

  test('a search stops when its client disconnects', async () => {
    const base = await serve({ maxQueries: 4, maxQueriesPerToken: 1 });
    const abort = new AbortController();
    const search = track(fetch(`${base}${SLOW}`, { headers: headers(TOKENS.read), signal: abort.signal }).catch(() => 'aborted'));
    await untilRunning(base, 1, search.state);
    abort.abort();
    expect(await search.promise).toBe('aborted');
    for (;;) {
      if ((await metric(base, 'daniel_queries_active')) === 0) break;
      await sleep(5);
    }
    expect(await metric(base, 'daniel_queries_abandoned_total')).toBe(1);
    // Its place is free again at once (the search it held stopped, it did not run on).
    expect((await fetch(`${base}/logs?count=1`, { headers: headers(TOKENS.read) })).status).toBe(200);
  }, 120_000);
});
