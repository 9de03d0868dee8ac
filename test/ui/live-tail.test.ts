/**
 * LiveTail against a real HTTP server speaking the event stream: resumes with
 * Last-Event-ID after a dropped connection, a server error event, and a pause; stops on 401.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LogEntry } from '../../src/protocol/api.js';
import type { ApiFailure } from '../../ui/api.js';
import { LiveTail, type LiveState } from '../../ui/live.js';

function entry(n: number): LogEntry {
  return { filename: 'a.log', last_modified: '1.0', logline: `line ${n}`, host: 'h', timestamp: '1970-01-01T00:00:01Z', path: '/a.log', offset: n * 10, file_id: 'f', seq: n, cursor: String(n) };
}

function event(n: number): string {
  return `id: ${n}\nevent: line\ndata: ${JSON.stringify(entry(n))}\n\n`;
}

type Handler = (request: IncomingMessage, response: ServerResponse, connection: number) => void;

let server: Server | undefined;
let tail: LiveTail | undefined;

async function serve(handler: Handler): Promise<{ origin: string; resumes: Array<string | undefined> }> {
  const resumes: Array<string | undefined> = [];
  server = createServer((request, response) => {
    const header = request.headers['last-event-id'];
    resumes.push(typeof header === 'string' ? header : undefined);
    handler(request, response, resumes.length);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, resumes };
}

function startStream(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  response.write(': connected\n\n');
}

/** Starts a LiveTail and collects what it reports. */
function follow(origin: string) {
  const lines: string[] = [];
  const states: LiveState[] = [];
  const errors: ApiFailure[] = [];
  let notify = (): void => undefined;
  const changed = () => new Promise<void>((resolve) => (notify = resolve));
  tail = new LiveTail({
    origin,
    params: new URLSearchParams({ filter: 'x' }),
    onLines: (batch) => {
      lines.push(...batch.map((l) => l.logline));
      notify();
    },
    onState: (state) => {
      states.push(state);
      notify();
    },
    onError: (error) => {
      errors.push(error);
      notify();
    },
  });
  tail.start();
  const until = async (check: () => boolean): Promise<void> => {
    while (!check()) await changed();
  };
  return { lines, states, errors, until, tail };
}

afterEach(async () => {
  tail?.stop();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('LiveTail', () => {
  it('sends follow=true and resumes after a dropped connection with no gap and no duplicate', async () => {
    const { origin, resumes } = await serve((request, response, connection) => {
      expect(new URL(request.url ?? '', origin).searchParams.get('follow')).toBe('true');
      startStream(response);
      if (connection === 1) {
        response.write(event(1) + event(2));
        // Cut mid-event: the half-sent third line must not count.
        response.write('id: 3\nevent: line\ndata: {"broken"');
        setTimeout(() => response.destroy(), 50);
      } else {
        response.write(event(3) + event(4));
      }
    });
    const live = follow(origin);
    await live.until(() => live.lines.length >= 4);
    expect(live.lines).toEqual(['line 1', 'line 2', 'line 3', 'line 4']);
    expect(resumes).toEqual([undefined, '2']);
    expect(live.states).toContain('retrying');
    expect(live.states.at(-1)).toBe('live');
  }, 20_000);

  it('reconnects after the server gives up on a slow reader (error event)', async () => {
    const { origin, resumes } = await serve((_request, response, connection) => {
      startStream(response);
      if (connection === 1) {
        response.end(event(7) + `event: error\ndata: {"error":{"code":"RATE_LIMITED","message":"too slow"}}\n\n`);
      } else {
        response.write(event(8));
      }
    });
    const live = follow(origin);
    await live.until(() => live.lines.length >= 2);
    expect(live.lines).toEqual(['line 7', 'line 8']);
    expect(resumes).toEqual([undefined, '7']);
  }, 20_000);

  it('pauses by closing the stream and resumes from the last line', async () => {
    const { origin, resumes } = await serve((_request, response, connection) => {
      startStream(response);
      response.write(connection === 1 ? event(1) : event(2));
    });
    const live = follow(origin);
    await live.until(() => live.lines.length === 1);
    live.tail.pause();
    expect(live.states.at(-1)).toBe('paused');
    live.tail.resume();
    await live.until(() => live.lines.length === 2);
    expect(live.lines).toEqual(['line 1', 'line 2']);
    expect(resumes).toEqual([undefined, '1']);
  }, 20_000);

  it('paused before any line, holds the first line back and resumes after it', async () => {
    let firstStream: ServerResponse | undefined;
    const { origin, resumes } = await serve((_request, response, connection) => {
      startStream(response);
      if (connection === 1) firstStream = response;
      else response.write(event(2));
    });
    const live = follow(origin);
    await live.until(() => live.states.at(-1) === 'live');
    live.tail.pause();
    // The stream stays open (no position yet) and its first line is held, not shown.
    firstStream?.write(event(1));
    // Held lines announce nothing, so poll (bounded) for the position they set.
    await vi.waitFor(() => expect(live.tail.position).toBe('1'), { timeout: 10_000 });
    expect(resumes).toHaveLength(1);
    expect(live.lines).toEqual([]);
    live.tail.resume();
    await live.until(() => live.lines.length === 2);
    expect(live.lines).toEqual(['line 1', 'line 2']);
    expect(resumes).toEqual([undefined, '1']);
  }, 20_000);

  it('stops on a 401 instead of retrying', async () => {
    const { origin, resumes } = await serve((_request, response) => {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'Unknown token' } }));
    });
    const live = follow(origin);
    await live.until(() => live.errors.length === 1);
    expect(live.errors[0]?.code).toBe('UNAUTHORIZED');
    expect(live.states.at(-1)).toBe('stopped');
    expect(resumes).toHaveLength(1);
  }, 20_000);
});
