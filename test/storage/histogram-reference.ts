/**
 * The harness of the histogram property tests (src/storage/sqlite/*-histogram.test.ts): the
 * same appends into a SQLite store and the reference (memory) store, statistics computed
 * midway, some rewritten as an older Daniel wrote them, then each histogram of the SQLite store
 * held to the reference's plain scan.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { decodeFieldStats, encodeFieldStats, type FieldStats } from '../../src/query/field-stats.js';
import { unpackRecord } from '../../src/segment/compression.js';
import type { HistogramQuery } from '../../src/query/types.js';
import { MemoryStore } from '../../src/storage/memory/memory-store.js';
import { SqliteStore, type SqliteStoreOptions } from '../../src/storage/sqlite/sqlite-store.js';
import type { AppendRequest } from '../../src/storage/store.js';

export interface HistogramCase {
  /** Options of the SQLite store (its data directory is made here). */
  store: Omit<SqliteStoreOptions, 'dataDir'>;
  requests: readonly AppendRequest[];
  /** The statistics are computed before this request (at the end when past the last). */
  indexAfter: number;
  /** > 0: every (oldEvery + 1)th segment's statistics are rewritten by `older`. */
  oldEvery: number;
  older: (stats: FieldStats) => FieldStats;
  histograms: readonly HistogramQuery[];
}

export async function expectHistogramsAsReference(test: HistogramCase): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'daniel-histogram-'));
  const store = await SqliteStore.open({ ...test.store, dataDir });
  const reference = new MemoryStore();
  try {
    for (const [index, request] of test.requests.entries()) {
      if (index === test.indexAfter) store.fieldStatsIndexer!.runToEnd();
      await store.append(request);
      await reference.append(request);
    }
    if (test.indexAfter >= test.requests.length) store.fieldStatsIndexer!.runToEnd();
    if (test.oldEvery > 0) {
      const db = new Database(join(dataDir, 'daniel.db'));
      for (const { id, stats } of db.prepare('SELECT id, stats FROM segment_stats').all() as { id: number; stats: Buffer }[]) {
        if (id % (test.oldEvery + 1) !== 0) continue;
        db.prepare('UPDATE segment_stats SET stats = ? WHERE id = ?').run(encodeFieldStats(test.older(decodeFieldStats(stats, unpackRecord)!)), id);
      }
      db.close();
    }
    for (const filter of test.histograms) expect(await store.histogram(filter)).toEqual(await reference.histogram(filter));
  } finally {
    await store.close();
    await reference.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
