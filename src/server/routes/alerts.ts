/**
 * /alerts (scope admin): create, list, read, change and delete alert rules; the rules are
 * evaluated by the AlertEngine (src/alerts/). A rule's answer carries its state (`ok` or
 * `firing`, per group), when it last fired, its last delivery and its last delivery error.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { RuleView } from '../../alerts/engine.js';
import type { AlertEngine } from '../../alerts/engine.js';
import { ruleBody, ruleFromBody, RULE_LIMITS } from '../../alerts/rule.js';
import { AppError } from '../../common/errors.js';
import type { AlertRuleEntry } from '../../protocol/api.js';
import { errorResponses, ErrorResponse } from '../schemas.js';

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function alertView(view: RuleView): AlertRuleEntry {
  const status = view.status;
  return {
    ...ruleBody(view.rule),
    state: view.state,
    groups: view.groups,
    last_fired: iso(status?.lastFiredMs),
    last_delivery: status?.lastDeliveryMs ? { at: new Date(status.lastDeliveryMs).toISOString(), target: status.lastDeliveryTarget ?? '' } : null,
    last_delivery_error: status?.lastErrorMs ? { at: new Date(status.lastErrorMs).toISOString(), message: status.lastError ?? '' } : null,
    pending_deliveries: status?.pending ?? 0,
  };
}

const RuleBody = Type.Object(
  {
    name: Type.String({ maxLength: RULE_LIMITS.maxName }),
    q: Type.Optional(Type.String({ description: 'The query language of q= (docs/query.md); empty = every line' })),
    host: Type.Optional(Type.Array(Type.String())),
    condition: Type.Unknown({ description: '{"kind": "count", "window": "5m", "threshold": 1} or {"kind": "absent", "for": "10m"}' }),
    group_by: Type.Optional(Type.Array(Type.String(), { description: 'Fields whose values split the rule into groups, e.g. ["host"]' })),
    notify: Type.Array(Type.Unknown({ description: '{"webhook": URL}, {"slack": URL} or {"alertmanager": URL}' })),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    repeat: Type.Optional(Type.String({ description: 'Notify a group still firing again after this long (default 4h)' })),
    mute: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'No notifications for this long from now; "0" or null unmutes' })),
  },
  { description: 'An alert rule (docs/alerts.md)' },
);
const RuleAnswer = Type.Object({ data: Type.Record(Type.String(), Type.Unknown()) });
/** The rule body is checked by ruleFromBody, which names the member at fault. */
const passBody = () => (value: unknown) => ({ value });

export interface AlertRouteOptions {
  engine: AlertEngine;
}

export const alertRoutes: FastifyPluginAsync<AlertRouteOptions> = (app, { engine }) => {
  const config = { scope: 'admin' as const };
  const tags = ['alerts'];
  const security = [{ bearer: [] }];
  const params = Type.Object({ id: Type.String({ maxLength: 64 }) });
  const notFound = (id: string): AppError => new AppError('ALERT_NOT_FOUND', `No alert rule has id ${JSON.stringify(id)} (GET /alerts lists them)`);

  app.get('/alerts', { config, schema: { summary: 'Alert rules with their state', tags, security, response: { 200: Type.Object({ data: Type.Array(Type.Record(Type.String(), Type.Unknown())) }), ...errorResponses } } }, async () => ({
    data: (await engine.views()).map(alertView),
  }));

  app.post(
    '/alerts',
    { config, validatorCompiler: passBody, schema: { summary: 'Create an alert rule', tags, security, body: RuleBody, response: { 201: RuleAnswer, ...errorResponses, 409: ErrorResponse } } },
    async (request, reply) => {
      const rule = ruleFromBody(request.body, Date.now());
      if (engine.ruleCount >= RULE_LIMITS.maxRules) throw new AppError('TOO_MANY_ALERTS', `Daniel keeps at most ${RULE_LIMITS.maxRules} alert rules: delete some first`);
      await engine.put(rule);
      void reply.code(201);
      return { data: alertView((await engine.viewOf(rule.id)) as RuleView) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/alerts/:id',
    { config, schema: { summary: 'One alert rule: state per group, last fired, last delivery and its error', tags, security, params, response: { 200: RuleAnswer, ...errorResponses } } },
    async (request) => {
      const view = await engine.viewOf(request.params.id);
      if (!view) throw notFound(request.params.id);
      return { data: alertView(view) };
    },
  );

  const change = (patch: boolean) => async (request: { params: { id: string }; body: unknown }) => {
    const previous = await engine.current(request.params.id);
    if (!previous) throw notFound(request.params.id);
    await engine.put(ruleFromBody(request.body, Date.now(), previous, patch));
    return { data: alertView((await engine.viewOf(previous.id)) as RuleView) };
  };
  app.put<{ Params: { id: string } }>(
    '/alerts/:id',
    { config, validatorCompiler: passBody, schema: { summary: 'Replace an alert rule (the whole body)', tags, security, params, body: RuleBody, response: { 200: RuleAnswer, ...errorResponses } } },
    change(false),
  );
  app.patch<{ Params: { id: string } }>(
    '/alerts/:id',
    {
      config,
      validatorCompiler: passBody,
      schema: { summary: 'Change members of an alert rule (e.g. {"mute": "1h"})', tags, security, params, body: Type.Partial(RuleBody), response: { 200: RuleAnswer, ...errorResponses } },
    },
    change(true),
  );

  app.delete<{ Params: { id: string } }>(
    '/alerts/:id',
    {
      config,
      schema: { summary: 'Delete an alert rule and its undelivered notifications', tags, security, params, response: { 200: Type.Object({ data: Type.Object({ id: Type.String(), deleted: Type.Boolean() }) }), ...errorResponses } },
    },
    async (request) => {
      if (!(await engine.delete(request.params.id))) throw notFound(request.params.id);
      return { data: { id: request.params.id, deleted: true } };
    },
  );
  return Promise.resolve();
};
