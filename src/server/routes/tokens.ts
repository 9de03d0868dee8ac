/**
 * /tokens (scope admin): create, list and revoke managed tokens, like `daniel token …`.
 * The secret is in the create answer only; lists never carry it.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from 'typebox';
import { AppError } from '../../common/errors.js';
import { errorResponses } from '../schemas.js';
import { createManagedToken, MAX_TOKEN_HOSTS, MAX_TOKEN_NAME, TokenSpecError, type ManagedTokenStore, type TokenRecord } from '../token-store.js';

export const TokenInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  scope: Type.Union([Type.Literal('read'), Type.Literal('ingest'), Type.Literal('admin')]),
  hosts: Type.Array(Type.String(), { description: 'Hosts the token is bound to; empty = every host' }),
  created: Type.String({ description: 'RFC 3339' }),
  last_used: Type.Union([Type.String(), Type.Null()], { description: 'RFC 3339, to the minute; null = never' }),
});
export type TokenInfoShape = Static<typeof TokenInfo>;

const CreateBody = Type.Object(
  {
    scope: Type.Union([Type.Literal('read'), Type.Literal('ingest'), Type.Literal('admin')]),
    hosts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: MAX_TOKEN_HOSTS })),
    name: Type.Optional(Type.String({ maxLength: MAX_TOKEN_NAME })),
  },
  { additionalProperties: false },
);

export function tokenInfo(record: TokenRecord): TokenInfoShape {
  return {
    id: record.id,
    name: record.name,
    scope: record.scope,
    hosts: record.hosts,
    created: new Date(record.createdMs).toISOString(),
    last_used: record.lastUsedMs === null ? null : new Date(record.lastUsedMs).toISOString(),
  };
}

export interface TokenRouteOptions {
  store: ManagedTokenStore;
  /** Called after a create or revoke, so this Daniel honours it at once. */
  changed: () => Promise<void>;
}

export const tokenRoutes: FastifyPluginAsync<TokenRouteOptions> = (app, { store, changed }) => {
  const config = { scope: 'admin' as const };
  const tags = ['tokens'];
  const security = [{ bearer: [] }];

  app.get('/tokens', { config, schema: { summary: 'Managed tokens (never their secrets)', tags, security, response: { 200: Type.Object({ data: Type.Array(TokenInfo) }), ...errorResponses } } }, async () => ({
    data: (await store.list()).map(tokenInfo),
  }));

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/tokens',
    {
      config,
      schema: {
        summary: 'Create a token; the answer holds its secret, shown this once',
        tags,
        security,
        body: CreateBody,
        response: { 201: Type.Object({ data: Type.Object({ ...TokenInfo.properties, token: Type.String() }) }), ...errorResponses },
      },
    },
    async (request, reply) => {
      let created;
      try {
        created = await createManagedToken(store, { scope: request.body.scope, hosts: request.body.hosts ?? [], name: request.body.name ?? '' });
      } catch (error) {
        if (error instanceof TokenSpecError) throw new AppError('INVALID_BODY', `Body ${error.message}`);
        throw error;
      }
      await changed();
      void reply.code(201);
      return { data: { ...tokenInfo(created.record), token: created.token } };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/tokens/:id',
    {
      config,
      schema: {
        summary: 'Revoke a token: refused by every Daniel on the store within 2 s',
        tags,
        security,
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: Type.Object({ data: Type.Object({ id: Type.String(), revoked: Type.Boolean() }) }), ...errorResponses },
      },
    },
    async (request) => {
      if (!(await store.remove(request.params.id))) throw new AppError('TOKEN_NOT_FOUND', `No managed token has id ${JSON.stringify(request.params.id)}`);
      await changed();
      return { data: { id: request.params.id, revoked: true } };
    },
  );
  return Promise.resolve();
};
