/**
 * The one body parser: JSON, optionally gzip-, brotli- or Zstandard-compressed (Henrik sends
 * brotli: faster to write and to read than gzip, and smaller; OpenTelemetry collectors and
 * Vector can send zstd). The limit holds on the raw bytes
 * AND on the decompressed bytes, counted while streaming, so a bomb is stopped after
 * `limit` bytes of output instead of being inflated into memory. Bytes are decoded as UTF-8
 * with replacement, so raw invalid bytes inside JSON strings become U+FFFD.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { AppError } from '../../common/errors.js';
import { BINARY_BATCH_TYPE, BinaryBatchError, checkBinaryBatch, type CheckedBinaryBatch } from '../../protocol/binary-batch.js';
import { ZstdStreamDecoder } from '../../common/zstd.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the JSON parser: bytes of the body as sent. */
    bodyRawBytes?: number;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function tooLarge(limit: number, what: string): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `The request body ${what} passes the limit of ${limit} bytes: send smaller batches`);
}

/** A body's Content-Encoding that readBody takes off. */
export type BodyEncoding = 'identity' | 'gzip' | 'deflate' | 'br' | 'zstd';

const DECODERS = { gzip: createGunzip, deflate: createInflate, br: createBrotliDecompress } as const;

/** Reads the body, decompressing gzip, zlib deflate, brotli or zstd; rejects as soon as either count passes `limit`. */
export function readBody(payload: Readable, options: { limit: number; encoding: BodyEncoding }): Promise<{ bytes: Buffer; rawBytes: number }> {
  const { limit, encoding } = options;
  const gzip = encoding !== 'identity';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let rawBytes = 0;
    let outBytes = 0;
    let settled = false;
    const gunzip = encoding === 'identity' || encoding === 'zstd' ? undefined : DECODERS[encoding]();
    // Zstandard decodes on this thread, into one buffer that stops at the limit.
    const unzstd = encoding === 'zstd' ? new ZstdStreamDecoder(limit) : undefined;
    const invalid = (error: unknown): AppError =>
      new AppError('INVALID_BODY', `The body is not valid ${encoding === 'br' ? 'brotli' : encoding}: ${error instanceof Error ? error.message : String(error)}`);

    const finish = (error: AppError | undefined): void => {
      if (settled) return;
      settled = true;
      payload.off('data', onRaw);
      payload.off('end', onRawEnd);
      if (error) {
        gunzip?.destroy();
        chunks.length = 0;
        // Drain what is left so the connection can carry the error answer.
        payload.resume();
        reject(error);
      } else {
        resolve({ bytes: unzstd !== undefined ? unzstd.bytes() : Buffer.concat(chunks, outBytes), rawBytes });
      }
    };
    const onOut = (chunk: Buffer): void => {
      if (settled) return;
      outBytes += chunk.length;
      if (outBytes > limit) {
        finish(tooLarge(limit, gzip ? 'decompressed' : ''));
        return;
      }
      chunks.push(chunk);
    };
    const onRaw = (chunk: Buffer): void => {
      rawBytes += chunk.length;
      if (rawBytes > limit) {
        finish(tooLarge(limit, ''));
        return;
      }
      if (unzstd) {
        try {
          if (!unzstd.write(chunk)) finish(tooLarge(limit, 'decompressed'));
        } catch (error) {
          finish(invalid(error));
        }
        return;
      }
      if (!gunzip) {
        onOut(chunk);
        return;
      }
      if (!gunzip.write(chunk)) {
        payload.pause();
        gunzip.once('drain', () => {
          if (!settled) payload.resume();
        });
      }
    };
    const onRawEnd = (): void => {
      if (gunzip) gunzip.end();
      else if (unzstd) {
        try {
          unzstd.end();
          finish(undefined);
        } catch (error) {
          finish(invalid(error));
        }
      } else finish(undefined);
    };

    if (gunzip) {
      gunzip.on('data', onOut);
      gunzip.on('end', () => finish(undefined));
      gunzip.on('error', (error) => finish(invalid(error)));
    }
    payload.on('data', onRaw);
    payload.on('end', onRawEnd);
    payload.on('error', (error) => finish(new AppError('INVALID_BODY', `The body could not be read: ${error.message}`)));
  });
}

function contentEncoding(request: FastifyRequest): 'gzip' | 'br' | 'zstd' | 'identity' {
  const header = request.headers['content-encoding'];
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'br') return 'br';
  if (value === 'zstd') return 'zstd';
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding '${value}' is not supported: send gzip, br, zstd or no encoding`);
}

/** A request's body, decompressed, within `limit` (declared, raw and decompressed); its raw size noted on the request. */
async function requestBody(request: FastifyRequest, payload: Readable, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit, '');
  const { bytes, rawBytes } = await readBody(payload, { limit, encoding: contentEncoding(request) });
  request.bodyRawBytes = rawBytes;
  return bytes;
}

/**
 * POST /ingest's binary batch (protocol/binary-batch.ts), read and checked here: the route gets
 * the envelope it expects (host, and the groups for the guard's bounds) with the checked
 * groups beside it.
 */
export interface BinaryIngestBody {
  host: string;
  files: CheckedBinaryBatch['groups'];
  checked: CheckedBinaryBatch;
}

export function installJsonBody(app: FastifyInstance, limit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(BINARY_BATCH_TYPE, async (request: FastifyRequest, payload: Readable): Promise<BinaryIngestBody> => {
    if (request.routeOptions.url !== '/ingest') {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type ${BINARY_BATCH_TYPE} is taken by POST /ingest only: send application/json`);
    }
    const bytes = await requestBody(request, payload, limit);
    try {
      const checked = checkBinaryBatch(bytes);
      return { host: checked.host, files: checked.groups, checked };
    } catch (error) {
      if (error instanceof BinaryBatchError) throw new AppError('INVALID_BODY', error.message);
      throw error;
    }
  });
  app.addContentTypeParser('application/json', async (request: FastifyRequest, payload: Readable) => {
    const bytes = await requestBody(request, payload, limit);
    if (bytes.length === 0) throw new AppError('INVALID_BODY', 'The body is empty: send a JSON object');
    try {
      return JSON.parse(decoder.decode(bytes)) as unknown;
    } catch (error) {
      throw new AppError('INVALID_BODY', `The body is not valid JSON: ${(error as Error).message}`);
    }
  });
}
