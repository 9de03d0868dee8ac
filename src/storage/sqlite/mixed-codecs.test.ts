/**
 * A store upgraded from data format 1 holds segments of every codec at once: brotli (the
 * first), raw deflate (format 1), Zstandard (format 2) and, once repacked, Zstandard over
 * variable columns (format 3); and blooms of format 4 (one array, before data format 4) beside
 * format 5's (two). Appends that merge with old unsealed segments, searches, histograms and
 * counts must not care which codec or bloom a segment has.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { compressPayload, decompressPayload, repackBlob } from '../../segment/compression.js';
import { payloadTextStart } from '../../segment/codec.js';
import { buildTrigramBloom } from '../../segment/bloom.js';
import type { AppendLine, AppendRequest, Matcher, Store } from '../store.js';
import { SqliteStore } from './sqlite-store.js';
import { brotliBlob, deflateBlob } from '../../../test/lib/segment-blobs.js';

const T0 = 1_700_000_000_000_000_000n;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(dataDir: string): Promise<SqliteStore> {
  // Small seal sizes: runs are cut into several segments and small ones stay open to merge.
  // No repacking: it would turn the older codecs' blobs into Zstandard under the test (repacker.test.ts covers that).
  return SqliteStore.open({ dataDir, encodeWorker: false, policy: { sealBytes: 24 * 1024, directSealBytes: 12 * 1024 }, fieldStats: false, repack: false });
}

const WORDS = ['ERROR', 'info', 'disk full', 'ünïcødé', 'req_id=42', 'timeout', 'GET /index.html'];

function requests(): AppendRequest[] {
  const out: AppendRequest[] = [];
  const offsets = [0, 0];
  for (let r = 0; r < 30; r++) {
    const files = [0, 1].map((file) => {
      const lines: AppendLine[] = [];
      const count = r % 3 === 0 ? 400 : 25;
      for (let i = 0; i < count; i++) {
        const n = r * 1000 + i;
        const line = `f${file} n${n} ${WORDS[n % WORDS.length]} ${WORDS[(n * 7 + file) % WORDS.length]}`;
        const offset = offsets[file]!;
        offsets[file] = offset + Buffer.byteLength(line) + 1;
        lines.push({ offset, end: offsets[file], timestamp: T0 + BigInt(n) * 1_000_000n, line, cut: false });
      }
      return { fileId: `id${file}`, filename: `f${file}.log`, path: `/f${file}.log`, lines };
    });
    out.push({ host: 'h', receivedAt: T0 + BigInt(r), files });
  }
  return out;
}

/**
 * Every blob as an older Daniel wrote it: raw deflate (format 1) or, every third, brotli; and
 * every third sealed one as the repacker leaves it instead (variable columns, format 3: the
 * repacker takes only sealed segments).
 */
function rewriteAsOlderCodecs(file: string): number {
  const db = new Database(file);
  try {
    const rows = db.prepare('SELECT b.id AS id, b.data AS data, s.sealed AS sealed FROM segment_blobs b JOIN segments s USING (id) ORDER BY b.id').all() as { id: number; data: Buffer; sealed: number }[];
    const update = db.prepare('UPDATE segment_blobs SET data = ? WHERE id = ?');
    const updateBloom = db.prepare('UPDATE segment_blobs SET bloom = ? WHERE id = ?');
    let sealedSeen = 0;
    rows.forEach(({ id, data, sealed }, i) => {
      const payload = decompressPayload(data);
      const older = i % 3 === 2 ? 'brotli' : 'deflate';
      const repacked = sealed === 1 && sealedSeen++ % 3 === 1 ? repackBlob(compressPayload(payload), 9, undefined, payloadTextStart) : undefined;
      update.run(repacked ?? (older === 'brotli' ? brotliBlob(payload) : deflateBlob(payload)), id);
      // Every other bloom as data format 3 wrote it (format 4; the lines carry no fields: the bloom is the text's).
      if (i % 2 === 0) updateBloom.run(buildTrigramBloom(payload.subarray(payloadTextStart(payload)), 4), id);
    });
    return rows.length;
  } finally {
    db.close();
  }
}

function codecsOf(file: string): Set<string> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT data FROM segment_blobs').all() as { data: Buffer }[];
    return new Set(rows.map(({ data }) => (data[0] === 0xff ? `codec ${data[1]}` : 'brotli')));
  } finally {
    db.close();
  }
}

function bloomFormatsOf(file: string): Set<number> {
  const db = new Database(file, { readonly: true });
  try {
    return new Set(db.prepare<[], Buffer>('SELECT bloom FROM segment_blobs').pluck().all().map((bloom) => bloom[bloom.length - 1]!));
  } finally {
    db.close();
  }
}

async function searchAll(store: Store, match: Matcher[]): Promise<string[]> {
  const found: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.search({ order: 'desc', limit: 300, match, ...(cursor === undefined ? {} : { cursor }) });
    found.push(...page.lines.map((line) => `${line.fileId}@${line.offset}:${line.line}`));
    if (page.nextCursor === undefined) return found;
    cursor = page.nextCursor;
  }
}

it('reads, merges into and counts segments of brotli, deflate, Zstandard and variable columns side by side', async () => {
  const upgradedDir = mkdtempSync(join(tmpdir(), 'daniel-codecs-'));
  const referenceDir = mkdtempSync(join(tmpdir(), 'daniel-codecs-'));
  dirs.push(upgradedDir, referenceDir);
  const all = requests();
  const reference = await open(referenceDir);
  let upgraded = await open(upgradedDir);
  try {
    for (const request of all) await reference.append(request);
    for (const request of all.slice(0, 20)) await upgraded.append(request);
    await upgraded.close();
    expect(rewriteAsOlderCodecs(join(upgradedDir, 'daniel.db'))).toBeGreaterThan(4);
    upgraded = await open(upgradedDir);
    // The rest merges with the older, still open segments: they are decoded and written again.
    for (const request of all.slice(20)) await upgraded.append(request);
    expect(codecsOf(join(upgradedDir, 'daniel.db'))).toEqual(new Set(['brotli', 'codec 1', 'codec 2', 'codec 3']));
    expect(bloomFormatsOf(join(upgradedDir, 'daniel.db'))).toEqual(new Set([4, 5]));
    for (const match of [[], [{ kind: 'substring', text: 'ERROR', caseInsensitive: false }], [{ kind: 'substring', text: 'ÜNÏCØDÉ', caseInsensitive: true }], [{ kind: 'substring', text: 'disk full req', caseInsensitive: false }]] as Matcher[][]) {
      expect(await searchAll(upgraded, match)).toEqual(await searchAll(reference, match));
      const histogram = { match, bucketMs: 1_000 };
      expect(await upgraded.histogram(histogram)).toEqual(await reference.histogram(histogram));
    }
    expect((await upgraded.stats()).lines).toBe(all.reduce((sum, request) => sum + request.files.reduce((n, f) => n + f.lines.length, 0), 0));
  } finally {
    await upgraded.close();
    await reference.close();
  }
}, 60_000);
