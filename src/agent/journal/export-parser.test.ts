import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExportParser, type ExportEntry } from './export-parser.js';

const SID = '0123456789abcdef0123456789abcdef';

function binary(key: string, value: Buffer): Buffer {
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(value.length));
  return Buffer.concat([Buffer.from(`${key}\n`), size, value, Buffer.from('\n')]);
}

function entry(seq: number, message: string | Buffer, more = ''): Buffer {
  const head = Buffer.from(`__CURSOR=s=${SID};i=${seq.toString(16)};b=ff;m=1;t=2;x=3\n__REALTIME_TIMESTAMP=${1_700_000_000_000_000 + seq}\n_BOOT_ID=ab\n`);
  const msg = typeof message === 'string' ? Buffer.from(`MESSAGE=${message}\n`) : binary('MESSAGE', message);
  return Buffer.concat([head, msg, Buffer.from(`${more}\n`)]);
}

function parseAll(chunks: Buffer[], maxMessageBytes = 1024, maxHeldBytes?: number): ExportEntry[] {
  const parser = new ExportParser({ maxMessageBytes, maxHeldBytes });
  const out: ExportEntry[] = [];
  for (const c of chunks) parser.push(c, (e) => out.push(e));
  return out;
}

describe('ExportParser', () => {
  it('reads the fields Henrik ships, text and binary, and steps over the rest', () => {
    const data = Buffer.concat([
      entry(1, 'hello', 'PRIORITY=3\n_SYSTEMD_UNIT=nginx.service\nSYSLOG_IDENTIFIER=nginx\n_PID=42\n_COMM=nginx\nOTHER=a=b\n'),
      entry(0x1f, Buffer.from([0x61, 0xff, 0x0a, 0x62]), `${binary('BLOB', Buffer.from([0, 1, 10, 10, 0])).toString('latin1')}PRIORITY=9\n`),
    ]);
    const [a, b] = parseAll([Buffer.from(data.toString('latin1'), 'latin1')]);
    expect(a).toMatchObject({ seqnumId: SID, seqnum: 1, realtime: '1700000000000001', message: 'hello', priority: 3, unit: 'nginx.service', identifier: 'nginx', pid: '42', comm: 'nginx', truncated: false });
    expect(b).toMatchObject({ seqnum: 0x1f, message: 'a\ufffd\nb', priority: -1, unit: undefined });
  });

  it('gives the same entries however the output is cut into chunks', () => {
    const data = Buffer.concat([entry(1, 'one', 'PRIORITY=6\n'), entry(2, Buffer.from('two\nlines\xff', 'latin1')), entry(3, 'x'.repeat(300), '_PID=7\n')]);
    const whole = parseAll([data]);
    expect(whole).toHaveLength(3);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 20 }), (cuts) => {
        const points = [0, ...cuts.sort((x, y) => x - y), data.length];
        const chunks = points.slice(1).map((end, i) => data.subarray(points[i], end));
        expect(parseAll(chunks)).toEqual(whole);
      }),
    );
  });

  it('cuts a MESSAGE over the limit and does not hold a long binary value whole', () => {
    const long = Buffer.alloc(100_000, 0x41);
    const data = Buffer.concat([entry(1, long), entry(2, 'after')]);
    const pieces: Buffer[] = [];
    for (let i = 0; i < data.length; i += 4096) pieces.push(data.subarray(i, i + 4096));
    const parser = new ExportParser({ maxMessageBytes: 1000, maxHeldBytes: 5000 });
    const out: ExportEntry[] = [];
    let held = 0;
    for (const p of pieces) {
      parser.push(p, (e) => out.push(e));
      held = Math.max(held, parser.heldBytes);
    }
    expect(out.map((e) => [e.seqnum, e.message?.length, e.truncated])).toEqual([
      [1, 1000, true],
      [2, 5, false],
    ]);
    expect(held).toBeLessThan(10_000);
  });
});
