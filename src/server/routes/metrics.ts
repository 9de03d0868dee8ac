/** GET /metrics (scope read): Prometheus text format. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { nsToMs } from '../../common/time.js';
import type { RouteOptions } from '../context.js';
import { errorResponses } from '../schemas.js';
import { callStore } from '../store-call.js';

export const metricsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = (app, { deps }) => {
  app.get(
    '/metrics',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Prometheus metrics: ingest counters, query latency, store size, per-host last seen, Node process metrics',
        tags: ['operations'],
        security: [{ bearer: [] }],
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text exposition format 0.0.4' }), ...errorResponses },
      },
    },
    async (_request, reply) => {
      const [stats, hosts] = await Promise.all([
        callStore('read its statistics', () => deps.store.stats()),
        callStore('list hosts', () => deps.store.hosts()),
      ]);
      const text = await deps.metrics.render({
        storeLines: stats.lines,
        storeRawBytes: stats.rawBytes,
        storeStoredBytes: stats.storedBytes,
        storeSegments: stats.segments,
        ...(stats.segmentsWithoutFieldStats === undefined ? {} : { storeSegmentsWithoutFieldStats: stats.segmentsWithoutFieldStats }),
        ...(stats.segmentsToRepack === undefined ? {} : { storeSegmentsToRepack: stats.segmentsToRepack }),
        ...(stats.repack === undefined ? {} : { storeRepackSavedBytes: stats.repack.bytesBefore - stats.repack.bytesAfter }),
        hostsLastSeen: hosts.map((host) => ({ host: host.host, seconds: nsToMs(host.lastSeen) / 1000 })),
      });
      return reply.type(deps.metrics.contentType).send(text);
    },
  );
  return Promise.resolve();
};
