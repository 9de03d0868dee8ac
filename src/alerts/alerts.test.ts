/**
 * Alert rules end to end inside one Daniel (buildApp over a real SQLite store and alerts.db)
 * with real HTTP receivers: firing with the matching lines, resolving, groups, Slack, a
 * receiver failing for a while or never answering, an absence, a rule made mid-stream.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startReceiver, type Receiver } from '../../test/alerts/receiver.js';
import { call, createRule, send, startAlertApp, until, type AlertApp } from '../../test/alerts/fixtures.js';
import { TOKENS } from '../../test/server/helpers.js';

let t: AlertApp;
let hook: Receiver;

beforeAll(async () => {
  t = await startAlertApp();
  hook = await startReceiver();
});

afterAll(async () => {
  await t.close();
  await hook.close();
});

const rules: string[] = [];
afterEach(async () => {
  for (const id of rules.splice(0)) await call(t.app, 'DELETE', `/alerts/${id}`);
});

async function rule(body: Record<string, unknown>): Promise<string> {
  const id = await createRule(t.app, body);
  rules.push(id);
  return id;
}

interface WebhookBody {
  id: string;
  alert: string;
  status: string;
  group: Record<string, string>;
  count: number;
  url: string;
  lines: { logline: string; host: string }[];
}
interface RuleAnswer {
  state: string;
  last_fired: string | null;
  last_delivery: { at: string; target: string } | null;
  last_delivery_error: { at: string; message: string } | null;
  pending_deliveries: number;
}
const bodyOf = (r: { body: unknown }) => r.body as WebhookBody;
const forAlert = (name: string, status?: string) => (r: { body: unknown }) => bodyOf(r).alert === name && (status === undefined || bodyOf(r).status === status);

describe('rules through /alerts', () => {
  test('create, read, list, change, mute and delete; admin only', async () => {
    const id = await rule({ name: 'oom', q: 'oom-killer', host: ['web-1'], condition: { kind: 'count', window: '5m', threshold: 1 }, notify: [{ webhook: `${hook.url}/x` }] });
    const one = await call(t.app, 'GET', `/alerts/${id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json().data).toMatchObject({
      id,
      name: 'oom',
      q: 'oom-killer',
      host: ['web-1'],
      condition: { kind: 'count', window: '5m', threshold: 1 },
      notify: [{ webhook: `${hook.url}/x` }],
      repeat: '4h',
      state: 'ok',
      last_fired: null,
      last_delivery: null,
      last_delivery_error: null,
      muted_until: null,
    });
    expect((await call(t.app, 'GET', '/alerts/')).json().data.map((r: { id: string }) => r.id)).toContain(id);
    const patched = await call(t.app, 'PATCH', `/alerts/${id}`, { mute: '1h', condition: { kind: 'absent', for: '10m' } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().data).toMatchObject({ name: 'oom', condition: { kind: 'absent', for: '10m' } });
    expect(Date.parse(patched.json().data.muted_until) - Date.now()).toBeGreaterThan(59 * 60_000);
    const replaced = await call(t.app, 'PUT', `/alerts/${id}`, { name: 'oom2', condition: { kind: 'count', window: '1m' }, notify: [{ slack: `${hook.url}/s` }] });
    expect(replaced.json().data).toMatchObject({ name: 'oom2', q: '', host: [], condition: { kind: 'count', window: '1m', threshold: 1 }, muted_until: expect.any(String) });
    expect((await call(t.app, 'GET', `/alerts/${id}`, undefined, TOKENS.read)).statusCode).toBe(403);
    expect((await call(t.app, 'DELETE', `/alerts/${id}`)).json()).toEqual({ data: { id, deleted: true } });
    const gone = await call(t.app, 'GET', `/alerts/${id}`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe('ALERT_NOT_FOUND');
    expect((await call(t.app, 'DELETE', `/alerts/${id}`)).statusCode).toBe(404);
  });

  test.each([
    ['an invalid query', { q: 'level:error (oom' }, 'INVALID_QUERY', /q: .* at \d+/],
    ['a non-linear regex', { q: '/(a)\\1/' }, 'INVALID_QUERY', /q/],
    ['a window of 0', { condition: { kind: 'count', window: '0s' } }, 'INVALID_BODY', /condition\.window must be between 1s and 7d/],
    ['a window of 10 years', { condition: { kind: 'count', window: '3650d' } }, 'INVALID_BODY', /condition\.window/],
    ['an absence of 10 years', { condition: { kind: 'absent', for: '3650d' } }, 'INVALID_BODY', /condition\.for/],
    ['a threshold of 0', { condition: { kind: 'count', window: '1m', threshold: 0 } }, 'INVALID_BODY', /threshold/],
    ['an unknown condition', { condition: { kind: 'rate' } }, 'INVALID_BODY', /condition\.kind/],
    ['a webhook URL that is not http(s)', { notify: [{ webhook: 'ftp://example.com/x' }] }, 'INVALID_BODY', /notify\[0\]\.webhook must be an http/],
    ['a webhook that is not a URL', { notify: [{ webhook: 'not a url' }] }, 'INVALID_BODY', /notify\[0\]\.webhook/],
    ['no target', { notify: [] }, 'INVALID_BODY', /notify must be/],
    ['an unknown target', { notify: [{ email: 'a@b' }] }, 'INVALID_BODY', /notify\[0\]/],
    ['an unknown member', { colour: 'red' }, 'INVALID_BODY', /colour is not a known member/],
    ['a bad group_by', { group_by: ['no spaces'] }, 'INVALID_BODY', /group_by/],
    ['no name', { name: '' }, 'INVALID_BODY', /name/],
    ['a repeat of 0', { repeat: '0s' }, 'INVALID_BODY', /repeat/],
  ])('refuses %s with 400', async (_what, change, code, message) => {
    const body = { name: 'bad', q: 'x', condition: { kind: 'count', window: '1m' }, notify: [{ webhook: 'http://127.0.0.1:1/' }], ...change };
    const response = await call(t.app, 'POST', '/alerts', body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe(code);
    expect(response.json().error.message).toMatch(message);
  });

  test('a body that is not JSON is a 400', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/alerts', headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' }, payload: '{' });
    expect(response.statusCode).toBe(400);
  });
});

describe('notifications', () => {
  test('a count rule fires with at most 10 matching lines and a link, then resolves when its window runs out', async () => {
    await rule({ name: 'oom-count', q: 'oom-killer', condition: { kind: 'count', window: '2s', threshold: 3 }, notify: [{ webhook: `${hook.url}/hook` }] });
    await send(t.app, 'web-1', ['oom-killer: one', 'an ordinary line']);
    await send(t.app, 'web-1', ['OOM-KILLER: two']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.received.filter(forAlert('oom-count'))).toHaveLength(0);
    await send(t.app, 'web-1', Array.from({ length: 13 }, (_, i) => `oom-killer: more ${i}`));
    const [firing] = await hook.waitFor(1, forAlert('oom-count', 'firing'));
    const body = bodyOf(firing!);
    expect(firing!.path).toBe('/hook');
    expect(firing!.headers['idempotency-key']).toBe(body.id);
    expect(body).toMatchObject({ alert: 'oom-count', status: 'firing', group: {}, q: 'oom-killer', window: '2s' });
    expect(body.count).toBeGreaterThanOrEqual(3);
    expect(body.lines).toHaveLength(10);
    expect(body.lines[0]!.logline).toBe('oom-killer: more 12');
    expect(body.lines.every((line) => /oom-killer/i.test(line.logline))).toBe(true);
    expect(body.url).toMatch(/^http:\/\/daniel\.example:3032\/\?q=oom-killer&since=/);
    const [resolved] = await hook.waitFor(1, forAlert('oom-count', 'resolved'));
    expect(bodyOf(resolved!).id).not.toBe(body.id);
    expect(hook.received.filter(forAlert('oom-count', 'firing'))).toHaveLength(1);
  });

  test('group_by host: each host fires alone; Slack targets get {"text"}', async () => {
    await rule({ name: 'errors-by-host', q: 'level:error', group_by: ['host'], condition: { kind: 'count', window: '10s', threshold: 2 }, notify: [{ webhook: `${hook.url}/g` }, { slack: `${hook.url}/slack` }] });
    await send(t.app, 'web-1', ['level=error msg="disk full"', 'level=info msg=ok', 'level=error msg="disk full again"']);
    await send(t.app, 'web-2', ['level=error msg="one only"']);
    const [fired] = await hook.waitFor(1, forAlert('errors-by-host', 'firing'));
    expect(bodyOf(fired!).group).toEqual({ host: 'web-1' });
    expect(bodyOf(fired!).url).toContain('host=web-1');
    const [slack] = await hook.waitFor(1, (r) => r.path === '/slack');
    expect(Object.keys(slack!.body as object)).toEqual(['text']);
    expect((slack!.body as { text: string }).text).toMatch(/^firing: errors-by-host \[host=web-1\]: 2 matching lines in 10s/);
    await send(t.app, 'web-2', ['level=error msg="now two"']);
    const both = await hook.waitFor(2, forAlert('errors-by-host', 'firing'));
    expect(both.map((r) => bodyOf(r).group.host).sort()).toEqual(['web-1', 'web-2']);
  });

  test('a receiver answering 503 for a while gets the notification once it recovers; the error is shown meanwhile', async () => {
    const flaky = await startReceiver();
    try {
      flaky.failNext(4, 503);
      const id = await rule({ name: 'flaky', q: 'payment failed', condition: { kind: 'count', window: '1m' }, notify: [{ webhook: flaky.url }] });
      await send(t.app, 'api-1', ['payment failed for order 17']);
      await until('the error shows', async () => {
        const data = (await call(t.app, 'GET', `/alerts/${id}`)).json<{ data: RuleAnswer }>().data;
        return data.last_delivery_error !== null ? data : undefined;
      }).then((data) => {
        expect(data.last_delivery_error?.message).toMatch(/webhook http:\/\/127\.0\.0\.1:\d+\/ answered 503/);
        expect(data.state).toBe('firing');
        expect(data.last_fired).not.toBeNull();
      });
      const delivered = await until('delivered', async () => {
        const data = (await call(t.app, 'GET', `/alerts/${id}`)).json<{ data: RuleAnswer }>().data;
        return data.last_delivery !== null ? data : undefined;
      });
      expect(delivered.pending_deliveries).toBe(0);
      expect(flaky.received).toHaveLength(5);
      // Every attempt carries the same id: a receiver drops the repeats.
      expect(new Set(flaky.received.map((r) => bodyOf(r).id)).size).toBe(1);
      const metrics = (await call(t.app, 'GET', '/metrics')).body;
      expect(Number(/daniel_alert_delivery_failures_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(4);
      expect(Number(/daniel_alert_firings_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
      expect(Number(/daniel_alert_evaluations_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      await flaky.close();
    }
  });

  test('a receiver that never answers times out and does not hold up evaluation or other receivers', async () => {
    const stuck = await startReceiver();
    try {
      stuck.hang(true);
      const id = await rule({ name: 'to-stuck', q: 'kernel panic', condition: { kind: 'count', window: '1m' }, notify: [{ webhook: stuck.url }] });
      await rule({ name: 'to-good', q: 'kernel panic', condition: { kind: 'count', window: '1m' }, notify: [{ webhook: `${hook.url}/good` }] });
      await send(t.app, 'db-1', ['kernel panic - not syncing']);
      await hook.waitFor(1, forAlert('to-good', 'firing'));
      const data = await until('the timeout shows', async () => {
        const d = (await call(t.app, 'GET', `/alerts/${id}`)).json<{ data: RuleAnswer }>().data;
        return d.last_delivery_error !== null ? d : undefined;
      });
      expect(data.last_delivery_error?.message).toMatch(/no answer within 2000 ms/);
      // Evaluation goes on meanwhile.
      await rule({ name: 'after-stuck', q: 'segfault', condition: { kind: 'count', window: '1m' }, notify: [{ webhook: `${hook.url}/after` }] });
      await send(t.app, 'db-1', ['segfault at 0']);
      await hook.waitFor(1, forAlert('after-stuck', 'firing'));
      stuck.hang(false);
      await stuck.waitFor(2);
    } finally {
      await stuck.close();
    }
  });

  test('an absence rule fires for the host that stops and resolves when it comes back', async () => {
    await rule({ name: 'quiet-host', q: 'heartbeat', group_by: ['host'], condition: { kind: 'absent', for: '1500ms' }, notify: [{ webhook: `${hook.url}/absent` }] });
    const stop = Date.now() + 60_000;
    let web3 = true;
    const beats = (async () => {
      while (Date.now() < stop) {
        await send(t.app, 'web-1', ['heartbeat ok']);
        if (web3) await send(t.app, 'web-3', ['heartbeat ok']);
        await new Promise((resolve) => setTimeout(resolve, 200));
        if (hook.received.some(forAlert('quiet-host', 'resolved'))) return;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 800));
    web3 = false;
    const [fired] = await hook.waitFor(1, forAlert('quiet-host', 'firing'));
    expect(bodyOf(fired!).group).toEqual({ host: 'web-3' });
    expect(bodyOf(fired!).lines).toEqual([]);
    web3 = true;
    const [resolved] = await hook.waitFor(1, forAlert('quiet-host', 'resolved'));
    expect(bodyOf(resolved!).group).toEqual({ host: 'web-3' });
    await beats;
    expect(hook.received.filter(forAlert('quiet-host', 'firing')).map((r) => bodyOf(r).group.host)).toEqual(['web-3']);
  });

  test('a rule created while lines stream in counts the lines after it', async () => {
    let streaming = true;
    let n = 0;
    const stream = (async () => {
      while (streaming) {
        await send(t.app, 'stream-1', [`request ${n++} status=502 upstream timeout`]);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const createdAt = n;
    await rule({ name: 'mid-stream', q: 'upstream timeout status:>=500', condition: { kind: 'count', window: '30s', threshold: 5 }, notify: [{ webhook: `${hook.url}/mid` }] });
    const [fired] = await hook.waitFor(1, forAlert('mid-stream', 'firing'));
    streaming = false;
    await stream;
    const numbers = bodyOf(fired!).lines.map((line) => Number(/request (\d+)/.exec(line.logline)?.[1]));
    expect(numbers.length).toBeGreaterThanOrEqual(5);
    expect(Math.min(...numbers)).toBeGreaterThanOrEqual(createdAt - 2);
    expect(bodyOf(fired!).count).toBeGreaterThanOrEqual(5);
  });

  test("stored fields (a line's own, its group's labels) are matched and grouped on", async () => {
    await rule({ name: 'by-service', q: 'level:error team:payments', group_by: ['service'], condition: { kind: 'count', window: '1m' }, notify: [{ webhook: `${hook.url}/stored` }] });
    const now = String(BigInt(Date.now()) * 1_000_000n);
    const response = await t.app.inject({
      method: 'POST',
      url: '/ingest',
      headers: { authorization: `Bearer ${TOKENS.ingest}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        host: 'pay-1',
        files: [{ file_id: 'pay-1-f', filename: 'pay.log', labels: { team: 'payments' }, lines: [{ offset: 0, timestamp: now, line: 'card declined', fields: { level: 'error', service: 'checkout' } }] }],
      }),
    });
    expect(response.statusCode).toBe(200);
    const [fired] = await hook.waitFor(1, forAlert('by-service', 'firing'));
    expect(bodyOf(fired!).group).toEqual({ service: 'checkout' });
  });

  test('a muted rule changes state but tells nobody', async () => {
    const id = await rule({ name: 'muted', q: 'noisy', mute: '1h', condition: { kind: 'count', window: '1m' }, notify: [{ webhook: `${hook.url}/muted` }] });
    await send(t.app, 'web-1', ['noisy line']);
    await until('firing', async () => ((await call(t.app, 'GET', `/alerts/${id}`)).json().data.state === 'firing' ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.received.filter(forAlert('muted'))).toHaveLength(0);
  });
});
