/** A minimal Server-Sent Events reader over a fetch body (the live tail's wire format). */

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Yields each complete event; comments (`: ping`) and `retry:` lines are skipped. A block with
 * an id and no data (the live tail's start position, its heartbeats) is not an event, but its
 * id is the position to resume from: it goes to `onPosition`.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>, onPosition?: (id: string) => void): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  let sawId = false;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A lone \r at the end may be the first half of \r\n still in flight.
      if (newline === buffer.length - 1 && buffer.endsWith('\r')) break;
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length > 0 || event !== '') yield { id, event: event || 'message', data: data.join('\n') };
        else if (sawId && id !== undefined) onPosition?.(id);
        event = '';
        data = [];
        sawId = false;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id') {
        id = value;
        sawId = true;
      }
    }
  }
}
