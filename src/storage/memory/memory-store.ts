/**
 * The reference store: every line in one array, every query a filter and a sort. Slow on
 * purpose and obviously right; the contract suite and the property tests hold the other
 * stores to its answers. Nothing survives `close()`.
 */
import { performance } from 'node:perf_hooks';
import type { SegmentLine } from '../../segment/codec.js';
import { decodeCursor, encodeCursor, isAfterPosition, queryFingerprint, type CursorPosition } from '../../query/cursor.js';
import { bucketStartMs } from '../../query/histogram.js';
import { compileMatchers } from '../../query/matcher.js';
import { compareInOrder, keyOf } from '../../query/order.js';
import type {
  AppendRequest,
  AppendResult,
  ContextQuery,
  ContextResult,
  FileSummary,
  HistogramQuery,
  HistogramResult,
  HostSummary,
  LineFilter,
  RetentionResult,
  SearchPage,
  SearchQuery,
  Store,
  StoreStats,
  StoredRun,
  StoredLine,
  TailPage,
  TailQuery,
} from '../store.js';

interface MemoryLine extends StoredLine {
  receivedAt: bigint;
  bytes: number;
}

/** One file identity as seen under one filename. */
interface FileMention {
  fileId: string;
  path: string;
  lastSeen: bigint;
  /** Order of first mention, to break lastSeen ties: the later identity is the newer. */
  firstSeen: number;
}

interface IdentityState {
  end: number;
  size: number | null;
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private lines: MemoryLine[] = [];
  private seq = 0;
  private mentionCount = 0;
  private readonly hostLastSeen = new Map<string, bigint>();
  private readonly mentions = new Map<string, Map<string, Map<string, FileMention>>>();
  private readonly identities = new Map<string, IdentityState>();

  append(request: AppendRequest): Promise<AppendResult> {
    let accepted = 0;
    let duplicates = 0;
    const stored: StoredRun[] = [];
    if (request.files.length > 0) {
      const seen = this.hostLastSeen.get(request.host);
      if (seen === undefined || request.receivedAt > seen) this.hostLastSeen.set(request.host, request.receivedAt);
    }
    for (const file of request.files) {
      this.mention(request.host, file.filename, file.fileId, file.path, request.receivedAt);
      const identityKey = `${request.host}\u0000${file.fileId}`;
      let identity = this.identities.get(identityKey);
      if (identity === undefined) {
        identity = { end: 0, size: null };
        this.identities.set(identityKey, identity);
      }
      if (file.size !== undefined) identity.size = file.size;
      const run: MemoryLine[] = [];
      for (const line of file.lines) {
        if (line.offset < identity.end) {
          duplicates++;
          continue;
        }
        identity.end = Math.max(identity.end, line.end);
        this.seq++;
        accepted++;
        run.push({
          host: request.host,
          fileId: file.fileId,
          filename: file.filename,
          path: file.path,
          offset: line.offset,
          end: line.end,
          timestamp: line.timestamp,
          line: line.line,
          cut: line.cut,
          seq: this.seq,
          receivedAt: request.receivedAt,
          bytes: Buffer.byteLength(line.line),
          ...(line.fields !== undefined ? { fields: line.fields } : {}),
        });
      }
      if (run.length > 0) {
        for (const line of run) this.lines.push(line);
        stored.push({ host: request.host, fileId: file.fileId, filename: file.filename, path: file.path, lines: run.map(segmentLine) });
      }
    }
    return Promise.resolve({ accepted, duplicates, stored });
  }

  private mention(host: string, filename: string, fileId: string, path: string, at: bigint): void {
    let byFilename = this.mentions.get(host);
    if (byFilename === undefined) this.mentions.set(host, (byFilename = new Map<string, Map<string, FileMention>>()));
    let byId = byFilename.get(filename);
    if (byId === undefined) byFilename.set(filename, (byId = new Map<string, FileMention>()));
    const existing = byId.get(fileId);
    if (existing === undefined) {
      byId.set(fileId, { fileId, path, lastSeen: at, firstSeen: ++this.mentionCount });
    } else {
      existing.path = path;
      if (at > existing.lastSeen) existing.lastSeen = at;
    }
  }

  hosts(): Promise<HostSummary[]> {
    const summaries = [...this.hostLastSeen].map(([host, lastSeen]) => {
      const own = this.lines.filter((l) => l.host === host);
      return { host, lastSeen, lines: own.length, bytes: own.reduce((sum, l) => sum + l.bytes, 0) };
    });
    return Promise.resolve(summaries.sort((a, b) => (a.host < b.host ? -1 : 1)));
  }

  files(host: string): Promise<FileSummary[] | null> {
    const byFilename = this.mentions.get(host);
    if (byFilename === undefined) return Promise.resolve(null);
    const summaries: FileSummary[] = [];
    for (const [filename, byId] of byFilename) {
      const identities = [...byId.values()].sort((a, b) =>
        a.lastSeen !== b.lastSeen ? (a.lastSeen > b.lastSeen ? -1 : 1) : b.firstSeen - a.firstSeen,
      );
      const newest = identities[0] as FileMention;
      const state = this.identities.get(`${host}\u0000${newest.fileId}`) as IdentityState;
      const own = this.lines.filter((l) => l.host === host && l.filename === filename);
      summaries.push({
        host,
        filename,
        path: newest.path,
        lastSeen: newest.lastSeen,
        lines: own.length,
        bytes: own.reduce((sum, l) => sum + l.bytes, 0),
        offset: state.end,
        size: state.size,
        fileIds: identities.map((i) => i.fileId),
      });
    }
    return Promise.resolve(summaries.sort((a, b) => (a.filename < b.filename ? -1 : 1)));
  }

  private filtered(filter: LineFilter): MemoryLine[] {
    const match = compileMatchers(filter.match);
    const hosts = filter.hosts?.length ? new Set(filter.hosts) : null;
    const files = filter.files?.length ? new Set(filter.files) : null;
    return this.lines.filter(
      (l) =>
        (hosts === null || hosts.has(l.host)) &&
        (files === null || files.has(l.filename)) &&
        (filter.since === undefined || l.timestamp >= filter.since) &&
        (filter.until === undefined || l.timestamp < filter.until) &&
        match.test(l.line, l.fields),
    );
  }

  search(query: SearchQuery): Promise<SearchPage> {
    return settle(() => this.searchNow(query));
  }

  private searchNow(query: SearchQuery): SearchPage {
    const fingerprint = queryFingerprint(query);
    const cursor = query.cursor === undefined ? { snapshotSeq: this.seq, position: { kind: 'start' } as CursorPosition } : decodeCursor(query.cursor, fingerprint);
    const candidates = this.filtered(query); // compiles the matchers first: a bad regex throws even when the deadline has passed
    if (query.deadline !== undefined && performance.now() >= query.deadline) {
      return { lines: [], partial: true, nextCursor: encodeCursor(cursor, fingerprint) };
    }
    const remaining = candidates
      .filter((l) => l.seq <= cursor.snapshotSeq && isAfterPosition(l, cursor.position, query.order))
      .sort((a, b) => compareInOrder(a, b, query.order));
    const page = remaining.slice(0, query.limit);
    const last = page[page.length - 1];
    const nextCursor =
      remaining.length > page.length && last !== undefined
        ? encodeCursor({ snapshotSeq: cursor.snapshotSeq, position: { kind: 'after', key: keyOf(last) } }, fingerprint)
        : undefined;
    return { lines: page.map(publicLine), partial: false, ...(nextCursor === undefined ? {} : { nextCursor }) };
  }

  context(query: ContextQuery): Promise<ContextResult | null> {
    const fileLines = this.lines.filter((l) => l.host === query.host && l.fileId === query.fileId).sort((a, b) => a.offset - b.offset || a.seq - b.seq);
    const index = fileLines.findIndex((l) => l.offset === query.offset);
    if (index < 0) return Promise.resolve(null);
    return Promise.resolve({
      before: fileLines.slice(Math.max(0, index - query.before), index).map(publicLine),
      line: publicLine(fileLines[index] as MemoryLine),
      after: fileLines.slice(index + 1, index + 1 + query.after).map(publicLine),
    });
  }

  histogram(query: HistogramQuery): Promise<HistogramResult> {
    return settle(() => this.histogramNow(query));
  }

  private histogramNow(query: HistogramQuery): HistogramResult {
    const lines = this.filtered(query);
    if (query.deadline !== undefined && performance.now() >= query.deadline) return { buckets: [], partial: true };
    const counts = new Map<number, number>();
    for (const line of lines) {
      const start = bucketStartMs(line.timestamp, query.bucketMs);
      counts.set(start, (counts.get(start) ?? 0) + 1);
    }
    const buckets = [...counts].map(([startMs, count]) => ({ startMs, count })).sort((a, b) => a.startMs - b.startMs);
    return { buckets, partial: false };
  }

  tail(query: TailQuery): Promise<TailPage> {
    return settle(() => this.tailNow(query));
  }

  private tailNow(query: TailQuery): TailPage {
    const snapshot = this.seq;
    const matching = this.filtered(query)
      .filter((l) => l.seq > query.afterSeq)
      .sort((a, b) => a.seq - b.seq);
    if (matching.length > query.limit) {
      const page = matching.slice(0, query.limit);
      return { lines: page.map(publicLine), lastSeq: (page[page.length - 1] as MemoryLine).seq };
    }
    return { lines: matching.map(publicLine), lastSeq: Math.max(query.afterSeq, snapshot) };
  }

  lastSeq(): Promise<number> {
    return Promise.resolve(this.seq);
  }

  deleteArrivedBefore(arrivedBefore: bigint): Promise<RetentionResult> {
    const before = this.lines.length;
    this.lines = this.lines.filter((l) => l.receivedAt >= arrivedBefore);
    return Promise.resolve({ deletedLines: before - this.lines.length });
  }

  stats(): Promise<StoreStats> {
    const rawBytes = this.lines.reduce((sum, l) => sum + l.bytes, 0);
    // An estimate: the text plus the per-line object overhead of a V8 heap.
    return Promise.resolve({ lines: this.lines.length, rawBytes, storedBytes: rawBytes + this.lines.length * 160, segments: 0 });
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Runs synchronous work as a promise, so a thrown error becomes a rejection as with every other store. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** The line as an append reports it stored (the shape the segment stores number: withSeqs). */
function segmentLine(line: MemoryLine): SegmentLine {
  const numbered: SegmentLine = { offset: line.offset, end: line.end, timestamp: line.timestamp, line: line.line, cut: line.cut, seq: line.seq };
  if (line.fields !== undefined) numbered.fields = line.fields;
  return numbered;
}

function publicLine(line: MemoryLine): StoredLine {
  return {
    host: line.host,
    fileId: line.fileId,
    filename: line.filename,
    path: line.path,
    offset: line.offset,
    end: line.end,
    timestamp: line.timestamp,
    line: line.line,
    cut: line.cut,
    seq: line.seq,
    ...(line.fields !== undefined ? { fields: line.fields } : {}),
  };
}
