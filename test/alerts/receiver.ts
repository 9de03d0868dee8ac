/**
 * A real HTTP receiver for alert notifications: records each POST (headers and JSON body)
 * and answers as the test says: 200, a status for the next N requests, or never.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  atMs: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Answer `status` to the next `times` requests (then 200 again). */
  failNext(times: number, status?: number): void;
  /** Never answer (until `answer(true)`). */
  hang(on: boolean): void;
  /** Resolves once `count` requests that `match` have arrived (recorded, answered 2xx or not). */
  waitFor(count: number, match?: (r: Received) => boolean, timeoutMs?: number): Promise<Received[]>;
  /** Requests answered non-2xx or left hanging. */
  refused: number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let failing = 0;
  let failStatus = 503;
  let hanging = false;
  const held: (() => void)[] = [];
  const waiters: (() => void)[] = [];
  const received: Received[] = [];
  const state = { refused: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text
      }
      received.push({ path: request.url ?? '', headers: request.headers, body, atMs: Date.now() });
      for (const wake of waiters.splice(0)) wake();
      if (hanging) {
        state.refused += 1;
        held.push(() => response.destroy());
        return;
      }
      if (failing > 0) {
        failing -= 1;
        state.refused += 1;
        response.writeHead(failStatus).end('not now');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    get refused() {
      return state.refused;
    },
    failNext(times, status = 503) {
      failing = times;
      failStatus = status;
    },
    hang(on) {
      hanging = on;
      if (!on) for (const release of held.splice(0)) release();
    },
    async waitFor(count, match = () => true, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received.filter(match);
        if (found.length >= count) return found;
        if (Date.now() > deadline) throw new Error(`receiver: ${found.length} of ${count} matching requests within ${timeoutMs} ms; got ${JSON.stringify(received.map((r) => r.body)).slice(0, 2000)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    async close() {
      for (const release of held.splice(0)) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
