import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from './sha256.js';

const nodeSha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

describe('sha256Hex', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('agrees with node:crypto at every length around the block and padding edges', () => {
    for (let length = 0; length <= 300; length++) {
      const bytes = randomBytes(length);
      expect(sha256Hex(bytes)).toBe(nodeSha256(bytes));
    }
    for (const length of [1023, 1024, 1025, 4096, 100_000]) {
      const bytes = randomBytes(length);
      expect(sha256Hex(bytes)).toBe(nodeSha256(bytes));
    }
  });

  it('hashes a subarray by its own bytes, and a string as its UTF-8', () => {
    const bytes = randomBytes(2000);
    expect(sha256Hex(bytes.subarray(7, 1031))).toBe(nodeSha256(bytes.subarray(7, 1031)));
    for (const text of ['/var/log/åäö/日本語.log', 'emoji 🎉 and a lone surrogate \ud800 here', 'x'.repeat(5000)]) {
      expect(sha256Hex(text)).toBe(nodeSha256(text));
    }
  });
});
