/**
 * The sender's loop over a real SQLite outbox and a real HTTP receiver: while the receiver
 * fails, a notification queued behind the failing one (same rule, group and target) waits
 * for it without the loop reading the outbox over and over, and both arrive in order once
 * the receiver recovers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { until } from '../../test/alerts/fixtures.js';
import { openSqliteAlertStore, type AlertEvent } from './alert-store.js';
import { Deliverer } from './deliverer.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function event(id: string): AlertEvent {
  return {
    id,
    ruleId: 'rule-1',
    name: 'errors',
    status: 'firing',
    group: {},
    count: 1,
    window: '1m',
    kind: 'count',
    q: 'error',
    hosts: [],
    labels: {},
    url: 'http://daniel.example/',
    lines: [],
    startsMs: 0,
    endsMs: null,
    atMs: Date.now(),
    activeForMs: 60_000,
  };
}

test('a failing receiver with two notifications in one lane: the outbox is read about once per retry, and both arrive in order', async () => {
  let failing = true;
  const received: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (!failing) received.push((JSON.parse(body) as { id: string }).id);
      response.statusCode = failing ? 503 : 200;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;

  const dir = await mkdtemp(join(tmpdir(), 'deliverer-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = await openSqliteAlertStore(dir);
  cleanups.push(() => store.close());
  const target = { kind: 'webhook' as const, url };
  await store.commit({ groups: [], forget: [], events: [{ event: event('first'), targets: [target] }, { event: event('second'), targets: [target] }] });

  let reads = 0;
  const pending = store.pending.bind(store);
  store.pending = (nowMs, limit) => {
    reads += 1;
    return pending(nowMs, limit);
  };
  const counter = { inc: () => undefined };
  const deliverer = new Deliverer(
    store,
    { timeoutMs: 2000, minBackoffMs: 400, maxBackoffMs: 400, giveUpAfterMs: 60_000, concurrency: 8 },
    { deliveries: counter, deliveryFailures: counter },
    { warn: () => undefined },
  );
  deliverer.start();
  cleanups.push(() => deliverer.stop());

  await new Promise((resolve) => setTimeout(resolve, 2000));
  // About one read per retry (400 ms with jitter) and one per finished attempt; a loop that
  // took the queued notification's own time for a wake-up read it about a thousand times.
  expect(reads).toBeLessThanOrEqual(40);
  failing = false;
  await until('both notifications delivered', () => Promise.resolve(received.length === 2 ? true : undefined));
  expect(received).toEqual(['first', 'second']);
});
