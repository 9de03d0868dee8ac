import { describe, expect, it } from 'vitest';
import { decodeFieldStats, encodeFieldStats, FieldStatsBuilder, floorMs, MAX_STAT_NAMES, MAX_STAT_VALUES, packFieldStats, unpackedLength, type FieldStats } from './field-stats.js';
import { packRecord, unpackRecord } from '../segment/compression.js';

/** The statistics as plain data: names, lines, values with their counts and spans, in order. */
function view(stats: FieldStats): { minSeq: number; maxSeq: number; lines: number; allNames: boolean; fields: unknown[] } {
  const fields = [...stats.fields].map(([name, stat]) => [name, stat.lines, stat.values && [...stat.values], stat.spans?.entries()]);
  return { minSeq: stats.minSeq, maxSeq: stats.maxSeq, lines: stats.lines, allNames: stats.allNames, fields };
}

describe('field statistics', () => {
  it('count lines per field and per value, and read back as written', () => {
    const builder = new FieldStatsBuilder();
    builder.add({ level: 'error', service: 'api', 'ü': 'ö😀' });
    builder.add({ level: 'info', service: 'api' });
    builder.add({ level: 'error', host: 'from-text', file: 'x' });
    builder.add({});
    const stats = builder.finish(10, 13);
    expect(stats.lines).toBe(4);
    expect(stats.allNames).toBe(true);
    // host and file are the segment's, never counted from the lines
    expect([...stats.fields.keys()]).toEqual(['level', 'service', 'ü']);
    expect(stats.fields.get('level')!.lines).toBe(3);
    expect(new Map(stats.fields.get('level')!.values)).toEqual(new Map([['error', 2], ['info', 1]]));
    expect([stats.fields.get('level')!.values!.get('info'), stats.fields.get('level')!.values!.get('warn')]).toEqual([1, undefined]);
    expect(view(decodeFieldStats(encodeFieldStats(stats))!)).toEqual(view(stats));
  });

  it('read back packed (the rest after the flags compressed) only with the unpacker, and refuse a damaged packed row', () => {
    const builder = new FieldStatsBuilder();
    for (let i = 0; i < 500; i++) builder.add({ level: i % 7 === 0 ? 'error' : 'info', service: `api-${i % 5}`, user: `user${i % 40}` }, BigInt(i) * 1_000_000n);
    const stats = builder.finish(1, 500, undefined);
    const encoded = encodeFieldStats(stats);
    const packed = packFieldStats(encoded, packRecord);
    expect(packed.length).toBeLessThan(encoded.length);
    expect(packed[0]).toBe(encoded[0]); // the version stays first: the indexer lists older rows by it
    expect(unpackedLength(packed)).toBe(encoded.length);
    expect(view(decodeFieldStats(packed, unpackRecord)!)).toEqual(view(stats));
    expect(decodeFieldStats(packed)).toBeUndefined();
    expect(packFieldStats(packed, packRecord)).toBe(packed); // packed once
    for (let i = 2; i < packed.length; i += 7) {
      const broken = Buffer.from(packed);
      broken[i] = broken[i]! ^ 0x55;
      const decoded = decodeFieldStats(broken, unpackRecord);
      expect(decoded).toBeUndefined(); // the frame's checksum: a flip never passes as other statistics
    }
    // A row that packing does not shrink is kept as it was.
    const tiny = encodeFieldStats(new FieldStatsBuilder().finish(1, 1));
    expect(packFieldStats(tiny, packRecord)).toBe(tiny);
  });

  it('stop keeping the values of a field past the caps, and names past theirs', () => {
    const builder = new FieldStatsBuilder();
    for (let i = 0; i <= MAX_STAT_VALUES; i++) builder.add({ id: `v${i}`, level: 'info', long: 'x'.repeat(i === 3 ? 65 : 1) });
    for (let i = 0; i <= MAX_STAT_NAMES; i++) builder.add({ [`n${i}`]: '1' });
    const stats = builder.finish(1, 2);
    expect(stats.fields.get('id')).toEqual({ lines: MAX_STAT_VALUES + 1, values: undefined });
    expect(stats.fields.get('long')).toEqual({ lines: MAX_STAT_VALUES + 1, values: undefined });
    expect(new Map(stats.fields.get('level')!.values)).toEqual(new Map([['info', MAX_STAT_VALUES + 1]]));
    expect(stats.allNames).toBe(false);
    expect(stats.fields.size).toBe(MAX_STAT_NAMES);
    expect(view(decodeFieldStats(encodeFieldStats(stats))!)).toEqual(view(stats));
  });

  it('keep the time of the first and last line of each value, floored to the millisecond, at both ends of time', () => {
    const builder = new FieldStatsBuilder();
    builder.add({ level: 'error', service: 'api' }, 5_000_999_999n);
    builder.add({ level: 'info' }, -9_223_372_036_854_775_808n);
    builder.add({ level: 'error' }, 9_223_372_036_854_775_807n);
    builder.add({ level: 'error', service: 'api' }, 4_000_000_000n);
    const stats = builder.finish(1, 4);
    const level = [
      ['error', { firstMs: 4_000, lastMs: 9_223_372_036_854 }],
      ['info', { firstMs: -9_223_372_036_855, lastMs: -9_223_372_036_855 }],
    ];
    const service = [['api', { firstMs: 4_000, lastMs: 5_000 }]];
    const decoded = decodeFieldStats(encodeFieldStats(stats))!;
    for (const read of [stats, decoded]) {
      expect(read.fields.get('level')!.spans!.entries()).toEqual(level);
      expect(read.fields.get('service')!.spans!.entries()).toEqual(service);
      // Each value's span by its name, from the one array the fields share.
      expect(read.fields.get('level')!.spans!.get('info')).toEqual(level[1]![1]);
      expect(read.fields.get('service')!.spans!.get('api')).toEqual(service[0]![1]);
      expect(read.fields.get('level')!.spans!.get('api')).toBeUndefined();
    }
    expect(view(decoded)).toEqual(view(stats));
    expect([floorMs(0n), floorMs(999_999n), floorMs(-1n), floorMs(-1_000_000n), floorMs(-1_000_001n)]).toEqual([0, 0, -1, -1, -2]);
  });

  it('keep no spans when a line came without its time, and read statistics written without them', () => {
    const builder = new FieldStatsBuilder();
    builder.add({ level: 'error' }, 1n);
    builder.add({ level: 'error' });
    const stats = builder.finish(1, 2);
    expect(view(stats).fields).toEqual([['level', 2, [['error', 2]], undefined]]);
    const decoded = decodeFieldStats(encodeFieldStats(stats))!;
    expect(decoded.fields.get('level')!.spans).toBeUndefined();
    expect(view(decoded)).toEqual(view(stats));
  });

  it('read damaged or unknown bytes as no statistics', () => {
    const bytes = encodeFieldStats(new FieldStatsBuilder().finish(1, 1));
    expect(decodeFieldStats(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(decodeFieldStats(Buffer.concat([bytes, Buffer.from([0])]))).toBeUndefined();
    expect(decodeFieldStats(Buffer.from([9, 0, 0]))).toBeUndefined();
    expect(decodeFieldStats(Buffer.alloc(0))).toBeUndefined();
  });
});
