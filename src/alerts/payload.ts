/**
 * What each kind of target receives for one AlertEvent.
 * - webhook: JSON `{id, alert, rule_id, status, group, count, window, q, host, labels, url,
 *   lines (at most 10 LogEntry), starts_at, ends_at, at}` (docs/alerts.md).
 * - slack: a Slack-compatible incoming webhook `{"text": …}` (Mattermost, Rocket.Chat and
 *   Discord's /slack endpoint take it too).
 * - alertmanager: Alertmanager's `POST /api/v2/alerts` with one alert whose labels are the
 *   rule's name and id, its labels and the group's values.
 */
import type { AlertEvent } from './alert-store.js';
import type { Target } from './rule.js';

export interface Rendered {
  url: string;
  body: string;
}

const rfc = (ms: number): string => new Date(ms).toISOString();

export function webhookBody(event: AlertEvent): Record<string, unknown> {
  return {
    id: event.id,
    alert: event.name,
    rule_id: event.ruleId,
    status: event.status,
    group: event.group,
    count: event.count,
    condition: event.kind,
    window: event.window,
    q: event.q,
    host: event.hosts,
    labels: event.labels,
    url: event.url,
    lines: event.lines.slice(0, 10),
    starts_at: rfc(event.startsMs),
    ends_at: event.endsMs === null ? null : rfc(event.endsMs),
    at: rfc(event.atMs),
  };
}

function describe(event: AlertEvent): string {
  const group = Object.entries(event.group).map(([name, value]) => `${name}=${value}`).join(' ');
  const where = group === '' ? '' : ` [${group}]`;
  if (event.status === 'resolved') return `resolved: ${event.name}${where}`;
  return event.kind === 'absent'
    ? `firing: ${event.name}${where}: no matching line for ${event.window}`
    : `firing: ${event.name}${where}: ${event.count} matching line${event.count === 1 ? '' : 's'} in ${event.window}`;
}

export function slackBody(event: AlertEvent): { text: string } {
  const lines = event.lines
    .slice(0, 10)
    .map((entry) => {
      const e = entry as { host?: string; filename?: string; logline?: string };
      return `${e.host ?? ''} ${e.filename ?? ''}: ${(e.logline ?? '').slice(0, 300)}`;
    })
    .join('\n');
  const query = event.q === '' ? '' : ` (q: ${event.q})`;
  return { text: `${describe(event)}${query}\n<${event.url}|Search>${lines === '' ? '' : '\n```\n' + lines.replace(/```/g, "'''") + '\n```'}` };
}

/** Label names Alertmanager accepts: letters, digits and _. */
function labelName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

export function alertmanagerBody(event: AlertEvent): unknown[] {
  const labels: Record<string, string> = { ...event.labels };
  for (const [name, value] of Object.entries(event.group)) labels[labelName(name)] = value;
  labels.alertname = event.name;
  labels.daniel_rule = event.ruleId;
  const sample = event.lines[0] as { logline?: string } | undefined;
  const annotations: Record<string, string> = { summary: describe(event), q: event.q, count: String(event.count) };
  if (sample?.logline !== undefined) annotations.line = sample.logline.slice(0, 1000);
  return [
    {
      labels,
      annotations,
      startsAt: rfc(event.startsMs),
      // Firing: active until sent again (each repeat renews it); resolved: ended.
      endsAt: rfc(event.endsMs ?? event.atMs + event.activeForMs),
      generatorURL: event.url,
    },
  ];
}

/** Alertmanager's API path under the URL given (its base, or the full path). */
export function alertmanagerUrl(base: string): string {
  const url = new URL(base);
  if (!url.pathname.endsWith('/api/v2/alerts')) url.pathname = url.pathname.replace(/\/+$/, '') + '/api/v2/alerts';
  return url.toString();
}

export function render(event: AlertEvent, target: Target): Rendered {
  switch (target.kind) {
    case 'webhook':
      return { url: target.url, body: JSON.stringify(webhookBody(event)) };
    case 'slack':
      return { url: target.url, body: JSON.stringify(slackBody(event)) };
    case 'alertmanager':
      return { url: alertmanagerUrl(target.url), body: JSON.stringify(alertmanagerBody(event)) };
  }
}
