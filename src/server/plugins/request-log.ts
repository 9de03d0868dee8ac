/**
 * The request log: by default only requests slower than `slowMs` (errors and 5xx are logged
 * by the error handler, with their cause); with `all`, one info line for every request.
 * The default hook is attached route by route, and not to `hotPath` routes (`/healthz`),
 * so a health check polled thousands of times a second runs no hook at all.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import type { ServerLog } from '../log.js';

export interface RequestLogOptions {
  /** Log every request (`--log-requests` / DANIEL_LOG_REQUESTS). */
  all: boolean;
  /** Requests that take at least this long are logged as slow. */
  slowMs: number;
}

export const DEFAULT_SLOW_REQUEST_MS = 1000;

function requestFields(request: FastifyRequest, reply: FastifyReply): Record<string, unknown> {
  // The client address (the proxy's client only behind a --trusted-proxy), never a token.
  return { reqId: request.id, client: request.ip, method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
}

/** A live tail lasts as long as its client wants: its length says nothing about the server. */
function isLiveTail(reply: FastifyReply): boolean {
  return String(reply.raw.getHeader('content-type') ?? '').startsWith('text/event-stream');
}

export function installRequestLog(app: FastifyInstance, log: ServerLog, options: RequestLogOptions): void {
  if (options.all) {
    app.addHook('onResponse', (request, reply, done) => {
      log.info('request', requestFields(request, reply));
      done();
    });
    return;
  }
  const slow: onResponseHookHandler = (request, reply, done) => {
    if (reply.elapsedTime >= options.slowMs && !isLiveTail(reply)) log.warn('slow request', requestFields(request, reply));
    done();
  };
  app.addHook('onRoute', (route) => {
    if (route.config?.hotPath === true) return;
    const existing = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse];
    route.onResponse = [...existing, slow];
  });
}
