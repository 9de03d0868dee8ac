/** GET /hosts/, /hosts/{host}/ and /hosts/{host}/files/: what has been received, with health. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../common/errors.js';
import { nsToRfc3339 } from '../../common/time.js';
import type { FileEntry as FileEntryShape, HostEntry as HostEntryShape } from '../../protocol/api.js';
import type { FileSummary } from '../../storage/store.js';
import type { RouteOptions, ServerDeps } from '../context.js';
import { baseUrl, hostUrl } from '../request-url.js';
import { errorResponses, FileEntry, HostEntry } from '../schemas.js';
import { callStore } from '../store-call.js';

const HostParams = Type.Object({ host: Type.String() });

async function filesOf(deps: ServerDeps, host: string): Promise<FileSummary[]> {
  const files = await callStore('list files', () => deps.store.files(host));
  if (files === null) throw new AppError('HOST_NOT_FOUND', `No lines were ever received from host '${host}'`);
  return files;
}

export const hostsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = (app, { deps }) => {
  const common = { config: { scope: 'read' as const, hosts: 'params' as const } };

  app.get(
    '/hosts/',
    {
      config: { scope: 'read', hosts: 'list' },
      schema: {
        summary: 'Every host Daniel has received lines from',
        tags: ['hosts'],
        security: [{ bearer: [] }],
        response: { 200: Type.Object({ data: Type.Array(HostEntry) }), ...errorResponses },
      },
    },
    async (request) => {
      const hosts = await callStore('list hosts', () => deps.store.hosts());
      const data: HostEntryShape[] = hosts.map((summary) => ({
        host: summary.host,
        url: hostUrl(request, summary.host),
        last_seen: nsToRfc3339(summary.lastSeen),
        lines: summary.lines,
        bytes: summary.bytes,
      }));
      return { data };
    },
  );

  app.get(
    '/hosts/:host/',
    {
      ...common,
      schema: {
        summary: "A host's files with their lines, bytes and the agent's lag",
        tags: ['hosts'],
        security: [{ bearer: [] }],
        params: HostParams,
        response: { 200: Type.Object({ data: Type.Array(FileEntry) }), ...errorResponses },
      },
    },
    async (request) => {
      const { host } = request.params;
      const files = await filesOf(deps, host);
      const base = baseUrl(request);
      const data: FileEntryShape[] = files.map((file) => ({
        filename: file.filename,
        host,
        url: `${base}/hosts/${encodeURIComponent(host)}/logs?file=${encodeURIComponent(file.filename)}`,
        path: file.path,
        last_seen: nsToRfc3339(file.lastSeen),
        lines: file.lines,
        bytes: file.bytes,
        offset: file.offset,
        size: file.size,
        lag_bytes: file.size === null ? null : Math.max(0, file.size - file.offset),
      }));
      return { data };
    },
  );

  app.get(
    '/hosts/:host/files/',
    {
      ...common,
      schema: {
        summary: "A host's file names",
        tags: ['hosts'],
        security: [{ bearer: [] }],
        params: HostParams,
        response: { 200: Type.Object({ data: Type.Array(Type.String()) }), ...errorResponses },
      },
    },
    async (request) => ({ data: (await filesOf(deps, request.params.host)).map((file) => file.filename) }),
  );
  return Promise.resolve();
};
