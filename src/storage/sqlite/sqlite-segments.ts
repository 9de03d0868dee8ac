/**
 * The segment tables of the sqlite store: schema, the SegmentBackend the query engine reads
 * through, and the few writes the store's append and retention make. Metadata and blobs live
 * in separate tables so listing candidates reads a small b-tree and never a blob page.
 */
import type Database from 'better-sqlite3';
import type { EncodedSegment } from '../../query/segment-codec.js';
import type { SegmentBackend, SegmentListQuery, SegmentMeta } from '../segment-backend.js';

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
  return {
    id: String(row.id),
    host: row.host,
    fileId: row.file_id,
    filename: row.filename,
    path: row.path,
    firstOffset: Number(row.first_offset),
    endOffset: Number(row.end_offset),
    minTimestamp: row.min_ts,
    maxTimestamp: row.max_ts,
    minSeq: Number(row.min_seq),
    maxSeq: Number(row.max_seq),
    lineCount: Number(row.line_count),
    rawBytes: Number(row.raw_bytes),
    ascii: row.ascii === 1n,
    minArrival: row.min_arrival,
    maxArrival: row.max_arrival,
    sealed: row.sealed === 1n,
  };
}

const META_COLUMNS =
  'id, host, file_id, filename, path, first_offset, end_offset, min_ts, max_ts, min_seq, max_seq, line_count, raw_bytes, ascii, min_arrival, max_arrival, sealed';

export class SqliteSegments implements SegmentBackend {
  private readonly listStatements = new Map<string, Database.Statement>();
  private readonly bloomById: Database.Statement<[number], { bloom: Buffer }>;
  private readonly dataById: Database.Statement<[number], { data: Buffer }>;
  private readonly insertMeta: Database.Statement;
  private readonly insertBlob: Database.Statement;
  private readonly deleteMeta: Database.Statement<[number]>;
  private readonly deleteBlob: Database.Statement<[number]>;
  private readonly unsealedOf: Database.Statement<[string, string], SegmentRow>;
  private readonly sealById: Database.Statement<[number]>;
  private readonly arrivedBefore: Database.Statement<[bigint], SegmentRow>;

  constructor(
    private readonly db: Database.Database,
    private readonly currentSeq: () => number,
  ) {
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
    this.arrivedBefore = db.prepare<[bigint], SegmentRow>(`SELECT ${META_COLUMNS} FROM segments WHERE max_arrival < ?`).safeIntegers(true);
  }

  listSegments(query: SegmentListQuery): Promise<SegmentMeta[]> {
    const where: string[] = [];
    const params: (string | number | bigint)[] = [];
    if (query.hosts?.length) {
      where.push('host IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(query.hosts));
    }
    if (query.files?.length) {
      where.push('filename IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(query.files));
    }
    if (query.fileId !== undefined) {
      where.push('file_id = ?');
      params.push(query.fileId);
    }
    if (query.minTimestamp !== undefined) {
      where.push('max_ts >= ?');
      params.push(query.minTimestamp);
    }
    if (query.beforeTimestamp !== undefined) {
      where.push('min_ts < ?');
      params.push(query.beforeTimestamp);
    }
    if (query.minSeqAtMost !== undefined) {
      where.push('min_seq <= ?');
      params.push(query.minSeqAtMost);
    }
    if (query.maxSeqAbove !== undefined) {
      where.push('max_seq > ?');
      params.push(query.maxSeqAbove);
    }
    const sql = `SELECT ${META_COLUMNS} FROM segments${where.length ? ' WHERE ' + where.join(' AND ') : ''}`;
    let statement = this.listStatements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql).safeIntegers(true);
      this.listStatements.set(sql, statement);
    }
    return Promise.resolve((statement.all(...params) as SegmentRow[]).map(fromRow));
  }

  loadBloom(segment: SegmentMeta): Promise<Uint8Array | null> {
    return Promise.resolve(this.bloomById.get(Number(segment.id))?.bloom ?? null);
  }

  loadData(segment: SegmentMeta): Promise<Buffer | null> {
    return this.loadDataNow(segment.id);
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

  private loadDataNow(id: string): Promise<Buffer | null> {
    return Promise.resolve(this.dataById.get(Number(id))?.data ?? null);
  }

  insert(
    encoded: EncodedSegment,
    file: { host: string; fileId: string; filename: string; path: string },
    arrival: { minArrival: bigint; maxArrival: bigint },
    sealed: boolean,
  ): void {
    const result = this.insertMeta.run({
      ...file,
      firstOffset: encoded.firstOffset,
      endOffset: encoded.endOffset,
      minTimestamp: encoded.minTimestamp,
      maxTimestamp: encoded.maxTimestamp,
      minSeq: encoded.minSeq,
      maxSeq: encoded.maxSeq,
      lineCount: encoded.lineCount,
      rawBytes: encoded.rawBytes,
      ascii: encoded.ascii ? 1 : 0,
      ...arrival,
      sealed: sealed ? 1 : 0,
    });
    this.insertBlob.run(result.lastInsertRowid, encoded.bloom, encoded.data);
  }

  remove(id: string): void {
    this.deleteMeta.run(Number(id));
    this.deleteBlob.run(Number(id));
  }

  unsealed(host: string, fileId: string): StoredSegment[] {
    return this.unsealedOf.all(host, fileId).map(fromRow);
  }

  seal(id: string): void {
    this.sealById.run(Number(id));
  }

  arrivedBeforeTime(arrivedBefore: bigint): StoredSegment[] {
    return this.arrivedBefore.all(arrivedBefore).map(fromRow);
  }
}
