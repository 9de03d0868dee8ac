/**
 * GET /healthz and GET /readyz (no token): 200 when the store answers its health check (for
 * SQLite: the files at its path are the ones it writes, the disk has room and a write
 * commits), 503 STORE_UNAVAILABLE while it does not (retry later), 500 STORE_DAMAGED when its
 * files are damaged or gone (the message names the file and what to do; retrying does not
 * help). /readyz also answers 503 while Daniel is shutting down, so a load balancer stops
 * sending before the port closes. A store that answered
 * a ping less than `maxAgeMs` ago counts as answering, so a health check polled thousands of
 * times a second costs about what a bare HTTP server's answer costs, and the store sees at
 * most one ping per `maxAgeMs` from it. A failure is never remembered: while the store does
 * not answer, every check pings it again (concurrent checks share one ping).
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Type } from 'typebox';
import { AppError } from '../../common/errors.js';
import type { Store } from '../../storage/store.js';
import type { RouteOptions } from '../context.js';
import { ErrorResponse } from '../schemas.js';
import { SECURITY_HEADERS } from '../plugins/abuse.js';

const PING_TIMEOUT_MS = 5000;
/** How stale a healthy answer may be (docs/api.md says so). */
export const HEALTH_MAX_AGE_MS = 1000;
const HEALTHY_BODY = JSON.stringify({ data: { status: 'ok' } });
const JSON_TYPE = 'application/json; charset=utf-8';

export class StoreHealth {
  /** performance.now() until which the last successful ping counts. */
  private healthyUntil = -Infinity;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<Store, 'ping'>,
    private readonly maxAgeMs: number = HEALTH_MAX_AGE_MS,
    private readonly timeoutMs: number = PING_TIMEOUT_MS,
  ) {}

  /** True while the last successful ping is recent enough to answer from. */
  fresh(): boolean {
    return performance.now() < this.healthyUntil;
  }

  /** Pings the store (sharing a ping already under way); rejects with STORE_UNAVAILABLE. */
  check(): Promise<void> {
    this.pending ??= this.ping().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async ping(): Promise<void> {
    // Counted from the start of the ping: the store is known to have been up since then at the latest.
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    // A hung store must not hang the health check: a check that never answers is useless to a supervisor.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      await Promise.race([this.store.ping(), timeout]);
      this.healthyUntil = started + this.maxAgeMs;
    } catch (error) {
      this.healthyUntil = -Infinity;
      if ((error as { code?: unknown }).code === 'STORE_DAMAGED') throw new AppError('STORE_DAMAGED', (error as Error).message, { cause: error });
      throw new AppError('STORE_UNAVAILABLE', `The store does not answer: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The healthy answer's headers: the security headers every answer has (plugins/abuse.ts), its type and length. */
const HEALTHY_HEADERS = {
  ...SECURITY_HEADERS,
  'content-type': JSON_TYPE,
  'content-length': String(Buffer.byteLength(HEALTHY_BODY)),
};

/**
 * Answers `GET /healthz` (and HEAD) on `server` itself, before the framework routes it, while
 * the store's last ping is fresh and Daniel is not closing: the same status, headers and body
 * the route gives, at about a bare node:http server's cost (the route's is Fastify's request
 * and reply objects, hooks and routing, half the requests a second). Every other request,
 * and /healthz when a ping is due, the store fails or Daniel closes, goes to the route.
 */
function answerHealthzFirst(server: Server, health: StoreHealth, closing: () => boolean): void {
  const listeners = server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/healthz' && (request.method === 'GET' || request.method === 'HEAD') && health.fresh() && !closing()) {
      response.writeHead(200, HEALTHY_HEADERS);
      response.end(request.method === 'HEAD' ? undefined : HEALTHY_BODY);
      return;
    }
    for (const listener of listeners) listener.call(server, request, response);
  });
}

export interface HealthRouteOptions extends RouteOptions {
  /** Answer a healthy /healthz before routing (off when every request is logged). */
  answerFirst?: boolean;
}

// Not the TypeBox-typed plugin: its typed reply would not take the pre-serialized string body.
export const healthRoutes: FastifyPluginAsync<HealthRouteOptions> = (app, { deps, answerFirst = false }) => {
  const health = new StoreHealth(deps.store);
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  if (answerFirst) answerHealthzFirst(app.server, health, () => closing);
  const response = { 200: Type.Object({ data: Type.Object({ status: Type.Literal('ok') }) }), 500: ErrorResponse, 503: ErrorResponse };
  const answer = (reply: FastifyReply): Promise<void> | undefined => {
    // The body is sent pre-serialized (a string with its JSON type), which skips the serializer.
    if (health.fresh()) {
      void reply.header('content-type', JSON_TYPE).send(HEALTHY_BODY);
      return undefined;
    }
    return health.check().then(() => void reply.header('content-type', JSON_TYPE).send(HEALTHY_BODY));
  };
  app.get(
    '/healthz',
    {
      // No per-request hooks (auth, request log) on this route: see plugins/request-log.ts.
      config: { hotPath: true },
      schema: { summary: 'Liveness and store health (no token needed); the store check may be up to 1 s old', tags: ['operations'], response },
    },
    (_request, reply) => answer(reply),
  );
  app.get(
    '/readyz',
    {
      config: { hotPath: true },
      schema: {
        summary: 'Readiness: the store is open and healthy (as /healthz) and Daniel is not shutting down (no token needed)',
        tags: ['operations'],
        response,
      },
    },
    (_request, reply) => {
      if (closing) throw new AppError('STORE_UNAVAILABLE', 'Daniel is shutting down');
      return answer(reply);
    },
  );
  return Promise.resolve();
};