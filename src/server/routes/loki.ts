/**
 * POST /loki/api/v1/push (and the old alias /api/prom/push): Loki's push API, JSON or
 * protobuf + snappy (src/inputs/loki/). Answers as Loki does, so Promtail, Alloy and the
 * Node transports retry what a retry can fix and drop the rest: 204 when every entry was
 * stored; 400 (403 for a host the token may not write) naming what was refused while the
 * rest was stored; 413 past the body limit; 429 with Retry-After when the store falls
 * behind; 5xx when it is down.
 */
import type { FastifyPluginAsync, RouteHandlerMethod } from 'fastify';
import { AppError, type ErrorCode } from '../../common/errors.js';
import { describeRejections } from '../../inputs/http-common.js';
import { decodeLokiJson, decodeLokiProtobuf, unsnappy } from '../../inputs/loki/loki.js';
import type { PushedBatch } from '../../inputs/sink.js';
import { bodyBytes, installPushBody, mediaType, parseJsonBytes, pushAuth, pushBatches, refusedEntries, type PushRouteOptions } from './push-common.js';

export const lokiRoutes: FastifyPluginAsync<PushRouteOptions> = (app, options) => {
  const { deps } = options;
  const limit = deps.limits.bodyLimitBytes;
  installPushBody(app, limit, options.budget, { snappy: true });
  const schema = {
    summary: 'Loki push API: store log streams sent as JSON or snappy-compressed protobuf (204 when all are stored)',
    tags: ['inputs'],
    security: [{ bearer: [] }],
  };
  const push: RouteHandlerMethod = async (request, reply) => {
    const auth = pushAuth(request);
    const now = deps.now();
    const bytes = bodyBytes(request);
    let batches: PushedBatch[];
    if (mediaType(request) === 'application/json') {
      batches = decodeLokiJson(parseJsonBytes(bytes), auth, now);
    } else if (bytes.length === 0) {
      batches = [];
    } else {
      // Protobuf: raw snappy unless Content-Encoding gzip/deflate already took the compression off.
      const proto = request.pushEncoding === 'decoded' ? bytes : unsnappy(bytes, limit);
      batches = decodeLokiProtobuf(proto, auth, now);
    }
    const result = await pushBatches(options, request, reply, batches);
    if (result.rejected.length > 0) {
      const refused = refusedEntries(batches, result);
      // 403 when only hosts the token may not write were refused, else 400: neither is retried.
      const other = result.rejected.find((rejection) => rejection.code !== 'HOST_NOT_ALLOWED');
      const code: ErrorCode = other === undefined ? 'HOST_NOT_ALLOWED' : other.code === 'INVALID_NAME' ? 'INVALID_NAME' : 'INVALID_BODY';
      throw new AppError(code, `${refused} entries refused, ${result.accepted} stored: ${describeRejections(result.rejected)}`);
    }
    return reply.code(204).send();
  };
  const route = { config: { scope: 'ingest' as const, hosts: 'pushed' as const }, schema };
  app.post('/loki/api/v1/push', route, push);
  app.post('/api/prom/push', { ...route, schema: { ...schema, hide: true } }, push);
  // Loki's readiness route, which shippers probe before they push (Vector's health check).
  app.get('/ready', { schema: { hide: true } }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send('ready\n'));
  return Promise.resolve();
};
