/**
 * GET /healthz (no token): 200 when the store answers, 503 otherwise. A store that answered
 * a ping less than `maxAgeMs` ago counts as answering, so a health check polled thousands of
 * times a second costs about what a bare HTTP server's answer costs, and the store sees at
 * most one ping per `maxAgeMs` from it. A failure is never remembered: while the store does
 * not answer, every check pings it again (concurrent checks share one ping).
 */
import type { FastifyPluginAsync } from 'fastify';
import { performance } from 'node:perf_hooks';
import { Type } from 'typebox';
import { AppError } from '../../common/errors.js';
import type { Store } from '../../storage/store.js';
import type { RouteOptions } from '../context.js';
import { ErrorResponse } from '../schemas.js';

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
      throw new AppError('STORE_UNAVAILABLE', `The store does not answer: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

// Not the TypeBox-typed plugin: its typed reply would not take the pre-serialized string body.
export const healthRoutes: FastifyPluginAsync<RouteOptions> = (app, { deps }) => {
  const health = new StoreHealth(deps.store);
  app.get(
    '/healthz',
    {
      // No per-request hooks (auth, request log) on this route: see plugins/request-log.ts.
      config: { hotPath: true },
      schema: {
        summary: 'Liveness and store health (no token needed); the store check may be up to 1 s old',
        tags: ['operations'],
        response: { 200: Type.Object({ data: Type.Object({ status: Type.Literal('ok') }) }), 503: ErrorResponse },
      },
    },
    (_request, reply) => {
      // The body is sent pre-serialized (a string with its JSON type), which skips the serializer.
      if (health.fresh()) {
        void reply.header('content-type', JSON_TYPE).send(HEALTHY_BODY);
        return;
      }
      return health.check().then(() => reply.header('content-type', JSON_TYPE).send(HEALTHY_BODY));
    },
  );
  return Promise.resolve();
};
