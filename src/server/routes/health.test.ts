import { describe, expect, test } from 'vitest';
import { createStore } from '../../storage/create-store.js';
import { buildApp } from '../app.js';
import { createServerLog } from '../log.js';
import { createTokenSet } from '../tokens.js';
import { StoreHealth } from './health.js';

/** A store whose ping is counted and can be made to fail or to hang until released. */
function pingStore() {
  const state = { pings: 0, fail: false, hold: undefined as Promise<void> | undefined };
  return {
    state,
    async ping(): Promise<void> {
      state.pings += 1;
      if (state.hold) await state.hold;
      if (state.fail) throw new Error('database is locked');
    },
  };
}

describe('StoreHealth', () => {
  test('a successful ping is reused while fresh; a stale one pings again', async () => {
    const store = pingStore();
    const fresh = new StoreHealth(store, 60_000);
    expect(fresh.fresh()).toBe(false);
    await fresh.check();
    expect(fresh.fresh()).toBe(true);
    expect(store.state.pings).toBe(1);

    const neverFresh = new StoreHealth(store, 0);
    await neverFresh.check();
    expect(neverFresh.fresh()).toBe(false);
    await neverFresh.check();
    expect(store.state.pings).toBe(3);
  });

  test('a failure is not remembered, and concurrent checks share one ping', async () => {
    const store = pingStore();
    const health = new StoreHealth(store, 60_000);
    store.state.fail = true;
    await expect(health.check()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(health.fresh()).toBe(false);
    store.state.fail = false;
    let release = (): void => undefined;
    store.state.hold = new Promise((resolve) => (release = resolve));
    const checks = [health.check(), health.check(), health.check()];
    release();
    await Promise.all(checks);
    expect(store.state.pings).toBe(2);
    expect(health.fresh()).toBe(true);
  });

  test('a store that does not answer fails the check after the timeout', async () => {
    const store = pingStore();
    store.state.hold = new Promise(() => undefined);
    await expect(new StoreHealth(store, 60_000, 50).check()).rejects.toThrow('no answer within 50 ms');
  });
});

describe('GET /healthz', () => {
  test('answers from the last ping while it is fresh, with the documented body and type', async () => {
    const store = await createStore({ kind: 'memory', dataDir: '' });
    let pings = 0;
    const ping = store.ping.bind(store);
    store.ping = () => {
      pings += 1;
      return ping();
    };
    const app = await buildApp({ store, tokens: createTokenSet([]) });
    try {
      for (let i = 0; i < 5; i++) {
        const response = await app.inject({ url: '/healthz' });
        expect(response.statusCode).toBe(200);
        expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(response.json()).toEqual({ data: { status: 'ok' } });
      }
      expect((await app.inject({ method: 'HEAD', url: '/healthz' })).statusCode).toBe(200);
      expect(pings).toBe(1);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe('GET /healthz over a socket (answered before routing while healthy)', () => {
  /** Status, headers (but the date) and body of a real HTTP request to `url`. */
  async function get(url: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const response = await fetch(url, { method });
    const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== 'date'));
    return { status: response.status, headers, body: await response.text() };
  }

  async function withServer(options: { all?: boolean }, run: (url: string, store: Awaited<ReturnType<typeof createStore>>, logged: Array<{ url?: string }>) => Promise<void>): Promise<void> {
    const store = await createStore({ kind: 'memory', dataDir: '' });
    const logged: Array<{ url?: string }> = [];
    const log = createServerLog({ level: 'info', write: (line) => void logged.push(JSON.parse(line) as { url?: string }) });
    const app = await buildApp({ store, tokens: createTokenSet([]), log, requestLog: { all: options.all === true } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    try {
      await run(`http://127.0.0.1:${address.port}`, store, logged);
    } finally {
      await app.close();
      await store.close();
    }
  }

  test('the early answer is the route\'s answer: status, every header, body; HEAD too; others are routed', async () => {
    await withServer({}, async (url, store) => {
      let pings = 0;
      const ping = store.ping.bind(store);
      store.ping = () => {
        pings += 1;
        return ping();
      };
      // The first check pings the store through the route; the next ones are answered early.
      const routed = await get(`${url}/healthz`);
      const early = await get(`${url}/healthz`);
      expect(pings).toBe(1);
      expect(routed).toMatchObject({ status: 200, body: '{"data":{"status":"ok"}}' });
      expect(routed.headers['x-content-type-options']).toBe('nosniff');
      expect(early).toEqual(routed);
      // HEAD: the same headers, no body; the route answers HEAD the same way (with a query string it is routed).
      const head = await get(`${url}/healthz`, 'HEAD');
      const routedHead = await get(`${url}/healthz?x=1`, 'HEAD');
      expect(head).toEqual({ ...routedHead, body: '' });
      // (fetch closes a connection after a HEAD: only the connection headers differ from a GET's.)
      const { connection: _c, 'keep-alive': _k, ...headHeaders } = head.headers;
      const { connection: _gc, 'keep-alive': _gk, ...getHeaders } = routed.headers;
      expect(headHeaders).toEqual(getHeaders);
      // Every other request still reaches the routes: a POST to /healthz gets the routes' 405.
      expect((await get(`${url}/healthz`, 'POST')).status).toBe(405);
      expect((await get(`${url}/hosts/`)).status).toBe(401);
    });
  });

  test('a failing store is answered by the route (503), every time, even right after a healthy answer', async () => {
    await withServer({}, async (url, store) => {
      expect((await get(`${url}/healthz`)).status).toBe(200);
      store.ping = () => Promise.reject(new Error('database is locked'));
      // Still fresh: the early answer stands for up to a second (as the route's would).
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const failed = await get(`${url}/healthz`);
      expect(failed.status).toBe(503);
      expect(JSON.parse(failed.body)).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
      expect((await get(`${url}/healthz`)).status).toBe(503);
    });
  });

  test('with every request logged, /healthz goes through the route (and its log line)', async () => {
    await withServer({ all: true }, async (url, _store, logged) => {
      for (let i = 0; i < 3; i++) expect((await get(`${url}/healthz`)).status).toBe(200);
      expect(logged.filter((line) => line.url === '/healthz')).toHaveLength(3);
    });
  });
});
