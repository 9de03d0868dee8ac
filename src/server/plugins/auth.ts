/**
 * Bearer-token auth as an onRequest hook on each route that declares a scope in its config:
 * handlers never see a request that lacks it, and public routes (health, OpenAPI, UI files)
 * run no auth code at all. The scheme word matches in any case (`bearer SECRETCODE` works),
 * as SPEC.md requires.
 *
 * Tokens bound to hosts (`daniel token create --host NAME`) are checked here too, after
 * validation, by where the route takes its host from (`config.hosts`): a path parameter, the
 * `host` query parameter (absent = the token's hosts), the ingest body, or a list answer that
 * is filtered. A route that declares none covers every host and refuses bound tokens, so a
 * new route cannot leak other hosts by being forgotten here.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler, preSerializationHookHandler } from 'fastify';
import { AppError } from '../../common/errors.js';
import { scopeAllows, type Principal, type RequiredScope, type TokenSet } from '../tokens.js';

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;
const BASIC = /^\s*basic\s+(\S+)\s*$/i;
const API_KEY = /^\s*apikey\s+(\S+)\s*$/i;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on routes that need a scope. */
    principal?: Principal;
  }
}

/** `base64(a:b)` -> `b`, when the text decodes to that shape. */
function afterColon(encoded: string): string | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 || colon === decoded.length - 1 ? undefined : decoded.slice(colon + 1);
}

/**
 * The token a request presents, in each form senders of the pushed inputs use: `Bearer
 * TOKEN`, Basic auth with the token as the password (any user name), or Elasticsearch's
 * `ApiKey TOKEN` or `ApiKey base64(id:TOKEN)`. The first is the one budgets are keyed by.
 */
export function presentedTokens(request: FastifyRequest): string[] {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return [];
  const bearer = BEARER.exec(header)?.[1];
  if (bearer !== undefined) return [bearer];
  const basic = BASIC.exec(header)?.[1];
  if (basic !== undefined) {
    const password = afterColon(basic);
    return password === undefined ? [] : [password];
  }
  const apiKey = API_KEY.exec(header)?.[1];
  if (apiKey !== undefined) {
    const key = afterColon(apiKey);
    return key === undefined ? [apiKey] : [apiKey, key];
  }
  return [];
}

export function presentedToken(request: FastifyRequest): string | undefined {
  return presentedTokens(request)[0];
}

/** Per-address failure limit and per-token rates (plugins/abuse.ts). */
export interface AuthGuard {
  checkAddress(request: FastifyRequest, reply: FastifyReply): AppError | undefined;
  failed(request: FastifyRequest, problem: AppError): void;
  admit(key: string, request: FastifyRequest, reply: FastifyReply): AppError | undefined;
}

function budgetKey(request: FastifyRequest): string {
  const id = request.principal?.id;
  return id !== undefined ? `id:${id}` : `cfg:${createHash('sha256').update(presentedToken(request) ?? '').digest('base64')}`;
}

/** Undefined when a request that needs `required` may proceed. */
export function authProblem(request: FastifyRequest, tokens: TokenSet, required: RequiredScope | 'admin'): AppError | undefined {
  const presented = presentedTokens(request);
  if (presented.length === 0) return new AppError('UNAUTHORIZED', 'Missing token: send Authorization: Bearer TOKEN');
  let principal: Principal | undefined;
  for (const token of presented) {
    principal = tokens.find(token);
    if (principal !== undefined) break;
  }
  if (principal === undefined) return new AppError('UNAUTHORIZED', 'Unknown token: send Authorization: Bearer TOKEN with a configured token');
  if (!scopeAllows(principal.scope, required)) {
    const needs = required === 'admin' ? 'admin' : `${required} (or admin)`;
    return new AppError('FORBIDDEN', `This route needs a token with scope ${needs}; this one has ${principal.scope}`);
  }
  request.principal = principal;
  return undefined;
}

function quoted(host: string): string {
  return JSON.stringify(host);
}

function allow(principal: Principal, host: string): void {
  if (principal.hosts !== undefined && !principal.hosts.has(host)) {
    throw new AppError('HOST_NOT_ALLOWED', `This token may not ${principal.scope === 'ingest' ? 'write' : 'read'} host ${quoted(host)}: it is bound to other hosts`);
  }
}

/**
 * Where a route takes the host(s) it touches from, for tokens bound to hosts. `pushed`: a
 * pushed input, whose sink refuses each batch of a host the token may not write.
 */
export type HostSource = 'params' | 'query' | 'body' | 'list' | 'pushed';

const hostCheck = (source: HostSource | undefined, url: string): preHandlerHookHandler =>
  function checkHosts(request, _reply, done) {
    const principal = request.principal;
    if (principal?.hosts === undefined) return done();
    try {
      switch (source) {
        case 'params':
          allow(principal, (request.params as { host: string }).host);
          break;
        case 'body':
          allow(principal, (request.body as { host: string }).host);
          break;
        case 'query': {
          const query = request.query as { host?: string | string[] };
          if (query.host === undefined || (Array.isArray(query.host) && query.host.every((host) => host === ''))) {
            query.host = [...principal.hosts];
          } else {
            for (const host of Array.isArray(query.host) ? query.host : [query.host]) if (host !== '') allow(principal, host);
          }
          break;
        }
        case 'list':
        case 'pushed':
          break;
        default:
          throw new AppError('HOST_NOT_ALLOWED', `This token is bound to hosts; ${url} covers every host`);
      }
    } catch (error) {
      return done(error as Error);
    }
    done();
  };

/** List answers (`{data: [{host, …}]}`) keep only the bound token's hosts. */
const listFilter: preSerializationHookHandler<unknown> = (request, _reply, payload, done) => {
  const hosts = request.principal?.hosts;
  const data = (payload as { data?: unknown } | null)?.data;
  if (hosts === undefined || !Array.isArray(data)) return done(null, payload);
  done(null, { ...(payload as object), data: data.filter((entry) => hosts.has((entry as { host: string }).host)) });
};

/** Must run before the routes are registered: it attaches the check as each route is added. */
export function installAuth(app: FastifyInstance, tokens: TokenSet, guard?: AuthGuard): void {
  app.addHook('onRoute', (route) => {
    const required = route.config?.scope;
    if (required === undefined) return;
    const check: onRequestHookHandler = (request, reply, done) => {
      const blocked = guard?.checkAddress(request, reply);
      if (blocked) return done(blocked);
      const problem = authProblem(request, tokens, required);
      if (problem) {
        if (problem.code === 'UNAUTHORIZED') guard?.failed(request, problem);
        return done(problem);
      }
      const limited = guard?.admit(budgetKey(request), request, reply);
      if (limited) return done(limited);
      done();
    };
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    // First, so no other hook of the route runs for a request without the scope.
    route.onRequest = [check, ...existing];
    const source = route.config?.hosts;
    const handlers = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [hostCheck(source, route.url), ...handlers];
    if (source === 'list') {
      const serializers = route.preSerialization === undefined ? [] : Array.isArray(route.preSerialization) ? route.preSerialization : [route.preSerialization];
      route.preSerialization = [listFilter, ...serializers] as typeof route.preSerialization;
    }
  });
}
