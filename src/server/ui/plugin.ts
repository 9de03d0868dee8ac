/**
 * Serves the web UI at `/` (and `/ui/`) and its assets at `/ui/*`, without a token: the
 * page holds no data, the API it calls does the auth. Every answer carries a strict
 * Content-Security-Policy (no inline script or style), gzip goes out precompressed to
 * clients that accept it, and hashed assets are cached for a year. Registering before
 * `npm run build` is safe: the page then says how to build it (503).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_UI_DIR, loadUiAssets, type UiAsset, type UiAssets } from './assets.js';

export interface UiPluginOptions {
  /** The build output; default ui-dist/ of this package. */
  dir?: string;
  /**
   * Answers `GET /` and `HEAD /` instead of the page when it returns a reply: the
   * Elasticsearch input answers its clients' version check there (routes/elasticsearch.ts).
   */
  root?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined;
}

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const NOT_BUILT = 'UI not built: run npm run build\n';

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

/** True when Accept-Encoding lists gzip (or `*`) without `q=0`. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of value.toLowerCase().split(',')) {
    const [coding, ...params] = part.trim().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: UiAsset): FastifyReply {
  securityHeaders(reply)
    .header('content-type', asset.contentType)
    .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('etag', asset.etag)
    .header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  if (asset.gzip && acceptsGzip(request.headers['accept-encoding'])) {
    return reply.header('content-encoding', 'gzip').send(asset.gzip);
  }
  return reply.send(asset.body);
}

function notBuilt(reply: FastifyReply): FastifyReply {
  return securityHeaders(reply).code(503).header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
}

export function uiPlugin(app: FastifyInstance, options: UiPluginOptions): Promise<void> {
  const dir = options.dir ?? DEFAULT_UI_DIR;
  let assets: UiAssets | undefined = loadUiAssets(dir);
  // A server started before the first build picks the UI up once it exists.
  const current = (): UiAssets | undefined => (assets ??= loadUiAssets(dir));

  const index = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const built = current();
    return built ? send(request, reply, built.index) : notBuilt(reply);
  };
  // Static files are not part of the API's OpenAPI description.
  const route = { schema: { hide: true } };
  const root = options.root;
  app.get('/', route, root === undefined ? index : async (request, reply) => root(request, reply) ?? index(request, reply));
  app.get('/ui/', route, index);
  // With ignoreTrailingSlash the app already routes /ui to /ui/; adding it again would throw.
  if (!app.hasRoute({ method: 'GET', url: '/ui' })) app.get('/ui', route, index);

  app.get<{ Params: { '*': string } }>('/ui/*', route, async (request, reply) => {
    const built = current();
    if (!built) return notBuilt(reply);
    const asset = built.files.get(request.params['*']);
    if (!asset) {
      return securityHeaders(reply)
        .code(404)
        .header('cache-control', 'no-store')
        .send({ error: { code: 'NOT_FOUND', message: `No UI asset ${request.params['*']}: reload the page (the UI may have been rebuilt)` } });
    }
    return send(request, reply, asset);
  });
  return Promise.resolve();
}
