/**
 * Alerts with several Daniels on one DynamoDB table (dynalite): the rules live in the table,
 * so every Daniel lists the same ones; one Daniel at a time holds the evaluation lease and
 * evaluates; when it stops, another takes the lease over and delivers what was recorded but
 * not delivered, with the same id. (The kill -9 of a real holder: test/dynamodb/alerts-failover.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startReceiver, type Receiver } from '../../test/alerts/receiver.js';
import { call, FAST, send, until } from '../../test/alerts/fixtures.js';
import { TOKENS } from '../../test/server/helpers.js';
import { buildApp } from '../server/app.js';
import { createTokenSet } from '../server/tokens.js';
import { DynamoDbStore } from '../storage/dynamodb/dynamodb-store.js';
import { useDynalite } from '../storage/dynamodb/dynalite.case.js';
import type { DynamoConnection } from '../storage/dynamodb/dynamo-client.js';
import { openDynamoAlertStore } from './alert-store-dynamodb.js';
import { LeaseLostError } from './alert-store.js';
import type { FastifyInstance } from 'fastify';

const dynalite = useDynalite();
const LEASE_MS = 1000;

interface Daniel {
  app: FastifyInstance;
  close(): Promise<void>;
  holds(): boolean;
}

async function daniel(connection: DynamoConnection): Promise<Daniel> {
  const store = await DynamoDbStore.open({ ...connection, settleMs: 200 });
  const alerts = await openDynamoAlertStore(connection, { leaseMs: LEASE_MS });
  const tokens = createTokenSet([{ scope: 'admin', token: TOKENS.admin }, { scope: 'ingest', token: TOKENS.ingest }, { scope: 'read', token: TOKENS.read }]);
  const app = await buildApp({ store, tokens, alerts: { store: alerts, options: FAST }, limits: { closeGraceMs: 300 } });
  let closed = false;
  return {
    app,
    holds: () => !closed && app.alertEngine?.holdsEvaluation === true,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await alerts.close();
      await store.close();
    },
  };
}

let a: Daniel;
let b: Daniel;
let hook: Receiver;

beforeAll(async () => {
  const connection = await dynalite().freshTable();
  a = await daniel(connection);
  b = await daniel(connection);
  hook = await startReceiver();
});

afterAll(async () => {
  await a.close();
  await b.close();
  await hook.close();
});

const holder = (): Promise<{ holder: Daniel; other: Daniel }> =>
  until('one Daniel holding the lease', () => {
    const holders = [a, b].filter((d) => d.holds());
    return Promise.resolve(holders.length === 1 ? { holder: holders[0]!, other: holders[0] === a ? b : a } : undefined);
  });

describe('alerts on a shared DynamoDB table', () => {
  test('a rule created on one Daniel is listed, changed and deleted on the other; one Daniel evaluates at a time', { timeout: 60_000 }, async () => {
    const created = await call(a.app, 'POST', '/alerts', { name: 'shared', q: 'disk full', condition: { kind: 'count', window: '1m' }, notify: [{ webhook: `${hook.url}/x` }] });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ data: { id: string } }>().data.id;
    const listed = await call(b.app, 'GET', '/alerts');
    expect(listed.json<{ data: { id: string; name: string }[] }>().data.map((rule) => rule.id)).toEqual([id]);
    expect((await call(b.app, 'PATCH', `/alerts/${id}`, { name: 'renamed' })).statusCode).toBe(200);
    expect((await call(a.app, 'GET', `/alerts/${id}`)).json<{ data: { name: string } }>().data.name).toBe('renamed');
    // Over several lease periods exactly one holds it.
    for (let i = 0; i < 5; i++) {
      await holder();
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS / 2));
    }
    expect((await call(b.app, 'DELETE', `/alerts/${id}`)).json()).toEqual({ data: { id, deleted: true } });
    expect((await call(a.app, 'GET', `/alerts/${id}`)).statusCode).toBe(404);
  });

  test('a line ingested on either Daniel is evaluated once; when the holder stops, the other delivers the pending notification with the same id', { timeout: 60_000 }, async () => {
    const { holder: first, other: second } = await holder();
    const created = await call(second.app, 'POST', '/alerts', { name: 'failover', q: 'kernel panic', condition: { kind: 'count', window: '1m' }, notify: [{ webhook: `${hook.url}/failover` }] });
    const id = created.json<{ data: { id: string } }>().data.id;
    // The holder sees the rule within one renewal.
    await until('the holder knows the rule', () => Promise.resolve(first.app.alertEngine?.rule(id) !== undefined ? true : undefined));
    hook.hang(true);
    await send(second.app, 'db-1', ['kernel panic - not syncing']);
    const [sent] = await hook.waitFor(1, (r) => r.path === '/failover');
    const notification = (sent!.body as { id: string }).id;
    expect((await call(second.app, 'GET', `/alerts/${id}`)).json<{ data: { state: string; pending_deliveries: number } }>().data).toMatchObject({ state: 'firing', pending_deliveries: 1 });
    await first.close();
    hook.hang(false);
    const delivered = await hook.waitFor(2, (r) => r.path === '/failover', 20_000);
    expect((delivered[1]!.body as { id: string }).id).toBe(notification);
    expect(second.holds()).toBe(true);
    await until('delivered', async () => {
      const data = (await call(second.app, 'GET', `/alerts/${id}`)).json<{ data: { pending_deliveries: number; last_delivery: unknown } }>().data;
      return data.pending_deliveries === 0 && data.last_delivery !== null ? true : undefined;
    });
    // The group stays firing: the line is not notified again as new.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(new Set(hook.received.filter((r) => r.path === '/failover').map((r) => (r.body as { id: string }).id))).toEqual(new Set([notification]));
  });

  test('the lease: one owner at a time, taken over only once expired or given up; a commit by a Daniel that lost it is refused', async () => {
    const connection = await dynalite().freshTable();
    const one = await openDynamoAlertStore(connection, { leaseMs: 10_000, owner: 'one' });
    const two = await openDynamoAlertStore(connection, { leaseMs: 10_000, owner: 'two' });
    try {
      const t0 = Date.now();
      expect(await one.lease.acquire(t0)).toBe(true);
      expect(await two.lease.acquire(t0 + 1000)).toBe(false);
      expect(await one.lease.acquire(t0 + 3000)).toBe(true);
      await one.commit({ groups: [], forget: [], events: [], cursor: 42 });
      expect(await two.cursor()).toBe(42);
      // Renewed at t0 + 3 s: still held at t0 + 12 s, expired at t0 + 14 s.
      expect(await two.lease.acquire(t0 + 12_000)).toBe(false);
      expect(await two.lease.acquire(t0 + 14_000)).toBe(true);
      await expect(one.commit({ groups: [], forget: [], events: [], cursor: 43 })).rejects.toBeInstanceOf(LeaseLostError);
      expect(await one.lease.acquire(t0 + 15_000)).toBe(false);
      await two.lease.release();
      expect(await one.lease.acquire(t0 + 15_000)).toBe(true);
      expect(await one.cursor()).toBe(42);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
