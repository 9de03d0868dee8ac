/**
 * What the routes of the HTTP push inputs (Loki, OTLP, Elasticsearch bulk) share: a body
 * parser that takes any Content-Type as bytes (the receiver decodes it) with the /ingest
 * limits on the raw and decompressed sizes, a bound on the bytes all pushed requests hold at
 * once, and the call to the PushSink that answers 429 with Retry-After when the store falls
 * behind.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { AppError } from '../../common/errors.js';
import type { PushAuth, PushedBatch, PushResult, PushSink } from '../../inputs/sink.js';
import type { RouteOptions } from '../context.js';
import { readBody } from '../plugins/json-body.js';

export interface PushRouteOptions extends RouteOptions {
  sink: PushSink;
  /** Shared by every push route of one app. */
  budget: PushBudget;
}

/** Seconds a sender waits after a 429 from a pushed input. */
export const PUSH_RETRY_AFTER_SECONDS = 1;

/**
 * Bytes of pushed bodies held at once (decompressed, while decoded and stored). Past the
 * bound a request is answered 429 at once, so many senders cannot grow memory without end.
 */
export class PushBudget {
  private held = 0;
  constructor(readonly maxBytes: number) {}

  take(bytes: number): boolean {
    if (this.held > 0 && this.held + bytes > this.maxBytes) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }

  get bytes(): number {
    return this.held;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the push body parser: the Content-Encoding it left for the receiver (snappy). */
    pushEncoding?: 'snappy' | 'decoded';
    /** Bytes this request holds in the PushBudget, released when it is answered. */
    pushHeld?: number;
  }
}

function encodingOf(request: FastifyRequest, allowSnappy: boolean): 'identity' | 'gzip' | 'deflate' | 'br' | 'zstd' | 'snappy' {
  const header = request.headers['content-encoding'];
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  if (value === 'br') return 'br';
  if (value === 'zstd') return 'zstd';
  if (value === 'snappy' && allowSnappy) return 'snappy';
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding '${value}' is not supported: send gzip, deflate, br, zstd${allowSnappy ? ', snappy' : ''} or no encoding`);
}

/** The media type of the request, lower case, without parameters. */
export function mediaType(request: FastifyRequest): string {
  const header = request.headers['content-type'];
  return (typeof header === 'string' ? (header.split(';')[0] ?? '') : '').trim().toLowerCase();
}

/**
 * Installs, in the calling plugin only, a parser that reads any body as a Buffer (gzip and
 * deflate taken off, snappy left for the receiver when `snappy`), within `limit` bytes raw
 * and decompressed, and holds its bytes in `budget` until the answer is sent.
 */
export function installPushBody(app: FastifyInstance, limit: number, budget: PushBudget, options: { snappy?: boolean } = {}): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', async (request: FastifyRequest, payload: Readable) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      throw new AppError('PAYLOAD_TOO_LARGE', `The request body passes the limit of ${limit} bytes: send smaller batches`);
    }
    const encoding = encodingOf(request, options.snappy === true);
    const { bytes, rawBytes } = await readBody(payload, { limit, encoding: encoding === 'snappy' ? 'identity' : encoding });
    request.bodyRawBytes = rawBytes;
    request.pushEncoding = encoding === 'snappy' ? 'snappy' : encoding === 'identity' ? undefined : 'decoded';
    if (!budget.take(bytes.length)) {
      throw new AppError('RATE_LIMITED', 'Too many pushed bytes are being stored at once: retry after the Retry-After seconds');
    }
    request.pushHeld = bytes.length;
    return bytes;
  });
  app.addHook('onResponse', (request, _reply, done) => {
    if (request.pushHeld !== undefined) budget.release(request.pushHeld);
    request.pushHeld = undefined;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.statusCode === 429 && !reply.hasHeader('retry-after')) void reply.header('retry-after', String(PUSH_RETRY_AFTER_SECONDS));
    done(null, payload);
  });
}

/** The body as bytes (an empty body, sent with no Content-Type, as none). */
export function bodyBytes(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

export function pushAuth(request: FastifyRequest): PushAuth {
  const hosts = request.principal?.hosts;
  return hosts === undefined ? {} : { hosts };
}

/** Stores the batches through the sink; RATE_LIMITED gets its Retry-After here. */
export async function pushBatches(options: PushRouteOptions, request: FastifyRequest, reply: FastifyReply, batches: readonly PushedBatch[]): Promise<PushResult> {
  if (batches.length === 0) return { accepted: 0, duplicates: 0, rejected: [] };
  try {
    // The sink counts what it stored and wakes live tails.
    return await options.sink.push(batches, pushAuth(request));
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'RATE_LIMITED' && !reply.hasHeader('retry-after')) void reply.header('retry-after', String(PUSH_RETRY_AFTER_SECONDS));
    throw error;
  }
}

/** Entries a result refused, counted: a refused batch counts all its entries. */
export function refusedEntries(batches: readonly PushedBatch[], result: PushResult): number {
  let count = 0;
  for (const rejection of result.rejected) count += rejection.entry === undefined ? (batches[rejection.batch]?.entries.length ?? 0) : 1;
  return count;
}

/** Parses a JSON body given as bytes (UTF-8 with replacement). */
export function parseJsonBytes(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new AppError('INVALID_BODY', 'The body is empty: send a JSON object');
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new AppError('INVALID_BODY', `The body is not valid JSON: ${(error as Error).message}`);
  }
}
