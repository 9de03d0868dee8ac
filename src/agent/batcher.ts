/**
 * Groups stamped lines into ingest requests bounded by lines, bytes and time. Lines of one
 * file identity keep their order inside a batch, and batches leave in the order they were
 * cut, so a file's lines reach Daniel in ascending offsets. The body is written as UTF-8
 * JSON as lines arrive (json-body.ts), and the byte bound counts those bytes. Lines are
 * grouped by file in arrival order: when the file changes a new group starts, and the same
 * identity may come in several groups of one request (Daniel reads them as one).
 */
import { MAX_INGEST_FILES, type IngestRequest } from '../protocol/ingest.js';
import { BufferPool, JsonBody } from './json-body.js';
import type { LineFields } from './tailer/container.js';
import { wireName, wirePath } from './tailer/names.js';

/** A file identity as the batcher needs it (a tailer FileStream is one). */
export interface BatchSource {
  id: string;
  filename: string;
  path: string;
  /** Fields for each of its lines (the group's `labels`). */
  labels?: Readonly<Record<string, string>>;
}

export interface StampedLine {
  offset: number;
  end: number;
  timestamp: bigint;
  text: string;
  cut: boolean;
  /** The line's own fields (a container line's `stream`); shared objects, never mutated. */
  fields?: LineFields;
}

/** What a batch holds of one file: enough to advance its checkpoint once acknowledged. */
export interface BatchedFile {
  fileId: string;
  filename: string;
  path: string;
  /** The file's size as last seen, for Daniel's lag report. */
  size: number;
  firstOffset: number;
  end: number;
  lastTimestamp: string;
  lines: number;
}

export interface Batch {
  /** The `IngestRequest` as UTF-8 JSON. */
  body: Buffer;
  /** One entry per file identity, in the order they first appear. */
  files: BatchedFile[];
  lines: number;
  /** The body's buffer may be reused: call once nothing reads `body` any more (optional). */
  release: () => void;
}

export interface BatcherOptions {
  host: string;
  maxLines: number;
  /** Bound on the JSON body (bytes). */
  maxBytes: number;
  flushIntervalMs: number;
  /** File groups a batch holds at most; default (and at most) MAX_INGEST_FILES. */
  maxGroups?: number;
}

interface Group {
  source: BatchSource;
  meta: BatchedFile;
  lines: number;
  labels: Readonly<Record<string, string>> | undefined;
  /** Kept as a number until the group closes: one decimal conversion per group, not per line. */
  lastTimestamp: bigint;
}

export class Batcher {
  private body: JsonBody | undefined;
  private files = new Map<string, BatchedFile>();
  private group: Group | undefined;
  /** File groups in the open batch: Daniel takes at most MAX_INGEST_FILES a request. */
  private groups = 0;
  private lines = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Room for a full batch plus the line that crosses the bound; a few, for the batches being compressed. */
  private readonly pool: BufferPool;

  constructor(
    private readonly options: BatcherOptions,
    private readonly onBatch: (batch: Batch) => void,
  ) {
    this.pool = new BufferPool(Math.min(options.maxBytes, 4 * 1024 * 1024) + 64 * 1024, 4);
  }

  private get maxGroups(): number {
    return Math.min(MAX_INGEST_FILES, this.options.maxGroups ?? MAX_INGEST_FILES);
  }

  get pendingLines(): number {
    return this.lines;
  }

  add(source: BatchSource, line: StampedLine, size: number): void {
    if (this.groups >= this.maxGroups && this.group?.source.id !== source.id) this.flush();
    const body = this.body ?? this.open();
    let group = this.group;
    // Labels set once a file is recognised as a container log start a group of their own.
    if (group === undefined || group.source.id !== source.id || group.labels !== source.labels) group = this.startGroup(body, source, line.offset);
    const meta = group.meta;
    body.line(group.lines > 0, line.offset, line.end, line.timestamp, line.text, line.cut, line.fields);
    group.lines++;
    group.lastTimestamp = line.timestamp;
    meta.end = line.end;
    if (size > meta.size) meta.size = size;
    if (line.end > meta.size) meta.size = line.end;
    meta.path = source.path;
    meta.lines++;
    this.lines++;
    if (this.lines >= this.options.maxLines || body.length >= this.options.maxBytes) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.options.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Cuts the open batch now (no-op when empty). */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const body = this.body;
    if (body === undefined || this.lines === 0) return;
    this.closeGroup(body);
    body.raw(']}');
    const storage = body.storage;
    const batch: Batch = { body: body.finish(), files: [...this.files.values()], lines: this.lines, release: () => this.pool.give(storage) };
    this.body = undefined;
    this.files = new Map();
    this.group = undefined;
    this.groups = 0;
    this.lines = 0;
    this.onBatch(batch);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private open(): JsonBody {
    const body = new JsonBody(this.pool.take());
    body.raw('{"host":');
    body.string(this.options.host);
    body.raw(',"files":[');
    this.body = body;
    return body;
  }

  private startGroup(body: JsonBody, source: BatchSource, firstOffset: number): Group {
    if (this.group !== undefined) {
      this.closeGroup(body);
      body.raw(',');
    }
    let meta = this.files.get(source.id);
    if (meta === undefined) {
      meta = { fileId: source.id, filename: source.filename, path: source.path, size: 0, firstOffset, end: firstOffset, lastTimestamp: '', lines: 0 };
      this.files.set(source.id, meta);
    }
    body.raw('{"file_id":');
    body.string(source.id);
    body.raw(',"filename":');
    // A name Daniel cannot take (control characters, not UTF-8, too long) goes escaped.
    body.string(wireName(source.filename));
    body.raw(',"path":');
    body.string(wirePath(source.path));
    const labels = source.labels;
    if (labels !== undefined) body.fields(',"labels":', labels);
    body.raw(',"lines":[');
    const group: Group = { source, meta, lines: 0, labels, lastTimestamp: 0n };
    this.group = group;
    this.groups += 1;
    return group;
  }

  /** Ends the open group's line list and gives its size (known only now). */
  private closeGroup(body: JsonBody): void {
    const group = this.group;
    if (group === undefined) return;
    group.meta.lastTimestamp = group.lastTimestamp.toString();
    body.raw(`],"size":${group.meta.size}}`);
  }
}

/** For tests and tools: the body parsed back. */
export function parseBatchBody(body: Buffer | string): IngestRequest {
  return JSON.parse(body.toString()) as IngestRequest;
}
