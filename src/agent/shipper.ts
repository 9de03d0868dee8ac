/**
 * One POST of a compressed ingest request (wire-body.ts) to Daniel, and what became of it. The caller owns
 * ordering and retries: it sends one batch at a time, in spool order. node:http with a
 * keep-alive agent rather than fetch: the same speed, ~10 MiB less resident memory.
 */
import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import type { IngestRejection, IngestResponse } from '../protocol/ingest.js';
import { classifyStatus, parseRetryAfter } from './retry.js';
import { encodingOf } from './wire-body.js';
import { BINARY_BATCH_TYPE } from '../protocol/binary-batch.js';

export type ShipOutcome =
  | { kind: 'delivered'; accepted: number; duplicates: number; rejected: IngestRejection[] }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'unauthorized' | 'misrouted' | 'too-large' | 'rejected'; status: number; reason: string };

export interface ShipperOptions {
  server: string;
  token: string;
  /** PEM CA(s) trusted beside the system's roots; client certificate and key. */
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  /** A request with no answer after this long is abandoned and retried (default 30 s). */
  timeoutMs?: number;
}

/** Answers longer than this are cut: an ingest answer is a few bytes. */
const MAX_ANSWER = 64 * 1024;

export class Shipper {
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;

  constructor(private readonly options: ShipperOptions) {
    this.url = new URL(`${options.server.replace(/\/+$/, '')}/ingest`);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    // TLS is loaded only when the server is https: (it costs memory an http agent never uses).
    const secure = this.url.protocol === 'https:';
    const require = createRequire(import.meta.url);
    const client = secure ? (require('node:https') as typeof https) : http;
    const tls = secure
      ? {
          ...(options.ca === undefined ? {} : { ca: [...(require('node:tls') as typeof import('node:tls')).rootCertificates, options.ca] }),
          ...(options.cert === undefined ? {} : { cert: options.cert, key: options.key }),
        }
      : {};
    this.agent = new client.Agent({ keepAlive: true, maxSockets: 1, ...tls });
    this.request = client.request;
  }

  /** `binary`: the body is a binary batch (protocol/binary-batch.ts), else JSON. */
  send(body: Uint8Array, stop?: AbortSignal, binary = false): Promise<ShipOutcome> {
    const request = this.request;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: ShipOutcome): void => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const req = request(this.url, {
        method: 'POST',
        agent: this.agent,
        signal: stop,
        timeout: this.timeoutMs,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          'content-type': binary ? BINARY_BATCH_TYPE : 'application/json',
          'content-encoding': encodingOf(body),
          'content-length': body.length,
        },
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.timeoutMs} ms`)));
      req.on('error', (err) => finish({ kind: 'retry', reason: networkReason(err) }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (chunk: Buffer) => {
          if (length < MAX_ANSWER) chunks.push(chunk);
          length += chunk.length;
        });
        res.on('error', (err) => finish({ kind: 'retry', reason: `answer cut off: ${networkReason(err)}` }));
        res.on('end', () => finish(outcomeOf(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), res.headers)));
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function outcomeOf(status: number, text: string, headers: http.IncomingHttpHeaders = {}): ShipOutcome {
  const kind = classifyStatus(status);
  if (kind === 'delivered') {
    const data = parseResult(text);
    const rejected = Array.isArray(data?.rejected) ? data.rejected : [];
    return { kind, accepted: data?.accepted ?? 0, duplicates: data?.duplicates ?? 0, rejected };
  }
  if (kind === 'misrouted' && status < 400) {
    const location = headers.location;
    return { kind, status, reason: `HTTP ${status} redirect to ${location ?? '(no Location)'}` };
  }
  const reason = `HTTP ${status} ${errorMessage(text)}`.trim();
  if (kind === 'retry') return { kind, reason, retryAfterMs: parseRetryAfter(headers['retry-after']) };
  return { kind, status, reason };
}

function parseResult(text: string): IngestResponse['data'] | undefined {
  try {
    return (JSON.parse(text) as Partial<IngestResponse>).data;
  } catch {
    return undefined;
  }
}

function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error) return `${parsed.error.code ?? ''}: ${parsed.error.message ?? ''}`;
  } catch {
    // not JSON: show the start of what came
  }
  return text.slice(0, 200);
}

function networkReason(err: unknown): string {
  if (err instanceof Error) return (err as NodeJS.ErrnoException).code ?? err.message;
  return String(err);
}
