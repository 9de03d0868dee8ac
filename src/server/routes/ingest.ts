/**
 * POST /ingest: the agent's endpoint. Answers 200 only after store.append resolved (durable).
 * The body is validated as a whole only as far as the request is one (an object, a valid host,
 * a `files` array); each group and line is then checked alone, and what fails is named in
 * `rejected` while the rest is stored. The documented schema is the full wire format.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Compile } from 'typebox/compile';
import { IngestBodySchema, IngestEnvelopeSchema, IngestResponseSchema, type IngestEnvelopeValue } from '../../protocol/ingest-schema.js';
import type { RouteOptions } from '../context.js';
import { toAppendRequest } from '../ingest-validation.js';
import { ingestGuard } from '../plugins/ingest-guard.js';
import { errorResponses, ErrorResponse } from '../schemas.js';
import { callStore } from '../store-call.js';

const envelope = Compile(IngestEnvelopeSchema);

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
        body: IngestBodySchema,
        response: { 200: IngestResponseSchema, ...errorResponses, 413: ErrorResponse, 415: ErrorResponse },
      },
      // Only the envelope refuses the request whole; groups and lines are checked one by one.
      validatorCompiler: () => (value: unknown) =>
        envelope.Check(value) ? { value } : { error: envelope.Errors(value) as unknown as Error },
    },
    async (request) => {
      const body = request.body as unknown as IngestEnvelopeValue;
      const { request: append, lineBytes, rejected } = toAppendRequest(body, deps.now(), deps.identities);
      // The segments' text is prepared on a worker thread meanwhile; this thread goes on with other requests.
      await deps.store.prepareAppend?.(append);
      const result = await callStore('store the lines', () => deps.store.append(append));
      deps.metrics.recordIngest(result.accepted, result.duplicates, lineBytes, request.bodyRawBytes ?? 0);
      if (result.accepted > 0) deps.notifier.notify(result.stored);
      return { data: { accepted: result.accepted, duplicates: result.duplicates, ...(rejected.length > 0 ? { rejected } : {}) } };
    },
  );
  return Promise.resolve();
};
