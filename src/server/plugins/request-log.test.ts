import { describe, expect, test } from 'vitest';
import { createStore } from '../../storage/create-store.js';
import type { Store } from '../../storage/store.js';
import { buildApp } from '../app.js';
import { createServerLog } from '../log.js';
import { createTokenSet } from '../tokens.js';
import type { RequestLogOptions } from './request-log.js';

const TOKEN = 'read-token-0123456789';

async function withApp(
  requestLog: Partial<RequestLogOptions>,
  run: (app: Awaited<ReturnType<typeof buildApp>>, lines: Record<string, unknown>[], store: Store) => Promise<void>,
  level: 'info' | 'warn' = 'warn',
): Promise<void> {
  const lines: Record<string, unknown>[] = [];
  const log = createServerLog({ level, write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const store = await createStore({ kind: 'memory', dataDir: '' });
  const app = await buildApp({ store, tokens: createTokenSet([{ scope: 'read', token: TOKEN }]), log, requestLog });
  try {
    await run(app, lines, store);
  } finally {
    await app.close();
    await store.close();
  }
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('request log', () => {
  test('by default a fast request writes nothing; a failed authentication writes its client address', async () => {
    await withApp({}, async (app, lines) => {
      expect((await app.inject({ url: '/hosts/', headers: auth })).statusCode).toBe(200);
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
      expect(lines).toEqual([]);
      expect((await app.inject({ url: '/hosts/', headers: { authorization: 'Bearer wrong-token-secret' } })).statusCode).toBe(401);
      expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'authentication failed', client: '127.0.0.1', url: '/hosts/', code: 'UNAUTHORIZED' })]);
      expect(JSON.stringify(lines)).not.toContain('wrong-token-secret');
    });
  });

  test('slow requests are logged, except on the hot path', async () => {
    await withApp({ slowMs: 0 }, async (app, lines) => {
      await app.inject({ url: '/hosts/', headers: auth });
      await app.inject({ url: '/healthz' });
      expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'slow request', client: '127.0.0.1', method: 'GET', url: '/hosts/', status: 200 })]);
      expect(typeof lines[0]?.ms).toBe('number');
    });
  });

  test('every request with `all`, the health check too', async () => {
    await withApp(
      { all: true },
      async (app, lines) => {
        await app.inject({ url: '/hosts/', headers: auth });
        await app.inject({ url: '/healthz' });
        await app.inject({ url: '/nothing' });
        expect(lines.map((line) => [line.level, line.msg, line.url, line.status])).toEqual([
          ['info', 'request', '/hosts/', 200],
          ['info', 'request', '/healthz', 200],
          ['info', 'request', '/nothing', 404],
        ]);
      },
      'info',
    );
  });

  test('a 5xx is logged with its cause', async () => {
    await withApp({}, async (app, lines, store) => {
      store.ping = () => Promise.reject(new Error('database is locked'));
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(503);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'warn', msg: 'request failed', url: '/healthz', status: 503 });
      expect(JSON.stringify(lines[0]?.err)).toContain('database is locked');
    });
  });
});

describe("pino as Daniel's logger", () => {
  test('one JSON line per event, level by name, ISO time, credentials redacted wherever they sit', () => {
    const written: string[] = [];
    const log = createServerLog({ level: 'info', write: (line) => void written.push(line) });
    log.warn('authentication failed', { client: '10.0.0.1', authorization: 'Bearer s3cret-a', headers: { authorization: 'Bearer s3cret-b', cookie: 'c=s3cret-c' }, token: 's3cret-d', grant: { token: 's3cret-e' } });
    log.debug('not written');
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith('\n')).toBe(true);
    const line = JSON.parse(written[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', msg: 'authentication failed', client: '10.0.0.1', authorization: '[redacted]', token: '[redacted]' });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
    expect(written[0]).not.toMatch(/s3cret/);
  });
});
