/**
 * The segment tables of the sqlite store: schema, the SegmentBackend the query engine reads
 * through, and the few writes the store's append and retention make. Metadata and blobs live
 * in separate tables so listing candidates reads a small b-tree and never a blob page.
 *
 * Every segment's metadata is also kept in memory (segment-cache.ts), kept current by this
 * class's own writes and reloaded when another connection has committed (PRAGMA
 * data_version) or a transaction of ours rolled back (`invalidate`), so listing is a filter
 * over an array instead of thousands of rows read per query. Blobs are read by id, and only
 * for a segment the caller listed: an id SQLite has reused since (a merge deletes the
 * highest rowid, then inserts) answers null, as a vanished segment.
 *
 * Field statistics (query/field-stats.ts) live in a table of their own, `segment_stats`, one
 * row per segment that has them, written after the segment (field-stats-indexer.ts) and
 * deleted with it; each row names the seqs of its segment, so a row left behind for an id
 * SQLite has since reused is told apart and ignored. A row of an older version (without term
 * counts) still answers, and is listed for the indexer to recompute.
 *
 * `segment_repacked` names the sealed segments whose blob the repacker (repacker.ts) has
 * compressed again, by id and seqs the same way; its rows go with their segments. The blobs
 * stay in the format every reader knows: the table only says which need no more work.
 */
import type Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import type { EncodedSegment } from '../../segment/codec.js';
import { segmentMatchesList, type SegmentBackend, type SegmentListQuery, type SegmentMeta } from '../../query/backend.js';
import type { SegmentFile, SegmentStats } from '../../segment/meta.js';
import { BloomSummaries, DEFAULT_BLOOM_CACHE_BYTES, NewestSegments } from './segment-cache.js';
import { decodeFieldStats, encodeFieldStats, FIELD_STATS_VERSION, packFieldStats, unpackedLength, type FieldStats } from '../../query/field-stats.js';
import { packRecord, unpackRecord } from '../../segment/compression.js';
import { DecodedCache } from '../../query/decoded-cache.js';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS hosts (
  host TEXT PRIMARY KEY, last_seen INTEGER NOT NULL, lines INTEGER NOT NULL, bytes INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS identities (
  host TEXT NOT NULL, file_id TEXT NOT NULL, end_offset INTEGER NOT NULL, size INTEGER,
  PRIMARY KEY (host, file_id)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_names (
  host TEXT NOT NULL, filename TEXT NOT NULL, file_id TEXT NOT NULL, path TEXT NOT NULL,
  last_seen INTEGER NOT NULL, first_seen INTEGER NOT NULL, lines INTEGER NOT NULL, bytes INTEGER NOT NULL,
  PRIMARY KEY (host, filename, file_id)) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (
  id INTEGER PRIMARY KEY, host TEXT NOT NULL, file_id TEXT NOT NULL, filename TEXT NOT NULL, path TEXT NOT NULL,
  first_offset INTEGER NOT NULL, end_offset INTEGER NOT NULL, min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL,
  min_seq INTEGER NOT NULL, max_seq INTEGER NOT NULL, line_count INTEGER NOT NULL, raw_bytes INTEGER NOT NULL,
  ascii INTEGER NOT NULL, min_arrival INTEGER NOT NULL, max_arrival INTEGER NOT NULL, sealed INTEGER NOT NULL) STRICT;
CREATE INDEX IF NOT EXISTS segments_by_file ON segments (host, file_id, first_offset);
CREATE INDEX IF NOT EXISTS segments_unsealed ON segments (host, file_id) WHERE sealed = 0;
CREATE INDEX IF NOT EXISTS segments_by_arrival ON segments (max_arrival);
CREATE TABLE IF NOT EXISTS segment_blobs (id INTEGER PRIMARY KEY, bloom BLOB NOT NULL, data BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS segment_stats (id INTEGER PRIMARY KEY, stats BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS segment_repacked (id INTEGER PRIMARY KEY, min_seq INTEGER NOT NULL, max_seq INTEGER NOT NULL) STRICT;
`;

/** A segment row as read with safe integers (every INTEGER a bigint). */
interface SegmentRow {
  id: bigint;
  host: string;
  file_id: string;
  filename: string;
  path: string;
  first_offset: bigint;
  end_offset: bigint;
  min_ts: bigint;
  max_ts: bigint;
  min_seq: bigint;
  max_seq: bigint;
  line_count: bigint;
  raw_bytes: bigint;
  ascii: bigint;
  min_arrival: bigint;
  max_arrival: bigint;
  sealed: bigint;
}

export interface StoredSegment extends SegmentMeta {
  sealed: boolean;
}

function fromRow(row: SegmentRow): StoredSegment {
  return storedSegment(
    String(row.id),
    { host: row.host, fileId: row.file_id, filename: row.filename, path: row.path },
    {
      firstOffset: Number(row.first_offset),
      endOffset: Number(row.end_offset),
      minTimestamp: row.min_ts,
      maxTimestamp: row.max_ts,
      minSeq: Number(row.min_seq),
      maxSeq: Number(row.max_seq),
      lineCount: Number(row.line_count),
      rawBytes: Number(row.raw_bytes),
      ascii: row.ascii === 1n,
    },
    { minArrival: row.min_arrival, maxArrival: row.max_arrival },
    row.sealed === 1n,
  );
}

/**
 * Every segment's metadata object in memory is built here, by one object literal, so all of
 * them share one hidden class. Built by spreads instead (`{ ...columns, id, sealed }` after
 * an append, `{ ...cached, sealed: true }` at sealing), the metadata of a store that had
 * just ingested came in several shapes, and every per-segment step of a search (listing,
 * ordering, the bloom walk) read them through megamorphic property loads: after ingesting
 * 10M lines, a search over every segment ran 2-3x slower than the same search in a Daniel
 * started afresh on the same file.
 */
function storedSegment(
  id: string,
  file: SegmentFile,
  stats: SegmentStats,
  arrival: { minArrival: bigint; maxArrival: bigint },
  sealed: boolean,
): StoredSegment {
  return {
    id,
    host: file.host,
    fileId: file.fileId,
    filename: file.filename,
    path: file.path,
    firstOffset: stats.firstOffset,
    endOffset: stats.endOffset,
    minTimestamp: stats.minTimestamp,
    maxTimestamp: stats.maxTimestamp,
    minSeq: stats.minSeq,
    maxSeq: stats.maxSeq,
    lineCount: stats.lineCount,
    rawBytes: stats.rawBytes,
    ascii: stats.ascii,
    minArrival: arrival.minArrival,
    maxArrival: arrival.maxArrival,
    sealed,
  };
}

const META_COLUMNS =
  'id, host, file_id, filename, path, first_offset, end_offset, min_ts, max_ts, min_seq, max_seq, line_count, raw_bytes, ascii, min_arrival, max_arrival, sealed';

/**
 * Cap on the decoded field statistics held in memory. Decoded, a segment's statistics take
 * about three times their stored bytes (measured at 10M lines of the bench's logs: 10.5 MB
 * stored, 35 MB held for 3,475 segments), so the default holds those of ~35M such lines;
 * older segments' statistics are then read from SQLite when a query needs them.
 */
export const DEFAULT_STATS_CACHE_BYTES = 128 << 20;

/** Estimated bytes of one segment's statistics held decoded, from their stored size. */
function statsCost(storedBytes: number): number {
  return 3 * storedBytes + 200;
}

export class SqliteSegments implements SegmentBackend {
  private readonly bloomById: Database.Statement<[number], { bloom: Buffer }>;
  private readonly dataById: Database.Statement<[number], { data: Buffer }>;
  private readonly insertMeta: Database.Statement;
  private readonly insertBlob: Database.Statement;
  private readonly deleteMeta: Database.Statement<[number]>;
  private readonly deleteBlob: Database.Statement<[number]>;
  private readonly unsealedOf: Database.Statement<[string, string], SegmentRow>;
  private readonly sealById: Database.Statement<[number]>;
  private readonly arrivedBefore: Database.Statement<[bigint], SegmentRow>;
  private readonly allRows: Database.Statement<[], SegmentRow>;
  private readonly dataVersion: Database.Statement<[]>;
  private cache: Map<string, StoredSegment> | null = null;
  /** The cached metadata in each search order, sorted when first asked for since the metadata last changed. */
  private sorted: { desc?: StoredSegment[]; asc?: StoredSegment[] } = {};
  private cacheVersion = -1;
  /**
   * Counts changes to the list of segments: appends, removals, seals, another connection's
   * commits. A work list (field statistics, repacking) found empty stays empty until this moves,
   * so the background workers' polls between a reader's pages cost no query over every segment.
   */
  private changes = 0;
  private caughtUp = { stats: -1, repack: -1 };
  private readonly summaries: BloomSummaries;
  /** The cache warmer's walk: the segments of the metadata it listed, newest first, and how far it got. */
  private warming: { from: Map<string, StoredSegment>; order: StoredSegment[]; next: number; blooms: boolean; stats: boolean } | undefined;
  private readonly statsById: Database.Statement<[number], { stats: Buffer }>;
  private readonly putStats: Database.Statement<[number, Buffer]>;
  private readonly deleteStats: Database.Statement<[number]>;
  private readonly withoutStats: Database.Statement<[number], { id: number }>;
  private readonly countWithoutStats: Database.Statement<[], number>;
  private readonly toRepack: Database.Statement<[number], { id: number }>;
  private readonly countToRepackNow: Database.Statement<[], number>;
  private readonly replaceData: Database.Statement<[Buffer, number, Buffer]>;
  private readonly markRepacked: Database.Statement<[number, number, number]>;
  private readonly deleteRepacked: Database.Statement<[number]>;
  /** Decoded statistics by segment id; null: the segment has none (yet). Capped by bytes, newest segments kept. */
  private readonly statsCache: NewestSegments<FieldStats | null>;
  readonly decodedCache: DecodedCache;

  constructor(
    private readonly db: Database.Database,
    private readonly currentSeq: () => number,
    caps: { bloomCacheBytes?: number; statsCacheBytes?: number } = {},
  ) {
    this.summaries = new BloomSummaries(caps.bloomCacheBytes ?? DEFAULT_BLOOM_CACHE_BYTES);
    this.statsCache = new NewestSegments(caps.statsCacheBytes ?? DEFAULT_STATS_CACHE_BYTES);
    this.decodedCache = new DecodedCache();
    this.allRows = db.prepare<[], SegmentRow>(`SELECT ${META_COLUMNS} FROM segments`).safeIntegers(true);
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.bloomById = db.prepare('SELECT bloom FROM segment_blobs WHERE id = ?');
    this.dataById = db.prepare('SELECT data FROM segment_blobs WHERE id = ?');
    this.insertMeta = db.prepare(
      `INSERT INTO segments (${META_COLUMNS.replace('id, ', '')}) VALUES (@host, @fileId, @filename, @path, @firstOffset, @endOffset, @minTimestamp, @maxTimestamp, @minSeq, @maxSeq, @lineCount, @rawBytes, @ascii, @minArrival, @maxArrival, @sealed)`,
    );
    this.insertBlob = db.prepare('INSERT INTO segment_blobs (id, bloom, data) VALUES (?, ?, ?)');
    this.deleteMeta = db.prepare('DELETE FROM segments WHERE id = ?');
    this.deleteBlob = db.prepare('DELETE FROM segment_blobs WHERE id = ?');
    this.unsealedOf = db.prepare<[string, string], SegmentRow>(`SELECT ${META_COLUMNS} FROM segments WHERE host = ? AND file_id = ? AND sealed = 0 ORDER BY first_offset`).safeIntegers(true);
    this.sealById = db.prepare('UPDATE segments SET sealed = 1 WHERE id = ?');
    this.statsById = db.prepare('SELECT stats FROM segment_stats WHERE id = ?');
    this.putStats = db.prepare('INSERT OR REPLACE INTO segment_stats (id, stats) VALUES (?, ?)');
    this.deleteStats = db.prepare('DELETE FROM segment_stats WHERE id = ?');
    // A row whose first byte (its version, field-stats.ts) is below the current one is outdated.
    const outdated = `t.id IS NULL OR substr(t.stats, 1, 1) < x'${FIELD_STATS_VERSION.toString(16).padStart(2, '0')}'`;
    this.withoutStats = db.prepare<[number], { id: number }>(`SELECT s.id AS id FROM segments s LEFT JOIN segment_stats t ON t.id = s.id WHERE ${outdated} ORDER BY s.id DESC LIMIT ?`);
    this.countWithoutStats = db.prepare<[], number>(`SELECT count(*) FROM segments s LEFT JOIN segment_stats t ON t.id = s.id WHERE ${outdated}`).pluck();
    const notRepacked = 'FROM segments s LEFT JOIN segment_repacked r ON r.id = s.id AND r.min_seq = s.min_seq AND r.max_seq = s.max_seq WHERE s.sealed = 1 AND r.id IS NULL';
    this.toRepack = db.prepare<[number], { id: number }>(`SELECT s.id AS id ${notRepacked} ORDER BY s.id DESC LIMIT ?`);
    this.countToRepackNow = db.prepare<[], number>(`SELECT count(*) ${notRepacked}`).pluck();
    this.replaceData = db.prepare('UPDATE segment_blobs SET data = ? WHERE id = ? AND data = ?');
    this.markRepacked = db.prepare('INSERT OR REPLACE INTO segment_repacked (id, min_seq, max_seq) VALUES (?, ?, ?)');
    this.deleteRepacked = db.prepare('DELETE FROM segment_repacked WHERE id = ?');
    this.arrivedBefore = db.prepare<[bigint], SegmentRow>(`SELECT ${META_COLUMNS} FROM segments WHERE max_arrival < ?`).safeIntegers(true);
  }

  listSegments(query: SegmentListQuery): Promise<SegmentMeta[]> {
    const out: SegmentMeta[] = [];
    for (const segment of this.metas().values()) if (segmentMatchesList(segment, query)) out.push(segment);
    return Promise.resolve(out);
  }

  /**
   * One page: the segments `listSegments` answers, already in search order. Sorting every
   * segment's metadata (by bigint timestamps, ~4,000 at 10M lines) was a fixed cost of every
   * search; the order is kept until the metadata changes.
   */
  listSegmentsInOrder(query: SegmentListQuery, order: 'asc' | 'desc'): Iterable<SegmentMeta[]> {
    const metas = this.metas();
    let sorted = this.sorted[order];
    if (sorted === undefined) {
      sorted = [...metas.values()].sort(
        order === 'desc'
          ? (a, b) => (a.maxTimestamp > b.maxTimestamp ? -1 : a.maxTimestamp < b.maxTimestamp ? 1 : 0)
          : (a, b) => (a.minTimestamp < b.minTimestamp ? -1 : a.minTimestamp > b.minTimestamp ? 1 : 0),
      );
      this.sorted[order] = sorted;
    }
    return [sorted.filter((segment) => segmentMatchesList(segment, query))];
  }

  /** Every segment's metadata, reloaded when the cache was dropped or another connection committed. */
  private metas(): Map<string, StoredSegment> {
    const version = this.dataVersion.get() as number;
    if (this.cache === null || version !== this.cacheVersion) {
      this.cache = new Map(this.allRows.all().map((row) => [String(row.id), fromRow(row)]));
      this.cacheVersion = version;
      this.changes++;
      this.sorted = {};
      this.summaries.clear(); // another writer may have deleted segments and reused their ids
      this.statsCache.clear();
      this.decodedCache.clear();
    }
    return this.cache;
  }

  /** Drops what memory holds (after a rolled-back transaction: its writes never happened). */
  invalidate(): void {
    this.changes++;
    this.cache = null;
    this.sorted = {};
    this.summaries.clear();
    this.statsCache.clear();
    this.decodedCache.clear();
  }

  /** True when `segment` (listed earlier) still names the same stored segment. */
  private current(segment: SegmentMeta): boolean {
    const cached = this.cache?.get(segment.id);
    return cached !== undefined && cached.minSeq === segment.minSeq && cached.maxSeq === segment.maxSeq && cached.fileId === segment.fileId && cached.host === segment.host;
  }

  bloomSummary(segment: SegmentMeta): Uint8Array | undefined {
    return this.current(segment) ? this.summaries.get(segment.id) : undefined;
  }

  loadBloom(segment: SegmentMeta): Promise<Uint8Array | null> {
    return Promise.resolve(this.bloomNow(segment));
  }

  /** The segment's full bloom, read synchronously; its summary is held too if it fits. */
  private bloomNow(segment: SegmentMeta): Buffer | null {
    if (!this.current(segment)) return null;
    const bloom = this.bloomById.get(Number(segment.id))?.bloom ?? null;
    if (bloom !== null) this.summaries.add(segment, bloom, false);
    return bloom;
  }

  loadData(segment: SegmentMeta): Promise<Buffer | null> {
    if (!this.current(segment)) return Promise.resolve(null);
    return Promise.resolve(this.dataById.get(Number(segment.id))?.data ?? null);
  }

  loadFieldStats(segment: SegmentMeta): FieldStats | undefined {
    return this.fieldStatsNow(segment);
  }

  /** The segment's statistics as stored (any version), read synchronously. */
  fieldStatsNow(segment: SegmentMeta): FieldStats | undefined {
    if (!this.current(segment)) return undefined;
    let stats = this.statsCache.get(segment.id);
    if (stats === undefined) {
      const row = this.statsById.get(Number(segment.id));
      stats = row === undefined ? null : (decodeFieldStats(row.stats, unpackRecord) ?? null);
      this.statsCache.set(segment, stats, statsCost(row === undefined ? 0 : unpackedLength(row.stats)), false);
    }
    return stats ?? undefined;
  }

  /**
   * Reads into memory, newest segments first, the bloom summaries and decoded field statistics
   * not held yet, while each cache has room (neither evicts anything for them), for about
   * `budgetMs`; false when nothing is left. A Daniel that starts on a store holds none of them,
   * and the first search or histogram would otherwise read every segment's bloom and
   * statistics from SQLite itself (1.3 s for a word's histogram on the bench's 10M lines).
   * Segments appended later are held as they are written; the walk starts again only when
   * the metadata was reloaded (another connection's commit), which also empties the caches.
   */
  warmCaches(budgetMs: number): boolean {
    const metas = this.metas();
    if (this.warming?.from !== metas) {
      this.warming = { from: metas, order: [...metas.values()].sort((a, b) => b.maxSeq - a.maxSeq), next: 0, blooms: true, stats: true };
    }
    const warming = this.warming;
    const until = performance.now() + budgetMs;
    const more = (): boolean => warming.next < warming.order.length && (warming.blooms || warming.stats);
    while (more()) {
      const segment = warming.order[warming.next++]!;
      if (!this.current(segment)) continue; // merged or deleted since listed
      // Read but not held: the cache is full (of newer segments, as the walk goes newest first).
      if (warming.blooms && !this.summaries.has(segment.id)) {
        this.bloomNow(segment);
        warming.blooms = this.summaries.has(segment.id);
      }
      if (warming.stats && !this.statsCache.has(segment.id)) {
        this.fieldStatsNow(segment);
        warming.stats = this.statsCache.has(segment.id);
      }
      if (performance.now() >= until) break;
    }
    return more();
  }

  /** How many segments have no field statistics of the current version yet (none, or version 1: no term counts). */
  countWithoutFieldStats(): number {
    return this.isCaughtUp('stats') ? 0 : this.countWithoutStats.get()!;
  }

  /** Up to `limit` segments without statistics of the current version, newest first (the indexer's work list). */
  withoutFieldStats(limit: number): StoredSegment[] {
    return this.workList('stats', () => this.withoutStats.all(limit));
  }

  /** The work list `query` answers, or none without asking when it was empty and nothing changed since. */
  private workList(kind: 'stats' | 'repack', query: () => { id: number }[]): StoredSegment[] {
    if (this.isCaughtUp(kind)) return [];
    const out = this.listed(query());
    if (out.length === 0) this.caughtUp[kind] = this.changes;
    return out;
  }

  /** Whether that work list was found empty and no segment changed since. */
  private isCaughtUp(kind: 'stats' | 'repack'): boolean {
    this.metas(); // reloads (a change) when another connection committed
    return this.caughtUp[kind] === this.changes;
  }

  /** The metadata of the segments `rows` name (a work list), in their order, leaving out any gone since. */
  private listed(rows: readonly { id: number }[]): StoredSegment[] {
    const metas = this.metas();
    const out: StoredSegment[] = [];
    for (const { id } of rows) {
      const meta = metas.get(String(id));
      if (meta !== undefined) out.push(meta);
    }
    return out;
  }

  /** The segment as listed now, or undefined when it is gone (merged or deleted). */
  stillThere(segment: SegmentMeta): StoredSegment | undefined {
    const now = this.metas().get(segment.id);
    return now !== undefined && now.minSeq === segment.minSeq && now.maxSeq === segment.maxSeq && now.fileId === segment.fileId ? now : undefined;
  }

  /** Stores the statistics of a segment that is still there. */
  saveFieldStats(segment: SegmentMeta, stats: FieldStats): void {
    const encoded = encodeFieldStats(stats);
    // Packed (Zstandard): a segment's statistics are mostly words and values that repeat.
    this.putStats.run(Number(segment.id), packFieldStats(encoded, packRecord));
    // What a restarted Daniel would read, rather than the builder's: its words and values are
    // slices of the segment's text (which they would keep alive), its term counts an index.
    this.statsCache.set(segment, decodeFieldStats(encoded) ?? stats, statsCost(encoded.length));
  }

  /** Up to `limit` sealed segments not repacked yet, newest first (the repacker's work list). */
  toRepackNext(limit: number): StoredSegment[] {
    return this.workList('repack', () => this.toRepack.all(limit));
  }

  /** How many sealed segments are not repacked yet. */
  countToRepack(): number {
    return this.isCaughtUp('repack') ? 0 : this.countToRepackNow.get()!;
  }

  /**
   * Marks a sealed segment repacked, writing `repacked` in place of its blob when given. Only
   * while the segment is still there and its blob is still `before` (the bytes the repack was
   * made from); false when not. The caller runs it in a transaction.
   */
  saveRepacked(segment: SegmentMeta, before: Buffer, repacked: Buffer | undefined): boolean {
    const now = this.stillThere(segment);
    if (now === undefined || !now.sealed) return false;
    const id = Number(segment.id);
    if (repacked !== undefined && this.replaceData.run(repacked, id, before).changes !== 1) return false;
    this.markRepacked.run(id, segment.minSeq, segment.maxSeq);
    return true;
  }

  lastSeq(): Promise<number> {
    return Promise.resolve(this.currentSeq());
  }

  /** Synchronous read for writers inside a transaction. */
  dataNow(id: string): Buffer {
    const row = this.dataById.get(Number(id));
    if (row === undefined) throw new Error(`Segment ${id} is missing its blob.`);
    return row.data;
  }

  insert(
    encoded: EncodedSegment,
    file: { host: string; fileId: string; filename: string; path: string },
    arrival: { minArrival: bigint; maxArrival: bigint },
    sealed: boolean,
  ): void {
    this.changes++;
    // The row id is SQLite's to choose: the metadata is built once it has been given.
    const result = this.insertMeta.run({
      host: file.host,
      fileId: file.fileId,
      filename: file.filename,
      path: file.path,
      firstOffset: encoded.firstOffset,
      endOffset: encoded.endOffset,
      minTimestamp: encoded.minTimestamp,
      maxTimestamp: encoded.maxTimestamp,
      minSeq: encoded.minSeq,
      maxSeq: encoded.maxSeq,
      lineCount: encoded.lineCount,
      rawBytes: encoded.rawBytes,
      ascii: encoded.ascii ? 1 : 0,
      minArrival: arrival.minArrival,
      maxArrival: arrival.maxArrival,
      sealed: sealed ? 1 : 0,
    });
    this.insertBlob.run(result.lastInsertRowid, encoded.bloom, encoded.data);
    this.statsCache.delete(String(result.lastInsertRowid));
    if (this.cache !== null) {
      const stored = storedSegment(String(result.lastInsertRowid), file, encoded, arrival, sealed);
      this.cache.set(stored.id, stored);
      this.sorted = {};
      this.summaries.add(stored, encoded.bloom);
    }
  }

  remove(id: string): void {
    this.changes++;
    this.deleteMeta.run(Number(id));
    this.deleteBlob.run(Number(id));
    this.deleteStats.run(Number(id));
    this.deleteRepacked.run(Number(id));
    this.statsCache.delete(id);
    this.cache?.delete(id);
    this.sorted = {};
    this.summaries.delete(id);
    this.decodedCache.delete(id);
  }

  unsealed(host: string, fileId: string): StoredSegment[] {
    return this.unsealedOf.all(host, fileId).map(fromRow);
  }

  seal(id: string): void {
    this.changes++;
    this.sealById.run(Number(id));
    const cached = this.cache?.get(id);
    if (cached !== undefined) this.cache!.set(id, storedSegment(id, cached, cached, cached, true));
    this.sorted = {};
  }

  arrivedBeforeTime(arrivedBefore: bigint): StoredSegment[] {
    return this.arrivedBefore.all(arrivedBefore).map(fromRow);
  }
}
