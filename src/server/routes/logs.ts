/**
 * GET /logs (every host, `host=` repeatable) and GET /hosts/{host}/logs: search pages with a
 * time budget and `next` links, or a live tail with `follow=true`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { performance } from 'node:perf_hooks';
import { Type, type Static } from 'typebox';
import { AppError } from '../../common/errors.js';
import type { LogEntry, LogsResponse as LogsResponseShape } from '../../protocol/api.js';
import { lineCursorOf, queryFingerprint } from '../../query/cursor.js';
import type { SearchPage, SearchQuery, StoredLine } from '../../storage/store.js';
import type { RouteOptions, ServerDeps } from '../context.js';
import { resumeSeq, streamFollow } from '../follow.js';
import { deadlineFor, isRelativeTime, toLineFilter, toLogEntry, withAbsoluteTimes } from '../log-query.js';
import type { MadePage, PageAhead } from '../page-prefetch.js';
import { requestUrl, withCursor } from '../request-url.js';
import { errorResponses, ErrorResponse, hostsQueryProperty, logsQueryProperties, LogsResponse } from '../schemas.js';
import { callStore } from '../store-call.js';
import { jsonWithEntries, jsonWithEntriesYielding } from '../json-pieces.js';

const AllLogsQuery = Type.Object({ ...logsQueryProperties, ...hostsQueryProperty });
const HostLogsQuery = Type.Object(logsQueryProperties);
type LogsQuery = Static<typeof AllLogsQuery>;

const responses = { 200: LogsResponse, ...errorResponses, 429: ErrorResponse };

export async function assertHostKnown(deps: ServerDeps, host: string): Promise<void> {
  const files = await callStore('list files', () => deps.store.files(host));
  if (files === null) throw new AppError('HOST_NOT_FOUND', `No lines were ever received from host '${host}'`);
}

async function answerLogs(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: ServerDeps,
  query: LogsQuery,
  host: string | undefined,
): Promise<LogsResponseShape | undefined> {
  const filter = toLineFilter(query, deps.now(), host === undefined ? undefined : [host]);
  if (query.follow === true) {
    const resume = resumeSeq(request, query.cursor);
    if (host !== undefined) await assertHostKnown(deps, host);
    // HEAD gets the stream's headers, not an endless body.
    if (request.method === 'HEAD') {
      await reply.type('text/event-stream; charset=utf-8').send();
      return undefined;
    }
    await streamFollow(request, reply, deps, filter, resume);
    return undefined;
  }
  const { deadline } = deadlineFor(query.timeout, deps.limits);
  const order = query.order ?? 'desc';
  const search: SearchQuery = { ...filter, order, limit: query.count ?? 100, deadline };
  if (query.cursor !== undefined && query.cursor !== '') search.cursor = query.cursor;
  const url = requestUrl(request);

  // A page made ahead while the client read the one before (page-prefetch.ts).
  const ahead = search.cursor === undefined ? undefined : deps.pages.take(aheadKey(url, search));
  const made = ahead === undefined ? undefined : await ahead;
  if (made !== undefined) {
    await reply.type('application/json; charset=utf-8').send(made.body);
    if (made.next !== undefined) makeAhead(deps, made.next);
    return undefined;
  }

  const started = performance.now();
  const page = await deps.queries.run(request, reply, (signal) => callStore('search', () => deps.store.search({ ...search, signal })));
  if (page === undefined) return undefined;
  deps.metrics.observeQuery('search', (performance.now() - started) / 1000);
  if (host !== undefined && page.lines.length === 0 && search.cursor === undefined) await assertHostKnown(deps, host);

  const { body, next } = pageBody(withAbsoluteTimes(url, filter), search, page, query.timeout);
  await reply.type('application/json; charset=utf-8').send(body);
  // A client that followed one link, or asks for pages of 1,000 lines or more, likely follows the next.
  if (next !== undefined && (search.cursor !== undefined || search.limit >= BULK_PAGE)) makeAhead(deps, next);
  return undefined;
}

/** The answer's bytes, and the request of its `next` link. */
function pageBody(url: string, search: SearchQuery, page: SearchPage, timeout: string | undefined): MadePage {
  const { rest, next, entryOf } = pageParts(url, search, page, timeout);
  // A page of 10,000 lines is ~7 MB of JSON: V8's JSON.stringify writes it several times faster
  // than the schema's serializer, and the entries hold exactly the schema's fields (toLogEntry);
  // they are made and written a few at a time (json-pieces.ts), in LogsResponse's key order.
  return { body: jsonWithEntries(page.lines, entryOf, rest), next };
}

function pageParts(
  url: string,
  search: SearchQuery,
  page: SearchPage,
  timeout: string | undefined,
): { rest: Omit<LogsResponseShape, 'data'>; next: PageAhead | undefined; entryOf: (line: StoredLine) => LogEntry } {
  // Each entry's cursor resumes right after it, within the same snapshot as this paging.
  const cursorOf = lineCursorOf(search, page);
  const rest: Omit<LogsResponseShape, 'data'> = {};
  let next: PageAhead | undefined;
  if (page.nextCursor !== undefined) {
    rest.next = withCursor(url, page.nextCursor);
    next = { url: rest.next, search: { ...search, cursor: page.nextCursor }, timeout };
  }
  if (page.partial) rest.partial = true;
  return { rest, next, entryOf: (line) => toLogEntry(line, cursorOf(line)) };
}

/**
 * Everything that decides a page's bytes: its URL (parameters, cursor, the `next` link's base)
 * and the query resolved from it, which has a bound token's hosts in it (plugins/auth.ts).
 */
function aheadKey(url: string, search: SearchQuery): string {
  return `${url}\n${queryFingerprint(search)}`;
}

/** Pages this large are read by a program that walks the whole answer (the CLI, an export), not by a person. */
const BULK_PAGE = 1000;

/** Makes the page of `ahead` when no other search runs, unless its URL's times move with the clock (only a hand-made URL: `next` links pin them). */
function makeAhead(deps: ServerDeps, ahead: PageAhead): void {
  const params = new URL(ahead.url).searchParams;
  if (deps.queries.active > 0 || isRelativeTime(params.get('since') ?? undefined) || isRelativeTime(params.get('until') ?? undefined)) return;
  deps.pages.start(aheadKey(ahead.url, ahead.search), async (signal) => {
    const search: SearchQuery = { ...ahead.search, deadline: deadlineFor(ahead.timeout, deps.limits).deadline, signal };
    const page = await deps.store.search(search);
    const { rest, next, entryOf } = pageParts(ahead.url, search, page, ahead.timeout);
    // Written a piece at a time between the event loop's turns: the page before is still being sent.
    return { body: await jsonWithEntriesYielding(page.lines, entryOf, rest, signal), next };
  });
}

export const logsRoutes: FastifyPluginAsyncTypebox<RouteOptions> = (app, { deps }) => {
  app.get(
    '/logs',
    {
      config: { scope: 'read', hosts: 'query' },
      schema: {
        summary: 'Search lines of every host (or the given hosts), newest first; follow=true for a live tail (SSE)',
        tags: ['logs'],
        security: [{ bearer: [] }],
        querystring: AllLogsQuery,
        response: responses,
      },
    },
    async (request, reply) => answerLogs(request, reply, deps, request.query, undefined),
  );

  app.get(
    '/hosts/:host/logs',
    {
      config: { scope: 'read', hosts: 'params' },
      schema: {
        summary: "Search one host's lines, newest first; follow=true for a live tail (SSE)",
        tags: ['logs'],
        security: [{ bearer: [] }],
        params: Type.Object({ host: Type.String() }),
        querystring: HostLogsQuery,
        response: responses,
      },
    },
    async (request, reply) => answerLogs(request, reply, deps, request.query, request.params.host),
  );
  return Promise.resolve();
};
