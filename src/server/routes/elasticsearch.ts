/**
 * Elasticsearch's bulk API as an input (src/inputs/elasticsearch/): `POST|PUT /_bulk` and
 * `/{index}/_bulk`, answered per item as ES does; and the side routes Filebeat, Logstash,
 * Vector and the official clients call before they send (license, templates, ILM policies,
 * ingest pipelines, cluster health, nodes), answered harmlessly so they go on to `_bulk`.
 * Every answer of these routes carries `X-Elastic-Product: Elasticsearch`, which the
 * official clients (8.x, 9.x) and Logstash check. `GET /` and `HEAD /` are answered by the
 * UI plugin, which hands requests that look like an ES client to `esRootAnswer`.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { hostname } from 'node:os';
import { bulkResponseText, decodeBulk, ES_VERSION, rootInfo } from '../../inputs/elasticsearch/bulk.js';
import { bodyBytes, installPushBody, pushAuth, pushBatches, type PushRouteOptions } from './push-common.js';

export const ELASTIC_PRODUCT = 'Elasticsearch';

/** User agents of ES clients and shippers that write to ES. */
const ES_AGENT = /elasticsearch|elastic-transport|logstash|manticore|beat|vector|fluent-?bit|opensearch|syslog-ng|elastic/i;

/**
 * Whether a `GET /` or `HEAD /` comes from an ES client rather than a browser: an ES media
 * type in Accept, the `X-Elastic-Client-Meta` header, an ES client's or shipper's
 * User-Agent, or Basic/ApiKey credentials (browsers send none to the UI).
 */
export function looksLikeEsClient(request: FastifyRequest): boolean {
  const headers = request.headers;
  if (headers['x-elastic-client-meta'] !== undefined) return true;
  const accept = String(headers.accept ?? '');
  if (accept.includes('vnd.elasticsearch')) return true;
  if (ES_AGENT.test(String(headers['user-agent'] ?? ''))) return true;
  return /^\s*(basic|apikey)\s/i.test(String(headers.authorization ?? ''));
}

function esJson(reply: FastifyReply): FastifyReply {
  return reply.header('x-elastic-product', ELASTIC_PRODUCT).type('application/json; charset=utf-8');
}

/** The answer to an ES client's `GET /` (and `HEAD /`, whose body Fastify drops). */
export function esRootAnswer(reply: FastifyReply): FastifyReply {
  return esJson(reply).code(200).send(JSON.stringify(rootInfo(hostname())));
}

export const elasticsearchRoutes: FastifyPluginAsync<PushRouteOptions> = (app, options) => {
  const { deps } = options;
  installPushBody(app, deps.limits.bodyLimitBytes, options.budget);
  app.addHook('onSend', (_request, reply, payload, done) => {
    void reply.header('x-elastic-product', ELASTIC_PRODUCT);
    done(null, payload);
  });
  const config = { scope: 'ingest' as const, hosts: 'pushed' as const };

  const bulk: RouteHandlerMethod = async (request, reply) => {
    const started = performance.now();
    const pathIndex = (request.params as { index?: string }).index;
    const decoded = decodeBulk(bodyBytes(request).toString('utf8'), pathIndex, pushAuth(request), deps.now());
    const result = await pushBatches(options, request, reply, decoded.batches);
    // Compact JSON: Vector looks for `"errors":true`, Fluent Bit for `"errors":false,"items":[`.
    return esJson(reply).code(200).send(bulkResponseText(decoded, result, Math.round(performance.now() - started)));
  };
  const bulkSchema = { summary: 'Elasticsearch bulk API: store index/create documents (NDJSON), answered per item', tags: ['inputs'], security: [{ bearer: [] }] };
  app.route({ method: ['POST', 'PUT'], url: '/_bulk', config, schema: bulkSchema, handler: bulk });
  app.route({ method: ['POST', 'PUT'], url: '/:index/_bulk', config, schema: { ...bulkSchema, hide: true }, handler: bulk });

  // Side routes shippers call at start: answered so that they carry on to _bulk.
  const hidden = { hide: true };
  const empty: RouteHandlerMethod = async (_request, reply) => esJson(reply).send('{}');
  const acknowledged: RouteHandlerMethod = async (request, reply) => esJson(reply).send(request.method === 'GET' ? '{}' : '{"acknowledged":true}');
  app.get('/_license', { config, schema: hidden }, async (_request, reply) =>
    esJson(reply).send(
      JSON.stringify({ license: { status: 'active', uid: 'daniel', type: 'basic', issue_date_in_millis: 0, max_nodes: 1000, issued_to: 'daniel', issuer: 'daniel' } }),
    ),
  );
  app.get('/_xpack', { config, schema: hidden }, async (_request, reply) =>
    esJson(reply).send(JSON.stringify({ build: {}, license: { status: 'active', type: 'basic', mode: 'basic' }, features: {} })),
  );
  for (const prefix of ['/_index_template', '/_template', '/_component_template', '/_ilm/policy', '/_ingest/pipeline', '/_data_stream']) {
    app.route({ method: ['GET', 'PUT', 'POST', 'DELETE'], url: `${prefix}/*`, config, schema: hidden, handler: acknowledged });
  }
  app.route({ method: ['GET', 'PUT'], url: '/:index/_mapping', config, schema: hidden, handler: acknowledged });
  app.get('/_cluster/health', { config, schema: hidden }, async (_request, reply) =>
    esJson(reply).send(JSON.stringify({ cluster_name: 'daniel', status: 'green', timed_out: false, number_of_nodes: 1, number_of_data_nodes: 1 })),
  );
  const nodes: RouteHandlerMethod = async (_request, reply) =>
    esJson(reply).send(
      JSON.stringify({
        _nodes: { total: 1, successful: 1, failed: 0 },
        cluster_name: 'daniel',
        nodes: { daniel: { name: hostname(), version: ES_VERSION, roles: ['data', 'ingest', 'master'], http: { publish_address: '' } } },
      }),
    );
  app.get('/_nodes', { config, schema: hidden }, nodes);
  app.get('/_nodes/*', { config, schema: hidden }, nodes);
  app.get('/_cat/*', { config, schema: hidden }, async (_request, reply) => esJson(reply).send('[]'));
  app.route({ method: ['GET', 'POST'], url: '/_refresh', config, schema: hidden, handler: empty });
  return Promise.resolve();
};
