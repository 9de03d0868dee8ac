import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync, appendFileSync } from 'node:fs';
import { EventLog } from './events.js';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableCrc32, crc32 } from './crc32.js';
import { promises as fsp } from 'node:fs';
import { Spool, SpoolCorruption, type SpoolPosition } from './spool.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-spool-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(spool: Spool): Promise<string[]> {
  const out: string[] = [];
  for (let r = await spool.next(); r; r = await spool.next()) out.push(r.payload.toString());
  return out;
}

function segments(): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();
}

describe('Spool', () => {
  it('replays records in order after a reopen, across segments', async () => {
    const spool = await Spool.open(dir, { segmentBytes: 64 });
    for (let i = 0; i < 10; i++) await spool.append(Buffer.from(`record-${i}-${'x'.repeat(i * 3)}`));
    await spool.close();
    expect(segments().length).toBeGreaterThan(1);
    const again = await Spool.open(dir, { segmentBytes: 64 });
    expect((await readAll(again)).map((r) => r.split('-x')[0]!.replace(/-$/, ''))).toEqual(Array.from({ length: 10 }, (_, i) => `record-${i}`));
    await again.close();
  });

  it('cuts off a torn tail and keeps the whole records before it', async () => {
    const spool = await Spool.open(dir);
    await spool.append(Buffer.from('one'));
    await spool.append(Buffer.from('two'));
    await spool.close();
    const file = path.join(dir, segments()[0]!);
    const size = statSync(file).size;
    truncateSync(file, size - 2);
    const events = new EventLog();
    const again = await Spool.open(dir, { log: events.log });
    expect(await readAll(again)).toEqual(['one']);
    expect(events.named('spool_segment_cut')).toEqual([{ event: 'spool_segment_cut', fields: expect.objectContaining({ valid: expect.any(Number), size: size - 2 }) }]);
    // And appending after the cut works.
    await again.append(Buffer.from('three'));
    expect(await readAll(again)).toEqual(['three']);
    await again.close();
  });

  it('stops at a record whose checksum does not match', async () => {
    const spool = await Spool.open(dir);
    for (const r of ['aaa', 'bbb', 'ccc']) await spool.append(Buffer.from(r));
    await spool.close();
    const file = path.join(dir, segments()[0]!);
    const bytes = readFileSync(file);
    bytes[8 + 3 + 8 + 1] = 0x7a; // inside 'bbb'
    writeFileSync(file, bytes);
    const again = await Spool.open(dir);
    expect(await readAll(again)).toEqual(['aaa']);
    await again.close();
  });

  it('survives garbage appended after the last record', async () => {
    const spool = await Spool.open(dir);
    await spool.append(Buffer.from('ok'));
    await spool.close();
    appendFileSync(path.join(dir, segments()[0]!), Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3]));
    const again = await Spool.open(dir);
    expect(await readAll(again)).toEqual(['ok']);
    await again.close();
  });

  it('skips released records on reopen and deletes fully released segments', async () => {
    const spool = await Spool.open(dir, { segmentBytes: 32 });
    const positions = [];
    for (let i = 0; i < 6; i++) await spool.append(Buffer.from(`r${i}-padding-padding`));
    for (let r = await spool.next(); r; r = await spool.next()) positions.push(r.position);
    await spool.release(positions[3]!);
    await spool.close();
    const again = await Spool.open(dir, { segmentBytes: 32, releasedUpTo: positions[3] });
    expect((await readAll(again)).map((s) => s.slice(0, 2))).toEqual(['r4', 'r5']);
    expect(segments().length).toBeLessThanOrEqual(3);
    // New segments continue numbering after the released position, never reusing a number.
    await again.append(Buffer.from('new'));
    expect(await readAll(again)).toEqual(['new']);
    await again.close();
  });

  it('says when it is full', async () => {
    const spool = await Spool.open(dir, { maxBytes: 100 });
    expect(spool.isFull).toBe(false);
    await spool.append(Buffer.alloc(120));
    expect(spool.isFull).toBe(true);
    await spool.close();
  });

  it('counts only unreleased bytes, so releasing everything makes room again (the write segment too)', async () => {
    // The default segment is far larger than the limit: the write segment is never closed by size.
    const spool = await Spool.open(dir, { maxBytes: 1000, segmentBytes: 64 * 1024 * 1024 });
    for (let i = 0; i < 5; i++) await spool.append(Buffer.alloc(300, i));
    expect(spool.isFull).toBe(true);
    let last: SpoolPosition = { segment: 0, offset: 0 };
    for (let r = await spool.next(); r; r = await spool.next()) last = r.position;
    await spool.release(last);
    expect(spool.sizeBytes).toBe(0);
    expect(spool.isFull).toBe(false);
    expect(spool.isEmpty).toBe(true);
    // The released write segment is gone from disk; the next append starts a new one.
    expect(segments()).toEqual([]);
    await spool.append(Buffer.from('after'));
    expect(await readAll(spool)).toEqual(['after']);
    expect(spool.sizeBytes).toBe(8 + 5);
    await spool.close();
    const again = await Spool.open(dir, { maxBytes: 1000, releasedUpTo: last });
    expect(await readAll(again)).toEqual(['after']);
    await again.close();
  });

  it('counts a partly released segment by what is left of it', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1000, segmentBytes: 64 * 1024 * 1024 });
    for (let i = 0; i < 4; i++) await spool.append(Buffer.alloc(100, i));
    const first = await spool.next();
    await spool.release(first!.position);
    expect(spool.sizeBytes).toBe(3 * 108);
    await spool.close();
  });

  it('sizes segments to a fraction of a small limit, so released bytes leave the disk', async () => {
    const spool = await Spool.open(dir, { maxBytes: 64 * 1024 });
    let last: SpoolPosition = { segment: 0, offset: 0 };
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 4; i++) await spool.append(Buffer.alloc(3000, i));
      for (let r = await spool.next(); r; r = await spool.next()) last = r.position;
      await spool.release(last);
    }
    await spool.append(Buffer.alloc(3000));
    const onDisk = segments().reduce((n, s) => n + statSync(path.join(dir, s)).size, 0);
    expect(onDisk).toBeLessThan(2 * 3008 + 1);
    await spool.close();
  });

  it('has room for a record while it fits under the limit, and always when empty', async () => {
    const spool = await Spool.open(dir, { maxBytes: 1000 });
    expect(spool.hasRoomFor(5000)).toBe(true);
    await spool.append(Buffer.alloc(600));
    expect(spool.hasRoomFor(300)).toBe(true);
    expect(spool.hasRoomFor(500)).toBe(false);
    const waited = spool.waitForRoom(500);
    let resolved = false;
    void waited.then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    const r = await spool.next();
    await spool.release(r!.position);
    await waited;
    expect(spool.hasRoomFor(500)).toBe(true);
    await spool.close();
  });

  it('a short write (a full disk: writev returns short, no error) fails the append and leaves only whole records', async () => {
    const spool = await Spool.open(dir);
    await spool.append(Buffer.from('one'));
    const probe = await fsp.open(path.join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { writev: (buffers: Buffer[], position: number) => Promise<{ bytesWritten: number }> };
    await probe.close();
    const real = proto.writev;
    // As ENOSPC does: part of the bytes reach the file, the call reports how many.
    proto.writev = async function (this: unknown, buffers: Buffer[], position: number) {
      proto.writev = real;
      const whole = Buffer.concat(buffers);
      return real.call(this, [whole.subarray(0, 5)], position);
    };
    try {
      await expect(spool.append(Buffer.from('two'))).rejects.toThrow(/short write/);
    } finally {
      proto.writev = real;
    }
    const file = path.join(dir, segments()[0]!);
    expect(statSync(file).size).toBe(8 + 3);
    await spool.append(Buffer.from('three'));
    expect(await readAll(spool)).toEqual(['one', 'three']);
    await spool.close();
  });

  it('never hands out a record whose checksum fails when read (the disk changed it after the write)', async () => {
    const spool = await Spool.open(dir);
    for (const r of ['aaa', 'bbb']) await spool.append(Buffer.from(r));
    const file = path.join(dir, segments()[0]!);
    const bytes = readFileSync(file);
    bytes[8 + 3 + 8 + 1] = 0x7a; // inside 'bbb'
    writeFileSync(file, bytes);
    expect((await spool.next())?.payload.toString()).toBe('aaa');
    await expect(spool.next()).rejects.toThrow(SpoolCorruption);
    await spool.close();
  });

  it('a corrupt record in a segment that is not the last ends the spool there: later segments are deleted', async () => {
    const spool = await Spool.open(dir, { segmentBytes: 64 });
    for (let i = 0; i < 12; i++) await spool.append(Buffer.from(`record-${i}-${'x'.repeat(20)}`));
    await spool.close();
    const all = segments();
    expect(all.length).toBeGreaterThan(3);
    const file = path.join(dir, all[1]!);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const events = new EventLog();
    const again = await Spool.open(dir, { segmentBytes: 64, log: events.log });
    const left = await readAll(again);
    expect(left.length).toBeGreaterThan(0);
    expect(left).toEqual(Array.from({ length: left.length }, (_, i) => `record-${i}-${'x'.repeat(20)}`));
    expect(segments()).toEqual(all.slice(0, 2));
    expect(events.has('spool_segment_deleted')).toBe(true);
    await again.close();
  });

  it('a missing segment in the middle ends the spool before it', async () => {
    const spool = await Spool.open(dir, { segmentBytes: 64 });
    for (let i = 0; i < 12; i++) await spool.append(Buffer.from(`record-${i}-${'x'.repeat(20)}`));
    await spool.close();
    const all = segments();
    rmSync(path.join(dir, all[1]!));
    const again = await Spool.open(dir, { segmentBytes: 64 });
    const left = await readAll(again);
    expect(left).toEqual(Array.from({ length: left.length }, (_, i) => `record-${i}-${'x'.repeat(20)}`));
    expect(segments()).toEqual(all.slice(0, 1));
    await again.close();
  });

  it('uses a CRC-32 that agrees with the table version', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    expect(tableCrc32(data)).toBe(0x414fa339);
    expect(crc32(data)).toBe(0x414fa339);
  });
});
