import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { ZstdStreamDecoder } from './zstd.js';

/** `parts` as frames end to end; every other frame without its size in its header (as a streaming sender writes it). */
function frames(parts: Buffer[]): Buffer {
  return Buffer.concat(parts.map((part, i) => (i % 2 === 0 ? compress(part, { compressionLevel: 1 }) : compress(part, { compressionLevel: 1, contentSizeFlag: false }))));
}

function decode(stream: Buffer, cuts: number[], limit: number): Buffer | 'too large' {
  const decoder = new ZstdStreamDecoder(limit);
  let at = 0;
  for (const cut of [...cuts.filter((c) => c < stream.length).sort((a, b) => a - b), stream.length]) {
    if (!decoder.write(stream.subarray(at, cut))) return 'too large';
    at = cut;
  }
  decoder.end();
  return Buffer.from(decoder.bytes());
}

describe('a Zstandard body decoded into one buffer', () => {
  it('is the bytes sent, however the stream is cut, until it passes the limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 400_000 }).map((n) => new Uint8Array(n).fill(0x30))), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat({ max: 5000 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (parts, cuts, limit) => {
          const plain = parts.map((part) => Buffer.from(part));
          const whole = Buffer.concat(plain);
          const answer = decode(frames(plain), cuts, limit);
          if (whole.length > limit) expect(answer).toBe('too large');
          else expect((answer as Buffer).equals(whole)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws on bytes that are not Zstandard, and on a stream cut inside a frame', () => {
    expect(() => new ZstdStreamDecoder(1000).write(Buffer.from('{"not":"zstd"}'))).toThrow();
    const frame = frames([Buffer.from('x'.repeat(100))]);
    const cut = new ZstdStreamDecoder(1000);
    cut.write(frame.subarray(0, frame.length - 2));
    expect(() => cut.end()).toThrow('inside a frame');
  });
});
