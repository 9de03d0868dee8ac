/**
 * Live tail across two real `daniel serve --store dynamodb` processes on one table: batches
 * ingested through both at once (their seq ranges interleave), followed through one over SSE
 * and resumed with Last-Event-ID on the other: every line exactly once, ids increasing, and
 * no line shown before the settle window set by DANIEL_DYNAMODB_SETTLE has passed.
 */
import { describe, expect, it } from 'vitest';
import { readEvents, type SseEvent } from '../../src/cli/sse.js';
import { createTable } from '../../src/storage/dynamodb/create-table.js';
import { TEST_CREDENTIALS } from '../../src/storage/dynamodb/dynalite.case.js';
import { useDanielsOnDynalite } from './daniels-on-dynalite.js';

const TOKEN = 'admin-token-for-follow-test';
const TABLE = `follow-daniels-${process.pid}`;
const T0 = 1_700_000_000_000_000_000n;
const SETTLE_MS = 2000;

const daniels = useDanielsOnDynalite({
  token: TOKEN,
  table: TABLE,
  extraEnv: { DANIEL_DYNAMODB_SETTLE: `${SETTLE_MS}ms` },
  setup: (endpoint) => createTable({ table: TABLE, endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS }, { waitSeconds: 10 }).then(() => undefined),
});

async function serve(): Promise<string> {
  return (await daniels.serve()).url;
}

const offsets = new Map<string, number>();

async function ingest(url: string, fileId: string, texts: string[]): Promise<void> {
  let offset = offsets.get(fileId) ?? 0;
  const lines = texts.map((line) => {
    const entry = { offset, timestamp: (T0 + BigInt(offset)).toString(), line };
    offset += Buffer.byteLength(line) + 1;
    return entry;
  });
  offsets.set(fileId, offset);
  const response = await fetch(`${url}/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ host: 'web', files: [{ file_id: fileId, filename: `${fileId}.log`, path: `/var/log/${fileId}.log`, lines }] }),
  });
  expect(response.status).toBe(200);
}

/** A live tail of every host: its line events, as they come, with when each came. */
async function follow(url: string, lastEventId?: string) {
  const controller = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) };
  const response = await fetch(`${url}/logs?follow=true`, { headers, signal: controller.signal });
  expect(response.status).toBe(200);
  const events = readEvents(response.body!)[Symbol.asyncIterator]();
  const seen: { id: string; line: string; at: number }[] = [];
  return {
    // Held until the stream is read: undici cancels the body of a Response that is garbage
    // collected before its body is locked, which cut this tail mid-test.
    response,
    seen,
    /** Reads line events until `count` were seen in all (bounded). */
    async until(count: number, timeoutMs = 30_000): Promise<void> {
      const deadline = setTimeout(() => controller.abort(), timeoutMs);
      try {
        while (seen.length < count) {
          const next: IteratorResult<SseEvent> = await events.next();
          if (next.done) throw new Error(`stream ended after ${seen.length} lines`);
          if (next.value.event !== 'line') continue;
          seen.push({ id: next.value.id!, line: (JSON.parse(next.value.data) as { logline: string }).logline, at: performance.now() });
        }
      } finally {
        clearTimeout(deadline);
      }
    },
    close: () => controller.abort(),
  };
}

describe('live tail across two daniel serve --store dynamodb processes', () => {
  it('streams what both ingest exactly once, in id order, resumable on the other, a settle window late', async () => {
    const [one, two] = await Promise.all([serve(), serve()]);
    const expected: string[] = [];
    const first = await follow(two);
    // Both Daniels ingest at once, so their seq ranges interleave.
    for (let round = 0; round < 8; round++) {
      const a = [0, 1, 2].map((i) => `a ${round}.${i}`);
      const b = [0, 1, 2].map((i) => `b ${round}.${i}`);
      expected.push(...a, ...b);
      await Promise.all([ingest(one, 'fa', a), ingest(two, 'fb', b)]);
    }
    await first.until(expected.length / 2);
    first.close();

    // Resumed on the other Daniel: the rest, and what arrives meanwhile.
    const resumed = await follow(one, first.seen[first.seen.length - 1]!.id);
    const ingestedFrom = performance.now();
    await ingest(two, 'fb', ['marker']);
    expected.push('marker');
    await resumed.until(expected.length - first.seen.length);

    const seen = [...first.seen, ...resumed.seen];
    expect(seen.map((e) => e.line).sort()).toEqual([...expected].sort());
    const ids = seen.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(new Set(ids).size).toBe(ids.length);
    // DANIEL_DYNAMODB_SETTLE reached the store: the marker came no sooner than the window.
    expect(resumed.seen.find((e) => e.line === 'marker')!.at - ingestedFrom).toBeGreaterThanOrEqual(SETTLE_MS);
    resumed.close();
  }, 120_000);
});
