/** Shared by the alert tests: an app evaluating alerts over a real SQLite store and alerts.db. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openSqliteAlertStore, type AlertStore } from '../../src/alerts/alert-store.js';
import type { EngineOptions } from '../../src/alerts/engine.js';
import { auth, ingest, startTestApp, TOKENS, type TestApp } from '../server/helpers.js';

export const FAST: Partial<EngineOptions> = {
  tickMs: 100,
  pollMs: 200,
  delivery: { timeoutMs: 2000, minBackoffMs: 50, maxBackoffMs: 400, giveUpAfterMs: 60_000, concurrency: 8 },
};

export interface AlertApp extends TestApp {
  alerts: AlertStore;
}

export async function startAlertApp(options: Partial<EngineOptions> = FAST): Promise<AlertApp> {
  const alertsDir = await mkdtemp(join(tmpdir(), 'daniel-alerts-'));
  const alerts = await openSqliteAlertStore(alertsDir);
  const t = await startTestApp({ alerts: { store: alerts, baseUrl: 'http://daniel.example:3032', options } });
  return {
    ...t,
    alerts,
    async close() {
      await t.close();
      await alerts.close();
      await rm(alertsDir, { recursive: true, force: true });
    },
  };
}

const offsets = new Map<string, number>();

/** Lines of one host's file, stamped now, at the next offsets of that file. */
export async function send(app: FastifyInstance, host: string, lines: string[], filename = 'app.log'): Promise<void> {
  const key = `${host}/${filename}`;
  let offset = offsets.get(key) ?? 0;
  const now = BigInt(Date.now()) * 1_000_000n;
  const body = {
    host,
    files: [
      {
        file_id: `id-${key}`,
        filename,
        path: `/var/log/${filename}`,
        lines: lines.map((line) => {
          const item = { offset, timestamp: String(now), line };
          offset += Buffer.byteLength(line) + 1;
          return item;
        }),
      },
    ],
  };
  offsets.set(key, offset);
  const response = await ingest(app, body);
  if (response.statusCode !== 200) throw new Error(`ingest: ${response.statusCode} ${response.body}`);
}

export async function call(app: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, token = TOKENS.admin) {
  return app.inject({
    method,
    url,
    headers: { ...auth(token), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

export async function createRule(app: FastifyInstance, body: unknown): Promise<string> {
  const response = await call(app, 'POST', '/alerts', body);
  if (response.statusCode !== 201) throw new Error(`POST /alerts: ${response.statusCode} ${response.body}`);
  return response.json<{ data: { id: string } }>().data.id;
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
