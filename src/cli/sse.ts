/**
 * The live tail's events in the shape the CLI's tests read ({id, event, data}), over the one
 * parser of src/protocol/sse.ts.
 */
import { readSseEvents, SseParser } from '../protocol/sse.js';

export interface SseEvent {
  /** The last event id seen so far on this stream (sticky), undefined before the first. */
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Yields each complete event with data; comments (`: ping`) and `retry:` lines are skipped. An
 * event with an id and no data (the live tail's start position, its heartbeats) is not
 * yielded, but its id, the position to resume from, goes to `onPosition`.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>, onPosition?: (id: string) => void): AsyncGenerator<SseEvent> {
  const parser = new SseParser(onPosition);
  for await (const event of readSseEvents(body, parser)) yield { id: event.id === '' ? undefined : event.id, event: event.type, data: event.data };
}
