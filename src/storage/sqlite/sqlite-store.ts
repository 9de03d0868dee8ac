/**
 * The embedded store: one SQLite file, `DATA_DIR/daniel.db`, in WAL mode; an append's commit
 * is fsynced before append() resolves (an OS crash or power cut loses nothing acknowledged,
 * not only a process crash), by a flush of the WAL, off the main thread for a large one
 * (wal-sync.ts). Lines live in compressed segments (see segment-writer.ts); the per-identity
 * end offset that makes ingest idempotent is updated in the same transaction as the lines.
 * Queries go through the shared engine in src/query/ over the SqliteSegments backend.
 */
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CountPool, type CountPoolOptions } from '../../query/count-pool.js';
import { chunkLines, splitDuplicates, withSeqs } from '../append-plan.js';
import { linesText, writeLinesText, type LinesText, type PreparedText } from '../../segment/codec.js';
import { textLength } from '../../protocol/body-line.js';
import { segmentReads, type SegmentReads } from '../segment-reads.js';
import { StoreDamagedError, StoreUnavailableError, type AppendFile, type AppendRequest, type AppendResult, type StoredRun, type FileSummary, type HostSummary, type RetentionResult, type Store, type StoreStats } from '../store.js';
import { DataFormatError, ensureSqliteFormat, type FormatCheck } from '../data-format.js';
import { DEFAULT_POLICY, writeRun, type SegmentPolicy } from './segment-writer.js';
import { SCHEMA, SqliteSegments } from './sqlite-segments.js';
import { FieldStatsIndexer, type FieldStatsIndexerOptions } from './field-stats-indexer.js';
import { EncodePool } from './encode-pool.js';
import { SegmentRepacker, type RepackerOptions } from './repacker.js';
import { StoreActivity } from './store-activity.js';
import { IdleSlices, type IdleSliceTimes } from './idle-slices.js';
import { WalSync, type WalSyncOptions } from './wal-sync.js';

export interface SqliteStoreOptions {
  dataDir: string;
  /** Segment sizing; tests shrink it to exercise merging. */
  policy?: Partial<SegmentPolicy>;
  /** Cap on the in-memory bloom summaries (bytes; default 96 MiB; see segment-cache.ts). */
  bloomCacheBytes?: number;
  /** Cap on the decoded field statistics held in memory (bytes, estimated; default 128 MiB; see sqlite-segments.ts). */
  statsCacheBytes?: number;
  /** Worker threads counting segments for the histogram (src/query/count-pool.ts; default one per spare core, 0: none). */
  countPool?: CountPoolOptions;
  /** When the field statistics of segments are computed (field-stats-indexer.ts); false: never (tests of the fallback). */
  fieldStats?: FieldStatsIndexerOptions | false;
  /** Prepare appends' text on a worker thread (encode-pool.ts; default true); false: every append encodes inline. */
  encodeWorker?: boolean;
  /** When sealed segments are compressed again (repacker.ts); false: never. */
  repack?: RepackerOptions | false;
  /** When the bloom summaries and field statistics of a store just opened are read into memory (SqliteSegments.warmCaches); false: never, each when a query first needs it. */
  warmCaches?: Partial<IdleSliceTimes> | false;
  /** How the WAL is flushed before an append resolves (wal-sync.ts): from how many bytes of lines off the main thread, and (tests) a slow or failing flush. */
  walSync?: WalSyncOptions;
}

/** The cache warmer starts once appends pause as long as the field statistics indexer waits, in the same slices. */
const WARM_TIMES: IdleSliceTimes = { idleMs: 300, sliceMs: 4, readPauseMs: 20 };

/** Free space below which the health check fails: an append of one full request could not commit. */
const MIN_FREE_BYTES = 64 * 1024 * 1024;
/** How often the health check commits a write (an fsync), at most. */
const WRITE_CHECK_MS = 10_000;

/** SQLite's own word that the file is not what it wrote. */
function isCorruption(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

function fileIdentity(file: string): string | undefined {
  try {
    const stat = statSync(file);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

interface FileNameRow {
  filename: string;
  file_id: string;
  path: string;
  last_seen: bigint;
  first_seen: bigint;
  lines: bigint;
  bytes: bigint;
  end_offset: bigint;
  size: bigint | null;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly file: string;
  /** The data format found at open and the upgrades run (src/storage/data-format.ts). */
  readonly dataFormat: FormatCheck;
  private readonly db: Database.Database;
  private readonly segments: SqliteSegments;
  private readonly policy: SegmentPolicy;
  private readonly countPool: CountPool;
  private readonly encodePool: EncodePool | undefined;
  /** Texts prepared for an append's files (prepareAppend), by the request's file object and each run's first offset. */
  private readonly preparedTexts = new WeakMap<AppendFile, Map<number, PreparedText>>();
  /** Computes segments' field statistics while appends pause; undefined when turned off. */
  readonly fieldStatsIndexer: FieldStatsIndexer | undefined;
  readonly repacker: SegmentRepacker | undefined;
  private readonly cacheWarmer: IdleSlices | undefined;
  /** Flushes the WAL before an append resolves. */
  private readonly walSync: WalSync | undefined;
  /** Appends and reads, which the indexer, the repacker and the cache warmer wait out. */
  readonly activity = new StoreActivity();
  private seq: number;
  /**
   * The highest seq on disk: what reads see (search snapshots, live tails, lastSeq). A line
   * committed is visible once its WAL is flushed, so a tail never shows a line (and its seq)
   * that an OS crash could still take back and give to another.
   */
  private durableSeq: number;
  private mentions: number;
  private closed = false;
  /** Set once the files are known damaged or gone: every later call says so (a restart is needed). */
  private damaged: StoreDamagedError | undefined;
  /** dev:inode of daniel.db (and of its WAL once seen), to notice the files deleted or replaced. */
  private readonly identity: string | undefined;
  private walIdentity: string | undefined;
  private lastWriteCheck = -Infinity;
  private readonly statements;
  readonly search: SegmentReads['search'];
  readonly context: SegmentReads['context'];
  readonly histogram: SegmentReads['histogram'];
  readonly tail: SegmentReads['tail'];
  readonly fieldCounts: SegmentReads['fieldCounts'];

  static open(options: SqliteStoreOptions): Promise<SqliteStore> {
    try {
      return Promise.resolve(new SqliteStore(options));
    } catch (error) {
      if (error instanceof DataFormatError) return Promise.reject(error);
      if (isCorruption(error)) {
        const file = join(options.dataDir, 'daniel.db');
        return Promise.reject(
          new StoreDamagedError(`The database file ${file} is damaged (${(error as Error).message}). Keep a copy of ${file}*, then restore it from a backup or salvage it with: sqlite3 ${file} .recover | sqlite3 recovered.db`, { cause: error }),
        );
      }
      return Promise.reject(new StoreUnavailableError(`Cannot open the sqlite store in ${options.dataDir}: ${(error as Error).message}`, { cause: error }));
    }
  }

  private constructor(options: SqliteStoreOptions) {
    this.file = join(options.dataDir, 'daniel.db');
    this.policy = { ...DEFAULT_POLICY, ...options.policy };
    this.db = new Database(this.file);
    // Only takes effect on a new file. A segment's row (bloom and blob, ~70 KB on the bench's data) ends on a
    // part-filled overflow page: half a page a segment on average, 11.5 MB of a 10M-line store at 8 KiB.
    this.db.pragma('page_size = 4096');
    // Also only on a new file: pages freed (by the repacker, by retention) can be given back to the file system (repacker.ts).
    this.db.pragma('auto_vacuum = INCREMENTAL');
    const wal = this.db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
    // In WAL mode a commit does not wait for the disk: append() waits for walSync. A file system
    // without WAL (no shared memory) keeps a rollback journal, where every commit syncs itself.
    this.db.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
    this.db.pragma('wal_autocheckpoint = 512');
    // After a checkpoint the WAL is cut back to this size instead of staying at its high-water mark.
    this.db.pragma('journal_size_limit = 4194304');
    this.db.pragma('busy_timeout = 5000');
    try {
      this.dataFormat = ensureSqliteFormat(this.db, this.file, SCHEMA);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.identity = fileIdentity(this.file);
    this.walSync = wal ? new WalSync(`${this.file}-wal`, options.walSync) : undefined;
    // Read at start for the counters, and kept for the health check's read (statements.counter).
    const counter = this.db.prepare<[string], { value: number }>('SELECT value FROM counters WHERE name = ?');
    this.seq = counter.get('seq')?.value ?? 0;
    this.durableSeq = this.seq;
    this.mentions = counter.get('mentions')?.value ?? 0;
    this.segments = new SqliteSegments(this.db, () => this.durableSeq, options);
    this.countPool = new CountPool(options.countPool);
    this.encodePool = options.encodeWorker === false ? undefined : new EncodePool();
    this.fieldStatsIndexer = options.fieldStats === false ? undefined : new FieldStatsIndexer(this.segments, options.fieldStats, this.activity);
    this.fieldStatsIndexer?.start();
    const incremental = (this.db.pragma('auto_vacuum', { simple: true }) as number) === 2;
    const freeCount = this.db.prepare<[], number>('PRAGMA freelist_count').pluck();
    this.repacker =
      options.repack === false
        ? undefined
        : new SegmentRepacker(
            {
              segments: this.segments,
              write: (work) => this.inTransaction(work),
              freePages: () => (incremental && !this.closed ? freeCount.get()! : 0),
              releasePages: (pages) => this.db.exec(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`),
            },
            options.repack,
            this.activity,
          );
    this.repacker?.start();
    this.cacheWarmer =
      options.warmCaches === false
        ? undefined
        : new IdleSlices(this.activity, { ...WARM_TIMES, ...options.warmCaches }, (budgetMs) => this.segments.warmCaches(budgetMs));
    this.cacheWarmer?.start();
    ({ search: this.search, context: this.context, histogram: this.histogram, tail: this.tail, fieldCounts: this.fieldCounts } = segmentReads(this.segments, (work) => this.reading(work), this.countPool));
    const db = this.db;
    this.statements = {
      counter,
      setCounter: db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      identity: db.prepare<[string, string], { end_offset: number; size: number | null }>('SELECT end_offset, size FROM identities WHERE host = ? AND file_id = ?'),
      putIdentity: db.prepare('INSERT OR REPLACE INTO identities (host, file_id, end_offset, size) VALUES (?, ?, ?, ?)'),
      mention: db.prepare(
        `INSERT INTO file_names (host, filename, file_id, path, last_seen, first_seen, lines, bytes) VALUES (@host, @filename, @fileId, @path, @at, @order, @lines, @bytes)
         ON CONFLICT (host, filename, file_id) DO UPDATE SET path = excluded.path, last_seen = max(last_seen, excluded.last_seen), lines = lines + excluded.lines, bytes = bytes + excluded.bytes`,
      ),
      hostSeen: db.prepare(
        `INSERT INTO hosts (host, last_seen, lines, bytes) VALUES (@host, @at, @lines, @bytes)
         ON CONFLICT (host) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), lines = lines + excluded.lines, bytes = bytes + excluded.bytes`,
      ),
      hosts: db.prepare<[], { host: string; last_seen: bigint; lines: bigint; bytes: bigint }>('SELECT host, last_seen, lines, bytes FROM hosts ORDER BY host').safeIntegers(true),
      fileNames: db
        .prepare<[string], FileNameRow>(
          `SELECT f.filename, f.file_id, f.path, f.last_seen, f.first_seen, f.lines, f.bytes, i.end_offset, i.size
           FROM file_names f JOIN identities i ON i.host = f.host AND i.file_id = f.file_id WHERE f.host = ?`,
        )
        .safeIntegers(true),
      forget: db.prepare('UPDATE file_names SET lines = lines - ?, bytes = bytes - ? WHERE host = ? AND filename = ? AND file_id = ?'),
      forgetHost: db.prepare('UPDATE hosts SET lines = lines - ?, bytes = bytes - ? WHERE host = ?'),
      totals: db.prepare<[], { lines: number | null; bytes: number | null; segments: number }>('SELECT sum(line_count) AS lines, sum(raw_bytes) AS bytes, count(*) AS segments FROM segments'),
    };
  }

  /** A read (search, histogram, tail, context, field counts): the background work (indexer, repacker) waits for it to end. */
  private reading<T>(work: () => Promise<T>): Promise<T> {
    const activity = this.activity;
    activity.readStarted();
    return this.whenOpen(work).finally(() => activity.readEnded());
  }

  private whenOpen<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('The sqlite store is closed.'));
    if (this.damaged) return Promise.reject(this.damaged);
    return work().catch((error: unknown) => {
      throw this.damage(error);
    });
  }

  /** A corruption error becomes STORE_DAMAGED, remembered; anything else passes through. */
  private damage(error: unknown): unknown {
    if (!isCorruption(error)) return error;
    this.damaged ??= new StoreDamagedError(
      `The database file ${this.file} is damaged (${(error as Error).message}). Stop Daniel, keep a copy of ${this.file}*, then restore it from a backup or salvage it with: sqlite3 ${this.file} .recover | sqlite3 recovered.db`,
      { cause: error },
    );
    return this.damaged;
  }

  /** Throws STORE_DAMAGED when daniel.db or its WAL was deleted or replaced since open. */
  private checkFiles(): void {
    const now = fileIdentity(this.file);
    const wal = fileIdentity(`${this.file}-wal`);
    const walGone = this.walIdentity !== undefined && wal !== this.walIdentity;
    if (now !== this.identity || walGone) {
      this.damaged ??= new StoreDamagedError(
        `The database file ${now !== this.identity ? this.file : `${this.file}-wal`} was deleted or replaced while Daniel ran: what it stores now is lost at the next restart. Stop Daniel, restore ${this.file}* from a backup (or start afresh), and start it again.`,
      );
      throw this.damaged;
    }
    this.walIdentity ??= wal;
  }

  private guard<T>(work: () => T): Promise<T> {
    return this.whenOpen(() => {
      try {
        return Promise.resolve(work());
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return this.guard(() => {
      // Never acknowledge into a file that is gone from its path: a restart would not see it.
      this.checkFiles();
      this.activity.appended();
      return this.inTransaction(() => this.appendNow(request));
    }).then(({ result, bytes }) => this.durable(result, bytes));
  }

  /** `result` once a write of `bytes` of lines, just committed, is on disk (wal-sync.ts); then reads see its seqs. */
  private durable<T>(result: T, bytes: number): Promise<T> {
    // A flush begun after this covers every commit made so far.
    const upTo = this.seq;
    return (this.walSync?.after(bytes) ?? Promise.resolve()).then(
      () => {
        this.durableSeq = Math.max(this.durableSeq, upTo);
        return result;
      },
      (error: unknown) => {
        throw this.flushFailed(error);
      },
    );
  }

  /** A flush that failed leaves the store damaged: what it acknowledged since the last flush is in doubt. */
  private flushFailed(error: unknown): StoreDamagedError {
    this.damaged ??= new StoreDamagedError(
      `Flushing the WAL of ${this.file} to disk failed (${(error as Error).message}): what was written since the last flush may be lost. Stop Daniel, check the disk, and start it again; agents send again what was not acknowledged.`,
      { cause: error },
    );
    return this.damaged;
  }

  /** Runs `work` in a transaction; on rollback, what the segments keep in memory is dropped too. */
  private inTransaction<T>(work: () => T): T {
    try {
      return this.db.transaction(work)();
    } catch (error) {
      this.segments.invalidate();
      throw error;
    }
  }

  /** The append's result and the bytes of lines it wrote. */
  private appendNow(request: AppendRequest): { result: AppendResult; bytes: number } {
    const { host, receivedAt } = request;
    let accepted = 0;
    let duplicates = 0;
    let hostBytes = 0;
    const stored: StoredRun[] = [];
    const startSeq = this.seq;
    try {
      for (const file of request.files) {
        const identity = this.statements.identity.get(host, file.fileId);
        const split = splitDuplicates(file.lines, identity?.end_offset ?? 0);
        duplicates += split.duplicates;
        const fresh = withSeqs(split.fresh, this.seq);
        this.seq += fresh.length;
        this.statements.putIdentity.run(host, file.fileId, split.end, file.size ?? identity?.size ?? null);
        const bytes = fresh.length > 0 ? writeRun(this.segments, { host, fileId: file.fileId, filename: file.filename, path: file.path }, fresh, receivedAt, this.policy, this.preparedTexts.get(file)) : 0;
        this.preparedTexts.delete(file); // used or not, done with: its buffers go now rather than with the request
        this.statements.mention.run({ host, filename: file.filename, fileId: file.fileId, path: file.path, at: receivedAt, order: ++this.mentions, lines: fresh.length, bytes });
        accepted += fresh.length;
        hostBytes += bytes;
        if (fresh.length > 0) stored.push({ host, fileId: file.fileId, filename: file.filename, path: file.path, lines: fresh });
      }
      if (request.files.length > 0) this.statements.hostSeen.run({ host, at: receivedAt, lines: accepted, bytes: hostBytes });
      this.statements.setCounter.run('seq', this.seq);
      this.statements.setCounter.run('mentions', this.mentions);
    } catch (error) {
      this.seq = startSeq; // the transaction rolls back; so do the counters
      throw error;
    }
    return { result: { accepted, duplicates, stored }, bytes: hostBytes };
  }

  hosts(): Promise<HostSummary[]> {
    return this.guard(() =>
      this.statements.hosts.all().map((row) => ({ host: row.host, lastSeen: row.last_seen, lines: Number(row.lines), bytes: Number(row.bytes) })),
    );
  }

  files(host: string): Promise<FileSummary[] | null> {
    return this.guard(() => {
      const rows = this.statements.fileNames.all(host);
      if (rows.length === 0) return null;
      const byFilename = new Map<string, FileNameRow[]>();
      for (const row of rows) byFilename.set(row.filename, [...(byFilename.get(row.filename) ?? []), row]);
      const summaries: FileSummary[] = [];
      for (const [filename, identities] of byFilename) {
        identities.sort((a, b) => (a.last_seen !== b.last_seen ? (a.last_seen > b.last_seen ? -1 : 1) : Number(b.first_seen - a.first_seen)));
        const newest = identities[0]!;
        summaries.push({
          host,
          filename,
          path: newest.path,
          lastSeen: newest.last_seen,
          lines: identities.reduce((sum, i) => sum + Number(i.lines), 0),
          bytes: identities.reduce((sum, i) => sum + Number(i.bytes), 0),
          offset: Number(newest.end_offset),
          size: newest.size === null ? null : Number(newest.size),
          fileIds: identities.map((i) => i.file_id),
        });
      }
      return summaries.sort((a, b) => (a.filename < b.filename ? -1 : 1));
    });
  }

  lastSeq(): Promise<number> {
    return this.guard(() => this.durableSeq);
  }

  deleteArrivedBefore(arrivedBefore: bigint): Promise<RetentionResult> {
    return this.guard(() =>
      this.inTransaction(() => {
        let deletedLines = 0;
        for (const segment of this.segments.arrivedBeforeTime(arrivedBefore)) {
          this.statements.forget.run(segment.lineCount, segment.rawBytes, segment.host, segment.filename, segment.fileId);
          this.statements.forgetHost.run(segment.lineCount, segment.rawBytes, segment.host);
          this.segments.remove(segment.id);
          deletedLines += segment.lineCount;
        }
        return { deletedLines };
      }),
    );
  }

  stats(): Promise<StoreStats> {
    return this.guard(() => {
      const totals = this.statements.totals.get()!;
      let storedBytes = 0;
      for (const suffix of ['', '-wal']) {
        try {
          storedBytes += statSync(this.file + suffix).size;
        } catch {
          // no WAL file right now
        }
      }
      const repacker = this.repacker;
      return {
        lines: totals.lines ?? 0,
        rawBytes: totals.bytes ?? 0,
        storedBytes,
        segments: totals.segments,
        segmentsWithoutFieldStats: this.segments.countWithoutFieldStats(),
        segmentsToRepack: this.segments.countToRepack(),
        repack: repacker && { segments: repacker.repacked, bytesBefore: repacker.bytesBefore, bytesAfter: repacker.bytesAfter },
      };
    });
  }

  /**
   * The health check: the files are the ones opened, the disk has room for an append, and
   * (at most every WRITE_CHECK_MS) a write commits; a damaged file throws STORE_DAMAGED.
   */
  ping(): Promise<void> {
    return this.guard(() => {
      this.checkFiles();
      let free: number | undefined;
      try {
        const fs = statfsSync(this.file);
        free = fs.bavail * fs.bsize;
      } catch {
        // no statfs here: the write check below still tells
      }
      if (free !== undefined && free < MIN_FREE_BYTES) {
        throw new StoreUnavailableError(`The disk holding ${this.file} is full (${Math.floor(free / 1024 / 1024)} MiB free): free space so appends can commit.`);
      }
      const now = performance.now();
      if (now - this.lastWriteCheck >= WRITE_CHECK_MS) {
        this.statements.setCounter.run('health', Date.now());
        this.lastWriteCheck = now;
        return true;
      }
      this.statements.counter.get('seq');
      return false;
    }).then((wrote) => (wrote ? this.durable(undefined, 0) : undefined));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.fieldStatsIndexer?.stop();
    this.cacheWarmer?.stop();
    const repacker = this.repacker?.stop();
    this.db.close();
    return Promise.all([this.countPool.close(), this.encodePool?.close(), repacker, this.walSync?.close()]).then(() => undefined);
  }

  /** Whether the encode worker prepared texts (tests). */
  get preparedTextCount(): number {
    return this.encodePool?.prepared ?? 0;
  }

  /** Starts the encode worker and waits until it runs (tests that want the prepared path taken). */
  async encodeWorkerReady(): Promise<void> {
    await this.encodePool?.ready();
  }

  /**
   * Prepares, off the main thread, the text of the runs `request` will write (their bloom and
   * compression), so its append's transaction only writes the columns. Optional for the caller
   * and never fails: what is not prepared (a file's lines under the direct-seal size, lines
   * with fields, no worker) is encoded inline by append, as are runs that turn out different
   * (duplicates, merges).
   */
  async prepareAppend(request: AppendRequest): Promise<void> {
    const pool = this.encodePool;
    if (pool === undefined || this.closed) return;
    const joined: LinesText[] = [];
    const lineCounts: number[] = [];
    const owners: { file: AppendFile; firstOffset: number }[] = [];
    for (const file of request.files) {
      let chars = 0;
      let fields = false;
      for (const line of file.lines) {
        chars += textLength(line) + 1;
        if (line.fields !== undefined) fields = true;
      }
      // A run under the direct-seal size may be merged with the file's open segments, which
      // encodes it again inline: only runs sealed as they are are worth preparing.
      if (fields || chars < this.policy.directSealBytes) continue;
      if (!pool.available) return; // still starting (or gone): these append inline
      for (const chunk of chunkLines(file.lines, this.policy.sealBytes)) {
        joined.push(linesText(chunk));
        lineCounts.push(chunk.length);
        owners.push({ file, firstOffset: chunk[0]!.offset });
      }
    }
    if (joined.length === 0) return;
    // The texts end to end, written once into a buffer of their own that is handed to the worker.
    const lengths = joined.map((text) => text.bytes);
    const buffer = Buffer.allocUnsafeSlow(lengths.reduce((sum, length) => sum + length, 0));
    let at = 0;
    for (const text of joined) at = writeLinesText(text, buffer, at);
    const ascii = joined.map((text) => text.ascii);
    const prepared = await pool.prepare({ buffer, lengths, lineCounts, ascii });
    prepared.forEach((text, i) => {
      if (text === undefined) return;
      const { file, firstOffset } = owners[i]!;
      let byOffset = this.preparedTexts.get(file);
      if (byOffset === undefined) this.preparedTexts.set(file, (byOffset = new Map<number, PreparedText>()));
      byOffset.set(firstOffset, text);
    });
  }
}
