/**
 * POST /v1/logs: OTLP/HTTP logs, protobuf or JSON (src/inputs/otlp/). Answers as the OTLP
 * specification says: 200 with an ExportLogsServiceResponse in the request's encoding, and
 * `partial_success` (how many records were refused, and why) when some were refused while the
 * rest was stored, so the exporter does not retry them; 400/413/415 for a request that can
 * never be stored; 429 with Retry-After or 503 when a retry can succeed. A failed protobuf
 * request gets a google.rpc.Status body.
 */
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../common/errors.js';
import { describeRejections } from '../../inputs/http-common.js';
import { decodeOtlpJson, decodeOtlpProtobuf, encodeResponse, encodeStatus } from '../../inputs/otlp/otlp.js';
import { bodyBytes, installPushBody, mediaType, parseJsonBytes, pushAuth, pushBatches, refusedEntries, type PushRouteOptions } from './push-common.js';

const PROTOBUF = new Set(['application/x-protobuf', 'application/protobuf', 'application/vnd.google.protobuf']);

export const otlpRoutes: FastifyPluginAsync<PushRouteOptions> = (app, options) => {
  const { deps } = options;
  installPushBody(app, deps.limits.bodyLimitBytes, options.budget);
  // A protobuf request's failure is a google.rpc.Status in protobuf; the message keeps our code.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode < 400 || !PROTOBUF.has(mediaType(request)) || typeof payload !== 'string') return done(null, payload);
    let message = payload;
    try {
      const error = (JSON.parse(payload) as { error?: { code?: string; message?: string } }).error;
      if (error !== undefined) message = `${error.code ?? ''}: ${error.message ?? ''}`;
    } catch {
      // Not our JSON error shape: sent as the message as it is.
    }
    void reply.type('application/x-protobuf');
    done(null, Buffer.from(encodeStatus(reply.statusCode, message)));
  });

  app.post(
    '/v1/logs',
    {
      config: { scope: 'ingest', hosts: 'pushed' },
      schema: { summary: 'OTLP/HTTP logs: store an ExportLogsServiceRequest (protobuf or JSON)', tags: ['inputs'], security: [{ bearer: [] }] },
    },
    async (request, reply) => {
      const type = mediaType(request);
      const encoding = type === 'application/json' ? 'json' : PROTOBUF.has(type) ? 'protobuf' : undefined;
      if (encoding === undefined) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Type '${type}' is not supported on /v1/logs: send application/x-protobuf or application/json`);
      }
      const auth = pushAuth(request);
      const bytes = bodyBytes(request);
      const batches =
        encoding === 'json' ? decodeOtlpJson(parseJsonBytes(bytes), auth, deps.now()) : decodeOtlpProtobuf(bytes, auth, deps.now());
      const result = await pushBatches(options, request, reply, batches);
      const partial =
        result.rejected.length === 0 ? undefined : { rejectedLogRecords: refusedEntries(batches, result), errorMessage: describeRejections(result.rejected) };
      const body = encodeResponse(partial, encoding);
      return reply
        .code(200)
        .type(encoding === 'json' ? 'application/json' : 'application/x-protobuf')
        .send(typeof body === 'string' ? body : Buffer.from(body));
    },
  );
  return Promise.resolve();
};
