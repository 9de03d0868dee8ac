/**
 * The compression around a segment's payload. New blobs are raw deflate at level 1 behind a
 * small header; older blobs are a bare brotli (quality 1) stream and are still read.
 *
 * Why deflate: counting every match of a term decodes every candidate segment, so decoding
 * speed is what bounds it. Measured on the bench data (loghub-format lines, numbers varied):
 * inflate runs at ~630 MB/s of output against brotli's ~285 MB/s, for a ratio of 0.181
 * against 0.166 (the whole store stays under 0.3 of raw).
 *
 * Header: 0xFF | codec (1 = raw deflate) | varint payload length. A brotli stream from our
 * encoder (window 22) always starts with a byte whose low nibble is 0xB, never 0xFF. The
 * payload length lets decompression fill one exactly sized buffer in one pass.
 */
import { promisify } from 'node:util';
import { brotliDecompress, brotliDecompressSync, constants, deflateRawSync, inflateRaw, inflateRawSync } from 'node:zlib';

const inflateRawAsync = promisify(inflateRaw);
const brotliDecompressAsync = promisify(brotliDecompress);

const CONTAINER_MARK = 0xff;
const CODEC_DEFLATE = 1;
const DEFLATE_LEVEL = 1;
/** zlib's largest hash tables: measured ~5% faster to encode at level 1, same ratio. */
const DEFLATE_MEM_LEVEL = 9;

function containerHeader(payloadLength: number): Buffer {
  const header = [CONTAINER_MARK, CODEC_DEFLATE];
  for (let value = payloadLength; ; value = Math.floor(value / 0x80)) {
    if (value < 0x80) {
      header.push(value);
      break;
    }
    header.push((value % 0x80) | 0x80);
  }
  return Buffer.from(header);
}

function deflateOptions(bytes: number, finishFlush?: number): { level: number; memLevel: number; chunkSize: number; finishFlush?: number } {
  return { level: DEFLATE_LEVEL, memLevel: DEFLATE_MEM_LEVEL, chunkSize: Math.max(64 << 10, bytes >>> 2), ...(finishFlush === undefined ? {} : { finishFlush }) };
}

export function compressPayload(payload: Buffer): Buffer {
  const header = containerHeader(payload.length);
  const body = deflateRawSync(payload, deflateOptions(payload.length));
  return Buffer.concat([header, body], header.length + body.length);
}

/** A segment's text deflated on its own, to end a payload whose columns compressPayloadAround adds. */
export function compressText(text: Buffer): Buffer {
  return deflateRawSync(text, deflateOptions(text.length));
}

/**
 * The same blob as compressPayload(columns + text), from the columns and compressText(text):
 * the columns are deflated up to a full flush (byte-aligned, no final block, and nothing after
 * refers back into them), then the text's own deflate stream (ending in the final block)
 * follows. One raw deflate stream, read by the same inflate.
 */
export function compressPayloadAround(columns: Buffer, deflatedText: Buffer, textBytes: number): Buffer {
  const header = containerHeader(columns.length + textBytes);
  const head = deflateRawSync(columns, deflateOptions(columns.length, constants.Z_FULL_FLUSH));
  return Buffer.concat([header, head, deflatedText], header.length + head.length + deflatedText.length);
}

interface Container {
  codec: number;
  payloadLength: number;
  body: Buffer;
}

function readContainer(data: Buffer): Container | null {
  if (data[0] !== CONTAINER_MARK) return null;
  const codec = data[1]!;
  let payloadLength = 0;
  let scale = 1;
  let position = 2;
  for (;;) {
    const byte = data[position++];
    if (byte === undefined) throw new Error('Segment blob header is truncated.');
    payloadLength += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 0x80;
  }
  if (codec !== CODEC_DEFLATE) throw new Error(`Unknown segment blob codec ${codec}.`);
  return { codec, payloadLength, body: data.subarray(position) };
}

/** zlib refuses a chunk size under 64 bytes; one more byte than the payload lets it finish in one pass, with no concatenation. */
function chunkSizeFor(payloadLength: number): number {
  return Math.max(64, payloadLength + 1);
}

export function decompressPayload(data: Buffer): Buffer {
  const container = readContainer(data);
  if (container === null) return brotliDecompressSync(data);
  return inflateRawSync(container.body, { chunkSize: chunkSizeFor(container.payloadLength) });
}

/** The same on libuv's thread pool: the main thread goes on while the payload inflates. */
export async function decompressPayloadAsync(data: Buffer): Promise<Buffer> {
  const container = readContainer(data);
  if (container === null) return brotliDecompressAsync(data);
  return inflateRawAsync(container.body, { chunkSize: chunkSizeFor(container.payloadLength) });
}
