/** GET /logs/context: the lines before and after one line of one file identity, by offset. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { performance } from 'node:perf_hooks';
import { Type } from 'typebox';
import { AppError } from '../../common/errors.js';
import type { RouteOptions } from '../context.js';
import { toLogEntry } from '../log-query.js';
import { ContextResponse, errorResponses } from '../schemas.js';
import { callStore } from '../store-call.js';
import { assertHostKnown } from './logs.js';

const ContextQuery = Type.Object({
  host: Type.String({ description: 'The host of the line' }),
  file_id: Type.String({ description: 'The file identity of the line (file_id of a log entry)' }),
  offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Byte offset of the line' }),
  before: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'Lines before it; default 10' })),
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'Lines after it; default 10' })),
});

export const contextRoutes: FastifyPluginAsyncTypebox<RouteOptions> = (app, { deps }) => {
  app.get(
    '/logs/context',
    {
      config: { scope: 'read', hosts: 'query' },
      schema: {
        summary: 'The lines around one line of a file, in file order',
        tags: ['logs'],
        security: [{ bearer: [] }],
        querystring: ContextQuery,
        response: { 200: ContextResponse, ...errorResponses },
      },
    },
    async (request) => {
      const { host, file_id: fileId, offset } = request.query;
      const started = performance.now();
      const result = await callStore('read context', () =>
        deps.store.context({ host, fileId, offset, before: request.query.before ?? 10, after: request.query.after ?? 10 }),
      );
      deps.metrics.observeQuery('context', (performance.now() - started) / 1000);
      if (result === null) {
        await assertHostKnown(deps, host);
        throw new AppError('LINE_NOT_FOUND', `No line starts at offset ${offset} of file_id '${fileId}' on host '${host}'`);
      }
      // Context lines are addressed by position, not by a paging: their cursor is their seq.
      const entry = (line: typeof result.line) => toLogEntry(line, String(line.seq));
      return { data: { before: result.before.map(entry), line: entry(result.line), after: result.after.map(entry) } };
    },
  );
  return Promise.resolve();
};
