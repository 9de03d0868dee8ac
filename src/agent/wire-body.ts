/**
 * The compressed ingest request, as spooled and as sent: Zstandard level 1 by default where
 * the zstd-napi addon loads (an npm install of the package), else brotli at quality 1 (the
 * one-file and single-executable builds, which carry no native addon), or what config
 * `compression` says. On ingest bodies of the bench's 8 formats (33 MiB, one process):
 * zstd level 1 compresses at 500 MiB per CPU-second to 0.151 of the JSON and decompresses at
 * 1,082; brotli quality 1 (window 18) 352 MiB/CPU-s to 0.164, decompressed at 432; gzip
 * level 1 187 to 0.178, decompressed at 430. zstd-napi has no asynchronous call: a batch is
 * compressed on the main thread (brotli and gzip go to libuv's thread pool).
 *
 * Earlier measurement, brotli against gzip: Measured on ingest bodies of loghub-format lines (a
 * 0.9 MB batch, this machine): brotli quality 1 compresses at ~510 MB/s to 0.114 of the
 * JSON and Daniel reads it at ~740 MB/s; gzip level 1 at ~290 MB/s to 0.128, read at ~640
 * MB/s. So brotli costs Henrik less CPU per MiB, puts fewer bytes on the wire and in the
 * spool, and costs Daniel less to read.
 *
 * Which one a body is, is read from its first bytes: gzip starts with 1f 8b, a Zstandard
 * frame with 28 b5 2f fd; these brotli streams have a 256 KiB window (lgwin 18, also what
 * bounds Daniel's memory per request), which makes their first byte end in the nibble 3,
 * never 0x1f or 0x28. Records spooled by an older Henrik (gzip, brotli) are sent as they are.
 */
import { createRequire } from 'node:module';
import { brotliCompress, brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
// The type only: common/zstd.ts loads the addon when imported, and Henrik (also built as one file without it) loads it lazily below.
import type { ZstdBinding } from '../common/zstd.js';
import { fastCompressor } from '../common/zstd-level.js';

export type WireEncoding = 'zstd' | 'br' | 'gzip';

let binding: ZstdBinding | null | undefined;
let cctx: InstanceType<ZstdBinding['CCtx']> | undefined;
let dctx: InstanceType<ZstdBinding['DCtx']> | undefined;
/** Where a batch is compressed before its exact bytes are copied out (grown to the largest batch's bound). */
let scratch = Buffer.alloc(0);

/** The addon, loaded at first use; null where it is not installed (the one-file builds) or does not load. */
function zstdBinding(): ZstdBinding | null {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding;
    } catch {
      binding = null;
    }
  }
  return binding;
}

/** Whether this Henrik can write Zstandard bodies. */
export function zstdAvailable(): boolean {
  return zstdBinding() !== null;
}

function loadedZstd(what: string): ZstdBinding {
  const zstd = zstdBinding();
  if (zstd === null) throw new Error(`${what} needs the zstd-napi addon, which did not load`);
  return zstd;
}

function zstdCompress(json: Uint8Array): Buffer {
  const zstd = loadedZstd('compression zstd');
  cctx ??= fastCompressor(zstd);
  const bound = zstd.compressBound(json.length);
  if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(bound);
  // The exact bytes are copied out: a body is held in flight until spooled, and its bound is the whole JSON.
  return Buffer.from(scratch.subarray(0, cctx.compress2(scratch, json)));
}

function zstdDecompress(body: Uint8Array): Buffer {
  const zstd = loadedZstd('a Zstandard batch in the spool');
  let size = 0;
  for (let frame = body; frame.length > 0; frame = frame.subarray(zstd.findFrameCompressedSize(frame))) {
    const frameSize = zstd.getFrameContentSize(frame);
    if (frameSize === null) throw new Error('a Zstandard body without its content size');
    size += frameSize;
  }
  const out = Buffer.allocUnsafe(size);
  dctx ??= new zstd.DCtx();
  if (dctx.decompress(out, body) !== size) throw new Error('a Zstandard body shorter than its frames say');
  return out;
}

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

/**
 * How batches go, shared by the batcher, the sealer and delivery: delivery turns `encoding`
 * to an older one, and `format` to json, when Daniel answers 415 (an older Daniel).
 */
export interface SharedWire {
  encoding: WireEncoding;
  format?: 'binary' | 'json';
}

/** The encoding of a body this module (or an older Henrik's gzip) wrote. */
export function encodingOf(body: Uint8Array): WireEncoding {
  if (body[0] === 0x1f && body[1] === 0x8b) return 'gzip';
  if (body[0] === 0x28 && body[1] === 0xb5 && body[2] === 0x2f && body[3] === 0xfd) return 'zstd';
  return 'br';
}

/** What to send instead when Daniel answers 415 to `encoding` (an older Daniel): zstd, then brotli, then gzip. */
export function fallbackOf(encoding: WireEncoding): WireEncoding | undefined {
  return encoding === 'zstd' ? 'br' : encoding === 'br' ? 'gzip' : undefined;
}

/** Compresses a batch's JSON (on libuv's thread pool, but zstd). `gzipLevel` is zlib's level for gzip (0 stores). */
export function compressBody(json: Uint8Array, encoding: WireEncoding, gzipLevel: number): Promise<Buffer> {
  if (encoding === 'zstd') {
    try {
      return Promise.resolve(zstdCompress(json));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }
  if (encoding === 'br') return brotliAsync(json, brotliOptions(json.length));
  return gzipAsync(json, { level: gzipLevel, chunkSize: CHUNK, memLevel: GZIP_MEM_LEVEL, windowBits: GZIP_WINDOW_BITS });
}

/** The same, synchronously (a split or replayed request: rare and small). */
export function compressBodySync(json: string | Uint8Array, encoding: WireEncoding): Buffer {
  if (encoding === 'zstd') return zstdCompress(typeof json === 'string' ? Buffer.from(json) : json);
  return encoding === 'br' ? brotliCompressSync(json, brotliOptions(json.length)) : gzipSync(json, { level: 1 });
}

export function decompressBody(body: Uint8Array): Buffer {
  const encoding = encodingOf(body);
  if (encoding === 'zstd') return zstdDecompress(body);
  return encoding === 'gzip' ? gunzipSync(body) : brotliDecompressSync(body);
}
