/** GET /healthz (no token): 200 when the store answers, 503 otherwise. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../common/errors.js';
import type { RouteOptions } from '../context.js';
import { ErrorResponse } from '../schemas.js';

const PING_TIMEOUT_MS = 5000;

export const healthRoutes: FastifyPluginAsyncTypebox<RouteOptions> = (app, { deps }) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness and store health (no token needed)',
        tags: ['operations'],
        response: { 200: Type.Object({ data: Type.Object({ status: Type.Literal('ok') }) }), 503: ErrorResponse },
      },
    },
    async () => {
      let timer: NodeJS.Timeout | undefined;
      // A hung store must not hang the health check: a check that never answers is useless to a supervisor.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
      });
      try {
        await Promise.race([deps.store.ping(), timeout]);
      } catch (error) {
        throw new AppError('STORE_UNAVAILABLE', `The store does not answer: ${(error as Error).message}`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
      return { data: { status: 'ok' as const } };
    },
  );
  return Promise.resolve();
};
