/**
 * Appends whose segments' text was prepared on the encode worker (prepareAppend, then append)
 * store exactly what appends encoded inline store: the same lines found by the same words,
 * the same counts, through duplicates, partial overlaps, non-ASCII text, runs cut at the seal
 * size and small runs merged with earlier ones; and a worker that is gone changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AppendLine, AppendRequest, Matcher, Store } from '../store.js';
import { preparedRuns } from './segment-writer.js';
import { SqliteStore } from './sqlite-store.js';

const T0 = 1_700_000_000_000_000_000n;
let dirs: string[] = [];

beforeEach(() => {
  dirs = [];
});
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function open(encodeWorker: boolean): Promise<SqliteStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'daniel-encode-'));
  dirs.push(dataDir);
  // Small seal sizes so runs are cut into several segments and small ones merge.
  return SqliteStore.open({ dataDir, encodeWorker, policy: { sealBytes: 96 * 1024, directSealBytes: 40 * 1024 }, fieldStats: false });
}

/** A seeded random source, so a failure can be run again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const WORDS = ['ERROR', 'info', 'disk', 'full', 'ünïcødé', '😀', 'req_id=42', 'took_ms=7', 'GET /index.html', 'timeout', 'x'.repeat(300)];

function fileLines(rand: () => number, file: number, from: number, count: number): AppendLine[] {
  const lines: AppendLine[] = [];
  let offset = from * 10_000;
  for (let i = 0; i < count; i++) {
    const words = Array.from({ length: 3 + Math.floor(rand() * 12) }, () => WORDS[Math.floor(rand() * WORDS.length)]!);
    const line = `f${file} n${from + i} ${words.join(' ')}`;
    lines.push({ offset, end: offset + Buffer.byteLength(line) + 1, timestamp: T0 + BigInt(from + i) * 1_000_000n, line, cut: false });
    offset += 10_000; // past the longest line (14 words of at most 300 bytes)
  }
  return lines;
}

async function searchAll(store: Store, match: Matcher[]): Promise<string[]> {
  const found: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.search({ order: 'desc', limit: 500, match, ...(cursor === undefined ? {} : { cursor }) });
    found.push(...page.lines.map((line) => `${line.fileId}@${line.offset}:${line.seq}:${line.line}`));
    if (page.nextCursor === undefined) return found;
    cursor = page.nextCursor;
  }
}

it('stores what inline encoding stores, through duplicates, overlaps, cuts and merges', async () => {
  const prepared = await open(true);
  const inline = await open(false);
  try {
    await prepared.encodeWorkerReady();
    const rand = random(20261203);
    const next = [0, 0, 0];
    const requests: AppendRequest[] = [];
    for (let r = 0; r < 24; r++) {
      const files = [0, 1, 2].filter(() => rand() < 0.7);
      requests.push({
        host: r % 5 === 0 ? 'other' : 'h',
        receivedAt: T0 + BigInt(r),
        files: files.map((file) => {
          // Mostly new lines; sometimes a resend of some already sent (duplicates, then new ones).
          const back = rand() < 0.25 ? Math.floor(rand() * 200) : 0;
          const from = Math.max(0, next[file]! - back);
          const count = rand() < 0.3 ? 5 + Math.floor(rand() * 40) : 150 + Math.floor(rand() * 700);
          next[file] = Math.max(next[file]!, from + count);
          return { fileId: `id${file}`, filename: `f${file}.log`, path: `/f${file}.log`, lines: fileLines(rand, file, from, count) };
        }),
      });
    }
    const usedBefore = preparedRuns.used;
    for (const request of requests) {
      await prepared.prepareAppend(request);
      const a = await prepared.append(request);
      const b = await inline.append(request);
      expect({ accepted: a.accepted, duplicates: a.duplicates }).toEqual({ accepted: b.accepted, duplicates: b.duplicates });
    }
    // The worker did prepare most texts (all but the small files').
    expect(prepared.preparedTextCount).toBeGreaterThan(10);
    // ...and most of those were the runs written (the others: resends and merges, encoded inline).
    expect(preparedRuns.used - usedBefore).toBeGreaterThan(prepared.preparedTextCount / 2);
    for (const match of [[], [{ kind: 'substring', text: 'ERROR', caseInsensitive: false }], [{ kind: 'substring', text: 'ünïcødé', caseInsensitive: true }], [{ kind: 'substring', text: 'req_id=42 took', caseInsensitive: false }]] as Matcher[][]) {
      expect(await searchAll(prepared, match)).toEqual(await searchAll(inline, match));
      const histogram = { match, bucketMs: 3_600_000 };
      expect(await prepared.histogram(histogram)).toEqual(await inline.histogram(histogram));
    }
    expect((await prepared.stats()).lines).toBe((await inline.stats()).lines);
  } finally {
    await prepared.close();
    await inline.close();
  }
}, 60_000);

it('an append prepared before another append of the same file took some of its lines stores each line once', async () => {
  const store = await open(true);
  try {
    await store.encodeWorkerReady();
    const rand = random(7);
    const all = fileLines(rand, 0, 0, 600);
    const late: AppendRequest = { host: 'h', receivedAt: T0, files: [{ fileId: 'id0', filename: 'a.log', path: '/a.log', lines: all.slice(100) }] };
    await store.prepareAppend(late);
    // Meanwhile the lines from 0 to 300 arrive: the prepared runs no longer start where the append's do.
    await store.append({ host: 'h', receivedAt: T0, files: [{ fileId: 'id0', filename: 'a.log', path: '/a.log', lines: all.slice(0, 300) }] });
    expect(await store.append(late)).toMatchObject({ accepted: 300, duplicates: 200 });
    const found = await searchAll(store, []);
    expect(found).toHaveLength(600);
    expect(new Set(found.map((f) => f.split(':')[0])).size).toBe(600);
  } finally {
    await store.close();
  }
});

it('without a worker (closed, or never ready), prepareAppend is a no-op and appends store everything', async () => {
  const store = await open(true);
  try {
    const rand = random(9);
    const request: AppendRequest = { host: 'h', receivedAt: T0, files: [{ fileId: 'id0', filename: 'a.log', path: '/a.log', lines: fileLines(rand, 0, 0, 400) }] };
    // The worker has not started yet: nothing is prepared, nothing waits.
    await store.prepareAppend(request);
    expect(await store.append(request)).toMatchObject({ accepted: 400 });
    expect(await searchAll(store, [])).toHaveLength(400);
  } finally {
    await store.close();
  }
});
