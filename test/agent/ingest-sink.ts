/**
 * The real Daniel for agent tests: Daniel's app (buildApp) over a real SQLite store in a
 * temporary directory, listening on a port of its own, behind a small HTTP front that
 * forwards every request to it untouched. What Daniel stored is read back from the store
 * after each answer, so a test counts lines Daniel stored, not lines the agent sent.
 *
 * The front is where tests inject what a real network does: a status for every request
 * (`failWith`), any answer for chosen requests (`intercept`: a redirecting proxy, a 404,
 * a 413), or Daniel's own answer changed (`rewrite`: a `rejected` entry the server would
 * add). Nothing here accepts what Daniel would refuse.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { decompressBody } from '../../src/agent/wire-body.js';
import { parseBatchBody } from '../../src/agent/batcher.js';
import type { FastifyInstance } from 'fastify';
import type { AgentOptions } from '../../src/agent/options.js';
import type { IngestRejection, IngestRequest, IngestResult } from '../../src/protocol/ingest.js';
import { buildApp } from '../../src/server/app.js';
import { createTokenSet } from '../../src/server/tokens.js';
import { createStore } from '../../src/storage/create-store.js';
import type { Store } from '../../src/storage/store.js';

export interface StoredLine {
  host: string;
  fileId: string;
  filename: string;
  path: string | undefined;
  offset: number;
  end: number;
  timestamp: string;
  line: string;
  cut: boolean;
  /** The fields Daniel stored with the line (journald's unit, level…), if any. */
  fields?: Record<string, string>;
}

export interface SinkOptions {
  /** The ingest token Daniel accepts (default `T`). */
  token?: string;
  port?: number;
  /** Daniel's `--body-limit` (raw and decompressed), default Daniel's own. */
  bodyLimitBytes?: number;
}

/** An answer given instead of Daniel's. */
export interface Injected {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A request as it reached the front. */
export interface SinkRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body as sent (gzipped when the agent sent it so). */
  raw: Buffer;
  /** The ingest request decoded (throws when it is not JSON). */
  decoded(): IngestRequest;
}

const dataDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

export class IngestSink {
  /** Lines Daniel stored, in the order they became durable (tests may empty it). */
  readonly stored: StoredLine[] = [];
  /** Kept for tests that reset the sink between runs; Daniel keeps its own stored ends. */
  readonly ends = new Map<string, number>();
  requests = 0;
  /** Lines Daniel acknowledged as already stored. */
  duplicates = 0;
  /** Answer every request with this status instead of Daniel (e.g. 503); undefined = Daniel answers. */
  failWith: number | undefined;
  /** Called for every request before Daniel sees it: an answer returned here replaces Daniel's. */
  intercept: ((request: SinkRequest) => Injected | undefined) | undefined;
  /**
   * Daniel's per-group answer, for a refusal Daniel itself would not make: the groups and
   * lines named here are taken out of the request before Daniel sees it, and named in its
   * answer's `rejected` (as Daniel does for what it refuses of an otherwise good request).
   */
  refuse: ((request: IngestRequest) => IngestRejection[]) | undefined;
  /** Changes Daniel's 200 answer to an ingest request before the agent sees it. */
  rewrite: ((result: IngestResult, request: IngestRequest) => IngestResult) | undefined;
  /** Ingest bodies that reached Daniel (decoded), for tests of the wire format. */
  readonly bodies: IngestRequest[] = [];
  keepBodies = false;
  port = 0;
  private front: http.Server | undefined;
  private daniel: { app: FastifyInstance; store: Store; port: number } | undefined;
  private dataDir: string | undefined;
  private lastSeq = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly options: SinkOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Daniel's store, for tests that query it directly. */
  get store(): Store {
    if (this.daniel === undefined) throw new Error('sink: not listening');
    return this.daniel.store;
  }

  /** Starts Daniel (on the data of an earlier `close({ keepData: true })`, if any) and the front. */
  async listen(port = this.options.port ?? this.port): Promise<void> {
    if (this.dataDir === undefined) {
      this.dataDir = mkdtempSync(path.join(os.tmpdir(), 'daniel-sink-'));
      dataDirs.add(this.dataDir);
    }
    const store = await createStore({ kind: 'sqlite', dataDir: this.dataDir });
    const tokens = createTokenSet([{ scope: 'admin', token: this.options.token ?? 'T' }]);
    const app = await buildApp({ store, tokens, bodyLimitBytes: this.options.bodyLimitBytes, limits: { closeGraceMs: 200 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    this.daniel = { app, store, port: (app.server.address() as AddressInfo).port };
    this.lastSeq = await store.lastSeq();
    const front = http.createServer((req, res) => this.handle(req, res));
    front.keepAliveTimeout = 500;
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.listen(port, '127.0.0.1', () => resolve());
    });
    this.front = front;
    this.port = (front.address() as AddressInfo).port;
  }

  /** Stops the front and Daniel; `keepData` keeps the store for a later `listen` (Daniel restarted). */
  async close(options: { keepData?: boolean } = {}): Promise<void> {
    const front = this.front;
    this.front = undefined;
    if (front !== undefined) {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    }
    const daniel = this.daniel;
    this.daniel = undefined;
    if (daniel !== undefined) {
      await daniel.app.close();
      await daniel.store.close();
    }
    if (options.keepData !== true && this.dataDir !== undefined) {
      rmSync(this.dataDir, { recursive: true, force: true });
      dataDirs.delete(this.dataDir);
      this.dataDir = undefined;
    }
  }

  lines(): string[] {
    return this.stored.map((l) => l.line);
  }

  /** Resolves once `predicate` holds (checked after every request), or rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 20_000, what = 'sink condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (stored=${this.stored.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      const raw = Buffer.concat(chunks);
      let decoded: IngestRequest | undefined;
      const request: SinkRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        raw,
        decoded: () => (decoded ??= parseBatchBody(decodedBody(req.headers['content-encoding'], raw))),
      };
      const injected: Injected | undefined =
        this.failWith !== undefined
          ? { status: this.failWith, body: JSON.stringify({ error: { code: 'UNAVAILABLE', message: 'failing on purpose' } }) }
          : this.intercept?.(request);
      if (injected !== undefined) {
        res.writeHead(injected.status, { 'content-type': 'application/json', ...injected.headers });
        res.end(injected.body ?? '');
        return;
      }
      if (this.keepBodies && request.url === '/ingest') {
        try {
          this.bodies.push(request.decoded());
        } catch {
          // Daniel answers what it makes of it
        }
      }
      void this.forward(request).then(
        ({ status, headers, body }) => {
          res.writeHead(status, headers);
          res.end(body);
          this.wake();
        },
        (err: unknown) => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'BAD_GATEWAY', message: (err as Error).message } }));
        },
      );
    });
  }

  private async forward(request: SinkRequest): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }> {
    const daniel = this.daniel;
    if (daniel === undefined) throw new Error('Daniel is not running');
    const refused = request.url === '/ingest' && this.refuse !== undefined ? this.refuse(request.decoded()) : [];
    const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const headers = { ...request.headers };
      delete headers.host;
      delete headers.connection;
      let raw = request.raw;
      if (refused.length > 0) {
        raw = Buffer.from(JSON.stringify(withoutRefused(request.decoded(), refused)));
        delete headers['content-encoding'];
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(raw.length);
      }
      const out = http.request({ host: '127.0.0.1', port: daniel.port, method: request.method, path: request.url, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(raw);
    });
    let body = answer.body;
    if (request.url === '/ingest' && answer.status === 200) {
      let result = (JSON.parse(body.toString('utf8')) as { data: IngestResult }).data;
      this.duplicates += result.duplicates;
      await this.readStored(daniel.store);
      if (refused.length > 0) result = { ...result, rejected: [...(result.rejected ?? []), ...refused] };
      if (this.rewrite !== undefined) result = this.rewrite(result, request.decoded());
      body = Buffer.from(JSON.stringify({ data: result }));
    }
    const headers: http.OutgoingHttpHeaders = { 'content-type': answer.headers['content-type'] ?? 'application/json' };
    if (answer.headers['retry-after'] !== undefined) headers['retry-after'] = answer.headers['retry-after'];
    return { status: answer.status, headers, body };
  }

  /** Everything Daniel made durable since the last look, in seq order. */
  private async readStored(store: Store): Promise<void> {
    for (;;) {
      const page = await store.tail({ afterSeq: this.lastSeq, limit: 10_000 });
      for (const l of page.lines) {
        this.stored.push({
          host: l.host,
          fileId: l.fileId,
          filename: l.filename,
          path: l.path,
          offset: l.offset,
          end: l.end,
          timestamp: l.timestamp.toString(),
          line: l.line,
          cut: l.cut,
          ...(l.fields === undefined ? {} : { fields: l.fields }),
        });
      }
      if (page.lastSeq <= this.lastSeq) return;
      this.lastSeq = page.lastSeq;
      if (page.lines.length === 0) return;
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

function withoutRefused(request: IngestRequest, refused: IngestRejection[]): IngestRequest {
  return {
    host: request.host,
    files: request.files
      .map((file, index) => {
        const named = refused.filter((r) => r.file === index);
        if (named.some((r) => r.offset === undefined)) return undefined;
        const offsets = new Set(named.map((r) => r.offset));
        return { ...file, lines: file.lines.filter((l) => !offsets.has(l.offset)) };
      })
      .filter((f) => f !== undefined),
  };
}

/**
 * An agent tuned for tests (short flush, scan, poll, checkpoint and backoff intervals) that
 * tails `DIR/logs/*.log` into `DIR/state` and ships to `server` with the token 'T'.
 */
export function fastAgentOptions(server: string, dir: string, extra: Partial<AgentOptions> = {}): AgentOptions {
  return {
    server,
    token: 'T',
    host: 'h1',
    stateDir: path.join(dir, 'state'),
    sources: [{ paths: [path.join(dir, 'logs', '*.log')] }],
    flushIntervalMs: 50,
    scanIntervalMs: 100,
    pollIntervalMs: 50,
    checkpointIntervalMs: 50,
    backoff: { baseMs: 10, maxMs: 100 },
    ...extra,
  };
}

/** A request body as Henrik sent it (zstd, brotli, gzip or plain), decompressed. */
function decodedBody(encoding: string | undefined, raw: Buffer): Buffer {
  if (encoding === 'gzip') return gunzipSync(raw);
  if (encoding === 'br') return brotliDecompressSync(raw);
  if (encoding === 'zstd') return decompressBody(raw);
  return raw;
}
