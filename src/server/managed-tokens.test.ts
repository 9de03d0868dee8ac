/**
 * Managed tokens end to end on a real app and a real SQLite token store: create, list,
 * revoke (CLI-side store and /tokens), hosts bound to tokens on every route, and every route
 * of /openapi.json tried with every kind of token, so a new route cannot be forgotten.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createStore } from '../storage/create-store.js';
import type { Store } from '../storage/store.js';
import { buildApp } from './app.js';
import { TokenRegistry } from './token-registry.js';
import { createManagedToken, openSqliteTokenStore, type ManagedTokenStore } from './token-store.js';
import { andynewmanBatch } from '../../test/server/helpers.js';

const ADMIN = 'configured-admin-0123456789';

let dataDir: string;
let store: Store;
let registry: TokenRegistry;
let cli: ManagedTokenStore;
let app: FastifyInstance;
const T: Record<string, string> = {};

const bearer = (token: string | undefined): Record<string, string> => (token === undefined ? {} : { authorization: `Bearer ${token}` });

async function ingestAs(token: string, host: string) {
  const batch = andynewmanBatch();
  batch.host = host;
  return app.inject({ method: 'POST', url: '/ingest', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: batch });
}

async function waitFor(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`not within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'daniel-tokens-'));
  store = await createStore({ kind: 'sqlite', dataDir });
  registry = new TokenRegistry(await openSqliteTokenStore(dataDir), [{ scope: 'admin', token: ADMIN }]);
  await registry.start(200);
  // A second handle on the same file: what `daniel token …` does while Daniel runs.
  cli = await openSqliteTokenStore(dataDir);
  // The failed-authentication limit is tested on its own; here every kind of token is tried many times.
  app = await buildApp({ store, tokens: registry, limits: { closeGraceMs: 300 }, abuseLimits: { authFailureBurst: 1000 } });
  T.read = (await createManagedToken(cli, { scope: 'read', name: 'reader' })).token;
  T.ingest = (await createManagedToken(cli, { scope: 'ingest' })).token;
  T.admin = (await createManagedToken(cli, { scope: 'admin' })).token;
  T.ingestWeb1 = (await createManagedToken(cli, { scope: 'ingest', hosts: ['web1'] })).token;
  T.readWeb1 = (await createManagedToken(cli, { scope: 'read', hosts: ['web1'] })).token;
  const revoked = await createManagedToken(cli, { scope: 'admin' });
  T.revoked = revoked.token;
  await cli.remove(revoked.record.id);
  await registry.refresh();
  for (const host of ['web1', 'web2']) expect((await ingestAs(T.ingest, host)).statusCode).toBe(200);
});

afterAll(async () => {
  await app.close();
  await registry.close();
  await cli.close();
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('managed tokens', () => {
  test('are stored hashed in a 0600 file: the secret is nowhere in it', async () => {
    const { readFile } = await import('node:fs/promises');
    const file = join(dataDir, 'tokens.db');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const bytes = await readFile(file);
    for (const token of Object.values(T)) expect(bytes.includes(Buffer.from(token))).toBe(false);
  });

  test('a token created by another process is honoured within 2 s, and a revoke too', async () => {
    const created = await createManagedToken(cli, { scope: 'read' });
    const canRead = async () => (await app.inject({ url: '/hosts/', headers: bearer(created.token) })).statusCode === 200;
    await waitFor(canRead, 2000);
    await cli.remove(created.record.id);
    await waitFor(async () => !(await canRead()), 2000);
    expect((await app.inject({ url: '/hosts/', headers: bearer(created.token) })).statusCode).toBe(401);
  });

  test('/tokens creates (the secret once), lists (never the secret) and revokes', async () => {
    const made = await app.inject({ method: 'POST', url: '/tokens', headers: bearer(ADMIN), payload: { scope: 'ingest', hosts: ['db1'], name: 'db one' } });
    expect(made.statusCode).toBe(201);
    const { id, token, scope, hosts, name } = made.json().data;
    expect({ scope, hosts, name }).toEqual({ scope: 'ingest', hosts: ['db1'], name: 'db one' });
    expect((await ingestAs(token, 'db1')).statusCode).toBe(200);

    const list = await app.inject({ url: '/tokens', headers: bearer(T.admin) });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(token);
    const entry = list.json().data.find((t: { id: string }) => t.id === id);
    expect(entry).toMatchObject({ id, name: 'db one', scope: 'ingest', hosts: ['db1'] });
    expect(Object.keys(entry).sort()).toEqual(['created', 'hosts', 'id', 'last_used', 'name', 'scope']);

    expect((await app.inject({ method: 'DELETE', url: `/tokens/${id}`, headers: bearer(ADMIN) })).statusCode).toBe(200);
    expect((await ingestAs(token, 'db1')).statusCode).toBe(401);
    const again = await app.inject({ method: 'DELETE', url: `/tokens/${id}`, headers: bearer(ADMIN) });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('TOKEN_NOT_FOUND');
  });

  test('an admin token cannot be bound to hosts; an unknown scope is refused', async () => {
    for (const payload of [{ scope: 'admin', hosts: ['a'] }, { scope: 'root' }, { scope: 'read', extra: 1 }]) {
      const answer = await app.inject({ method: 'POST', url: '/tokens', headers: bearer(ADMIN), payload });
      expect(answer.statusCode).toBe(400);
      expect(answer.json().error.code).toBe('INVALID_BODY');
    }
  });

  test('a host a line could never carry is refused: the same rules as /ingest (names, look-alikes, invisible characters)', async () => {
    for (const host of ['web\u200b-1', 'p\u0430ypal', 'a/../b', 'tab\there']) {
      const answer = await app.inject({ method: 'POST', url: '/tokens', headers: bearer(ADMIN), payload: { scope: 'ingest', hosts: [host] } });
      expect(answer.statusCode, host).toBe(400);
      expect(answer.json<{ error: { message: string } }>().error.message).toContain(JSON.stringify(host));
    }
  });
});

describe('tokens bound to hosts', () => {
  test('an ingest token writes only its hosts: 403 naming the host otherwise', async () => {
    expect((await ingestAs(T.ingestWeb1!, 'web1')).statusCode).toBe(200);
    const refused = await ingestAs(T.ingestWeb1!, 'web2');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({ code: 'HOST_NOT_ALLOWED' });
    expect(refused.json().error.message).toContain('"web2"');
  });

  test('a read token sees only its hosts on every read route', async () => {
    const get = (url: string) => app.inject({ url, headers: bearer(T.readWeb1) });
    expect((await get('/hosts/')).json().data.map((h: { host: string }) => h.host)).toEqual(['web1']);
    const all = (await get('/logs?count=1000')).json().data as { host: string }[];
    expect(all.length).toBeGreaterThan(0);
    expect(new Set(all.map((e) => e.host))).toEqual(new Set(['web1']));
    expect((await get('/logs?host=web2')).statusCode).toBe(403);
    expect((await get('/logs?host=web1&host=web2')).statusCode).toBe(403);
    expect((await get('/hosts/web2/')).statusCode).toBe(403);
    expect((await get('/hosts/web2/files/')).statusCode).toBe(403);
    expect((await get('/hosts/web2/logs')).statusCode).toBe(403);
    expect((await get('/hosts/web1/logs')).statusCode).toBe(200);
    expect((await get('/logs/context?host=web2&file_id=dev1:ino2:bbbb&offset=0')).statusCode).toBe(403);
    expect((await get('/logs/context?host=web1&file_id=dev1:ino2:bbbb&offset=0')).statusCode).toBe(200);
    const histogram = await get('/logs/histogram?since=1639500000&until=1639600000');
    expect(histogram.statusCode).toBe(200);
    const total = (histogram.json().data.buckets as { count: number }[]).reduce((sum, b) => sum + b.count, 0);
    expect(total).toBe(6);
    expect((await get('/logs/histogram?host=web2&since=1639500000&until=1639600000')).statusCode).toBe(403);
    expect((await get('/metrics')).statusCode).toBe(403);
  });

  test('the live tail of a bound read token carries only its hosts', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    const response = await fetch(`${address}/logs?follow=true&count=100`, { headers: bearer(T.readWeb1), signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString('utf8');
        if (text.includes('"host":"web1"') && /probe-web1/.test(text)) return;
      }
    })();
    for (const host of ['web2', 'web1']) {
      const batch = { host, files: [{ file_id: 'live', filename: 'live.log', lines: [{ offset: 0, timestamp: '1639508099000000000', line: `probe-${host}` }] }] };
      await app.inject({ method: 'POST', url: '/ingest', headers: { ...bearer(T.ingest), 'content-type': 'application/json' }, payload: batch });
    }
    await reading;
    controller.abort();
    expect(text).toContain('probe-web1');
    expect(text).not.toContain('"host":"web2"');
    expect(text).not.toContain('probe-web2');
  });

  test("a page made ahead for one token's paging is never another token's answer to the same URL", async () => {
    const page = async (token: string, url: string) => app.inject({ method: 'GET', url, headers: bearer(token) });
    // The read token pages every host: its second request (with a cursor) makes the third page ahead.
    const first = (await page(T.read!, '/logs?count=3')).json<{ next: string }>();
    const second = (await page(T.read!, new URL(first.next).pathname + new URL(first.next).search)).json<{ next: string; data: { host: string }[] }>();
    const third = new URL(second.next);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The token bound to web1 asks for the same URL: its search is web1's only, so it is not that page.
    const bound = await page(T.readWeb1!, third.pathname + third.search);
    expect(bound.statusCode).toBe(400);
    expect(bound.json<{ error: { code: string } }>().error.code).toBe('INVALID_CURSOR');
    // The read token still gets its page, and the paging's lines are those of one search.
    const mine = await page(T.read!, third.pathname + third.search);
    expect(mine.statusCode).toBe(200);
    const all = (await page(T.read!, '/logs?count=9')).json<{ data: { cursor: string }[] }>();
    const paged = [first, second, mine.json()].flatMap((answer: { data?: { cursor: string }[] }) => answer.data ?? []).map((entry) => entry.cursor);
    expect(paged).toEqual(all.data.map((entry) => entry.cursor));
  });
});

describe('every route of /openapi.json with every kind of token', () => {
  const KINDS = ['none', 'wrong', 'read', 'ingest', 'admin', 'readWeb1', 'ingestWeb1', 'revoked'] as const;
  type Kind = (typeof KINDS)[number];

  function tokenOf(kind: Kind): string | undefined {
    if (kind === 'none') return undefined;
    if (kind === 'wrong') return 'dnl_not-a-token-at-all-0123456789';
    return T[kind];
  }

  /** What a route needs, from its OpenAPI description: no security = public. */
  function expected(kind: Kind, needs: 'public' | 'read' | 'ingest' | 'admin', path: string): number[] {
    if (needs === 'public') return [200, 204, 304, 400, 404, 503];
    if (kind === 'none' || kind === 'wrong' || kind === 'revoked') return [401];
    const scope = kind.startsWith('read') ? 'read' : kind.startsWith('ingest') ? 'ingest' : 'admin';
    if (scope !== 'admin' && scope !== needs) return [403];
    const bound = kind.endsWith('Web1');
    // A bound token on a route about another host, or one covering every host: 403 too.
    if (bound && (path.includes('{host}') || path === '/metrics')) return [403];
    return [200, 201, 400, 404];
  }

  test('none of them reaches a handler without the scope, and bound tokens stay on their hosts', async () => {
    type Spec = { paths: Record<string, Record<string, { security?: unknown[]; tags?: string[] }>> };
    const spec: Spec = (await app.inject({ url: '/openapi.json' })).json();
    const routes = Object.entries(spec.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
    expect(routes.length).toBeGreaterThanOrEqual(12);
    const seen: string[] = [];
    for (const { path, method, op } of routes) {
      const needs =
        op.security === undefined
          ? 'public'
          : (method === 'post' && path === '/ingest') || (op.tags ?? []).includes('inputs')
            ? 'ingest'
            : (op.tags ?? []).includes('tokens')
              ? 'admin'
              : 'read';
      // Another host's name in path parameters; ids that do not exist.
      const url = path.replace('{host}', 'web2').replace('{id}', 'nosuchid') + (path === '/logs/context' ? '?host=web2&file_id=x&offset=0' : '');
      for (const kind of KINDS) {
        const payload = method === 'post' ? (path === '/ingest' ? { ...andynewmanBatch(), host: 'web2' } : { scope: 'read' }) : undefined;
        const answer = await app.inject({ method: method.toUpperCase() as 'GET', url, headers: { ...bearer(tokenOf(kind)), ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload } : {}) });
        const wanted = path === '/logs/context' && kind.endsWith('Web1') && expected(kind, needs, path)[0] !== 403 && expected(kind, needs, path)[0] !== 401 ? [403] : expected(kind, needs, path);
        const wantedHere = path === '/ingest' && kind === 'ingestWeb1' ? [403] : wanted;
        if (!wantedHere.includes(answer.statusCode)) seen.push(`${method.toUpperCase()} ${url} with ${kind}: ${answer.statusCode} ${answer.body.slice(0, 200)}`);
      }
    }
    expect(seen).toEqual([]);
  });
});
