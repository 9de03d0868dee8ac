/**
 * Bearer-token auth as an onRequest hook: a route declares the scope it needs in its
 * config, handlers never see a request that lacks it. The scheme word matches in any case
 * (`bearer SECRETCODE` works), as SPEC.md requires.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors.js';
import { scopeAllows, type TokenSet } from '../tokens.js';

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

export function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  return BEARER.exec(header)?.[1];
}

/** Undefined when the request may proceed. */
export function authProblem(request: FastifyRequest, tokens: TokenSet): AppError | undefined {
  const required = request.routeOptions.config.scope;
  if (required === undefined) return undefined;
  const token = presentedToken(request);
  if (token === undefined) return new AppError('UNAUTHORIZED', 'Missing token: send Authorization: Bearer TOKEN');
  const scope = tokens.lookup(token);
  if (scope === undefined) return new AppError('UNAUTHORIZED', 'Unknown token: send Authorization: Bearer TOKEN with a configured token');
  if (!scopeAllows(scope, required)) {
    return new AppError('FORBIDDEN', `This route needs a token with scope ${required} (or admin); this one has ${scope}`);
  }
  return undefined;
}

export function installAuth(app: FastifyInstance, tokens: TokenSet): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const problem = authProblem(request, tokens);
    if (problem) done(problem);
    else done();
  });
}
