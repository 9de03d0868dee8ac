/**
 * The one Server-Sent Events parser of the project, used by the web UI, the CLI and the
 * canary to read Daniel's live tail. EventSource cannot send an Authorization header, so each
 * reads the stream itself; this follows the WHATWG event-stream rules (fields, comments,
 * CR/LF/CRLF line ends split anywhere, multi-line data, a sticky last event id that an
 * id-only event moves too). It runs in the browser and in Node alike.
 */

export interface SseEvent {
  /** The `event:` field, `message` when absent. */
  type: string;
  data: string;
  /** The last event id seen so far on this stream (sticky, as the spec says). */
  id: string;
}

export class SseParser {
  private buffer = '';
  private pendingCr = false;
  private data: string[] = [];
  private type = '';
  private hasData = false;
  /** The id field of the event being read; it only counts once the event is complete. */
  private idBuffer: string | undefined;
  /**
   * The id of the last complete event (kept across events without one), which is what
   * Last-Event-ID resends. An event cut off by a dropped connection does not move it.
   */
  lastEventId = '';

  /** `onPosition` hears the id of each complete event that has no data (a live tail's start position, its heartbeats). */
  constructor(private readonly onPosition?: (id: string) => void) {}

  /** Feeds a decoded chunk; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    const events: SseEvent[] = [];
    let text = chunk;
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (ch === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'event') {
      this.type = value;
    } else if (field === 'id' && !value.includes('\0')) {
      this.idBuffer = value;
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    // As the WHATWG rules say: a complete event's id counts even when it carries no data.
    if (this.idBuffer !== undefined) {
      this.lastEventId = this.idBuffer;
      if (!this.hasData) this.onPosition?.(this.idBuffer);
    }
    this.idBuffer = undefined;
    const event = this.hasData ? { type: this.type || 'message', data: this.data.join('\n'), id: this.lastEventId } : undefined;
    this.data = [];
    this.type = '';
    this.hasData = false;
    return event;
  }
}

/** Anything that yields byte chunks: a fetch body (ReadableStream) or a Node stream. */
export type ByteChunks = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

async function* chunksOf(body: ByteChunks): AsyncGenerator<Uint8Array> {
  if (!('getReader' in body)) {
    yield* body;
    return;
  }
  // A reader rather than async iteration: not every browser iterates a ReadableStream.
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Yields each complete event of a byte stream. Pass a parser to read its `lastEventId` at any
 * time, which is where a reconnect resumes (`Last-Event-ID`), even after an event without data.
 */
export async function* readSseEvents(body: ByteChunks, parser: SseParser = new SseParser()): AsyncGenerator<SseEvent> {
  // stream: true keeps a UTF-8 sequence split across chunks for the next one.
  const decoder = new TextDecoder();
  for await (const chunk of chunksOf(body)) yield* parser.push(decoder.decode(chunk, { stream: true }));
  yield* parser.push(decoder.decode());
}
