import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { andynewmanBatch, auth, ingest, startTestApp, TOKENS, type TestApp } from '../../test/server/helpers.js';
import { ServerMetrics } from './metrics-registry.js';

let t: TestApp;
let exported: Set<string>;
let text: string;

beforeAll(async () => {
  t = await startTestApp();
  await ingest(t.app, andynewmanBatch());
  // A search, so the query histogram has a series.
  await t.app.inject({ method: 'GET', url: '/hosts/andynewman/logs', headers: auth(TOKENS.read) });
  const response = await t.app.inject({ method: 'GET', url: '/metrics', headers: auth(TOKENS.read) });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  text = response.body;
  exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
});

afterAll(async () => {
  await t.close();
});

/** Metric names in backticks in docs/api.md's /metrics section and in docs/operations.md. */
function documentedNames(): string[] {
  const api = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const section = api.split('### `GET /metrics`')[1]?.split('\n#')[0] ?? '';
  const operations = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const names = [...`${section}\n${operations}`.matchAll(/`((?:daniel|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!);
  return [...new Set(names)].sort();
}

test('every metric the docs name is in a real /metrics answer', () => {
  const documented = documentedNames();
  expect(documented.length).toBeGreaterThan(20);
  expect(documented.filter((name) => !exported.has(name))).toEqual([]);
});

test("every daniel_ series /metrics exports is documented", () => {
  const documented = new Set(documentedNames());
  expect([...exported].filter((name) => name.startsWith('daniel_') && !documented.has(name))).toEqual([]);
});

test("Node's default process metrics are exported beside Daniel's", () => {
  expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  expect(text).toMatch(/^daniel_ingest_lines_total\{result="accepted"\} 6$/m);
});

test('a new series is registered by name, once, and rendered with the rest', async () => {
  const metrics = new ServerMetrics();
  const fired = metrics.counter('daniel_test_fired_total', 'Test counter.', ['rule']);
  expect(metrics.counter('daniel_test_fired_total', 'Test counter.', ['rule'])).toBe(fired);
  fired.inc({ rule: 'disk' }, 2);
  metrics.gauge('daniel_test_level', 'Test gauge.').set(3);
  expect(() => metrics.gauge('daniel_test_fired_total', 'Test counter.')).toThrow(/already registered as counter/);
  const rendered = await metrics.render({ storeLines: 1, storeRawBytes: 2, storeStoredBytes: 3, storeSegments: 4, hostsLastSeen: [{ host: 'a"b', seconds: 5 }] });
  expect(rendered).toMatch(/^daniel_test_fired_total\{rule="disk"\} 2$/m);
  expect(rendered).toMatch(/^daniel_test_level 3$/m);
  expect(rendered).toMatch(/^daniel_host_last_seen_seconds\{host="a\\"b"\} 5$/m);
  // A host that left the store leaves the series.
  const later = await metrics.render({ storeLines: 1, storeRawBytes: 2, storeStoredBytes: 3, storeSegments: 4, hostsLastSeen: [] });
  expect(later).not.toMatch(/host="a/);
});
