/**
 * `daniel serve` configuration: flags over environment over defaults (SPEC.md), parsed
 * without touching the process so it can be tested directly. Every problem is one
 * `ConfigError` whose message names the flag and the environment variable.
 */
import { parseSize } from '../protocol/size.js';
import { resolve } from 'node:path';
import { parseDuration } from '../common/time.js';
import { LOG_LEVELS, type LogLevel } from './log.js';

export type StoreKind = 'sqlite' | 'dynamodb' | 'memory';

export interface ServeConfig {
  listenHost: string;
  /** 0 = any free port. */
  listenPort: number;
  /** Absolute. */
  dataDir: string;
  store: StoreKind;
  dynamodbTable: string;
  dynamodbEndpoint: string | undefined;
  /** Segment partitions per host in DynamoDB (1..1000); every Daniel on a table must agree. */
  dynamodbShards: number;
  /** Live tail's settle window on DynamoDB (ms; 0 = off); undefined: the store's default (1 s). */
  dynamodbSettleMs?: number | undefined;
  region: string;
  /** How long lines are kept after they arrive (ns). */
  retentionNs: bigint;
  tokensFile: string | undefined;
  /** The raw DANIEL_TOKENS value, if set. */
  tokensEnv: string | undefined;
  /** Maximum request body, raw and decompressed. */
  bodyLimitBytes: number;
  logLevel: LogLevel;
  /** Log every request, not only errors, 5xx and slow ones. */
  logRequests: boolean;
  /** On SIGTERM: how long in-flight requests may take before every connection is cut. */
  shutdownGraceMs: number;
  /** Request bounds (docs/operations.md): connections, concurrent queries, client timeouts. */
  maxConnections: number;
  maxQueries: number;
  maxQueriesPerToken: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** HTTPS key and certificate files (absolute); both or neither. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** CA file client certificates must chain to; set = every client needs one. */
  tlsClientCa: string | undefined;
  /** Addresses of proxies whose X-Forwarded-Proto and X-Forwarded-For are believed. */
  trustedProxies: string[];
  /** Syslog listeners (docs/inputs.md); undefined = off. */
  syslog: SyslogConfig;
}

export interface SyslogConfig {
  udp: { host: string; port: number } | undefined;
  tcp: { host: string; port: number } | undefined;
  tls: { host: string; port: number } | undefined;
  /** The TLS listener's files (absolute): its own flags, else --tls-cert / --tls-key / --tls-client-ca. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsClientCa: string | undefined;
}

/** The flags as commander hands them over (all optional strings). */
export interface ServeFlags {
  listen?: string;
  dataDir?: string;
  store?: string;
  dynamodbTable?: string;
  dynamodbEndpoint?: string;
  dynamodbShards?: string;
  dynamodbSettle?: string;
  region?: string;
  retention?: string;
  tokensFile?: string;
  bodyLimit?: string;
  logLevel?: string;
  logRequests?: boolean;
  shutdownGrace?: string;
  maxConnections?: string;
  maxQueries?: string;
  maxQueriesPerToken?: string;
  headersTimeout?: string;
  requestTimeout?: string;
  keepAliveTimeout?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  trustedProxy?: string[] | string;
  syslogUdp?: string;
  syslogTcp?: string;
  syslogTls?: string;
  syslogTlsCert?: string;
  syslogTlsKey?: string;
  syslogTlsClientCa?: string;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const DEFAULT_LISTEN = '127.0.0.1:3032';
export const DEFAULT_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
const STORES: readonly StoreKind[] = ['sqlite', 'dynamodb', 'memory'];

function pick(flag: string | undefined, env: string | undefined): string | undefined {
  if (flag !== undefined) return flag;
  return env === undefined || env === '' ? undefined : env;
}

/** `HOST:PORT`, `[v6]:PORT` or a bare `PORT` (on 127.0.0.1). */
export function parseListen(text: string, option = '--listen / DANIEL_LISTEN'): { host: string; port: number } {
  const where = `${option} '${text}'`;
  const trimmed = text.trim();
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed);
  if (bracketed) {
    host = bracketed[1] as string;
    portText = bracketed[2] as string;
  } else if (/^\d+$/.test(trimmed)) {
    host = '127.0.0.1';
    portText = trimmed;
  } else {
    const colon = trimmed.lastIndexOf(':');
    if (colon <= 0) throw new ConfigError(`${where} must be HOST:PORT, e.g. 127.0.0.1:3032`);
    host = trimmed.slice(0, colon);
    portText = trimmed.slice(colon + 1);
    if (host.includes(':')) throw new ConfigError(`${where}: write IPv6 addresses in brackets, e.g. [::1]:3032`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new ConfigError(`${where} has an invalid port: use 0..65535 (0 = any free port)`);
  }
  if (host === '' || /\s/.test(host)) throw new ConfigError(`${where} has an invalid host`);
  return { host, port: Number(portText) };
}

function parseByteSize(text: string, where: string): number {
  const bytes = parseSize(text);
  if (bytes === undefined) throw new ConfigError(`${where} '${text}' must be a size such as 8MiB or 1048576`);
  if (bytes < 1024 || bytes > 1024 ** 3) throw new ConfigError(`${where} must be between 1KiB and 1GiB`);
  return bytes;
}

function parseShards(text: string): number {
  const shards = /^\s*\d{1,4}\s*$/.test(text) ? Number(text) : NaN;
  if (!(shards >= 1 && shards <= 1000)) {
    throw new ConfigError(`--dynamodb-shards / DANIEL_DYNAMODB_SHARDS '${text}' must be a whole number from 1 to 1000`);
  }
  return shards;
}

function parseSettleMs(text: string): number {
  const ns = text.trim() === '0' ? 0n : parseDuration(text);
  if (ns === undefined || ns > 60_000_000_000n || ns % 1_000_000n !== 0n) {
    throw new ConfigError(`--dynamodb-settle / DANIEL_DYNAMODB_SETTLE '${text}' must be a duration from 0 to 1m in whole ms, such as 1s or 500ms`);
  }
  return Number(ns / 1_000_000n);
}

function parseSwitch(text: string, where: string): boolean {
  const value = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(value)) return false;
  throw new ConfigError(`${where} '${text}' must be 1 or 0 (true or false)`);
}

function parseGraceMs(text: string): number {
  const ns = parseDuration(text);
  // Up to an hour: past that a stop would look like a hang to any supervisor.
  if (ns === undefined || ns > 3_600_000_000_000n) {
    throw new ConfigError(`--shutdown-grace / DANIEL_SHUTDOWN_GRACE '${text}' must be a duration from 0s to 1h, such as 10s`);
  }
  return Number(ns / 1_000_000n);
}

export const DEFAULT_MAX_CONNECTIONS = 512;
export const DEFAULT_MAX_QUERIES = 16;
export const DEFAULT_MAX_QUERIES_PER_TOKEN = 8;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;

function parseCount(text: string | undefined, where: string, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const value = /^\s*\d{1,7}\s*$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= max)) throw new ConfigError(`${where} '${text}' must be a whole number from 1 to ${max}`);
  return value;
}

function parseTimeoutMs(text: string | undefined, where: string, fallback: number): number {
  if (text === undefined) return fallback;
  const ns = parseDuration(text);
  if (ns === undefined || ns < 1_000_000_000n || ns > 3_600_000_000_000n) {
    throw new ConfigError(`${where} '${text}' must be a duration from 1s to 1h, such as 10s`);
  }
  return Number(ns / 1_000_000n);
}

function parseSyslogConfig(flags: ServeFlags, env: Environment, cwd: string, http: { cert?: string; key?: string; clientCa?: string }): SyslogConfig {
  const address = (flag: string | undefined, name: string, option: string): { host: string; port: number } | undefined => {
    const text = pick(flag, env[name]);
    return text === undefined ? undefined : parseListen(text, `${option} / ${name}`);
  };
  const tls = address(flags.syslogTls, 'DANIEL_SYSLOG_TLS', '--syslog-tls');
  const ownCert = pick(flags.syslogTlsCert, env.DANIEL_SYSLOG_TLS_CERT);
  const ownKey = pick(flags.syslogTlsKey, env.DANIEL_SYSLOG_TLS_KEY);
  const ownCa = pick(flags.syslogTlsClientCa, env.DANIEL_SYSLOG_TLS_CLIENT_CA);
  if ((ownCert === undefined) !== (ownKey === undefined)) {
    throw new ConfigError('--syslog-tls-cert / DANIEL_SYSLOG_TLS_CERT and --syslog-tls-key / DANIEL_SYSLOG_TLS_KEY go together');
  }
  const cert = ownCert ?? http.cert;
  const key = ownKey ?? http.key;
  const clientCa = ownCa ?? (ownCert === undefined ? http.clientCa : undefined);
  if (tls !== undefined && cert === undefined) {
    throw new ConfigError('--syslog-tls / DANIEL_SYSLOG_TLS needs a certificate: --syslog-tls-cert and --syslog-tls-key, or --tls-cert and --tls-key');
  }
  if (tls === undefined && (ownCert !== undefined || ownCa !== undefined)) {
    throw new ConfigError('--syslog-tls-cert, --syslog-tls-key and --syslog-tls-client-ca need --syslog-tls HOST:PORT');
  }
  const absolute = (file: string | undefined): string | undefined => (file === undefined ? undefined : resolve(cwd, file));
  return {
    udp: address(flags.syslogUdp, 'DANIEL_SYSLOG_UDP', '--syslog-udp'),
    tcp: address(flags.syslogTcp, 'DANIEL_SYSLOG_TCP', '--syslog-tcp'),
    tls,
    tlsCert: tls === undefined ? undefined : absolute(cert),
    tlsKey: tls === undefined ? undefined : absolute(key),
    tlsClientCa: tls === undefined ? undefined : absolute(clientCa),
  };
}

export function parseServeConfig(flags: ServeFlags, env: Environment, cwd: string = process.cwd()): ServeConfig {
  const listen = parseListen(pick(flags.listen, env.DANIEL_LISTEN) ?? DEFAULT_LISTEN);

  const dataDirText = pick(flags.dataDir, env.DANIEL_DATA_DIR) ?? './data';
  if (dataDirText.trim() === '' || dataDirText.includes('\0')) {
    throw new ConfigError('--data-dir / DANIEL_DATA_DIR must be a directory path');
  }

  const storeText = (pick(flags.store, env.DANIEL_STORE) ?? 'sqlite').toLowerCase();
  if (!STORES.includes(storeText as StoreKind)) {
    throw new ConfigError(`--store / DANIEL_STORE '${storeText}' must be sqlite or dynamodb (or memory, for tests)`);
  }

  const retentionText = pick(flags.retention, env.DANIEL_RETENTION) ?? '30d';
  const retentionNs = parseDuration(retentionText);
  if (retentionNs === undefined || retentionNs <= 0n) {
    throw new ConfigError(`--retention / DANIEL_RETENTION '${retentionText}' must be a duration such as 30d, 12h or 90m`);
  }
  // Below a minute the retention sweep would delete lines faster than agents can ship them.
  if (retentionNs < 60_000_000_000n) throw new ConfigError('--retention / DANIEL_RETENTION must be at least 1m');

  const endpoint = pick(flags.dynamodbEndpoint, env.DANIEL_DYNAMODB_ENDPOINT);
  if (endpoint !== undefined && !/^https?:\/\/\S+$/.test(endpoint)) {
    throw new ConfigError(`--dynamodb-endpoint / DANIEL_DYNAMODB_ENDPOINT '${endpoint}' must be an http(s) URL`);
  }
  const table = pick(flags.dynamodbTable, env.DANIEL_DYNAMODB_TABLE) ?? 'logging-aggregator';
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) {
    throw new ConfigError(`--dynamodb-table / DANIEL_DYNAMODB_TABLE '${table}' must be 3-255 of A-Z a-z 0-9 _ . -`);
  }

  const shardsText = pick(flags.dynamodbShards, env.DANIEL_DYNAMODB_SHARDS);
  const settleText = pick(flags.dynamodbSettle, env.DANIEL_DYNAMODB_SETTLE);
  const logLevel = (pick(flags.logLevel, env.DANIEL_LOG_LEVEL) ?? 'warn').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new ConfigError(`--log-level / DANIEL_LOG_LEVEL '${logLevel}' must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const logRequestsText = env.DANIEL_LOG_REQUESTS;
  const graceText = pick(flags.shutdownGrace, env.DANIEL_SHUTDOWN_GRACE);

  const bodyLimitText = pick(flags.bodyLimit, env.DANIEL_BODY_LIMIT);
  const tokensFileText = pick(flags.tokensFile, env.DANIEL_TOKENS_FILE);
  const tlsCert = pick(flags.tlsCert, env.DANIEL_TLS_CERT);
  const tlsKey = pick(flags.tlsKey, env.DANIEL_TLS_KEY);
  const tlsClientCa = pick(flags.tlsClientCa, env.DANIEL_TLS_CLIENT_CA);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError('--tls-cert / DANIEL_TLS_CERT and --tls-key / DANIEL_TLS_KEY go together');
  }
  if (tlsClientCa !== undefined && tlsCert === undefined) {
    throw new ConfigError('--tls-client-ca / DANIEL_TLS_CLIENT_CA needs --tls-cert and --tls-key');
  }
  const proxyFlag = flags.trustedProxy === undefined ? undefined : ([] as string[]).concat(flags.trustedProxy);
  const trustedProxies = (proxyFlag ?? (env.DANIEL_TRUSTED_PROXIES ?? '').split(','))
    .flatMap((text) => text.split(','))
    .map((text) => text.trim())
    .filter((text) => text !== '');
  for (const proxy of trustedProxies) {
    if (!/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(proxy)) {
      throw new ConfigError(`--trusted-proxy / DANIEL_TRUSTED_PROXIES '${proxy}' must be an IP address or CIDR range`);
    }
  }

  return {
    listenHost: listen.host,
    listenPort: listen.port,
    dataDir: resolve(cwd, dataDirText),
    store: storeText as StoreKind,
    dynamodbTable: table,
    dynamodbEndpoint: endpoint,
    dynamodbShards: shardsText === undefined ? 1 : parseShards(shardsText),
    ...(settleText === undefined ? {} : { dynamodbSettleMs: parseSettleMs(settleText) }),
    region: pick(flags.region, env.AWS_REGION) ?? 'us-east-1',
    retentionNs,
    tokensFile: tokensFileText === undefined ? undefined : resolve(cwd, tokensFileText),
    tokensEnv: env.DANIEL_TOKENS === undefined || env.DANIEL_TOKENS.trim() === '' ? undefined : env.DANIEL_TOKENS,
    bodyLimitBytes:
      bodyLimitText === undefined ? DEFAULT_BODY_LIMIT_BYTES : parseByteSize(bodyLimitText, '--body-limit / DANIEL_BODY_LIMIT'),
    logLevel: logLevel as LogLevel,
    logRequests: flags.logRequests === true || (logRequestsText !== undefined && parseSwitch(logRequestsText, 'DANIEL_LOG_REQUESTS')),
    shutdownGraceMs: graceText === undefined ? DEFAULT_SHUTDOWN_GRACE_MS : parseGraceMs(graceText),
    maxConnections: parseCount(pick(flags.maxConnections, env.DANIEL_MAX_CONNECTIONS), '--max-connections / DANIEL_MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS, 1_000_000),
    maxQueries: parseCount(pick(flags.maxQueries, env.DANIEL_MAX_QUERIES), '--max-queries / DANIEL_MAX_QUERIES', DEFAULT_MAX_QUERIES, 10_000),
    maxQueriesPerToken: parseCount(
      pick(flags.maxQueriesPerToken, env.DANIEL_MAX_QUERIES_PER_TOKEN),
      '--max-queries-per-token / DANIEL_MAX_QUERIES_PER_TOKEN',
      DEFAULT_MAX_QUERIES_PER_TOKEN,
      10_000,
    ),
    headersTimeoutMs: parseTimeoutMs(pick(flags.headersTimeout, env.DANIEL_HEADERS_TIMEOUT), '--headers-timeout / DANIEL_HEADERS_TIMEOUT', DEFAULT_HEADERS_TIMEOUT_MS),
    requestTimeoutMs: parseTimeoutMs(pick(flags.requestTimeout, env.DANIEL_REQUEST_TIMEOUT), '--request-timeout / DANIEL_REQUEST_TIMEOUT', DEFAULT_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: parseTimeoutMs(pick(flags.keepAliveTimeout, env.DANIEL_KEEP_ALIVE_TIMEOUT), '--keep-alive-timeout / DANIEL_KEEP_ALIVE_TIMEOUT', DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
    tlsCert: tlsCert === undefined ? undefined : resolve(cwd, tlsCert),
    tlsKey: tlsKey === undefined ? undefined : resolve(cwd, tlsKey),
    tlsClientCa: tlsClientCa === undefined ? undefined : resolve(cwd, tlsClientCa),
    trustedProxies,
    syslog: parseSyslogConfig(flags, env, cwd, {
      ...(tlsCert === undefined ? {} : { cert: tlsCert }),
      ...(tlsKey === undefined ? {} : { key: tlsKey }),
      ...(tlsClientCa === undefined ? {} : { clientCa: tlsClientCa }),
    }),
  };
}
