/**
 * The lines ingest stores reach the evaluator in memory (AlertEngine.appended), and the store
 * read path stays the fallback: every line is counted exactly once per rule whether it was
 * handed over, appended by another writer (not handed over), reported out of order, or
 * refused past the bound, and handed-over lines are not read back from the store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { AppendNotifier } from '../server/notifier.js';
import { MemoryStore } from '../storage/memory/memory-store.js';
import type { AppendResult, StoredRun, TailPage, TailQuery } from '../storage/store.js';
import { until } from '../../test/alerts/fixtures.js';
import { openSqliteAlertStore, type AlertStore } from './alert-store.js';
import { AlertEngine, HANDED_LINE_BYTES, type AlertCounters, type EngineOptions } from './engine.js';
import { ruleFromBody } from './rule.js';

/** A MemoryStore that counts the lines read back through tail. */
class CountingStore extends MemoryStore {
  readBack = 0;
  override async tail(query: TailQuery): Promise<TailPage> {
    const page = await super.tail(query);
    this.readBack += page.lines.length;
    return page;
  }
}

const count = () => {
  let value = 0;
  return { inc: (by = 1) => void (value += by), get value() { return value; } };
};

interface Rig {
  store: CountingStore;
  engine: AlertEngine;
  notifier: AppendNotifier;
  evaluated: () => number;
  close(): Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.close();
});

async function rig(options: Partial<EngineOptions> = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'daniel-handoff-'));
  const alerts: AlertStore = await openSqliteAlertStore(dir);
  const store = new CountingStore();
  const notifier = new AppendNotifier();
  const linesEvaluated = count();
  const counters: AlertCounters = { evaluations: count(), linesEvaluated, firings: count(), deliveries: count(), deliveryFailures: count() };
  const engine = new AlertEngine({
    store,
    alerts,
    notifier,
    counters,
    log: { warn: () => undefined },
    toEntry: (line) => line,
    baseUrl: 'http://daniel.example',
    // Long polls: what is evaluated is woken by the appends, not found by a timer.
    options: { tickMs: 60_000, pollMs: 60_000, ...options },
  });
  const unlisten = notifier.onAppended((stored) => engine.appended(stored));
  await engine.start();
  // A count rule no line can fire (its groups' counts are what the test reads), grouped by host.
  await engine.put(ruleFromBody({ name: 'boom', q: 'boom', group_by: ['host'], condition: { kind: 'count', window: '1h', threshold: 1_000_000 }, notify: [{ webhook: 'http://127.0.0.1:9/' }] }, Date.now()));
  const r: Rig = {
    store,
    engine,
    notifier,
    evaluated: () => linesEvaluated.value,
    async close() {
      unlisten();
      await engine.stop();
      await alerts.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  rigs.push(r);
  return r;
}

const offsets = new Map<string, number>();
/** `n` texts, every other one matching. */
const textsOf = (n: number): string[] => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? `boom ${i}` : `quiet ${i}`));
/** Appends `n` lines of `host` (textsOf), stamped now. */
async function append(store: MemoryStore, host: string, n: number): Promise<AppendResult> {
  let offset = offsets.get(host) ?? 0;
  const timestamp = BigInt(Date.now()) * 1_000_000n;
  const lines = textsOf(n).map((line) => {
    const item = { offset, end: offset + line.length + 1, timestamp, line, cut: false };
    offset = item.end;
    return item;
  });
  offsets.set(host, offset);
  return store.append({ host, files: [{ fileId: `id-${host}`, filename: 'app.log', path: '/var/log/app.log', lines }], receivedAt: timestamp });
}

async function counts(engine: AlertEngine): Promise<Record<string, number>> {
  const view = (await engine.views())[0];
  return Object.fromEntries((view?.groups ?? []).map((group) => [group.group.host ?? '', group.count]));
}

async function settled(r: Rig, lines: number): Promise<void> {
  await until('every line evaluated', () => Promise.resolve(r.evaluated() >= lines ? true : undefined), 10_000);
  // Nothing more comes (a line counted twice would show here).
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(r.evaluated()).toBe(lines);
}

describe('lines handed over by ingest', () => {
  test('are evaluated once each without reading them back', async () => {
    const r = await rig();
    for (let i = 0; i < 20; i++) r.notifier.notify((await append(r.store, `h${i % 3}`, 50)).stored);
    await settled(r, 1000);
    expect(await counts(r.engine)).toEqual({ h0: 7 * 25, h1: 7 * 25, h2: 6 * 25 });
    expect(r.store.readBack).toBe(0);
  });

  test('lines another writer stored (not handed over) are read from the store, in between handed ones', async () => {
    const r = await rig();
    // All handed over before the evaluator wakes: the gaps are in the queue it finds.
    const a1 = await append(r.store, 'a', 10);
    await append(r.store, 'b', 10); // another Daniel's lines: only the wake-up reaches this one
    const a2 = await append(r.store, 'a', 10);
    await append(r.store, 'b', 10);
    const a3 = await append(r.store, 'a', 10);
    for (const result of [a1, a2, a3]) r.engine.appended(result.stored ?? []);
    r.notifier.notify();
    await settled(r, 50);
    expect(await counts(r.engine)).toEqual({ a: 15, b: 10 });
    expect(r.store.readBack).toBeGreaterThanOrEqual(20);
    // And woken one append at a time.
    r.notifier.notify((await append(r.store, 'c', 10)).stored);
    await append(r.store, 'd', 10);
    r.notifier.notify();
    r.notifier.notify((await append(r.store, 'c', 10)).stored);
    await settled(r, 80);
    expect(await counts(r.engine)).toEqual({ a: 15, b: 10, c: 10, d: 5 });
  });

  test('runs reported out of seq order are each evaluated once', async () => {
    const r = await rig();
    const first = (await append(r.store, 'x', 10)).stored as StoredRun[];
    const second = (await append(r.store, 'y', 10)).stored as StoredRun[];
    r.engine.appended(second);
    r.notifier.notify(first);
    await settled(r, 20);
    expect(await counts(r.engine)).toEqual({ x: 5, y: 5 });
  });

  test('past the bound the rest is read back from the store, still once', async () => {
    const r = await rig({ maxHandedBytes: 3 * textsOf(10).reduce((sum, text) => sum + text.length + HANDED_LINE_BYTES, 0) });
    // Held while the evaluator is not woken: 30 lines wait, the next 70 are refused.
    const results: AppendResult[] = [];
    for (let i = 0; i < 10; i++) results.push(await append(r.store, 'z', 10));
    for (const result of results) r.engine.appended(result.stored ?? []);
    r.notifier.notify();
    await settled(r, 100);
    expect(await counts(r.engine)).toEqual({ z: 50 });
    expect(r.store.readBack).toBe(70);
  });

  test('a line handed over twice (or after it was read back) is not counted again', async () => {
    const r = await rig();
    const result = await append(r.store, 'w', 10);
    r.notifier.notify(); // read back from the store
    await settled(r, 10);
    r.notifier.notify(result.stored);
    r.notifier.notify((await append(r.store, 'w', 10)).stored);
    await settled(r, 20);
    expect(await counts(r.engine)).toEqual({ w: 10 });
  });
});
