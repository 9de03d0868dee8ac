/**
 * Groups stamped lines into ingest requests bounded by lines, bytes and time. Lines of one
 * file identity keep their order inside a batch, and batches leave in the order they were
 * cut, so a file's lines reach Daniel in ascending offsets. The body is built as JSON text
 * as lines arrive (one JSON.stringify per line), which is what the byte bound counts.
 */
import type { IngestRequest } from '../protocol/ingest.js';

export interface BatchFile {
  fileId: string;
  filename: string;
  path: string;
  /** The file's size as last seen, for Daniel's lag report. */
  size: number;
}

export interface StampedLine {
  offset: number;
  end: number;
  timestamp: bigint;
  text: string;
  cut: boolean;
}

/** What a batch holds of one file: enough to advance its checkpoint once acknowledged. */
export interface BatchedFile extends BatchFile {
  firstOffset: number;
  end: number;
  lastTimestamp: string;
  lines: number;
}

export interface Batch {
  /** The `IngestRequest` as JSON text. */
  body: string;
  files: BatchedFile[];
  lines: number;
}

export interface BatcherOptions {
  host: string;
  maxLines: number;
  /** Bound on the JSON text of the lines (UTF-16 code units). */
  maxBytes: number;
  flushIntervalMs: number;
}

interface OpenGroup {
  meta: BatchedFile;
  fragments: string[];
}

export class Batcher {
  private groups = new Map<string, OpenGroup>();
  private lines = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: BatcherOptions,
    private readonly onBatch: (batch: Batch) => void,
  ) {}

  get pendingLines(): number {
    return this.lines;
  }

  add(file: BatchFile, line: StampedLine): void {
    let group = this.groups.get(file.fileId);
    if (group === undefined) {
      group = { meta: { ...file, firstOffset: line.offset, end: line.end, lastTimestamp: '', lines: 0 }, fragments: [] };
      this.groups.set(file.fileId, group);
    }
    const timestamp = line.timestamp.toString();
    const fragment =
      `{"offset":${line.offset},"end":${line.end},"timestamp":"${timestamp}","line":${jsonString(line.text)}` +
      (line.cut ? ',"cut":true}' : '}');
    group.fragments.push(fragment);
    group.meta.end = line.end;
    group.meta.lastTimestamp = timestamp;
    group.meta.size = Math.max(file.size, line.end);
    group.meta.path = file.path;
    group.meta.lines++;
    this.lines++;
    this.bytes += fragment.length;
    if (this.lines >= this.options.maxLines || this.bytes >= this.options.maxBytes) {
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
    if (this.lines === 0) return;
    const files: BatchedFile[] = [];
    const parts: string[] = [];
    for (const { meta, fragments } of this.groups.values()) {
      files.push(meta);
      parts.push(
        `{"file_id":${JSON.stringify(meta.fileId)},"filename":${JSON.stringify(meta.filename)},"path":${JSON.stringify(meta.path)},` +
          `"size":${meta.size},"lines":[${fragments.join(',')}]}`,
      );
    }
    const body = `{"host":${JSON.stringify(this.options.host)},"files":[${parts.join(',')}]}`;
    const lines = this.lines;
    this.groups = new Map();
    this.lines = 0;
    this.bytes = 0;
    this.onBatch({ body, files, lines });
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/**
 * JSON text of a line. Most log lines need no escaping (no quote, backslash or control
 * character; decoded UTF-8 holds no lone surrogates), and a regex test is several times
 * cheaper than JSON.stringify.
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** For tests and tools: the body parsed back. */
export function parseBatchBody(body: string): IngestRequest {
  return JSON.parse(body) as IngestRequest;
}
