/**
 * Alerts across two real `daniel serve --store dynamodb` processes on one table: a rule
 * created on one is listed on the other, only the lease's holder evaluates, and `kill -9` of
 * the holder between firing and delivery hands the lease to the other within the lease time
 * (10 s), which delivers the recorded notification with the same id.
 */
import { describe, expect, test } from 'vitest';
import { until } from '../alerts/fixtures.js';
import { startReceiver } from '../alerts/receiver.js';
import { createTable } from '../../src/storage/dynamodb/create-table.js';
import { TEST_CREDENTIALS } from '../../src/storage/dynamodb/dynalite.case.js';
import { useDanielsOnDynalite } from './daniels-on-dynalite.js';

const TOKEN = 'admin-token-for-alert-failover';
const TABLE = `alerts-failover-${process.pid}`;

const daniels = useDanielsOnDynalite({
  token: TOKEN,
  table: TABLE,
  extraEnv: { DANIEL_DYNAMODB_SETTLE: '200ms' },
  setup: (endpoint) => createTable({ table: TABLE, endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS }, { waitSeconds: 10 }).then(() => undefined),
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers checked by the assertions
type Json = any;

async function api(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

async function linesEvaluated(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  return Number(/daniel_alert_lines_evaluated_total (\d+)/.exec(text)?.[1] ?? 0);
}

describe('alerts with two Daniels on one DynamoDB table', () => {
  test('rules are shared, one Daniel evaluates, and kill -9 of it between firing and delivery hands over within the lease: delivered with the same id', { timeout: 180_000 }, async () => {
    const receiver = await startReceiver();
    try {
      const first = await daniels.serve();
      const second = await daniels.serve();
      const created = await api(first.url, 'POST', '/alerts', { name: 'failover', q: '"out of memory"', condition: { kind: 'count', window: '10m' }, notify: [{ webhook: `${receiver.url}/hook` }] });
      expect(created.status).toBe(201);
      const id = created.json.data.id as string;
      expect((await api(second.url, 'GET', '/alerts')).json.data.map((rule: { id: string }) => rule.id)).toEqual([id]);
      // Every Daniel re-reads the rules at each lease renewal (3 s): the holder knows the rule by then.
      await new Promise((resolve) => setTimeout(resolve, 4000));

      receiver.hang(true);
      const now = String(BigInt(Date.now()) * 1_000_000n);
      const ingested = await fetch(`${second.url}/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ host: 'db-1', files: [{ file_id: 'f-db-1', filename: 'app.log', path: '/var/log/app.log', lines: [{ offset: 0, timestamp: now, line: 'java.lang.OutOfMemoryError: out of memory' }] }] }),
      });
      expect(ingested.status).toBe(200);
      // Fired, recorded in the table, sent, held by the receiver: not delivered.
      const [sent] = await receiver.waitFor(1, undefined, 30_000);
      const notification = (sent!.body as { id: string }).id;
      const counts = await Promise.all([linesEvaluated(first.url), linesEvaluated(second.url)]);
      expect(counts.filter((n) => n > 0)).toHaveLength(1);
      const [holder, other] = counts[0] > 0 ? [first, second] : [second, first];
      expect((await api(other.url, 'GET', `/alerts/${id}`)).json.data).toMatchObject({ state: 'firing', pending_deliveries: 1, last_delivery: null });

      holder.daniel.child.kill('SIGKILL');
      await holder.daniel.exited();
      receiver.hang(false);
      // Taken over once the lease runs out (10 s), at the other's next renewal (3 s).
      const delivered = await receiver.waitFor(2, undefined, 30_000);
      expect((delivered[1]!.body as { id: string; status: string }).id).toBe(notification);
      expect((delivered[1]!.body as { status: string }).status).toBe('firing');
      await until('delivered', async () => {
        const data = (await api(other.url, 'GET', `/alerts/${id}`)).json.data as { last_delivery: unknown; pending_deliveries: number };
        return data.last_delivery !== null && data.pending_deliveries === 0 ? data : undefined;
      }, 30_000);
      // The group stays firing across the failover: the line is not notified again as new.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(new Set(receiver.received.map((r) => (r.body as { id: string }).id))).toEqual(new Set([notification]));
      expect(await linesEvaluated(other.url)).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});
