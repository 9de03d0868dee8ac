/**
 * Segment blobs as older Daniels wrote them, for tests that hold every codec side by side:
 * raw deflate (level 1) behind the container header (segment/compression.ts: 0xFF, codec 1,
 * the payload's length as a varint), and the bare brotli (quality 1) stream before it.
 */
import { brotliCompressSync, constants, deflateRawSync } from 'node:zlib';

export function deflateBlob(payload: Buffer): Buffer {
  const header = [0xff, 1];
  for (let value = payload.length; ; value = Math.floor(value / 0x80)) {
    if (value < 0x80) {
      header.push(value);
      break;
    }
    header.push((value % 0x80) | 0x80);
  }
  return Buffer.concat([Buffer.from(header), deflateRawSync(payload, { level: 1 })]);
}

export function brotliBlob(payload: Buffer): Buffer {
  return brotliCompressSync(payload, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
}
