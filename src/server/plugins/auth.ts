/**
 * Bearer-token auth as an onRequest hook on each route that declares a scope in its config:
 * handlers never see a request that lacks it, and public routes (health, OpenAPI, UI files)
 * run no auth code at all. The scheme word matches in any case (`bearer SECRETCODE` works),
 * as SPEC.md requires.
 */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { AppError } from '../../common/errors.js';
import { scopeAllows, type RequiredScope, type TokenSet } from '../tokens.js';

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

export function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  return BEARER.exec(header)?.[1];
}

/** Undefined when a request that needs `required` may proceed. */
export function authProblem(request: FastifyRequest, tokens: TokenSet, required: RequiredScope): AppError | undefined {
  const token = presentedToken(request);
  if (token === undefined) return new AppError('UNAUTHORIZED', 'Missing token: send Authorization: Bearer TOKEN');
  const scope = tokens.lookup(token);
  if (scope === undefined) return new AppError('UNAUTHORIZED', 'Unknown token: send Authorization: Bearer TOKEN with a configured token');
  if (!scopeAllows(scope, required)) {
    return new AppError('FORBIDDEN', `This route needs a token with scope ${required} (or admin); this one has ${scope}`);
  }
  return undefined;
}

/** Must run before the routes are registered: it attaches the check as each route is added. */
export function installAuth(app: FastifyInstance, tokens: TokenSet): void {
  app.addHook('onRoute', (route) => {
    const required = route.config?.scope;
    if (required === undefined) return;
    const check: onRequestHookHandler = (request, _reply, done) => {
      const problem = authProblem(request, tokens, required);
      if (problem) done(problem);
      else done();
    };
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    // First, so no other hook of the route runs for a request without the scope.
    route.onRequest = [check, ...existing];
  });
}
