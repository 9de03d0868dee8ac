/**
 * URLs in answers are built from the request's own scheme, host and port (SPEC.md), so a
 * client that reached Daniel through some name gets links that work for it. X-Forwarded-*
 * is believed only from the proxies given to --trusted-proxy (Fastify's trustProxy list):
 * `request.protocol` is then the scheme the proxy's client used.
 */
import type { FastifyRequest } from 'fastify';

// A Host header is client input: anything that is not a plain host[:port] falls back to the socket address.
const SAFE_HOST = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function baseUrl(request: FastifyRequest): string {
  const host = request.headers.host;
  if (typeof host === 'string' && SAFE_HOST.test(host)) return `${request.protocol}://${host}`;
  const address = request.socket.localAddress ?? '127.0.0.1';
  const port = request.socket.localPort ?? 80;
  return `${request.protocol}://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** The request's own absolute URL. */
export function requestUrl(request: FastifyRequest): string {
  return new URL(baseUrl(request) + (request.url.startsWith('/') ? request.url : '/' + request.url)).toString();
}

/** `url` with `cursor` set (and any earlier cursor replaced). */
export function withCursor(url: string, cursor: string): string {
  const next = new URL(url);
  next.searchParams.set('cursor', cursor);
  return next.toString();
}

export function hostUrl(request: FastifyRequest, host: string): string {
  return `${baseUrl(request)}/hosts/${encodeURIComponent(host)}/`;
}
