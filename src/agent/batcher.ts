/**
 * Groups stamped lines into ingest requests bounded by lines, bytes and time. Lines of one
 * file identity keep their order inside a batch, and batches leave in the order they were
 * cut, so a file's lines reach Daniel in ascending offsets. The body is written as lines
 * arrive, as a binary batch (protocol/binary-batch.ts) or, for a Daniel that reads only JSON,
 * as UTF-8 JSON (json-body.ts); the byte bound counts the body's bytes. Lines are grouped by
 * file in arrival order: when the file changes a new group starts, and the same identity may
 * come in several groups of one request (Daniel reads them as one).
 */
import { BinaryBatchWriter, binaryBatchToRequest, isBinaryBatch } from '../protocol/binary-batch.js';
import { MAX_INGEST_FILES, type IngestRequest } from '../protocol/ingest.js';
import { BufferPool, JsonBody } from './json-body.js';
import type { LineFields } from './tailer/container.js';
import { wireName, wirePath } from './tailer/names.js';
import type { SharedWire } from './wire-body.js';

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
  /** True when the text is known to be ASCII (the line splitter's fast path). */
  ascii?: boolean;
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
  /** The `IngestRequest`, as a binary batch or as UTF-8 JSON (`binary`). */
  body: Buffer;
  binary: boolean;
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
  /** How bodies are written, read at each batch's start (default binary): shared with delivery, which turns it to json for a Daniel that answers 415 to a binary batch. */
  wire?: Pick<SharedWire, 'format'>;
}

/** A body being written: the JSON one or the binary one. */
interface BodyWriter {
  readonly length: number;
  readonly storage: Buffer;
  startGroup(first: boolean, source: BatchSource): void;
  line(first: boolean, line: StampedLine): void;
  endGroup(size: number): void;
  finish(): Buffer;
}

class JsonWriter implements BodyWriter {
  private readonly body: JsonBody;

  constructor(buffer: Buffer, host: string) {
    this.body = new JsonBody(buffer);
    this.body.raw('{"host":');
    this.body.string(host);
    this.body.raw(',"files":[');
  }

  get length(): number {
    return this.body.length;
  }

  get storage(): Buffer {
    return this.body.storage;
  }

  startGroup(first: boolean, source: BatchSource): void {
    const body = this.body;
    if (!first) body.raw(',');
    body.raw('{"file_id":');
    body.string(source.id);
    body.raw(',"filename":');
    // A name Daniel cannot take (control characters, not UTF-8, too long) goes escaped.
    body.string(wireName(source.filename));
    body.raw(',"path":');
    body.string(wirePath(source.path));
    if (source.labels !== undefined) body.fields(',"labels":', source.labels);
    body.raw(',"lines":[');
  }

  line(first: boolean, line: StampedLine): void {
    this.body.line(!first, line.offset, line.end, line.timestamp, line.text, line.cut, line.fields);
  }

  endGroup(size: number): void {
    this.body.raw(`],"size":${size}}`);
  }

  finish(): Buffer {
    this.body.raw(']}');
    return this.body.finish();
  }
}

class BinaryWriter implements BodyWriter {
  private readonly body: BinaryBatchWriter;

  constructor(buffer: Buffer, columns: Buffer, host: string) {
    this.body = new BinaryBatchWriter(buffer, columns, host);
  }

  get length(): number {
    return this.body.length;
  }

  get storage(): Buffer {
    return this.body.storage;
  }

  startGroup(_first: boolean, source: BatchSource): void {
    this.body.startGroup(source.id, wireName(source.filename), wirePath(source.path), source.labels);
  }

  line(_first: boolean, line: StampedLine): void {
    this.body.line(line.offset, line.end, line.timestamp, line.text, line.cut, line.fields, line.ascii === true);
  }

  endGroup(size: number): void {
    this.body.endGroup(size);
  }

  finish(): Buffer {
    return this.body.finish();
  }
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
  private body: BodyWriter | undefined;
  private binary = false;
  /** The binary writer's columns, kept from batch to batch (one batch is open at a time). */
  private columns = Buffer.allocUnsafe(64 * 1024);
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
    body.line(group.lines === 0, line);
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
    const bytes = body.finish();
    const storage = body.storage;
    const batch: Batch = { body: bytes, binary: this.binary, files: [...this.files.values()], lines: this.lines, release: () => this.pool.give(storage) };
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

  private open(): BodyWriter {
    this.binary = (this.options.wire?.format ?? 'binary') === 'binary';
    const body = this.binary ? new BinaryWriter(this.pool.take(), this.columns, this.options.host) : new JsonWriter(this.pool.take(), this.options.host);
    this.body = body;
    return body;
  }

  private startGroup(body: BodyWriter, source: BatchSource, firstOffset: number): Group {
    const first = this.group === undefined;
    if (!first) this.closeGroup(body);
    let meta = this.files.get(source.id);
    if (meta === undefined) {
      meta = { fileId: source.id, filename: source.filename, path: source.path, size: 0, firstOffset, end: firstOffset, lastTimestamp: '', lines: 0 };
      this.files.set(source.id, meta);
    }
    body.startGroup(first, source);
    const group: Group = { source, meta, lines: 0, labels: source.labels, lastTimestamp: 0n };
    this.group = group;
    this.groups += 1;
    return group;
  }

  /** Ends the open group's line list and gives its size (known only now). */
  private closeGroup(body: BodyWriter): void {
    const group = this.group;
    if (group === undefined) return;
    group.meta.lastTimestamp = group.lastTimestamp.toString();
    body.endGroup(group.meta.size);
  }
}

/** A batch's body (uncompressed) as the request it carries, binary or JSON. */
export function parseBatchBody(body: Buffer | string): IngestRequest {
  if (typeof body !== 'string' && isBinaryBatch(body)) return binaryBatchToRequest(body);
  return JSON.parse(body.toString()) as IngestRequest;
}
