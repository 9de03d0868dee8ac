/**
 * `daniel alerts create|list|show|delete|mute`: alert rules through a running Daniel's
 * /alerts (an admin token: --token, DANIEL_TOKEN or the data dir's token file). `create`
 * prints the new rule's id alone on stdout. Exit codes as the other client commands: 1 the
 * server refused (code and message printed), 2 usage, 3 cannot connect.
 */
import { Command } from 'commander';
import type { AlertRuleEntry } from '../protocol/api.js';
import { ApiClient, CliError, EXIT } from './client.js';
import { collect, connectionFlags, resolveToken, run } from './commands.js';
import { escapeForTerminal } from './format.js';

interface Connection {
  server: string;
  token?: string;
  dataDir?: string;
  json?: boolean;
}

type RuleAnswer = AlertRuleEntry;

function connection(command: Command): Command {
  return connectionFlags(command, 'admin token (default: DATA_DIR/token)').option('--json', 'print the JSON answer');
}

const client = (options: Connection): ApiClient => new ApiClient(options.server, resolveToken(options));
const minute = (iso: string | null): string => (iso === null ? '-' : iso.slice(0, 16) + 'Z');

function condition(rule: RuleAnswer): string {
  return rule.condition.kind === 'count' ? `count >= ${rule.condition.threshold} in ${rule.condition.window}` : `absent for ${rule.condition.for}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((cells) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

function show(rule: RuleAnswer): string {
  const lines = [
    `id            ${rule.id}`,
    `name          ${escapeForTerminal(rule.name)}`,
    `query         ${escapeForTerminal(rule.q) || '(every line)'}${rule.host.length > 0 ? `  hosts ${rule.host.map(escapeForTerminal).join(',')}` : ''}`,
    `condition     ${condition(rule)}${rule.group_by.length > 0 ? `, per ${rule.group_by.join(',')}` : ''}`,
    `notify        ${rule.notify.map((target) => Object.entries(target).map(([kind, url]) => `${kind} ${escapeForTerminal(url)}`).join('')).join(', ')}`,
    `state         ${rule.state}${rule.muted_until === null ? '' : ` (muted until ${minute(rule.muted_until)})`}`,
    `last fired    ${minute(rule.last_fired)}`,
    `last delivery ${rule.last_delivery === null ? '-' : `${minute(rule.last_delivery.at)} ${escapeForTerminal(rule.last_delivery.target)}`}`,
    `last error    ${rule.last_delivery_error === null ? '-' : `${minute(rule.last_delivery_error.at)} ${escapeForTerminal(rule.last_delivery_error.message)}`}`,
    `pending       ${rule.pending_deliveries}`,
  ];
  for (const group of rule.groups.filter((g) => g.state === 'firing')) {
    lines.push(`firing        ${Object.entries(group.group).map(([k, v]) => `${k}=${escapeForTerminal(v)}`).join(' ') || '(all)'} since ${minute(group.since)}`);
  }
  return lines.join('\n') + '\n';
}

export function alertsCommand(): Command {
  const alerts = new Command('alerts').description('alert rules of a running Daniel: create, list, show, mute, delete (admin token)');

  connection(
    alerts
      .command('create')
      .description('create a rule and print its id (docs/alerts.md)')
      .requiredOption('--name <text>', 'what the notifications call it')
      .option('-q, --query <q>', 'the lines that count (the query language of q=; default every line)')
      .option('--host <name>', 'only this host (repeatable)', collect)
      .option('--window <duration>', 'count rule: the sliding window (e.g. 5m)')
      .option('--threshold <n>', 'count rule: matching lines in the window that fire it (default 1)')
      .option('--absent-for <duration>', 'absence rule: fire when no line matches for this long')
      .option('--group-by <field>', 'fire and resolve per value of this field, e.g. host (repeatable)', collect)
      .option('--webhook <url>', 'POST the JSON notification here (repeatable)', collect)
      .option('--slack <url>', 'a Slack-compatible incoming webhook (repeatable)', collect)
      .option('--alertmanager <url>', "an Alertmanager's base URL (repeatable)", collect)
      .option('--label <name=value>', 'a label for Alertmanager and the webhook (repeatable)', collect)
      .option('--repeat <duration>', 'notify a group still firing again after this long (default 4h)'),
  ).action(
    (
      options: Connection & {
        name: string;
        query?: string;
        host?: string[];
        window?: string;
        threshold?: string;
        absentFor?: string;
        groupBy?: string[];
        webhook?: string[];
        slack?: string[];
        alertmanager?: string[];
        label?: string[];
        repeat?: string;
      },
    ) =>
      run(async () => {
        if ((options.window === undefined) === (options.absentFor === undefined)) throw new CliError('give either --window (a count rule) or --absent-for (an absence rule)', EXIT.usage);
        const threshold = options.threshold === undefined ? 1 : Number(options.threshold);
        if (!Number.isInteger(threshold)) throw new CliError('--threshold must be a whole number', EXIT.usage);
        const labels: Record<string, string> = {};
        for (const pair of options.label ?? []) {
          const at = pair.indexOf('=');
          if (at <= 0) throw new CliError(`--label ${pair}: expected name=value`, EXIT.usage);
          labels[pair.slice(0, at)] = pair.slice(at + 1);
        }
        const notify = [
          ...(options.webhook ?? []).map((url) => ({ webhook: url })),
          ...(options.slack ?? []).map((url) => ({ slack: url })),
          ...(options.alertmanager ?? []).map((url) => ({ alertmanager: url })),
        ];
        if (notify.length === 0) throw new CliError('give at least one --webhook, --slack or --alertmanager', EXIT.usage);
        const body = {
          name: options.name,
          q: options.query ?? '',
          host: options.host ?? [],
          condition: options.window !== undefined ? { kind: 'count', window: options.window, threshold } : { kind: 'absent', for: options.absentFor },
          group_by: options.groupBy ?? [],
          notify,
          labels,
          ...(options.repeat === undefined ? {} : { repeat: options.repeat }),
        };
        const { data } = await client(options).sendJson<{ data: RuleAnswer }>('POST', '/alerts', body);
        process.stdout.write(options.json === true ? `${JSON.stringify(data, null, 2)}\n` : `${data.id}\n`);
      }),
  );

  connection(alerts.command('list').description('every rule with its state, last fired and last delivery')).action((options: Connection) =>
    run(async () => {
      const { data } = await client(options).getJson<{ data: RuleAnswer[] }>('/alerts');
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
        return;
      }
      if (data.length === 0) {
        process.stdout.write('no alert rules\n');
        return;
      }
      const rows = data.map((rule) => [
        rule.id,
        escapeForTerminal(rule.name),
        rule.state + (rule.muted_until === null ? '' : ' (muted)'),
        condition(rule),
        minute(rule.last_fired),
        rule.last_delivery_error !== null && (rule.last_delivery === null || rule.last_delivery_error.at > rule.last_delivery.at) ? `failing: ${escapeForTerminal(rule.last_delivery_error.message).slice(0, 60)}` : minute(rule.last_delivery?.at ?? null),
      ]);
      process.stdout.write(table([['ID', 'NAME', 'STATE', 'CONDITION', 'LAST FIRED', 'LAST DELIVERY'], ...rows]));
    }),
  );

  connection(alerts.command('show').description('one rule: query, condition, targets, state per group, last delivery and its error').argument('<id>')).action((id: string, options: Connection) =>
    run(async () => {
      const { data } = await client(options).getJson<{ data: RuleAnswer }>(`/alerts/${encodeURIComponent(id)}`);
      process.stdout.write(options.json === true ? `${JSON.stringify(data, null, 2)}\n` : show(data));
    }),
  );

  connection(alerts.command('mute').description("no notifications from the rule for DURATION ('0' unmutes)").argument('<id>').argument('<duration>')).action((id: string, duration: string, options: Connection) =>
    run(async () => {
      const { data } = await client(options).sendJson<{ data: RuleAnswer }>('PATCH', `/alerts/${encodeURIComponent(id)}`, { mute: duration });
      process.stderr.write(data.muted_until === null ? `alert ${id} unmuted\n` : `alert ${id} muted until ${data.muted_until}\n`);
    }),
  );

  connection(alerts.command('delete').description('delete a rule and its undelivered notifications').argument('<id>')).action((id: string, options: Connection) =>
    run(async () => {
      await client(options).sendJson('DELETE', `/alerts/${encodeURIComponent(id)}`);
      process.stderr.write(`alert ${id} deleted\n`);
    }),
  );
  return alerts;
}
