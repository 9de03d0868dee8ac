/**
 * The one SSE parser against Daniel's real live-tail output: the bytes a real server sends
 * (heartbeats, ids, lines whose text holds CR, `data:`, U+2028 and astral characters) give
 * the same events however they are cut into chunks, as a fetch body or a Node stream.
 */
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auth, ingest, startTestApp, TOKENS, type TestApp } from '../../test/server/helpers.js';
import type { LogEntry } from './api.js';
import { readSseEvents, SseParser, type SseEvent } from './sse.js';

const TEXTS = ['plain', 'data: not a field', 'id: 99', 'cr\rinside', 'tab\tand \u2028 sep', 'é😀 astral', ': looks like a comment', '', 'event: error'];

let t: TestApp;
let raw: Buffer;
let base: string;

beforeAll(async () => {
  t = await startTestApp({ limits: { followHeartbeatMs: 20 } });
  base = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const controller = new AbortController();
  const response = await fetch(`${base}/logs?follow=true`, { headers: auth(TOKENS.read), signal: controller.signal });
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  let offset = 0;
  const lines = TEXTS.map((line, i) => {
    const entry = { offset, timestamp: String(-1_000_000_000n + BigInt(i)), line };
    offset += Buffer.byteLength(line) + 1;
    return entry;
  });
  await ingest(t.app, { host: 'sse', files: [{ file_id: 'f', filename: 'live.log', lines }] });
  // Collect the raw bytes until every line came, and a heartbeat or two besides.
  const chunks: Buffer[] = [];
  const parser = new SseParser();
  const decoder = new TextDecoder();
  let seen = 0;
  const reader = response.body!.getReader();
  while (seen < TEXTS.length || !Buffer.concat(chunks).includes(':')) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
    seen += parser.push(decoder.decode(value, { stream: true })).filter((e) => e.type === 'line').length;
  }
  controller.abort();
  raw = Buffer.concat(chunks);
});

afterAll(async () => {
  await t.close();
});

async function eventsOf(chunks: Iterable<Uint8Array> | ReadableStream<Uint8Array>): Promise<{ events: SseEvent[]; lastEventId: string }> {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  const body = Symbol.iterator in chunks ? Readable.from(chunks) : chunks;
  for await (const event of readSseEvents(body, parser)) events.push(event);
  return { events, lastEventId: parser.lastEventId };
}

it("reads every line of the server's live tail exactly, with its id", async () => {
  const { events, lastEventId } = await eventsOf([raw]);
  const lines = events.filter((e) => e.type === 'line');
  const entries = lines.map((e) => JSON.parse(e.data) as LogEntry);
  expect(entries.map((e) => e.logline)).toEqual(TEXTS);
  // Each line's event id is its cursor: where a reconnect resumes.
  expect(lines.map((e) => e.id)).toEqual(entries.map((e) => e.cursor));
  expect(lastEventId).toBe(entries.at(-1)!.cursor);
  expect(entries[0]!.timestamp).toBe('1969-12-31T23:59:59Z');
});

it('gives the same events however the bytes are cut, byte by byte included, as a fetch body too', async () => {
  const whole = await eventsOf([raw]);
  expect(await eventsOf([...raw].map((byte) => Uint8Array.of(byte)))).toEqual(whole);
  const asFetchBody = new Response(new Uint8Array(raw)).body!;
  expect(await eventsOf(asFetchBody)).toEqual(whole);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat({ max: raw.length }), { maxLength: 20 }), async (cuts) => {
      const points = [0, ...new Set(cuts)].sort((a, b) => a - b);
      const pieces = points.map((at, i) => raw.subarray(at, points[i + 1] ?? raw.length));
      expect(await eventsOf(pieces)).toEqual(whole);
    }),
  );
});

it('counts an id sent without data (a start position) for the reconnect', async () => {
  const { events, lastEventId } = await eventsOf([Buffer.from('id: 41\n\n: ping\r\n\r\nid: 42\r\nevent: line\r\ndata: {}\r\n\r\nid: 43\n\n')]);
  expect(events).toEqual([{ type: 'line', data: '{}', id: '42' }]);
  expect(lastEventId).toBe('43');
});
