import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { AppendRequest } from '../store.js';
import Database from 'better-sqlite3';
import { SqliteStore } from './sqlite-store.js';
import type { SqliteSegments } from './sqlite-segments.js';

const T0 = 1_700_000_000_000_000_000n;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function request(from: number, count: number, receivedAt: bigint): AppendRequest {
  const lines = [];
  let offset = from * 100;
  for (let i = from; i < from + count; i++) {
    const line = i % 3 === 0 ? `{"level":"error","n":${i}}` : `level=${i % 3 === 1 ? 'info' : 'warn'} service=api n=${i}`;
    lines.push({ offset, end: offset + line.length + 1, timestamp: T0 + BigInt(i) * 1_000_000_000n, line, cut: false });
    offset += 100;
  }
  return { host: 'h', files: [{ fileId: 'f', filename: 'a.log', path: '/a.log', lines }], receivedAt };
}

async function open(idleMs = 60_000): Promise<SqliteStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'daniel-fstats-'));
  dirs.push(dataDir);
  return SqliteStore.open({ dataDir, policy: { sealBytes: 600, directSealBytes: 300 }, fieldStats: { idleMs } });
}

it('counts from statistics where it has them and reads the rest, exactly, through merges and retention', async () => {
  const store = await open();
  try {
    for (let i = 0; i < 10; i++) await store.append(request(i * 4, 4, T0 + BigInt(i)));
    const before = await store.fieldCounts({ name: 'level', maxScanLines: 1_000 });
    expect(before?.fromStats).toBe(0);
    expect(store.fieldStatsIndexer!.runToEnd()).toBeGreaterThan(0);
    const after = await store.fieldCounts({ name: 'level', maxScanLines: 1_000 });
    expect(after).toEqual({ ...before, fromStats: 40 });
    expect(Object.fromEntries(after!.counts)).toEqual({ error: 14, info: 13, warn: 13 });
    // More appends merge some counted segments away: the answer stays exact.
    for (let i = 10; i < 14; i++) await store.append(request(i * 4, 4, T0 + 100n + BigInt(i)));
    const merged = await store.fieldCounts({ name: 'level', maxScanLines: 1_000 });
    expect(merged!.lines).toBe(56);
    expect(merged!.fromStats).toBeLessThan(56);
    expect(Object.fromEntries(merged!.counts)).toEqual({ error: 19, info: 19, warn: 18 });
    // Too much to read one by one: no answer (the route then reads a sample).
    expect(await store.fieldCounts({ name: 'level', maxScanLines: 56 - merged!.fromStats - 1 })).toBeUndefined();
    store.fieldStatsIndexer!.runToEnd();
    expect((await store.fieldCounts({ name: 'level', maxScanLines: 0 }))!.fromStats).toBe(56);
    // A time range cutting segments: those are read, the rest counted.
    const range = await store.fieldCounts({ since: T0 + 6_000_000_000n, until: T0 + 50_000_000_000n, maxScanLines: 1_000 });
    expect(range!.lines).toBe(44);
    expect(Object.fromEntries(range!.counts)).toMatchObject({ host: 44, file: 44, level: 44, service: 29, n: 44 });
    await store.deleteArrivedBefore(T0 + 100n);
    const kept = await store.fieldCounts({ name: 'level', maxScanLines: 1_000 });
    expect(kept!.lines).toBe((await store.stats()).lines);
  } finally {
    await store.close();
  }
});

it('computes the statistics by itself once appends pause', async () => {
  const store = await open(20);
  try {
    for (let i = 0; i < 5; i++) await store.append(request(i * 4, 4, T0 + BigInt(i)));
    for (let waited = 0; store.fieldStatsIndexer!.indexed === 0 && waited < 200; waited++) await new Promise((resolve) => setTimeout(resolve, 25));
    for (let waited = 0; (await store.fieldCounts({ maxScanLines: 1_000 }))!.fromStats < 20 && waited < 200; waited++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect((await store.fieldCounts({ maxScanLines: 0 }))!.fromStats).toBe(20);
  } finally {
    await store.close();
  }
});

it('waits while a read runs, and the store says how many segments are left', async () => {
  const store = await open(20);
  try {
    for (let i = 0; i < 5; i++) await store.append(request(i * 4, 4, T0 + BigInt(i)));
    const left = (await store.stats()).segmentsWithoutFieldStats!;
    expect(left).toBeGreaterThan(0);
    const indexer = store.fieldStatsIndexer!;
    store.activity.readStarted(); // a read held open, as a long search is
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(indexer.indexed).toBe(0);
    expect((await store.stats()).segmentsWithoutFieldStats).toBe(left);
    store.activity.readEnded();
    for (let waited = 0; (await store.stats()).segmentsWithoutFieldStats! > 0 && waited < 200; waited++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect((await store.stats()).segmentsWithoutFieldStats).toBe(0);
    expect(indexer.indexed).toBe(left);
  } finally {
    await store.close();
  }
});

it('stores a segment\'s statistics packed, and a restarted store counts from them as before', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'daniel-fstats-'));
  dirs.push(dataDir);
  const options = { dataDir, policy: { sealBytes: 8_000, directSealBytes: 4_000 }, fieldStats: { idleMs: 60_000 } };
  let store = await SqliteStore.open(options);
  let before: Awaited<ReturnType<SqliteStore['fieldCounts']>>;
  try {
    for (let i = 0; i < 8; i++) await store.append(request(i * 200, 200, T0 + BigInt(i)));
    expect(store.fieldStatsIndexer!.runToEnd()).toBeGreaterThan(0);
    before = await store.fieldCounts({ name: 'level', maxScanLines: 0 });
    expect(before!.fromStats).toBe(1_600);
  } finally {
    await store.close();
  }
  const db = new Database(join(dataDir, 'daniel.db'), { readonly: true });
  const rows = db.prepare<[], Buffer>('SELECT stats FROM segment_stats').pluck().all();
  db.close();
  // Version 3 first, then the flags: 8 (packed) on rows that packing shrank, the larger ones.
  expect(rows.every((row) => row[0] === 3)).toBe(true);
  expect(rows.filter((row) => (row[1]! & 8) !== 0).length).toBeGreaterThan(0);
  store = await SqliteStore.open(options);
  try {
    expect(store.fieldStatsIndexer!.runToEnd()).toBe(0); // nothing listed again: packed rows are current
    expect(await store.fieldCounts({ name: 'level', maxScanLines: 0 })).toEqual(before);
  } finally {
    await store.close();
  }
});

it('finds work again when another connection changes the store after it had caught up', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'daniel-fstats-'));
  dirs.push(dataDir);
  const store = await SqliteStore.open({ dataDir, policy: { sealBytes: 600, directSealBytes: 300 }, fieldStats: { idleMs: 60_000 } });
  try {
    for (let i = 0; i < 6; i++) await store.append(request(i * 4, 4, T0 + BigInt(i)));
    expect(store.fieldStatsIndexer!.runToEnd()).toBeGreaterThan(0);
    // Caught up: asked again, it has nothing to do (and does not ask SQLite).
    expect(store.fieldStatsIndexer!.runToEnd()).toBe(0);
    expect((await store.stats()).segmentsWithoutFieldStats).toBe(0);
    // Another process (a backup restore, an older Daniel) drops the statistics of two segments.
    const other = new Database(join(dataDir, 'daniel.db'));
    other.prepare('DELETE FROM segment_stats WHERE id IN (SELECT id FROM segment_stats ORDER BY id LIMIT 2)').run();
    other.close();
    expect((await store.stats()).segmentsWithoutFieldStats).toBe(2);
    expect(store.fieldStatsIndexer!.runToEnd()).toBe(2);
    expect((await store.fieldCounts({ maxScanLines: 0 }))!.fromStats).toBe(24);
  } finally {
    await store.close();
  }
});

it('counts the newest segments first, 64 at a time, each 64 oldest first so their rows are appended in order', async () => {
  const store = await open();
  try {
    const segments = (store as unknown as { segments: SqliteSegments }).segments;
    const saved: number[] = [];
    const save = segments.saveFieldStats.bind(segments);
    segments.saveFieldStats = (segment, stats) => {
      saved.push(Number(segment.id));
      save(segment, stats);
    };
    // Each append is sealed on its own (over directSealBytes): a segment each.
    for (let i = 0; i < 150; i++) await store.append(request(i * 16, 16, T0 + BigInt(i)));
    const ids = new Database(store.file, { readonly: true });
    const all = ids.prepare<[], number>('SELECT id FROM segments ORDER BY id').pluck().all();
    ids.close();
    expect(all.length).toBeGreaterThan(128);
    expect(store.fieldStatsIndexer!.runToEnd()).toBe(all.length);
    expect([...saved].sort((a, b) => a - b)).toEqual(all);
    // The newest 64 first, ascending; then the 64 before them, ascending; then the rest.
    const newest = all.slice(-64);
    const before = all.slice(-128, -64);
    expect(saved.slice(0, 64)).toEqual(newest);
    expect(saved.slice(64, 128)).toEqual(before);
    expect(saved.slice(128)).toEqual(all.slice(0, -128));
  } finally {
    await store.close();
  }
});

it('passes a file\'s kept words to its next segments, past a segment that holds a word only inside a longer one', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'daniel-fstats-'));
  dirs.push(dataDir);
  // Each append of ~1.5 KB is a segment of its own.
  const store = await SqliteStore.open({ dataDir, policy: { sealBytes: 4_000, directSealBytes: 1_000 }, fieldStats: { idleMs: 60_000 } });
  try {
    const segmentOf = (from: number, word: (i: number) => string): AppendRequest => {
      const lines = Array.from({ length: 30 }, (_, i) => {
        const line = `n=${from + i} node-${i % 7} ${word(i)} ${'padding '.repeat(5)}`;
        return { offset: (from + i) * 100, end: (from + i) * 100 + line.length + 1, timestamp: T0 + BigInt(from + i) * 1_000_000_000n, line, cut: false };
      });
      return { host: 'h', files: [{ fileId: 'f', filename: 'a.log', path: '/a.log', lines }], receivedAt: T0 };
    };
    await store.append(segmentOf(0, (i) => (i % 2 ? 'ERROR' : 'ok'))); // ERROR frequent
    await store.append(segmentOf(30, (i) => (i === 3 ? 'xERRORS' : 'ok'))); // only inside a longer word
    await store.append(segmentOf(60, (i) => (i === 5 ? 'ERROR' : 'ok'))); // once: too rare to be chosen there
    await store.append(segmentOf(90, (i) => (i === 5 || i === 9 ? 'ERROR' : 'ok')));
    store.fieldStatsIndexer!.runToEnd();
    const segments = (store as unknown as { segments: SqliteSegments }).segments;
    const listed = (await segments.listSegments({})).sort((a, b) => a.minSeq - b.minSeq);
    expect(listed).toHaveLength(4);
    const counts = listed.map((meta) => segments.fieldStatsNow(meta)?.terms?.lines('ERROR', false));
    // The second holds ERROR only inside xERRORS, as no word: it is read for ERROR. The third and
    // fourth are counted though ERROR is too rare there to be chosen.
    expect(counts).toEqual([15, undefined, 1, 2]);
  } finally {
    await store.close();
  }
});
