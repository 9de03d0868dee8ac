/**
 * The compressed ingest request, as spooled and as sent: brotli at quality 1 by default
 * (config `compression`), else gzip. Measured on ingest bodies of loghub-format lines (a
 * 0.9 MB batch, this machine): brotli quality 1 compresses at ~510 MB/s to 0.114 of the
 * JSON and Daniel reads it at ~740 MB/s; gzip level 1 at ~290 MB/s to 0.128, read at ~640
 * MB/s. So brotli costs Henrik less CPU per MiB, puts fewer bytes on the wire and in the
 * spool, and costs Daniel less to read.
 *
 * Which one a body is, is read from its first bytes: gzip starts with 1f 8b; these brotli
 * streams have a 256 KiB window (lgwin 18, also what bounds Daniel's memory per request),
 * which makes their first byte end in the nibble 3, never 0x1f. Records spooled by an older
 * Henrik (gzip) are sent as gzip.
 */
import { brotliCompress, brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';

export type WireEncoding = 'br' | 'gzip';

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** zlib's output chunk: a batch's compressed bytes (about an eighth of its JSON) mostly fit one, so there are few thread-pool round trips. */
const CHUNK = 256 * 1024;
const BROTLI_QUALITY = 1;
const BROTLI_WINDOW_BITS = 18;
/**
 * Deflate's memory settings, measured on ingest bodies at level 1: the largest hash table
 * (memLevel 9) and a 16 KiB window compress 10-15% faster than zlib's defaults (8, 32 KiB)
 * and no worse (JSON lines repeat their keys and neighbours within a few KiB).
 */
const GZIP_MEM_LEVEL = 9;
const GZIP_WINDOW_BITS = 14;

function brotliOptions(bytes: number): { chunkSize: number; params: Record<number, number> } {
  return {
    chunkSize: CHUNK,
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes,
    },
  };
}

/** The encoding of a body this module (or an older Henrik's gzip) wrote. */
export function encodingOf(body: Uint8Array): WireEncoding {
  return body[0] === 0x1f && body[1] === 0x8b ? 'gzip' : 'br';
}

/** Compresses a batch's JSON on libuv's thread pool. `gzipLevel` is zlib's level for gzip (0 stores). */
export function compressBody(json: Uint8Array, encoding: WireEncoding, gzipLevel: number): Promise<Buffer> {
  if (encoding === 'br') return brotliAsync(json, brotliOptions(json.length));
  return gzipAsync(json, { level: gzipLevel, chunkSize: CHUNK, memLevel: GZIP_MEM_LEVEL, windowBits: GZIP_WINDOW_BITS });
}

/** The same, synchronously (a split or replayed request: rare and small). */
export function compressBodySync(json: string | Uint8Array, encoding: WireEncoding): Buffer {
  return encoding === 'br' ? brotliCompressSync(json, brotliOptions(json.length)) : gzipSync(json, { level: 1 });
}

export function decompressBody(body: Uint8Array): Buffer {
  return encodingOf(body) === 'gzip' ? gunzipSync(body) : brotliDecompressSync(body);
}
