/** What the sqlite store keeps in memory (metadata, bloom summaries) must never answer differently from the file. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Store } from '../store.js';
import type { SegmentMeta } from '../../query/backend.js';
import type { SqliteSegments } from './sqlite-segments.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { appendOf as append, T0 } from './requests.case.js';

let dataDir: string;
const opened: Store[] = [];

async function open(options: Partial<SqliteStoreOptions> = {}): Promise<Store> {
  const store = await SqliteStore.open({ dataDir, ...options });
  opened.push(store);
  return store;
}

const needle = (text: string) => ({ order: 'desc' as const, limit: 10, match: [{ kind: 'substring' as const, text, caseInsensitive: false }] });
const count = async (store: Store, text: string): Promise<number> =>
  (await store.histogram({ bucketMs: 366 * 86_400_000, match: needle(text).match })).buckets.reduce((sum, b) => sum + b.count, 0);

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'daniel-sqlite-caches-'));
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('sqlite store caches', () => {
  it('forgets the segments of a rolled-back append, even when SQLite reuses their ids', async () => {
    await (await open()).close();
    const raw = new Database(join(dataDir, 'daniel.db'));
    raw.exec(`CREATE TRIGGER boom BEFORE INSERT ON hosts WHEN NEW.host = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`);
    raw.close();
    const store = await open();
    await store.append(append('web', 0, ['warm up the caches']));
    expect((await store.search(needle('warm'))).lines).toHaveLength(1);
    await expect(store.append(append('boom', 0, ['qzx-rolled-back']))).rejects.toThrow(/boom/);
    await store.append(append('db', 0, ['qzx-kept after the failure'])); // a new segment: takes the rolled-back one's id
    expect((await store.search(needle('qzx-kept'))).lines.map((l) => l.line)).toEqual(['qzx-kept after the failure']);
    expect((await store.search(needle('qzx-rolled-back'))).lines).toEqual([]);
    expect(await count(store, 'qzx-kept')).toBe(1);
    expect(await count(store, 'qzx-rolled-back')).toBe(0);
  });

  it('sees what another connection wrote or deleted since its last query', async () => {
    // Only counts: a search pins its snapshot to the opening store's own seq counter.
    const writer = await open();
    const reader = await open();
    await writer.append(append('web', 0, ['first qzx-one'], T0));
    expect(await count(reader, 'qzx-')).toBe(1);
    await writer.append(append('db', 0, ['second qzx-two'], T0 + 10n)); // another file: its own segment
    expect(await count(reader, 'qzx-two')).toBe(1);
    expect(await count(reader, 'qzx-')).toBe(2);
    await writer.deleteArrivedBefore(T0 + 5n);
    expect(await count(reader, 'qzx-')).toBe(1);
    expect(await count(reader, 'qzx-one')).toBe(0);
  });

  describe('warmed after opening', () => {
    /** What the store holds in memory, read through its private parts: what the warmer fills. */
    const held = (store: Store) => {
      const segments = (store as unknown as { segments: SqliteSegments }).segments;
      const statsCache = (segments as unknown as { statsCache: { has(id: string): boolean } }).statsCache;
      return {
        segments,
        metas: async (): Promise<SegmentMeta[]> => (await segments.listSegments({})).sort((a, b) => b.maxSeq - a.maxSeq),
        summary: (meta: SegmentMeta) => segments.bloomSummary(meta) !== undefined,
        stats: (meta: SegmentMeta) => statsCache.has(meta.id),
      };
    };

    /** Twelve files of one host, a segment each, counted by the field statistics indexer, then closed. */
    async function storeOfTwelveSegments(): Promise<void> {
      const store = await open({ warmCaches: false });
      for (let f = 0; f < 12; f++) {
        const request = append('web', 0, Array.from({ length: 50 }, (_, i) => `level=info file ${f} line ${i} qzx-f${f}-${i}`), T0 + BigInt(f * 1000));
        request.files[0]!.fileId = `inode-${f}`;
        request.files[0]!.filename = `app-${f}.log`;
        await store.append(request);
      }
      (store as unknown as { fieldStatsIndexer: { runToEnd(): number } }).fieldStatsIndexer.runToEnd();
      await store.close();
    }

    it('reads every segment\'s bloom summary and statistics, a slice at a time', async () => {
      await storeOfTwelveSegments();
      const store = await open({ warmCaches: false, fieldStats: false, repack: false });
      const mem = held(store);
      const metas = await mem.metas();
      expect(metas).toHaveLength(12);
      expect(metas.filter(mem.summary)).toEqual([]);
      expect(metas.filter(mem.stats)).toEqual([]);
      // A budget of 0 ms: one segment a call, the newest first.
      expect(mem.segments.warmCaches(0)).toBe(true);
      expect(metas.filter(mem.summary)).toEqual([metas[0]]);
      expect(metas.filter(mem.stats)).toEqual([metas[0]]);
      // The call that reads the last segment answers that nothing is left.
      let calls = 1;
      for (let more = true; more; calls++) more = mem.segments.warmCaches(0);
      expect(calls).toBe(12);
      expect(metas.filter(mem.summary)).toHaveLength(12);
      expect(metas.filter(mem.stats)).toHaveLength(12);
      expect(mem.segments.warmCaches(Infinity)).toBe(false);
      // What it holds answers as the file does.
      expect(await count(store, 'qzx-f3-7')).toBe(1);
      expect(await count(store, 'level=info')).toBe(600);
    });

    it('holds only what fits, the newest segments, and evicts nothing for the older ones', async () => {
      await storeOfTwelveSegments();
      // Each summary costs its folded bits plus 120 bytes: room for some, not all twelve.
      const probe = await open({ warmCaches: false, fieldStats: false, repack: false });
      const probeMem = held(probe);
      const [newest] = await probeMem.metas();
      const oneCost = Math.ceil(((await probeMem.segments.loadBloom(newest!))!.length) / 2) + 120;
      await probe.close();
      opened.splice(opened.indexOf(probe), 1);
      const store = await open({ warmCaches: false, fieldStats: false, repack: false, bloomCacheBytes: oneCost * 4 + 10 });
      const mem = held(store);
      const metas = await mem.metas();
      while (mem.segments.warmCaches(Infinity));
      const summarised = metas.filter(mem.summary);
      expect(summarised.length).toBeGreaterThanOrEqual(3);
      expect(summarised.length).toBeLessThan(12);
      expect(summarised).toEqual(metas.slice(0, summarised.length));
      expect(metas.filter(mem.stats)).toHaveLength(12);
    });

    it('starts by itself once the store is idle', async () => {
      await storeOfTwelveSegments();
      const store = await open({ warmCaches: { idleMs: 0, sliceMs: 1 }, fieldStats: false, repack: false });
      const mem = held(store);
      const metas = await mem.metas();
      await vi.waitFor(() => expect(metas.filter(mem.summary)).toHaveLength(12), { timeout: 5000, interval: 20 });
      expect(metas.filter(mem.stats)).toHaveLength(12);
    });
  });
});
