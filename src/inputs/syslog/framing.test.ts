import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deframer } from './framing.js';

function deframe(chunks: (string | Buffer)[], max?: number): { frame: string; cut: boolean }[] {
  const frames: { frame: string; cut: boolean }[] = [];
  const deframer = new Deframer((frame, cut) => frames.push({ frame: frame.toString('utf8'), cut }), max);
  for (const chunk of chunks) deframer.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  deframer.end();
  return frames;
}
const texts = (frames: { frame: string }[]): string[] => frames.map((f) => f.frame);

describe('RFC 6587 framing', () => {
  it('reads octet-counted frames, which may hold LFs', () => {
    expect(texts(deframe(['11 <13>1 - a\nb5 hello']))).toEqual(['<13>1 - a\nb', 'hello']);
  });

  it('reads LF-framed frames, with CRLF and blank lines between', () => {
    expect(texts(deframe(['<13>a\n\n<13>b\r\n<13>c']))).toEqual(['<13>a', '<13>b\r', '<13>c']);
  });

  it('mixes both on one connection and across any split of the bytes', () => {
    const stream = '<13>first\n12 <13>counted!\n<13>last\n5 12345';
    const want = ['<13>first', '<13>counted!', '<13>last', '12345'];
    for (let split = 0; split <= stream.length; split++) {
      expect(texts(deframe([stream.slice(0, split), stream.slice(split)]))).toEqual(want);
    }
    expect(texts(deframe([...stream].map((char) => char)))).toEqual(want);
  });

  it('reads a frame starting with digits but no space after them as LF-framed (Cisco without PRI)', () => {
    expect(texts(deframe(['42: %SYS-5-CONFIG_I: x\n7 <13>abc']))).toEqual(['42: %SYS-5-CONFIG_I: x', '<13>abc']);
  });

  it('cuts a frame over the bound and goes on with the next one', () => {
    const long = 'x'.repeat(100);
    expect(deframe([`<13>${long}\n<13>next\n`], 32)).toEqual([
      { frame: `<13>${long}`.slice(0, 32), cut: true },
      { frame: '<13>next', cut: false },
    ]);
    expect(deframe([`104 <13>${long}`, '6 <13>ok'], 32)).toEqual([
      { frame: `<13>${long}`.slice(0, 32), cut: true },
      { frame: '<13>ok', cut: false },
    ]);
  });

  it('keeps long LF-framed messages whole under the bound', () => {
    const long = 'y'.repeat(50_000);
    const chunks = [`<13>${long.slice(0, 20_000)}`, `${long.slice(20_000)}\n`];
    expect(texts(deframe(chunks))).toEqual([`<13>${long}`]);
  });

  it('holds at most one bound plus one read whatever arrives', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 30 }), (chunks) => {
        let total = 0;
        const deframer = new Deframer((frame) => {
          expect(frame.length).toBeLessThanOrEqual(64);
          total += frame.length;
        }, 64);
        for (const chunk of chunks) {
          deframer.push(Buffer.from(chunk));
          expect(deframer.buffered).toBeLessThanOrEqual(64 + 200);
        }
        deframer.end();
        expect(total).toBeLessThanOrEqual(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
      }),
    );
  });
});
