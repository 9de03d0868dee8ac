import { describe, expect, test } from 'vitest';
import { createStore } from '../../storage/create-store.js';
import { buildApp } from '../app.js';
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
