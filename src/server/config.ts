/**
 * `daniel serve` configuration: flags over environment over the `--config` file over
 * defaults, parsed without touching the process so it can be tested directly. Every problem
 * is one `ConfigError` whose message names where the value came from: the flag and the
 * environment variable, or the key and the config file.
 */
import { parseSize } from '../protocol/size.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
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
  /** Lines each host's head item keeps on DynamoDB (0 = no heads, the default). */
  dynamodbHeadLines: number;
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
  /** Distinct file identities one host may write in one UTC day (docs/api.md). */
  maxFilesPerHostDay: number;
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
  /** The config file these settings were read with (absolute), if any. */
  configFile?: string | undefined;
}

/** The flags as commander hands them over (all optional strings). */
export interface ServeFlags {
  config?: string;
  listen?: string;
  dataDir?: string;
  store?: string;
  dynamodbTable?: string;
  dynamodbEndpoint?: string;
  dynamodbShards?: string;
  dynamodbSettle?: string;
  dynamodbHeadLines?: string;
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
  maxFilesPerHostDay?: string;
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

/** Every setting of `daniel serve`: its key in the config file (the flag in camelCase), flag and variable. */
export type SettingKey = Exclude<keyof ServeFlags, 'config'>;

export const SETTINGS: Readonly<Record<SettingKey, { flag: string; env: string }>> = {
  listen: { flag: '--listen', env: 'DANIEL_LISTEN' },
  dataDir: { flag: '--data-dir', env: 'DANIEL_DATA_DIR' },
  store: { flag: '--store', env: 'DANIEL_STORE' },
  dynamodbTable: { flag: '--dynamodb-table', env: 'DANIEL_DYNAMODB_TABLE' },
  dynamodbEndpoint: { flag: '--dynamodb-endpoint', env: 'DANIEL_DYNAMODB_ENDPOINT' },
  dynamodbShards: { flag: '--dynamodb-shards', env: 'DANIEL_DYNAMODB_SHARDS' },
  dynamodbSettle: { flag: '--dynamodb-settle', env: 'DANIEL_DYNAMODB_SETTLE' },
  dynamodbHeadLines: { flag: '--dynamodb-head-lines', env: 'DANIEL_DYNAMODB_HEAD_LINES' },
  region: { flag: '--region', env: 'AWS_REGION' },
  retention: { flag: '--retention', env: 'DANIEL_RETENTION' },
  tokensFile: { flag: '--tokens-file', env: 'DANIEL_TOKENS_FILE' },
  bodyLimit: { flag: '--body-limit', env: 'DANIEL_BODY_LIMIT' },
  logLevel: { flag: '--log-level', env: 'DANIEL_LOG_LEVEL' },
  logRequests: { flag: '--log-requests', env: 'DANIEL_LOG_REQUESTS' },
  shutdownGrace: { flag: '--shutdown-grace', env: 'DANIEL_SHUTDOWN_GRACE' },
  maxConnections: { flag: '--max-connections', env: 'DANIEL_MAX_CONNECTIONS' },
  maxQueries: { flag: '--max-queries', env: 'DANIEL_MAX_QUERIES' },
  maxQueriesPerToken: { flag: '--max-queries-per-token', env: 'DANIEL_MAX_QUERIES_PER_TOKEN' },
  headersTimeout: { flag: '--headers-timeout', env: 'DANIEL_HEADERS_TIMEOUT' },
  requestTimeout: { flag: '--request-timeout', env: 'DANIEL_REQUEST_TIMEOUT' },
  keepAliveTimeout: { flag: '--keep-alive-timeout', env: 'DANIEL_KEEP_ALIVE_TIMEOUT' },
  maxFilesPerHostDay: { flag: '--max-files-per-host-day', env: 'DANIEL_MAX_FILES_PER_HOST_DAY' },
  tlsCert: { flag: '--tls-cert', env: 'DANIEL_TLS_CERT' },
  tlsKey: { flag: '--tls-key', env: 'DANIEL_TLS_KEY' },
  tlsClientCa: { flag: '--tls-client-ca', env: 'DANIEL_TLS_CLIENT_CA' },
  trustedProxy: { flag: '--trusted-proxy', env: 'DANIEL_TRUSTED_PROXIES' },
  syslogUdp: { flag: '--syslog-udp', env: 'DANIEL_SYSLOG_UDP' },
  syslogTcp: { flag: '--syslog-tcp', env: 'DANIEL_SYSLOG_TCP' },
  syslogTls: { flag: '--syslog-tls', env: 'DANIEL_SYSLOG_TLS' },
  syslogTlsCert: { flag: '--syslog-tls-cert', env: 'DANIEL_SYSLOG_TLS_CERT' },
  syslogTlsKey: { flag: '--syslog-tls-key', env: 'DANIEL_SYSLOG_TLS_KEY' },
  syslogTlsClientCa: { flag: '--syslog-tls-client-ca', env: 'DANIEL_SYSLOG_TLS_CLIENT_CA' },
};

/**
 * What a SIGHUP applies to a running Daniel. Every other setting is read at start only: a
 * reload that changes one says it needs a restart.
 */
export const LIVE_SETTINGS = ['tokensFile', 'tlsCert', 'tlsKey', 'tlsClientCa', 'retention', 'logLevel', 'maxFilesPerHostDay'] as const satisfies readonly SettingKey[];

/** A `--config` file as read: each setting as the text a flag would carry. */
export interface ServeConfigFile {
  /** Absolute. */
  path: string;
  values: Partial<Record<SettingKey, string>>;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const DEFAULT_LISTEN = '127.0.0.1:3032';
export const DEFAULT_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
const STORES: readonly StoreKind[] = ['sqlite', 'dynamodb', 'memory'];

/** Loaded only when a config file is read. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

const KEY_BY_LOWER = new Map(Object.keys(SETTINGS).map((key) => [key.toLowerCase(), key]));

/** Edits (insert, delete, replace a letter) between two short words. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length] as number;
}

/** The key a mistyped one probably meant: `data-dir`, `--data-dir`, `DataDir` and `dataDri` all mean `dataDir`. */
function keyMeant(key: string): string | undefined {
  const plain = key.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();
  const exact = KEY_BY_LOWER.get(plain);
  if (exact !== undefined) return exact;
  let best: [string, number] | undefined;
  for (const [lower, known] of KEY_BY_LOWER) {
    const d = distance(plain, lower);
    if (d <= 2 && (best === undefined || d < best[1])) best = [known, d];
  }
  return best?.[0];
}

/**
 * Reads a `daniel serve --config` file: YAML (JSON is YAML too), one mapping whose keys are
 * the serve flags in camelCase (`dataDir`, `maxQueriesPerToken`). Unknown keys, values of
 * the wrong kind and unreadable files are ConfigErrors naming the file and the key.
 */
export function readServeConfigFile(file: string, cwd: string = process.cwd(), read: (file: string) => string = (f) => readFileSync(f, 'utf8')): ServeConfigFile {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = read(path);
  } catch (error) {
    throw new ConfigError(`--config ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`--config ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return { path, values: {} };
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`--config ${path} must hold a mapping of settings, such as "listen: 0.0.0.0:3032"`);
  const values: Partial<Record<SettingKey, string>> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const where = `'${key}' in ${path}`;
    if (!Object.hasOwn(SETTINGS, key)) {
      const meant = keyMeant(key);
      throw new ConfigError(`unknown setting ${where}${meant === undefined ? '' : ` (did you mean ${meant}?)`}; the keys are the serve flags in camelCase, e.g. dataDir, maxQueriesPerToken`);
    }
    const setting = key as SettingKey;
    if (setting === 'trustedProxy') {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) throw new ConfigError(`${where} must be an address or a list of addresses`);
      values.trustedProxy = (list).join(',');
    } else if (setting === 'logRequests') {
      if (typeof value !== 'boolean') throw new ConfigError(`${where} must be true or false`);
      values.logRequests = String(value);
    } else if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
      values[setting] = String(value);
    } else {
      throw new ConfigError(`${where} must be ${value === null ? 'given a value' : 'a single value (text or a number)'}`);
    }
  }
  return { path, values };
}

/** Where a setting's value came from, and the directory its relative paths are read from. */
interface Sourced {
  text: string | undefined;
  where: string;
  base: string;
}

/** `HOST:PORT`, `[v6]:PORT` or a bare `PORT` (on 127.0.0.1). */
export function parseListen(text: string, label = '--listen / DANIEL_LISTEN'): { host: string; port: number } {
  const where = `${label} '${text}'`;
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

function parseShards(text: string, where: string): number {
  const shards = /^\s*\d{1,4}\s*$/.test(text) ? Number(text) : NaN;
  if (!(shards >= 1 && shards <= 1000)) {
    throw new ConfigError(`${where} '${text}' must be a whole number from 1 to 1000`);
  }
  return shards;
}

function parseSettleMs(text: string, where: string): number {
  const ns = text.trim() === '0' ? 0n : parseDuration(text);
  if (ns === undefined || ns > 60_000_000_000n || ns % 1_000_000n !== 0n) {
    throw new ConfigError(`${where} '${text}' must be a duration from 0 to 1m in whole ms, such as 1s or 500ms`);
  }
  return Number(ns / 1_000_000n);
}

function parseHeadLines(text: string, where: string): number {
  const value = text.trim();
  if (!/^\d{1,4}$/.test(value) || Number(value) > 1000) throw new ConfigError(`${where} '${text}' must be a whole number of lines from 0 (off) to 1000`);
  return Number(value);
}

function parseSwitch(text: string, where: string): boolean {
  const value = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(value)) return false;
  throw new ConfigError(`${where} '${text}' must be 1 or 0 (true or false)`);
}

function parseGraceMs(text: string, where: string): number {
  const ns = parseDuration(text);
  // Up to an hour: past that a stop would look like a hang to any supervisor.
  if (ns === undefined || ns > 3_600_000_000_000n) {
    throw new ConfigError(`${where} '${text}' must be a duration from 0s to 1h, such as 10s`);
  }
  return Number(ns / 1_000_000n);
}

export const DEFAULT_MAX_CONNECTIONS = 512;
export const DEFAULT_MAX_QUERIES = 16;
export const DEFAULT_MAX_QUERIES_PER_TOKEN = 8;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_FILES_PER_HOST_DAY = 10_000;

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

function parseSyslogConfig(get: (key: SettingKey) => Sourced, http: { cert?: string | undefined; key?: string | undefined; clientCa?: string | undefined }): SyslogConfig {
  const address = (key: 'syslogUdp' | 'syslogTcp' | 'syslogTls'): { host: string; port: number } | undefined => {
    const setting = get(key);
    return setting.text === undefined ? undefined : parseListen(setting.text, setting.where);
  };
  const file = (key: 'syslogTlsCert' | 'syslogTlsKey' | 'syslogTlsClientCa'): string | undefined => {
    const setting = get(key);
    return setting.text === undefined ? undefined : resolve(setting.base, setting.text);
  };
  const tls = address('syslogTls');
  const ownCert = file('syslogTlsCert');
  const ownKey = file('syslogTlsKey');
  const ownCa = file('syslogTlsClientCa');
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
  return {
    udp: address('syslogUdp'),
    tcp: address('syslogTcp'),
    tls,
    tlsCert: tls === undefined ? undefined : cert,
    tlsKey: tls === undefined ? undefined : key,
    tlsClientCa: tls === undefined ? undefined : clientCa,
  };
}

/**
 * Flags, then the environment, then `file` (a `--config` file read by readServeConfigFile),
 * then the defaults. Relative paths are read from `cwd`, or from the config file's directory
 * for a path the file gives.
 */
export function parseServeConfig(flags: ServeFlags, env: Environment, cwd: string = process.cwd(), file?: ServeConfigFile): ServeConfig {
  const get = (key: SettingKey): Sourced => {
    const { flag, env: variable } = SETTINGS[key];
    const both = `${flag} / ${variable}`;
    const given = flags[key];
    if (given !== undefined && given !== false) {
      return { text: Array.isArray(given) ? given.join(',') : String(given), where: both, base: cwd };
    }
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv !== '') return { text: fromEnv, where: both, base: cwd };
    const fromFile = file?.values[key];
    if (fromFile !== undefined && file !== undefined) return { text: fromFile, where: `'${key}' in ${file.path}`, base: dirname(file.path) };
    return { text: undefined, where: both, base: cwd };
  };
  const listenSetting = get('listen');
  const listen = parseListen(listenSetting.text ?? DEFAULT_LISTEN, listenSetting.where);

  const dataDirSetting = get('dataDir');
  const dataDirText = dataDirSetting.text ?? './data';
  if (dataDirText.trim() === '' || dataDirText.includes('\0')) {
    throw new ConfigError(`${dataDirSetting.where} must be a directory path`);
  }

  const storeSetting = get('store');
  const storeText = (storeSetting.text ?? 'sqlite').toLowerCase();
  if (!STORES.includes(storeText as StoreKind)) {
    throw new ConfigError(`${storeSetting.where} '${storeText}' must be sqlite or dynamodb (or memory, for tests)`);
  }

  const retentionSetting = get('retention');
  const retentionText = retentionSetting.text ?? '30d';
  const retentionNs = parseDuration(retentionText);
  if (retentionNs === undefined || retentionNs <= 0n) {
    throw new ConfigError(`${retentionSetting.where} '${retentionText}' must be a duration such as 30d, 12h or 90m`);
  }
  // Below a minute the retention sweep would delete lines faster than agents can ship them.
  if (retentionNs < 60_000_000_000n) throw new ConfigError(`${retentionSetting.where} must be at least 1m`);

  const endpointSetting = get('dynamodbEndpoint');
  const endpoint = endpointSetting.text;
  if (endpoint !== undefined && !/^https?:\/\/\S+$/.test(endpoint)) {
    throw new ConfigError(`${endpointSetting.where} '${endpoint}' must be an http(s) URL`);
  }
  const tableSetting = get('dynamodbTable');
  const table = tableSetting.text ?? 'logging-aggregator';
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) {
    throw new ConfigError(`${tableSetting.where} '${table}' must be 3-255 of A-Z a-z 0-9 _ . -`);
  }

  const shards = get('dynamodbShards');
  const settle = get('dynamodbSettle');
  const headLines = get('dynamodbHeadLines');
  const logLevelSetting = get('logLevel');
  const logLevel = (logLevelSetting.text ?? 'warn').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new ConfigError(`${logLevelSetting.where} '${logLevel}' must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const logRequests = get('logRequests');
  const grace = get('shutdownGrace');

  const bodyLimit = get('bodyLimit');
  const tokensFile = get('tokensFile');
  const tlsCert = get('tlsCert');
  const tlsKey = get('tlsKey');
  const tlsClientCa = get('tlsClientCa');
  if ((tlsCert.text === undefined) !== (tlsKey.text === undefined)) {
    throw new ConfigError(`${tlsCert.where} and ${tlsKey.where} go together`);
  }
  if (tlsClientCa.text !== undefined && tlsCert.text === undefined) {
    throw new ConfigError(`${tlsClientCa.where} needs --tls-cert and --tls-key`);
  }
  const proxies = get('trustedProxy');
  const trustedProxies = (proxies.text ?? '')
    .split(',')
    .map((text) => text.trim())
    .filter((text) => text !== '');
  for (const proxy of trustedProxies) {
    if (!/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(proxy)) {
      throw new ConfigError(`${proxies.where} '${proxy}' must be an IP address or CIDR range`);
    }
  }
  const path = (setting: Sourced): string | undefined => (setting.text === undefined ? undefined : resolve(setting.base, setting.text));
  const count = (key: SettingKey, fallback: number, max: number): number => {
    const setting = get(key);
    return parseCount(setting.text, setting.where, fallback, max);
  };
  const timeout = (key: SettingKey, fallback: number): number => {
    const setting = get(key);
    return parseTimeoutMs(setting.text, setting.where, fallback);
  };

  return {
    listenHost: listen.host,
    listenPort: listen.port,
    dataDir: resolve(dataDirSetting.base, dataDirText),
    store: storeText as StoreKind,
    dynamodbTable: table,
    dynamodbEndpoint: endpoint,
    dynamodbShards: shards.text === undefined ? 1 : parseShards(shards.text, shards.where),
    ...(settle.text === undefined ? {} : { dynamodbSettleMs: parseSettleMs(settle.text, settle.where) }),
    dynamodbHeadLines: headLines.text === undefined ? 0 : parseHeadLines(headLines.text, headLines.where),
    region: get('region').text ?? 'us-east-1',
    retentionNs,
    tokensFile: path(tokensFile),
    tokensEnv: env.DANIEL_TOKENS === undefined || env.DANIEL_TOKENS.trim() === '' ? undefined : env.DANIEL_TOKENS,
    bodyLimitBytes: bodyLimit.text === undefined ? DEFAULT_BODY_LIMIT_BYTES : parseByteSize(bodyLimit.text, bodyLimit.where),
    logLevel: logLevel as LogLevel,
    logRequests: logRequests.text !== undefined && parseSwitch(logRequests.text, logRequests.where),
    shutdownGraceMs: grace.text === undefined ? DEFAULT_SHUTDOWN_GRACE_MS : parseGraceMs(grace.text, grace.where),
    maxConnections: count('maxConnections', DEFAULT_MAX_CONNECTIONS, 1_000_000),
    maxQueries: count('maxQueries', DEFAULT_MAX_QUERIES, 10_000),
    maxQueriesPerToken: count('maxQueriesPerToken', DEFAULT_MAX_QUERIES_PER_TOKEN, 10_000),
    headersTimeoutMs: timeout('headersTimeout', DEFAULT_HEADERS_TIMEOUT_MS),
    requestTimeoutMs: timeout('requestTimeout', DEFAULT_REQUEST_TIMEOUT_MS),
    keepAliveTimeoutMs: timeout('keepAliveTimeout', DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
    maxFilesPerHostDay: count('maxFilesPerHostDay', DEFAULT_MAX_FILES_PER_HOST_DAY, 10_000_000),
    tlsCert: path(tlsCert),
    tlsKey: path(tlsKey),
    tlsClientCa: path(tlsClientCa),
    trustedProxies,
    syslog: parseSyslogConfig(get, { cert: path(tlsCert), key: path(tlsKey), clientCa: path(tlsClientCa) }),
    ...(file === undefined ? {} : { configFile: file.path }),
  };
}

/**
 * The whole `daniel serve` configuration of a process: the `--config` file (flag, or
 * DANIEL_CONFIG) read again each time, so a SIGHUP sees its edits.
 */
export function loadServeConfig(flags: ServeFlags, env: Environment, cwd: string = process.cwd()): ServeConfig {
  const configPath = flags.config ?? (env.DANIEL_CONFIG === '' ? undefined : env.DANIEL_CONFIG);
  const file = configPath === undefined ? undefined : readServeConfigFile(configPath, cwd);
  return parseServeConfig(flags, env, cwd, file);
}

/** The fields of ServeConfig behind each setting a SIGHUP cannot change. */
const RESTART_ONLY: Record<Exclude<SettingKey, (typeof LIVE_SETTINGS)[number]>, readonly (keyof ServeConfig)[]> = {
  listen: ['listenHost', 'listenPort'],
  dataDir: ['dataDir'],
  store: ['store'],
  syslogUdp: ['syslog'],
  syslogTcp: ['syslog'],
  syslogTls: ['syslog'],
  syslogTlsCert: ['syslog'],
  syslogTlsKey: ['syslog'],
  syslogTlsClientCa: ['syslog'],
  dynamodbTable: ['dynamodbTable'],
  dynamodbEndpoint: ['dynamodbEndpoint'],
  dynamodbShards: ['dynamodbShards'],
  dynamodbSettle: ['dynamodbSettleMs'],
  dynamodbHeadLines: ['dynamodbHeadLines'],
  region: ['region'],
  bodyLimit: ['bodyLimitBytes'],
  logRequests: ['logRequests'],
  shutdownGrace: ['shutdownGraceMs'],
  maxConnections: ['maxConnections'],
  maxQueries: ['maxQueries'],
  maxQueriesPerToken: ['maxQueriesPerToken'],
  headersTimeout: ['headersTimeoutMs'],
  requestTimeout: ['requestTimeoutMs'],
  keepAliveTimeout: ['keepAliveTimeoutMs'],
  trustedProxy: ['trustedProxies'],
};

/**
 * A reload of `running` with `next`: the configuration that runs afterwards (`next`'s live
 * settings, `running`'s restart-only ones) and the restart-only settings `next` changes.
 */
export function reloadedConfig(running: ServeConfig, next: ServeConfig): { config: ServeConfig; restartOnly: string[] } {
  const config: ServeConfig = { ...next };
  const restartOnly: string[] = [];
  for (const [key, fields] of Object.entries(RESTART_ONLY)) {
    if (fields.some((field) => JSON.stringify(running[field]) !== JSON.stringify(next[field]))) restartOnly.push(key);
    for (const field of fields) Object.assign(config, { [field]: running[field] });
  }
  return { config, restartOnly };
}
