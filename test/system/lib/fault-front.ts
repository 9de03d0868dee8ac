/**
 * An HTTP front for Daniel that answers `POST /ingest` with 503 or 429 (with Retry-After)
 * for a while, then passes everything through again: Daniel overloaded or its store down,
 * as the agent sees it. Other requests always pass through.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface Failure {
  status: 503 | 429;
  /** Seconds sent in Retry-After; omitted when undefined. */
  retryAfterSeconds?: number;
}

export class FaultFront {
  readonly answered = new Map<number, number>();
  private failure: Failure | undefined;

  private constructor(
    private readonly server: Server,
    public targetPort: number,
    public readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<FaultFront> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('front has no port');
    const front = new FaultFront(server, targetPort, address.port);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => front.handle(req, res));
    return front;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Answer every ingest request with `failure` until `pass()`. */
  fail(failure: Failure): void {
    this.failure = failure;
  }

  pass(): void {
    this.failure = undefined;
  }

  count(status: number): number {
    return this.answered.get(status) ?? 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const failure = this.failure;
    if (failure && req.method === 'POST' && req.url?.startsWith('/ingest')) {
      // Drain the body first so the agent sees a clean answer rather than a reset.
      req.resume();
      req.on('end', () => {
        this.answered.set(failure.status, this.count(failure.status) + 1);
        const code = failure.status === 429 ? 'RATE_LIMITED' : 'STORE_UNAVAILABLE';
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (failure.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
        res.writeHead(failure.status, headers);
        res.end(JSON.stringify({ error: { code, message: 'injected by the system test' } }));
      });
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: this.targetPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        this.answered.set(answer.statusCode ?? 0, this.count(answer.statusCode ?? 0) + 1);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }
}
