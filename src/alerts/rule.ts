/**
 * An alert rule: a saved query (`q`, `host`), a condition (`count` of matching lines in a
 * sliding window, or `absent` for a duration), optional grouping, and where to tell. This
 * module turns a request body into a checked rule, or an AppError naming the bad member:
 * INVALID_QUERY for `q` (with its position), INVALID_BODY for everything else.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../common/errors.js';
import type { AlertRuleEntry } from '../protocol/api.js';
import { parseDuration } from '../common/time.js';
import { QueryError } from '../query/language.js';
import { queryFilterParts } from '../query/query-filter.js';

export type Condition = { kind: 'count'; windowMs: number; threshold: number } | { kind: 'absent'; forMs: number };

export type Target = { kind: 'webhook' | 'slack' | 'alertmanager'; url: string };

export interface AlertRule {
  id: string;
  name: string;
  q: string;
  /** Hosts the rule watches; empty = every host. */
  hosts: string[];
  condition: Condition;
  /** Fields whose values split the rule into groups that fire and resolve alone; empty = one group. */
  groupBy: string[];
  notify: Target[];
  /** Extra labels for Alertmanager (and the webhook's JSON). */
  labels: Record<string, string>;
  /** A group still firing is notified again after this long. */
  repeatMs: number;
  /** Epoch ms until which no notification is sent; 0 = not muted. */
  mutedUntilMs: number;
  createdMs: number;
  updatedMs: number;
}

export const RULE_LIMITS = {
  maxRules: 10_000,
  maxName: 200,
  maxHosts: 100,
  maxGroupBy: 4,
  maxTargets: 10,
  maxLabels: 20,
  maxLabelBytes: 256,
  maxUrl: 2048,
  minWindowMs: 1000,
  maxWindowMs: 7 * 86_400_000,
  maxThreshold: 1_000_000,
  minRepeatMs: 1000,
  maxRepeatMs: 30 * 86_400_000,
  maxMuteMs: 365 * 86_400_000,
} as const;

export const DEFAULT_REPEAT_MS = 4 * 3_600_000;

const FIELD_NAME = /^[A-Za-z_@][A-Za-z0-9_.@-]{0,127}$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function bad(message: string): never {
  throw new AppError('INVALID_BODY', `Body ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function noOthers(value: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) bad(`${where}${key} is not a known member (known: ${allowed.join(', ')})`);
}

/** A duration member in [min, max] ms, e.g. "5m". */
export function durationMs(value: unknown, where: string, minMs: number, maxMs: number): number {
  const text = typeof value === 'string' ? value : undefined;
  const ns = text === undefined ? undefined : parseDuration(text);
  const ms = ns === undefined ? undefined : Number(ns / 1_000_000n);
  const span = `between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`;
  if (ms === undefined) bad(`${where} must be a duration such as 30s, 5m, 2h or 1d, ${span}`);
  if (ms < minMs || ms > maxMs) bad(`${where} must be ${span} (got ${JSON.stringify(text)})`);
  return ms;
}

/** 300000 -> "5m"; the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function httpUrl(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length > RULE_LIMITS.maxUrl) bad(`${where} must be an http:// or https:// URL of at most ${RULE_LIMITS.maxUrl} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    bad(`${where} must be an http:// or https:// URL (got ${JSON.stringify(value.slice(0, 100))})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') bad(`${where} must be an http:// or https:// URL (got the scheme ${JSON.stringify(url.protocol)})`);
  return url.toString();
}

/** Checks `q` as the search routes do: host:/file: terms lifted, the rest one query. */
export function checkQuery(q: string): void {
  if (q.trim() === '') return;
  try {
    queryFilterParts(q, false);
  } catch (error) {
    if (error instanceof QueryError) throw new AppError('INVALID_QUERY', error.message);
    if ((error as { code?: string }).code === 'INVALID_REGEX') throw new AppError('INVALID_QUERY', `Query parameter q: ${(error as Error).message}`);
    throw error;
  }
}

function condition(value: unknown): Condition {
  if (!isObject(value)) bad('condition must be {"kind": "count", "window": "5m", "threshold": 1} or {"kind": "absent", "for": "10m"}');
  if (value.kind === 'count') {
    noOthers(value, ['kind', 'window', 'threshold'], 'condition.');
    const windowMs = durationMs(value.window, 'condition.window', RULE_LIMITS.minWindowMs, RULE_LIMITS.maxWindowMs);
    const threshold = value.threshold ?? 1;
    if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1 || threshold > RULE_LIMITS.maxThreshold) {
      bad(`condition.threshold must be a whole number from 1 to ${RULE_LIMITS.maxThreshold}`);
    }
    return { kind: 'count', windowMs, threshold };
  }
  if (value.kind === 'absent') {
    noOthers(value, ['kind', 'for'], 'condition.');
    return { kind: 'absent', forMs: durationMs(value.for, 'condition.for', RULE_LIMITS.minWindowMs, RULE_LIMITS.maxWindowMs) };
  }
  bad('condition.kind must be "count" or "absent"');
}

function targets(value: unknown): Target[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > RULE_LIMITS.maxTargets) {
    bad(`notify must be a list of 1 to ${RULE_LIMITS.maxTargets} targets such as {"webhook": "https://…"}, {"slack": "https://…"} or {"alertmanager": "http://…:9093"}`);
  }
  return value.map((item: unknown, index): Target => {
    const where = `notify[${index}]`;
    if (!isObject(item) || Object.keys(item).length !== 1) bad(`${where} must have exactly one of webhook, slack or alertmanager`);
    const [kind, url] = Object.entries(item)[0] as [string, unknown];
    if (kind !== 'webhook' && kind !== 'slack' && kind !== 'alertmanager') bad(`${where} must have exactly one of webhook, slack or alertmanager (got ${JSON.stringify(kind)})`);
    return { kind, url: httpUrl(url, `${where}.${kind}`) };
  });
}

function stringList(value: unknown, where: string, max: number, check: (item: string) => boolean, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > max || !value.every((item) => typeof item === 'string' && check(item))) {
    bad(`${where} must be a list of at most ${max} ${what}`);
  }
  return [...new Set(value as string[])];
}

function labels(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value) || Object.keys(value).length > RULE_LIMITS.maxLabels) bad(`labels must be an object of at most ${RULE_LIMITS.maxLabels} string labels`);
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(value)) {
    if (!LABEL_NAME.test(name)) bad(`labels.${name} is not a label name (letters, digits, _; not starting with a digit)`);
    if (typeof text !== 'string' || Buffer.byteLength(text) > RULE_LIMITS.maxLabelBytes) bad(`labels.${name} must be a string of at most ${RULE_LIMITS.maxLabelBytes} bytes`);
    out[name] = text;
  }
  return out;
}

const MEMBERS = ['name', 'q', 'host', 'condition', 'group_by', 'notify', 'labels', 'repeat', 'mute'] as const;

/** `mute`: a duration from now, or "0"/null to unmute. Returns the new mutedUntilMs. */
function mute(value: unknown, nowMs: number): number {
  if (value === null || value === '0' || value === 0) return 0;
  return nowMs + durationMs(value, 'mute', 1000, RULE_LIMITS.maxMuteMs);
}

/**
 * A rule from a POST body (`previous` undefined) or from a PUT/PATCH body over `previous`
 * (PATCH: members left out keep their value; PUT: the body is the whole rule).
 */
export function ruleFromBody(body: unknown, nowMs: number, previous?: AlertRule, patch = false): AlertRule {
  if (!isObject(body)) bad('must be a JSON object');
  noOthers(body, MEMBERS, '');
  const base = patch ? previous : undefined;
  const has = (key: string): boolean => body[key] !== undefined;
  let name = base?.name;
  if (has('name') || base === undefined) {
    if (typeof body.name !== 'string' || body.name.trim() === '' || body.name.length > RULE_LIMITS.maxName || /[\p{Cc}\p{Cf}]/u.test(body.name)) {
      bad(`name must be 1 to ${RULE_LIMITS.maxName} characters without control characters`);
    }
    name = body.name;
  }
  let q = base?.q ?? '';
  if (has('q')) {
    if (typeof body.q !== 'string') bad('q must be a string (the query language of q=, docs/query.md)');
    checkQuery(body.q);
    q = body.q;
  }
  const hosts = has('host') || base === undefined
    ? stringList(body.host, 'host', RULE_LIMITS.maxHosts, (h) => h !== '' && Buffer.byteLength(h) <= 255, 'host names')
    : base.hosts;
  if (!has('condition') && base === undefined) bad('condition is required');
  const cond = has('condition') ? condition(body.condition) : (base as AlertRule).condition;
  const groupBy = has('group_by') || base === undefined
    ? stringList(body.group_by, 'group_by', RULE_LIMITS.maxGroupBy, (f) => FIELD_NAME.test(f), 'field names such as "host"')
    : base.groupBy;
  if (!has('notify') && base === undefined) bad('notify is required');
  const notify = has('notify') ? targets(body.notify) : (base as AlertRule).notify;
  const ruleLabels = has('labels') || base === undefined ? labels(body.labels) : base.labels;
  const repeatMs = has('repeat') ? durationMs(body.repeat, 'repeat', RULE_LIMITS.minRepeatMs, RULE_LIMITS.maxRepeatMs) : (base?.repeatMs ?? DEFAULT_REPEAT_MS);
  const mutedUntilMs = has('mute') || body.mute === null ? mute(body.mute, nowMs) : (previous?.mutedUntilMs ?? 0);
  return {
    id: previous?.id ?? randomBytes(6).toString('hex'),
    name: name as string,
    q,
    hosts,
    condition: cond,
    groupBy,
    notify,
    labels: ruleLabels,
    repeatMs,
    mutedUntilMs,
    createdMs: previous?.createdMs ?? nowMs,
    updatedMs: nowMs,
  };
}

/** The definition part of a rule's answer (the rest is its state: server/routes/alerts.ts). */
export type RuleBody = Omit<AlertRuleEntry, 'state' | 'groups' | 'last_fired' | 'last_delivery' | 'last_delivery_error' | 'pending_deliveries'>;

/** The rule as the API shows it (the same members a body takes). */
export function ruleBody(rule: AlertRule): RuleBody {
  return {
    id: rule.id,
    name: rule.name,
    q: rule.q,
    host: rule.hosts,
    condition: rule.condition.kind === 'count'
      ? { kind: 'count', window: formatDuration(rule.condition.windowMs), threshold: rule.condition.threshold }
      : { kind: 'absent', for: formatDuration(rule.condition.forMs) },
    group_by: rule.groupBy,
    notify: rule.notify.map((target) => ({ [target.kind]: target.url })),
    labels: rule.labels,
    repeat: formatDuration(rule.repeatMs),
    muted_until: rule.mutedUntilMs === 0 ? null : new Date(rule.mutedUntilMs).toISOString(),
    created: new Date(rule.createdMs).toISOString(),
    updated: new Date(rule.updatedMs).toISOString(),
  };
}
