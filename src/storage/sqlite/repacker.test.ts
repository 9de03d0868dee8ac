/**
 * The repacker compresses sealed segments again while the store is idle: every search,
 * histogram and count answers the same after it as before (and as a store never repacked),
 * the blobs shrink, a reopened store does not repack them twice, older codecs come back as
 * Zstandard, a store created since gives the freed pages back to the file system, and
 * nothing is written over a segment that changed or went while its repack ran.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { compressPayload, decompressPayload, repackBlob, RepackStopped } from '../../segment/compression.js';
import { EncodePool } from './encode-pool.js';
import { payloadTextStart } from '../../segment/codec.js';
import type { AppendLine, AppendRequest, Matcher, Store } from '../store.js';
import { SqliteSegments } from './sqlite-segments.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import { brotliBlob, deflateBlob } from '../../../test/lib/segment-blobs.js';

const T0 = 1_700_000_000_000_000_000n;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'daniel-repack-'));
  dirs.push(dir);
  return dir;
}

function open(dataDir: string, options: Partial<SqliteStoreOptions> = {}): Promise<SqliteStore> {
  // Small seal sizes: many sealed segments, and a few small ones left open.
  return SqliteStore.open({ dataDir, policy: { sealBytes: 48 * 1024, directSealBytes: 24 * 1024 }, fieldStats: false, repack: { idleMs: 60_000 }, ...options });
}

const WORDS = ['ERROR', 'info', 'disk full', 'ünïcødé', '😀', 'req_id=42', 'timeout', 'GET /index.html', 'took_ms=7'];

/** Log-like lines, repetitive as logs are (so a slower level finds more to share). */
function requests(count = 12): AppendRequest[] {
  const out: AppendRequest[] = [];
  const offsets = [0, 0, 0];
  for (let r = 0; r < count; r++) {
    const files = [0, 1, 2].map((file) => {
      const lines: AppendLine[] = [];
      const n = r % 4 === 3 ? 20 : 900;
      for (let i = 0; i < n; i++) {
        const k = r * 1000 + i;
        const line = `2026-12-04 10:${String(k % 60).padStart(2, '0')}:00,${k % 1000} ${WORDS[k % WORDS.length]} [worker-${k % 7}] user=${(k * 7919) % 1013} ${WORDS[(k * 5 + file) % WORDS.length]} n=${k}`;
        const offset = offsets[file]!;
        offsets[file] = offset + Buffer.byteLength(line) + 1;
        lines.push({ offset, end: offsets[file], timestamp: T0 + BigInt(k) * 1_000_000n, line, cut: false, ...(i % 50 === 0 ? { fields: { service: `svc-${file}` } } : {}) });
      }
      return { fileId: `id${file}`, filename: `f${file}.log`, path: `/f${file}.log`, lines };
    });
    out.push({ host: r % 5 === 4 ? 'other' : 'h', receivedAt: T0 + BigInt(r), files });
  }
  return out;
}

async function searchAll(store: Store, match: Matcher[]): Promise<string[]> {
  const found: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.search({ order: 'desc', limit: 700, match, ...(cursor === undefined ? {} : { cursor }) });
    found.push(...page.lines.map((line) => `${line.host}/${line.fileId}@${line.offset}:${line.seq}:${JSON.stringify(line.fields ?? {})}:${line.line}`));
    if (page.nextCursor === undefined) return found;
    cursor = page.nextCursor;
  }
}

const MATCHES: Matcher[][] = [
  [],
  [{ kind: 'substring', text: 'ERROR', caseInsensitive: false }],
  [{ kind: 'substring', text: 'ÜNÏCØDÉ', caseInsensitive: true }],
  [{ kind: 'substring', text: 'disk full [worker-3]', caseInsensitive: false }],
];

async function answers(store: Store): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const match of MATCHES) {
    out.push(await searchAll(store, match));
    out.push(await store.histogram({ match, bucketMs: 60_000 }));
  }
  return out;
}

function blobs(file: string): Map<number, Buffer> {
  const db = new Database(file, { readonly: true });
  try {
    return new Map((db.prepare('SELECT id, data FROM segment_blobs').all() as { id: number; data: Buffer }[]).map((row) => [row.id, row.data]));
  } finally {
    db.close();
  }
}

it('answers the same after repacking, with smaller blobs, and repacks each segment once', async () => {
  const dir = newDir();
  const referenceDir = newDir();
  const all = requests();
  let store = await open(dir);
  const reference = await open(referenceDir, { repack: false });
  try {
    for (const request of all) {
      await store.prepareAppend(request);
      await store.append(request);
      await reference.append(request);
    }
    const before = await answers(store);
    expect(before).toEqual(await answers(reference));
    const toRepack = (await store.stats()).segmentsToRepack!;
    expect(toRepack).toBeGreaterThan(10);
    // Unsealed segments may still merge: they are left alone.
    expect(toRepack).toBeLessThan((await store.stats()).segments);
    const oldBlobs = blobs(join(dir, 'daniel.db'));
    await store.repacker!.runToEnd();
    // The work ran on a thread of the lowest priority (Linux keeps a nice value per thread).
    if (existsSync('/proc/thread-self')) {
      const nice = readdirSync('/proc/self/task').map((task) => Number(readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
      expect(nice).toContain(19);
    }
    const stats = await store.stats();
    expect(stats.segmentsToRepack).toBe(0);
    expect(stats.repack!.segments).toBe(toRepack);
    expect(stats.repack!.bytesAfter).toBeLessThan(stats.repack!.bytesBefore * 0.97);
    expect(await answers(store)).toEqual(before);
    // The same payload in every blob, in fewer bytes where it changed.
    const newBlobs = blobs(join(dir, 'daniel.db'));
    let changed = 0;
    for (const [id, blob] of newBlobs) {
      const old = oldBlobs.get(id)!;
      expect(decompressPayload(blob).equals(decompressPayload(old))).toBe(true);
      if (!blob.equals(old)) {
        changed++;
        expect(blob.length).toBeLessThan(old.length);
      }
    }
    expect(changed).toBe(toRepack);

    await store.close();
    store = await open(dir);
    expect((await store.stats()).segmentsToRepack).toBe(0);
    expect(await store.repacker!.runToEnd()).toBe(0);
    expect(await answers(store)).toEqual(before);
    // Appends after it (merging with the open segments) seal new segments, which are repacked in turn.
    for (const request of requests(16).slice(12)) {
      await store.append(request);
      await reference.append(request);
    }
    expect((await store.stats()).segmentsToRepack).toBeGreaterThan(0);
    await store.repacker!.runToEnd();
    expect((await store.stats()).segmentsToRepack).toBe(0);
    expect(await answers(store)).toEqual(await answers(reference));
  } finally {
    await store.close();
    await reference.close();
  }
}, 60_000);

it('repacks again, smaller, the segments a store of data format 3 had repacked (one level-9 frame)', async () => {
  const dir = newDir();
  const all = requests();
  let store = await open(dir);
  try {
    for (const request of all) await store.append(request);
    const before = await answers(store);
    const sealed = (await store.stats()).segmentsToRepack!;
    expect(sealed).toBeGreaterThan(10);
    await store.repacker!.runToEnd();
    await store.close();
    // As data format 3 left them: the same arrangement in one level-9 frame, the version 3.
    const db = new Database(join(dir, 'daniel.db'));
    const older = new Map<number, Buffer>();
    for (const [id, blob] of blobs(join(dir, 'daniel.db'))) {
      if (blob[1] !== 3) continue;
      const level9 = repackBlob(compressPayload(decompressPayload(blob)), 9, undefined, payloadTextStart)!;
      db.prepare('UPDATE segment_blobs SET data = ? WHERE id = ?').run(level9, id);
      older.set(id, level9);
    }
    db.pragma('user_version = 3');
    db.close();
    expect(older.size).toBeGreaterThan(10);
    store = await open(dir);
    // The upgrade forgot what was repacked: every sealed segment is to repack again.
    expect((await store.stats()).segmentsToRepack).toBe(sealed);
    await store.repacker!.runToEnd();
    expect((await store.stats()).segmentsToRepack).toBe(0);
    let smaller = 0;
    let bytesBefore = 0;
    let bytesAfter = 0;
    for (const [id, blob] of blobs(join(dir, 'daniel.db'))) {
      const old = older.get(id);
      if (old === undefined) continue;
      expect(decompressPayload(blob).equals(decompressPayload(old))).toBe(true);
      expect(blob.length).toBeLessThanOrEqual(old.length); // a blob that would not shrink is left as it was
      if (blob.length < old.length) smaller++;
      bytesBefore += old.length;
      bytesAfter += blob.length;
    }
    expect(smaller).toBeGreaterThan(older.size * 0.9);
    expect(bytesAfter).toBeLessThan(bytesBefore);
    expect(await answers(store)).toEqual(before);
  } finally {
    await store.close();
  }
}, 60_000);

/** Lines whose segments take many pages: numbers and ids that a level-1 frame leaves more of. */
function bulkyRequests(count: number): AppendRequest[] {
  let state = 20261205;
  const next = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const templates = ['Accepted connection from', 'Closing session for user', 'Request timed out after', 'Wrote block to disk at', 'Cache miss for key'];
  let offset = 0;
  return Array.from({ length: count }, (_, r) => {
    const lines: AppendLine[] = [];
    for (let i = 0; i < 4000; i++) {
      const k = r * 4000 + i;
      const line = `2026-12-04T10:${String((k >> 6) % 60).padStart(2, '0')}:${String(k % 60).padStart(2, '0')}.${next(1000)}Z ${WORDS[next(WORDS.length)]} [${templates[next(5)]}] ip=10.${next(256)}.${next(256)}.${next(256)} port=${next(65536)} bytes=${next(1_000_000)} id=${next(2 ** 24).toString(16)}`;
      lines.push({ offset, end: offset + Buffer.byteLength(line) + 1, timestamp: T0 + BigInt(k) * 1_000_000n, line, cut: false });
      offset += Buffer.byteLength(line) + 1;
    }
    return { host: 'h', receivedAt: T0 + BigInt(r), files: [{ fileId: 'bulk', filename: 'bulk.log', path: '/bulk.log', lines }] };
  });
}

it('gives the freed pages back to the file system', async () => {
  const dir = newDir();
  const referenceDir = newDir();
  const policy = { sealBytes: 256 * 1024, directSealBytes: 128 * 1024 };
  const store = await open(dir, { policy });
  const reference = await open(referenceDir, { policy, repack: false });
  let saved: number;
  try {
    for (const request of bulkyRequests(8)) {
      await store.append(request);
      await reference.append(request);
    }
    await store.repacker!.runToEnd();
    const repack = (await store.stats()).repack!;
    saved = repack.bytesBefore - repack.bytesAfter;
    expect(saved).toBeGreaterThan(0.03 * repack.bytesBefore);
  } finally {
    await store.close();
    await reference.close();
  }
  // Pages are 8 KiB: most of what was saved leaves the file.
  const size = statSync(join(dir, 'daniel.db')).size;
  const referenceSize = statSync(join(referenceDir, 'daniel.db')).size;
  expect(referenceSize - size).toBeGreaterThan(saved / 2);
  const db = new Database(join(dir, 'daniel.db'), { readonly: true });
  try {
    expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
  } finally {
    db.close();
  }
}, 60_000);

it('works by itself once appends pause and no read runs, and not before', async () => {
  const store = await open(newDir(), { repack: { idleMs: 300, readPauseMs: 50 } });
  try {
    for (const request of requests(8)) await store.append(request);
    // Appends just ended, then a read is held open (as a long search is): nothing meanwhile.
    expect((await store.stats()).repack!.segments).toBe(0);
    store.activity.readStarted();
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await store.stats()).repack!.segments).toBe(0);
    store.activity.readEnded();
    const deadline = Date.now() + 20_000;
    while ((await store.stats()).segmentsToRepack! > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await store.stats()).segmentsToRepack).toBe(0);
    expect((await store.stats()).repack!.segments).toBeGreaterThan(5);
  } finally {
    await store.close();
  }
}, 60_000);

/** A data dir holding the first `count` of requests(), its store closed, and how many sealed segments it had to repack. */
async function closedStore(count: number): Promise<{ dir: string; toRepack: number }> {
  const dir = newDir();
  const store = await open(dir);
  try {
    for (const request of requests(count)) await store.append(request);
    return { dir, toRepack: (await store.stats()).segmentsToRepack! };
  } finally {
    await store.close();
  }
}

it('writes nothing over a segment that went or changed while its repack ran', async () => {
  const { dir } = await closedStore(4);
  const db = new Database(join(dir, 'daniel.db'));
  try {
    const segments = new SqliteSegments(db, () => 0);
    const [gone, changed, kept] = segments.toRepackNext(3);
    expect(kept).toBeDefined();
    const goneBlob = segments.dataNow(gone!.id);
    const changedBlob = segments.dataNow(changed!.id);
    // Retention takes one segment; the other's blob is no longer the bytes the repack read.
    segments.remove(gone!.id);
    expect(segments.saveRepacked(gone!, goneBlob, repackBlob(goneBlob))).toBe(false);
    const other = repackBlob(changedBlob)!;
    expect(segments.saveRepacked(changed!, other, repackBlob(other) ?? other)).toBe(false);
    expect(segments.dataNow(changed!.id).equals(changedBlob)).toBe(true);
    // Neither counts as repacked; the segment that stayed as read is written.
    expect(segments.toRepackNext(10).map((segment) => segment.id)).toContain(changed!.id);
    const keptBlob = segments.dataNow(kept!.id);
    expect(segments.saveRepacked(kept!, keptBlob, repackBlob(keptBlob))).toBe(true);
    expect(segments.toRepackNext(10).map((segment) => segment.id)).not.toContain(kept!.id);
  } finally {
    db.close();
  }
});

it('repacks blobs of the older codecs as Zstandard, and leaves a blob that would not shrink', () => {
  const payload = Buffer.from(Array.from({ length: 3000 }, (_, i) => `line ${i % 17} ERROR disk full user=${i % 13}\n`).join(''));
  const deflated = deflateBlob(payload);
  const brotli = brotliBlob(payload);
  expect(decompressPayload(repackBlob(brotli)!).equals(payload)).toBe(true);
  const repacked = repackBlob(deflated)!;
  expect(repacked[0]).toBe(0xff);
  expect(repacked[1]).toBe(2);
  expect(repacked.length).toBeLessThan(deflated.length);
  expect(decompressPayload(repacked).equals(payload)).toBe(true);
  expect(repackBlob(repacked)).toBeUndefined();
});

it('stops a segment in the worker within a chunk when asked, and repacks it whole when let be', async () => {
  const lines = bulkyRequests(2).flatMap((request) => request.files[0]!.lines.map((line) => `${line.line}\n`));
  const blob = compressPayload(Buffer.from(lines.join('')));
  expect(() => repackBlob(blob, 9, () => true)).toThrow(RepackStopped);
  const pool = new EncodePool(true);
  try {
    await pool.ready();
    // Level 19 takes a few hundred milliseconds over these ~1.5 MB: the interruption comes well before the end.
    const started = performance.now();
    const running = pool.repack(blob, 19);
    await new Promise((resolve) => setTimeout(resolve, 150));
    pool.interruptRepack();
    expect(await running).toBe('stopped');
    const interrupted = performance.now() - started;
    const whole = await pool.repack(blob, 19);
    expect(whole).toBeInstanceOf(Buffer);
    expect(decompressPayload(whole as Buffer).equals(decompressPayload(blob))).toBe(true);
    console.log(`repack at level 19: stopped after ${interrupted.toFixed(0)} ms, whole in ${(performance.now() - started - interrupted).toFixed(0)} ms`);
  } finally {
    await pool.close();
  }
}, 60_000);

it('passes over a blob that does not decode, and repacks the rest', async () => {
  const { dir, toRepack } = await closedStore(6);
  const db = new Database(join(dir, 'daniel.db'));
  const [damaged] = db.prepare('SELECT s.id AS id FROM segments s WHERE s.sealed = 1 ORDER BY s.id DESC LIMIT 1').all() as { id: number }[];
  // The newest, which the repacker takes first: it must go on past it.
  db.prepare('UPDATE segment_blobs SET data = ? WHERE id = ?').run(Buffer.from([0xff, 2, 5, 1, 2, 3]), damaged!.id);
  db.close();
  const store = await open(dir);
  try {
    await store.repacker!.runToEnd();
    const stats = await store.stats();
    expect(stats.repack!.segments).toBe(toRepack - 1);
    expect(stats.segmentsToRepack).toBe(1);
  } finally {
    await store.close();
  }
}, 60_000);
