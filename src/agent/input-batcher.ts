/**
 * Batches for the inputs that are not tailed files (the journal, stdin): each line comes
 * with its own offset, end, time (ns as decimal digits) and stored fields, and lines are
 * grouped by identity in arrival order, as the file batcher does. The body is the same
 * ingest request, written into a JsonBody; a batch is cut at the line and byte bounds, on
 * the flush timer, or when the input asks (it caught up and nothing is on its way).
 */
import type { Batch, BatchedFile } from './batcher.js';
import { BufferPool, JsonBody } from './json-body.js';

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
}

export interface InputBatcherOptions {
  host: string;
  maxLines: number;
  maxBytes: number;
  flushIntervalMs: number;
}

export class InputBatcher {
  private body: JsonBody | undefined;
  private files = new Map<string, BatchedFile>();
  private group: { id: string; meta: BatchedFile; lines: number } | undefined;
  private lines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly pool: BufferPool;

  constructor(
    private readonly options: InputBatcherOptions,
    private readonly onBatch: (batch: Batch) => void,
  ) {
    this.pool = new BufferPool(Math.min(options.maxBytes, 4 * 1024 * 1024) + 64 * 1024, 2);
  }

  get pendingLines(): number {
    return this.lines;
  }

  add(source: InputGroup, line: InputLine): void {
    const body = this.body ?? this.open();
    let group = this.group;
    if (group === undefined || group.id !== source.id) group = this.startGroup(body, source, line.offset);
    if (group.lines > 0) body.raw(',');
    body.raw(`{"offset":${line.offset},"end":${line.end},"timestamp":"${line.timestamp}","line":`);
    body.string(line.text);
    const fields = line.fields;
    if (fields !== undefined && fields.length > 0) {
      body.raw(',"fields":{');
      for (let i = 0; i < fields.length; i++) {
        const [name, value] = fields[i] as readonly [string, string];
        if (i > 0) body.raw(',');
        body.string(name);
        body.raw(':');
        body.string(value);
      }
      body.raw('}');
    }
    body.raw(line.cut === true ? ',"cut":true}' : '}');
    group.lines++;
    const meta = group.meta;
    meta.end = line.end;
    meta.lastTimestamp = line.timestamp;
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
    body.raw(']}]}');
    const storage = body.storage;
    const batch: Batch = { body: body.finish(), files: [...this.files.values()], lines: this.lines, release: () => this.pool.give(storage) };
    this.body = undefined;
    this.files = new Map();
    this.group = undefined;
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

  private startGroup(body: JsonBody, source: InputGroup, firstOffset: number): { id: string; meta: BatchedFile; lines: number } {
    if (this.group !== undefined) body.raw(']},');
    let meta = this.files.get(source.id);
    if (meta === undefined) {
      meta = { fileId: source.id, filename: source.filename, path: source.path, size: 0, firstOffset, end: firstOffset, lastTimestamp: '', lines: 0 };
      this.files.set(source.id, meta);
    }
    body.raw('{"file_id":');
    body.string(source.id);
    body.raw(',"filename":');
    body.string(source.filename);
    if (source.path !== '') {
      body.raw(',"path":');
      body.string(source.path);
    }
    body.raw(',"lines":[');
    const group = { id: source.id, meta, lines: 0 };
    this.group = group;
    return group;
  }
}
