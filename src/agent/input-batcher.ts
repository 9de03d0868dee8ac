/**
 * Batches for the inputs that are not tailed files (the journal, stdin): each line comes
 * with its own offset, end, time (ns as decimal digits) and stored fields. A batch holds one
 * group per identity, its lines in order (a journal interleaves its units line by line: a
 * group per change would repeat the group's names for most lines). The body is the ingest
 * request; a batch is cut at the line and byte bounds, on the flush timer, or when the
 * input asks (it caught up and nothing is on its way).
 */
import { MAX_INGEST_FILES } from '../protocol/ingest.js';
import type { Batch, BatchedFile } from './batcher.js';
import { JsonBody } from './json-body.js';

/** An identity as Daniel takes it: `id`, `filename` and `path` are already wire names (wireName, wirePath). */
export interface InputGroup {
  id: string;
  filename: string;
  /** '' for none. */
  path: string;
}

export interface InputLine {
  offset: number;
  end: number;
  /** Nanoseconds since the epoch, a decimal string within 64 bits. */
  timestamp: string;
  text: string;
  /** A piece of a line longer than the limit: the next line continues it. */
  cut?: boolean;
  /** Stored fields (string values), sent as the line's `fields`. */
  fields?: ReadonlyArray<readonly [string, string]>;
  /** Or the same already as JSON: `,"fields":{…}` (fieldsJson() makes it). */
  fieldsJson?: string;
}

/**
 * `,"fields":{…}` for `fields` ('' for none), for inputs that reuse it across lines: ASCII
 * only (anything else as `\uXXXX`), so the body copies it byte for byte.
 */
export function fieldsJson(fields: ReadonlyArray<readonly [string, string]>): string {
  if (fields.length === 0) return '';
  const json = (text: string): string => JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `,"fields":{${fields.map(([name, value]) => `${json(name)}:${json(value)}`).join(',')}}`;
}

export interface InputBatcherOptions {
  host: string;
  maxLines: number;
  maxBytes: number;
  flushIntervalMs: number;
}

/** A group's lines start in a buffer this large, grown as they come. */
const GROUP_BUFFER_BYTES = 16 * 1024;

interface OpenGroup {
  source: InputGroup;
  meta: BatchedFile;
  /** Its lines as JSON, comma-separated, written straight into bytes (no string per line). */
  body: JsonBody;
}

export class InputBatcher {
  /** Groups by identity, in the order they first appear; each keeps its lines in order. */
  private groups = new Map<string, OpenGroup>();
  private last: OpenGroup | undefined;
  private lines = 0;
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: InputBatcherOptions,
    private readonly onBatch: (batch: Batch) => void,
  ) {}

  get pendingLines(): number {
    return this.lines;
  }

  add(source: InputGroup, line: InputLine): void {
    // Daniel refuses a request of more than MAX_INGEST_FILES groups whole (a journal with that many units).
    if (this.groups.size >= MAX_INGEST_FILES && !this.groups.has(source.id)) this.flush();
    let group = this.last;
    if (group === undefined || group.source.id !== source.id) group = this.groupFor(source, line.offset);
    const fields = line.fieldsJson ?? (line.fields === undefined ? '' : fieldsJson(line.fields));
    const meta = group.meta;
    const body = group.body;
    const before = body.length;
    body.inputLine(meta.lines > 0, line.offset, line.end, line.timestamp, line.text, line.cut === true, fields);
    this.bytes += body.length - before;
    meta.end = line.end;
    meta.lastTimestamp = line.timestamp;
    meta.lines++;
    this.lines++;
    if (this.lines >= this.options.maxLines || this.bytes >= this.options.maxBytes) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.options.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Cuts the open batch now (no-op when empty): one group per identity, its lines in order. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lines === 0) return;
    const out = new JsonBody(Buffer.allocUnsafe(this.bytes + 256));
    out.raw('{"host":');
    out.string(this.options.host);
    out.raw(',"files":[');
    let first = true;
    for (const group of this.groups.values()) {
      const s = group.source;
      out.raw(first ? '{"file_id":' : ',{"file_id":');
      out.string(s.id);
      out.raw(',"filename":');
      out.string(s.filename);
      if (s.path !== '') {
        out.raw(',"path":');
        out.string(s.path);
      }
      out.raw(',"lines":[');
      out.bytes(group.body.finish());
      out.raw(']}');
      first = false;
    }
    out.raw(']}');
    const batch: Batch = { body: out.finish(), binary: false, files: [...this.groups.values()].map((g) => g.meta), lines: this.lines, release: () => {} };
    this.groups = new Map();
    this.last = undefined;
    this.lines = 0;
    this.bytes = 0;
    this.onBatch(batch);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private groupFor(source: InputGroup, firstOffset: number): OpenGroup {
    let group = this.groups.get(source.id);
    if (group === undefined) {
      const meta: BatchedFile = { fileId: source.id, filename: source.filename, path: source.path, size: 0, firstOffset, end: firstOffset, lastTimestamp: '', lines: 0 };
      group = { source, meta, body: new JsonBody(Buffer.allocUnsafe(GROUP_BUFFER_BYTES)) };
      this.groups.set(source.id, group);
      this.bytes += 128 + source.id.length + source.filename.length + source.path.length;
    }
    this.last = group;
    return group;
  }
}
