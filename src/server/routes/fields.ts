/**
 * The field explorer: GET /logs/fields (which fields the matching lines have, with counts)
 * and GET /logs/fields/{name}/values (their top values). Without `sample`, both count every
 * matching line when the store can do so cheaply (`Store.fieldCounts`: segments' field
 * statistics, plus at most ALL_LINES_READ lines read one by one); otherwise, and whenever
 * `sample` is given, they read the newest matching lines, up to `sample` of them (default
 * 10,000, as a log UI's field sidebar does). Either way within the time budget; the answer
 * says how many lines it examined and is `partial` when more lines matched than it counted.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { extractFields } from '../../query/fields.js';
import type { LineFilter, StoredLine } from '../../storage/store.js';
import type { RouteOptions } from '../context.js';
import { deadlineFor, toLineFilter } from '../log-query.js';
import { errorResponses, filterQueryProperties, hostsQueryProperty } from '../schemas.js';
import { callStore } from '../store-call.js';
import type { FieldCountsResult, Store } from '../../storage/store.js';

const PAGE = 10_000;
const DEFAULT_SAMPLE = 10_000;
const MAX_SAMPLE = 1_000_000;
/** Lines an all-lines answer may read one by one (segments without usable statistics); past it, the sample. */
const ALL_LINES_READ = 50_000;

const sampleProperty = {
  sample: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SAMPLE, description: `How many of the newest matching lines to read. Default: every matching line when the store can count them from its field statistics, else ${DEFAULT_SAMPLE}` })),
};

const FieldsQuery = Type.Object({ ...filterQueryProperties, ...hostsQueryProperty, ...sampleProperty });
const ValuesQuery = Type.Object({
  ...filterQueryProperties,
  ...hostsQueryProperty,
  ...sampleProperty,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'How many values; default 10' })),
});

const Examined = {
  lines_examined: Type.Integer({ description: 'Matching lines counted (every one, or the newest `sample`)' }),
  partial: Type.Optional(Type.Boolean({ description: 'True when more lines matched than were read (sample or time budget)' })),
};
const FieldsResponse = Type.Object({ data: Type.Array(Type.Object({ name: Type.String(), lines: Type.Integer() })), ...Examined });
const ValuesResponse = Type.Object({
  data: Type.Array(Type.Object({ value: Type.String(), lines: Type.Integer() })),
  other_lines: Type.Integer({ description: 'Lines with this field whose value is not listed' }),
  ...Examined,
});

export interface Scan {
  examined: number;
  partial: boolean;
}

/** Calls `visit` on matching lines, newest first, until `max` lines, the deadline, or the end. */
export async function scanMatching(store: Store, filter: LineFilter, deadline: number, signal: AbortSignal, max: number, visit: (line: StoredLine) => void): Promise<Scan> {
  let cursor: string | undefined;
  let examined = 0;
  for (;;) {
    const limit = Math.min(PAGE, max - examined);
    const page = await callStore('read lines', () => store.search({ ...filter, order: 'desc', limit, deadline, signal, ...(cursor === undefined ? {} : { cursor }) }));
    for (const line of page.lines) visit(line);
    examined += page.lines.length;
    if (page.nextCursor === undefined) return { examined, partial: false };
    if (examined >= max || page.partial) return { examined, partial: true };
    cursor = page.nextCursor;
  }
}

/** The `[key, count]` pairs, most common first, ties by key. */
export function topCounts(counts: Map<string, number>, limit: number): Array<[string, number]> {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, limit);
}

/** Every matching line counted by the store, or undefined when it cannot cheaply (the caller reads a sample). */
function allLines(store: Store, filter: LineFilter, name: string | undefined, deadline: number, signal: AbortSignal): Promise<FieldCountsResult | undefined> {
  const counting = store.fieldCounts?.bind(store);
  if (counting === undefined) return Promise.resolve(undefined);
  return callStore('count fields', () => counting({ ...filter, ...(name === undefined ? {} : { name }), maxScanLines: ALL_LINES_READ, deadline, signal }));
}

export function fieldsOfLine(line: StoredLine): Record<string, string> {
  return { ...extractFields(line.line, line.fields), host: line.host, file: line.filename };
}

export const fieldRoutes: FastifyPluginAsyncTypebox<RouteOptions> = (app, { deps }) => {
  app.get(
    '/logs/fields',
    {
      config: { scope: 'read', hosts: 'query' },
      schema: {
        summary: 'The fields of the matching lines, most common first',
        tags: ['logs'],
        security: [{ bearer: [] }],
        querystring: FieldsQuery,
        response: { 200: FieldsResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const filter = toLineFilter(request.query, deps.now());
      const { deadline } = deadlineFor(request.query.timeout, deps.limits);
      let counts = new Map<string, number>();
      const sample = request.query.sample;
      const scan = await deps.queries.run(request, reply, async (signal) => {
        const all = sample === undefined ? await allLines(deps.store, filter, undefined, deadline, signal) : undefined;
        if (all !== undefined) {
          counts = all.counts;
          return { examined: all.lines, partial: all.partial };
        }
        return scanMatching(deps.store, filter, deadline, signal, sample ?? DEFAULT_SAMPLE, (line) => {
          for (const name of Object.keys(fieldsOfLine(line))) counts.set(name, (counts.get(name) ?? 0) + 1);
        });
      });
      if (scan === undefined) return undefined;
      const data = topCounts(counts, counts.size).map(([name, lines]) => ({ name, lines }));
      return { data, lines_examined: scan.examined, ...(scan.partial ? { partial: true } : {}) };
    },
  );

  app.get(
    '/logs/fields/:name/values',
    {
      config: { scope: 'read', hosts: 'query' },
      schema: {
        summary: "A field's most common values among the matching lines",
        tags: ['logs'],
        security: [{ bearer: [] }],
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }),
        querystring: ValuesQuery,
        response: { 200: ValuesResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const filter = toLineFilter(request.query, deps.now());
      const { deadline } = deadlineFor(request.query.timeout, deps.limits);
      let counts = new Map<string, number>();
      let withField = 0;
      const sample = request.query.sample;
      const scan = await deps.queries.run(request, reply, async (signal) => {
        const all = sample === undefined ? await allLines(deps.store, filter, name, deadline, signal) : undefined;
        if (all !== undefined) {
          counts = all.counts;
          withField = all.withField;
          return { examined: all.lines, partial: all.partial };
        }
        return scanMatching(deps.store, filter, deadline, signal, sample ?? DEFAULT_SAMPLE, (line) => {
          const fields = fieldsOfLine(line);
          const value = Object.hasOwn(fields, name) ? fields[name] : undefined; // `constructor` is a name like any other
          if (value === undefined) return;
          withField++;
          counts.set(value, (counts.get(value) ?? 0) + 1);
        });
      });
      if (scan === undefined) return undefined;
      const top = topCounts(counts, request.query.limit ?? 10);
      const listed = top.reduce((sum, [, lines]) => sum + lines, 0);
      return {
        data: top.map(([value, lines]) => ({ value, lines })),
        other_lines: withField - listed,
        lines_examined: scan.examined,
        ...(scan.partial ? { partial: true } : {}),
      };
    },
  );
  return Promise.resolve();
};
