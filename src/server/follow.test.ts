import { request as httpRequest, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import type { LogEntry } from '../protocol/api.js';
import { readEvents, type SseEvent } from '../cli/sse.js';
import { auth, ingest, startTestApp, TOKENS, type TestApp } from '../../test/server/helpers.js';
import type { AppOptions } from './app.js';
import { FollowRegistry } from './follow.js';

let t: TestApp | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function listen(limits: AppOptions['limits'] = {}): Promise<{ app: TestApp; base: string }> {
  t = await startTestApp({ limits });
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  return { app: t, base: address };
}

let nextOffset = 0;
function batch(host: string, texts: string[]) {
  return {
    host,
    files: [
      {
        file_id: `${host}-f`,
        filename: 'live.log',
        lines: texts.map((line) => {
          const entry = { offset: nextOffset, timestamp: String(1_700_000_000_000_000_000n + BigInt(nextOffset)), line };
          nextOffset += Buffer.byteLength(line) + 1;
          return entry;
        }),
      },
    ],
  };
}

/** Opens a live tail and hands back an iterator of its events. */
async function follow(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { ...auth(TOKENS.read), ...headers }, signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const positions: string[] = [];
  const events = readEvents(response.body!, (id) => positions.push(id))[Symbol.asyncIterator]();
  return {
    // Held until the stream is read: undici cancels the body of a Response that is garbage
    // collected before its body is locked.
    response,
    positions,
    async next(): Promise<SseEvent> {
      const result = await events.next();
      if (result.done) throw new Error('stream ended');
      return result.value;
    },
    async ended(): Promise<boolean> {
      for (;;) {
        const result = await events.next();
        if (result.done) return true;
      }
    },
    close: () => controller.abort(),
  };
}

describe('live tail (follow=true)', () => {
  test('streams new matching lines as events with the seq as id', async () => {
    const { app, base } = await listen();
    const stream = await follow(`${base}/logs?follow=true&filter=keep`);
    await ingest(app.app, batch('live', ['keep one', 'drop this', 'keep two']));
    const first = await stream.next();
    const second = await stream.next();
    expect([first.event, second.event]).toEqual(['line', 'line']);
    const entries = [first, second].map((e) => JSON.parse(e.data) as LogEntry);
    expect(entries.map((e) => e.logline)).toEqual(['keep one', 'keep two']);
    expect(entries[0]).toMatchObject({ host: 'live', filename: 'live.log', cursor: first.id });
    expect(Number(second.id)).toBeGreaterThan(Number(first.id));
    stream.close();
  });

  test('reconnecting with Last-Event-ID resumes with no gap and no duplicate', async () => {
    const { app, base } = await listen();
    const url = `${base}/hosts/resume/logs?follow=true`;
    await ingest(app.app, batch('resume', ['before the tail']));
    const stream = await follow(url);
    await ingest(app.app, batch('resume', ['a1', 'a2']));
    await stream.next();
    const lastSeen = await stream.next();
    stream.close();
    // Lines that arrive while the client is away.
    await ingest(app.app, batch('resume', ['b1', 'b2', 'b3']));
    const resumed = await follow(url, { 'last-event-id': lastSeen.id! });
    await ingest(app.app, batch('resume', ['c1']));
    const got: string[] = [];
    for (let i = 0; i < 4; i += 1) got.push((JSON.parse((await resumed.next()).data) as LogEntry).logline);
    expect(got).toEqual(['b1', 'b2', 'b3', 'c1']);
    resumed.close();
    // The cursor parameter works as well as the header.
    const viaCursor = await follow(`${url}&cursor=${lastSeen.id}`);
    expect((JSON.parse((await viaCursor.next()).data) as LogEntry).logline).toBe('b1');
    viaCursor.close();
  });

  test('the first bytes carry the start position: a reconnect after a drop with no line loses nothing', async () => {
    const { app, base } = await listen();
    const url = `${base}/hosts/quiet/logs?follow=true`;
    await ingest(app.app, batch('quiet', ['before the tail']));
    const response = await fetch(url, { headers: auth(TOKENS.read) });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let head = '';
    while (!head.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      head += decoder.decode(value);
    }
    // Before any line: the position the stream starts from, as an SSE id.
    const start = /^id: (\d+)$/m.exec(head.slice(0, head.indexOf('\n\n')))?.[1];
    expect(start).toBeDefined();
    await reader.cancel();
    // The line arrives while the client is away; it resumes from the start position.
    await ingest(app.app, batch('quiet', ['while away']));
    const resumed = await follow(url, { 'last-event-id': start! });
    expect((JSON.parse((await resumed.next()).data) as LogEntry).logline).toBe('while away');
    resumed.close();
  });

  test('the reader sees the start position (CLI reconnects use it)', async () => {
    const { app, base } = await listen({ followHeartbeatMs: 50 });
    await ingest(app.app, batch('pos', ['one', 'two']));
    const stream = await follow(`${base}/logs?follow=true`);
    await ingest(app.app, batch('pos', ['three']));
    const line = await stream.next();
    expect(stream.positions.length).toBeGreaterThan(0);
    expect(Number(stream.positions[0])).toBe(Number(line.id) - 1);
    stream.close();
  });

  test('heartbeats carry the position reached', async () => {
    const { app, base } = await listen({ followHeartbeatMs: 50 });
    await ingest(app.app, batch('beat', ['a', 'b']));
    const response = await fetch(`${base}/logs?follow=true&filter=never`, { headers: auth(TOKENS.read) });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    await ingest(app.app, batch('beat', ['c', 'd']));
    // Lines that do not match still move the position on.
    while (!/id: 4\n: ping/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toMatch(/id: 4\n: ping\n\n/);
    await reader.cancel();
  });

  test('a store that goes away ends the stream with STORE_UNAVAILABLE, not INTERNAL', async () => {
    const { app, base } = await listen({ followPollMs: 20 });
    const response = await fetch(`${base}/logs?follow=true`, { headers: auth(TOKENS.read) });
    await app.store.close();
    const body = await response.text();
    expect(body.trimEnd().split('\n\n').at(-1)).toMatch(/^event: error\ndata: .*"code":"STORE_UNAVAILABLE"/);
  });

  test('sends heartbeat comments', async () => {
    const { base } = await listen({ followHeartbeatMs: 50 });
    const chunks: string[] = [];
    const response = await fetch(`${base}/logs?follow=true`, { headers: auth(TOKENS.read) });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    while (!chunks.join('').includes(': ping')) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(decoder.decode(value));
    }
    expect(chunks.join('')).toContain(': ping\n\n');
    await reader.cancel();
  });

  test('a client that stops reading gets an error event and a close, not unbounded memory', async () => {
    const { app, base } = await listen({ followBufferBytes: 64 * 1024 });
    const url = new URL(`${base}/logs?follow=true`);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(url, { headers: auth(TOKENS.read) }, resolve);
      req.on('error', reject);
      req.end();
    });
    response.pause();
    const text = 'x'.repeat(1000);
    for (let round = 0; round < 16; round += 1) {
      const response = await ingest(app.app, batch('flood', Array.from({ length: 1000 }, (_, i) => `${round}.${i} ${text}`)));
      expect(response.statusCode).toBe(200);
    }
    // Now read everything the server queued: it must end with the error event.
    response.setEncoding('utf8');
    let body = '';
    response.on('data', (chunk: string) => (body += chunk));
    response.resume();
    await once(response, 'end');
    const lineEvents = body.split('event: line').length - 1;
    expect(lineEvents).toBeLessThan(16_000);
    // What was queued for the client: the socket's buffers plus at most the bound and one event.
    expect(Buffer.byteLength(body)).toBeLessThan(64 * 1024 + 8 * 1024 * 1024);
    expect(body.trimEnd().split('\n\n').at(-1)).toMatch(/^event: error\ndata: .*RATE_LIMITED/);
  }, 60_000);

  test('closing the server ends every stream', async () => {
    const { app, base } = await listen();
    const stream = await follow(`${base}/logs?follow=true`);
    const ended = stream.ended();
    await app.app.close();
    expect(await ended).toBe(true);
  });

  test('errors before the stream starts are plain JSON errors', async () => {
    const { app, base } = await listen();
    await ingest(app.app, batch('known', ['x']));
    const cases: [string, Record<string, string>, number, string][] = [
      ['/hosts/unknown/logs?follow=true', {}, 404, 'HOST_NOT_FOUND'],
      ['/logs?follow=true&regex=(a)\\1', {}, 400, 'INVALID_REGEX'],
      ['/logs?follow=true', { 'last-event-id': 'abc' }, 400, 'INVALID_CURSOR'],
      ['/logs?follow=true&since=nonsense', {}, 400, 'INVALID_PARAMETER'],
    ];
    for (const [path, headers, status, code] of cases) {
      const response = await fetch(`${base}${path}`, { headers: { ...auth(TOKENS.read), ...headers } });
      expect(response.status, path).toBe(status);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    const noToken = await fetch(`${base}/logs?follow=true`);
    expect(noToken.status).toBe(401);
    const head = await fetch(`${base}/logs?follow=true`, { method: 'HEAD', headers: auth(TOKENS.read) });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toContain('text/event-stream');
  });
});

describe('FollowRegistry: events shared by the tails', () => {
  test('a line is rendered once for every tail that sends it; the newest 4096 are kept, and none once no tail is open', () => {
    const registry = new FollowRegistry();
    const stop = (): void => undefined;
    registry.add(stop);
    let renders = 0;
    const render = (seq: number) => (): string => {
      renders += 1;
      return `id: ${seq}\n\n`;
    };
    const first = registry.eventOf(1, render(1));
    for (let tail = 0; tail < 255; tail++) expect(registry.eventOf(1, render(1))).toBe(first);
    expect(renders).toBe(1);
    for (let seq = 2; seq <= 4097; seq++) registry.eventOf(seq, render(seq));
    expect(renders).toBe(4097);
    registry.eventOf(4097, render(4097));
    expect(renders).toBe(4097);
    registry.eventOf(1, render(1)); // pushed out by the newer ones: rendered again
    expect(renders).toBe(4098);
    registry.delete(stop);
    registry.eventOf(4097, render(4097));
    expect(renders).toBe(4099);
  });
});
