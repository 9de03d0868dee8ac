/**
 * `daniel canary`: runs the canary against a live Daniel and exits 0 only when nothing
 * went missing and nothing arrived twice. Latency is reported, not judged: what is
 * acceptable depends on the deployment.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { nsToMs, parseDuration } from '../common/time.js';
import { runCanary, type CanaryReport } from './canary.js';

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return parsed;
}

function durationMs(value: string): number {
  const ns = parseDuration(value);
  if (ns === undefined || ns <= 0n) throw new InvalidArgumentError('expected a duration such as 30s, 2m or 500ms');
  return nsToMs(ns);
}

export function formatReport(report: CanaryReport): string {
  const latency = report.latency
    ? `latency p50 ${report.latency.p50Ms} ms, p99 ${report.latency.p99Ms} ms, max ${report.latency.maxMs} ms (${report.latency.samples} samples, ${report.latency.method})`
    : 'latency: no line was seen live';
  return [
    `canary ${report.ok ? 'OK' : 'FAILED'}: run ${report.run}, host ${report.host}, file ${report.file}`,
    `  sent ${report.sent} lines at ${report.ratePerSecond}/s over ${report.durationMs / 1000} s`,
    `  received ${report.received}, missing ${report.missing}, duplicated ${report.duplicated}, out of order ${report.outOfOrder}`,
    `  ${latency}`,
  ].join('\n');
}

export function canaryCommand(): Command {
  return new Command('canary')
    .description('write numbered lines through a real Henrik, read them back through the API, report loss, duplicates and latency')
    .addOption(new Option('--server <url>', 'Daniel to test').env('DANIEL_URL').default('http://127.0.0.1:3032'))
    .addOption(new Option('--token <token>', 'a token with read and ingest scopes (admin)').env('DANIEL_TOKEN').makeOptionMandatory())
    .addOption(new Option('--read-token <token>', 'read with this token when --token has only the ingest scope'))
    .addOption(new Option('--rate <lines>', 'lines per second').argParser(positiveInteger).default(1000))
    .addOption(new Option('--duration <duration>', 'how long to write').argParser(durationMs).default(30_000, '30s'))
    .addOption(new Option('--drain-timeout <duration>', 'how long to wait for the last lines').argParser(durationMs).default(30_000, '30s'))
    .addOption(new Option('--file <path>', 'append to this file (default: a new temp file)'))
    .addOption(new Option('--host <name>', 'host name Henrik reports (default: canary-<hostname>)'))
    .option('--json', 'print the report as JSON')
    .action(async (options: {
      server: string;
      token: string;
      readToken?: string;
      rate: number;
      duration: number;
      drainTimeout: number;
      file?: string;
      host?: string;
      json?: boolean;
    }) => {
      const report = await runCanary({
        server: options.server,
        token: options.token,
        readToken: options.readToken,
        ratePerSecond: options.rate,
        durationMs: options.duration,
        drainTimeoutMs: options.drainTimeout,
        file: options.file,
        host: options.host,
        log: (message) => process.stderr.write(`${message}\n`),
      });
      process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
      process.exitCode = report.ok ? 0 : 1;
    });
}
