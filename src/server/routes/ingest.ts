/** POST /ingest: the agent's endpoint. Answers 200 only after store.append resolved (durable). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../context.js';
import { toAppendRequest } from '../ingest-validation.js';
import { ingestGuard } from '../plugins/ingest-guard.js';
import { errorResponses, ErrorResponse, IngestBody, IngestResponse } from '../schemas.js';
import { callStore } from '../store-call.js';

export const ingestRoutes: FastifyPluginAsyncTypebox<RouteOptions> = (app, { deps }) => {
  app.post(
    '/ingest',
    {
      config: { scope: 'ingest', hosts: 'body' },
      preHandler: ingestGuard,
      schema: {
        summary: "Store a batch of lines of one host's files (idempotent per host, file_id and offset)",
        tags: ['ingest'],
        security: [{ bearer: [] }],
        body: IngestBody,
        response: { 200: IngestResponse, ...errorResponses, 413: ErrorResponse, 415: ErrorResponse },
      },
    },
    async (request) => {
      const { request: append, lineBytes } = toAppendRequest(request.body, deps.now());
      const result = await callStore('store the lines', () => deps.store.append(append));
      deps.metrics.recordIngest(result.accepted, result.duplicates, lineBytes, request.bodyRawBytes ?? 0);
      if (result.accepted > 0) deps.notifier.notify();
      return { data: { accepted: result.accepted, duplicates: result.duplicates } };
    },
  );
  return Promise.resolve();
};
