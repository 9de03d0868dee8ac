/**
 * A real HTTP ingest endpoint for agent tests, with Daniel's dedupe semantics: per
 * (host, file_id) it keeps the stored end offset, and a line starting below it is a
 * duplicate (acknowledged, not stored). So a test counts lines stored, not lines sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { IngestRequest } from '../../src/protocol/ingest.js';

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
}

export interface SinkOptions {
  token?: string;
  port?: number;
}

export class IngestSink {
  readonly stored: StoredLine[] = [];
  readonly ends = new Map<string, number>();
  requests = 0;
  duplicates = 0;
  /** Answer every request with this status instead of storing (e.g. 503); undefined = normal. */
  failWith: number | undefined;
  /** Bodies that arrived (decoded), for tests of the wire format. */
  readonly bodies: IngestRequest[] = [];
  keepBodies = false;
  private server: http.Server | undefined;
  private waiters: Array<() => void> = [];
  port = 0;

  constructor(private readonly options: SinkOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port = this.options.port ?? this.port): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 500;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
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
      if (this.failWith !== undefined) {
        res.writeHead(this.failWith, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'TEST', message: 'failing on purpose' } }));
        return;
      }
      if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`) {
        res.writeHead(401).end('{"error":{"code":"UNAUTHORIZED","message":"no"}}');
        return;
      }
      let body: IngestRequest;
      try {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        body = JSON.parse(raw.toString('utf8')) as IngestRequest;
      } catch {
        res.writeHead(400).end('{"error":{"code":"INVALID_BODY","message":"bad"}}');
        return;
      }
      if (this.keepBodies) this.bodies.push(body);
      let accepted = 0;
      let duplicates = 0;
      for (const file of body.files) {
        const key = `${body.host}\u0000${file.file_id}`;
        let end = this.ends.get(key) ?? 0;
        for (const line of file.lines) {
          if (line.offset < end) {
            duplicates++;
            continue;
          }
          // As Daniel does: an absent end is the offset plus the text's UTF-8 bytes plus the newline.
          const lineEnd = line.end ?? line.offset + Buffer.byteLength(line.line) + 1;
          this.stored.push({
            host: body.host,
            fileId: file.file_id,
            filename: file.filename,
            path: file.path,
            offset: line.offset,
            end: lineEnd,
            timestamp: line.timestamp,
            line: line.line,
            cut: line.cut === true,
          });
          end = lineEnd;
          accepted++;
        }
        this.ends.set(key, end);
      }
      this.duplicates += duplicates;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { accepted, duplicates } }));
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }
}
