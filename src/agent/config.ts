/**
 * Flags, environment and the `--config` file (YAML or JSON) -> AgentOptions.
 * Precedence: flag, then environment, then config file, then default. Anything wrong is a
 * ConfigError with one sentence that says what to fix (the bin prints it and exits 2).
 */
import { nameProblem } from '../protocol/names.js';
import { parseSize } from '../protocol/size.js';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { isValidRule, type MultilineRule } from './multiline.js';
import type { AgentOptions, AgentSource } from './options.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface CliFlags {
  server?: string;
  token?: string;
  /** A file holding the token (keeps it out of `ps`). */
  tokenFile?: string;
  /** PEM file of the CA that signed Daniel's certificate. */
  ca?: string;
  /** Client certificate and key (PEM files), for a Daniel that asks for one. */
  cert?: string;
  key?: string;
  host?: string;
  stateDir?: string;
  once?: boolean;
  config?: string;
  /** The command line's paths follow symlinks out of their pattern's root. */
  followSymlinks?: boolean;
}

const TOP_KEYS = new Set([
  'server', 'token', 'host', 'stateDir', 'sources', 'paths', 'exclude', 'timezone', 'multiline', 'followSymlinks',
  'maxLineBytes', 'flushIntervalMs', 'batchMaxLines', 'batchMaxBytes', 'spoolMaxBytes', 'scanIntervalMs', 'stopTimeoutMs',
]);
const SOURCE_KEYS = new Set(['paths', 'exclude', 'timezone', 'multiline', 'followSymlinks']);
const MULTILINE_KEYS = new Set(['start', 'continue', 'preset', 'timeoutMs']);

export function resolveAgentConfig(
  flags: CliFlags,
  positional: string[],
  env: NodeJS.ProcessEnv = process.env,
  readFile: (file: string) => string = (f) => readFileSync(f, 'utf8'),
): AgentOptions {
  const file = flags.config !== undefined ? loadConfigFile(flags.config, readFile) : {};
  const server = flags.server ?? env.HENRIK_SERVER ?? optionalString(file, 'server') ?? 'http://127.0.0.1:3032';
  const fromFile = (tokenFile: string | undefined, where: string): string | undefined =>
    tokenFile === undefined || tokenFile === '' ? undefined : readSecretFile(tokenFile, where, readFile);
  const token =
    flags.token ??
    fromFile(flags.tokenFile, '--token-file') ??
    (env.HENRIK_TOKEN || undefined) ??
    fromFile(env.HENRIK_TOKEN_FILE, 'HENRIK_TOKEN_FILE') ??
    optionalString(file, 'token');
  const host = flags.host ?? env.HENRIK_HOST ?? optionalString(file, 'host') ?? os.hostname();
  const stateDir = flags.stateDir ?? env.HENRIK_STATE_DIR ?? optionalString(file, 'stateDir') ?? './henrik-state';
  if (token === undefined || token === '') throw new ConfigError('no token: pass --token-file FILE (or HENRIK_TOKEN_FILE, HENRIK_TOKEN) with an ingest token from Daniel');
  const tokenProblem = settingProblem(token, TOKEN_CHARS);
  if (tokenProblem !== undefined) throw new ConfigError(`the token ${tokenProblem}; a token is printable ASCII without spaces`);
  const serverProblem = settingProblem(server, URL_CHARS);
  if (serverProblem !== undefined) throw new ConfigError(`--server ${serverProblem}`);
  const tls = tlsFiles(flags, env, readFile);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new ConfigError(`--server '${server}' is not a URL; use e.g. http://127.0.0.1:3032`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`--server '${server}' must be http:// or https://`);
  if (url.username !== '' || url.password !== '') throw new ConfigError(`--server '${url.host}' must not hold a user or password: the token is the credential`);
  if (url.search !== '' || url.hash !== '') throw new ConfigError(`--server '${server}' must be Daniel's base URL, without ?query or #fragment`);
  const hostProblem = settingProblem(host, undefined) ?? nameProblem(host);
  if (hostProblem !== undefined) throw new ConfigError(`--host '${printable(host)}' ${hostProblem}; it names this machine in Daniel (1 to 255 bytes, no control characters)`);

  const sources: AgentSource[] = [];
  if (positional.length > 0) {
    const source: AgentSource = { paths: positional, ...sourceOptions(file, 'config') };
    if (flags.followSymlinks === true) source.followSymlinks = true;
    sources.push(source);
  }
  if (file.sources !== undefined) {
    if (!Array.isArray(file.sources)) throw new ConfigError('config: sources must be a list');
    file.sources.forEach((s: unknown, i: number) => sources.push(parseSource(s, `sources[${i}]`)));
  } else if (file.paths !== undefined && positional.length === 0) {
    sources.push(parseSource({ paths: file.paths, exclude: file.exclude, timezone: file.timezone, multiline: file.multiline, followSymlinks: file.followSymlinks }, 'config'));
  }
  if (sources.length === 0) throw new ConfigError('nothing to watch: give at least one PATH_OR_GLOB, or sources in --config');

  return {
    server: url.toString().replace(/\/+$/, ''),
    token,
    ...tls,
    host,
    stateDir,
    once: flags.once === true,
    sources,
    maxLineBytes: optionalSize(file, 'maxLineBytes'),
    batchMaxBytes: optionalSize(file, 'batchMaxBytes'),
    spoolMaxBytes: optionalSize(file, 'spoolMaxBytes'),
    batchMaxLines: optionalNumber(file, 'batchMaxLines'),
    flushIntervalMs: optionalNumber(file, 'flushIntervalMs'),
    scanIntervalMs: optionalNumber(file, 'scanIntervalMs'),
    stopTimeoutMs: optionalNumber(file, 'stopTimeoutMs'),
  };
}

type Table = Record<string, unknown>;

/** What a token may hold: it goes in an HTTP header, so visible ASCII only. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;
/** A URL as typed: visible ASCII (WHATWG URL parsing would drop a CR or tab silently). */
const URL_CHARS = /^[\x21-\x7e]+$/;

/**
 * Why a setting read from a flag, the environment or a file is unusable, or undefined. A
 * trailing CR is named as such: it comes from an env file with Windows line ends.
 */
function settingProblem(value: string, allowed: RegExp | undefined): string | undefined {
  if (/\r$/.test(value)) return 'ends with a carriage return (\\r): the env or config file has Windows (CRLF) line ends; convert it with dos2unix';
  if (/^\s|\s$/.test(value)) return 'starts or ends with white space';
  if (allowed !== undefined && !allowed.test(value)) return `holds a character that is not allowed (${printable(value)})`;
  return undefined;
}

/** A value with its control characters shown as escapes, for a message. */
function printable(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/** Loaded only when a YAML file is read: it costs the agent ~9 MiB of memory otherwise. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

function loadConfigFile(file: string, readFile: (file: string) => string): Table {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    throw new ConfigError(`cannot read --config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`--config ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`--config ${file} must hold a mapping of settings`);
  const table = parsed as Table;
  for (const key of Object.keys(table)) if (!TOP_KEYS.has(key)) throw new ConfigError(`config: unknown setting '${key}'`);
  return table;
}

function sourceOptions(file: Table, where: string): Omit<AgentSource, 'paths'> {
  const parsed = parseSource({ paths: ['-'], exclude: file.exclude, timezone: file.timezone, multiline: file.multiline, followSymlinks: file.followSymlinks }, where);
  return { exclude: parsed.exclude, timezone: parsed.timezone, multiline: parsed.multiline, ...(parsed.followSymlinks === true ? { followSymlinks: true } : {}) };
}

function parseSource(value: unknown, where: string): AgentSource {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`config: ${where} must be a mapping with paths`);
  const s = value as Table;
  for (const key of Object.keys(s)) if (!SOURCE_KEYS.has(key)) throw new ConfigError(`config: ${where} has unknown setting '${key}'`);
  const paths = stringList(s.paths, `${where}.paths`);
  if (paths.length === 0) throw new ConfigError(`config: ${where}.paths is empty`);
  const source: AgentSource = { paths, exclude: s.exclude === undefined ? [] : stringList(s.exclude, `${where}.exclude`) };
  if (s.timezone !== undefined) {
    if (typeof s.timezone !== 'string' || !validZone(s.timezone)) throw new ConfigError(`config: ${where}.timezone '${JSON.stringify(s.timezone)}' is not an IANA zone like Europe/Oslo`);
    source.timezone = s.timezone;
  }
  if (s.multiline !== undefined) source.multiline = parseMultiline(s.multiline, `${where}.multiline`);
  if (s.followSymlinks !== undefined) {
    if (typeof s.followSymlinks !== 'boolean') throw new ConfigError(`config: ${where}.followSymlinks must be true or false`);
    if (s.followSymlinks) source.followSymlinks = true;
  }
  return source;
}

function parseMultiline(value: unknown, where: string): MultilineRule {
  const rule: MultilineRule = typeof value === 'string' ? { preset: value as MultilineRule['preset'] } : (value as MultilineRule);
  if (typeof rule !== 'object' || rule === null) throw new ConfigError(`config: ${where} must be a preset name or a mapping`);
  for (const key of Object.keys(rule)) if (!MULTILINE_KEYS.has(key)) throw new ConfigError(`config: ${where} has unknown setting '${key}'`);
  const problem = isValidRule(rule);
  if (problem !== undefined) throw new ConfigError(`config: ${where}: ${problem}`);
  return rule;
}

function stringList(value: unknown, where: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x !== '')) throw new ConfigError(`config: ${where} must be a string or a list of strings`);
  return list as string[];
}

function optionalString(file: Table, key: string): string | undefined {
  const value = file[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ConfigError(`config: ${key} must be a string`);
  return value;
}

function optionalNumber(file: Table, key: string): number | undefined {
  const value = file[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError(`config: ${key} must be a positive number`);
  return value;
}

export { parseSize };

function optionalSize(file: Table, key: string): number | undefined {
  if (file[key] === undefined) return undefined;
  const bytes = parseSize(file[key]);
  if (bytes === undefined) throw new ConfigError(`config: ${key} must be a size like 256KiB or 1GiB`);
  return bytes;
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function readSecretFile(file: string, where: string, readFile: (file: string) => string): string {
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    throw new ConfigError(`${where} ${file} cannot be read: ${(error as Error).message}`);
  }
  const token = text.split('\n')[0]?.trim() ?? '';
  if (token === '') throw new ConfigError(`${where} ${file} is empty`);
  return token;
}

/** --ca / HENRIK_CA and --cert, --key / HENRIK_CERT, HENRIK_KEY: PEM contents for the shipper. */
function tlsFiles(flags: CliFlags, env: NodeJS.ProcessEnv, readFile: (file: string) => string): Pick<AgentOptions, 'ca' | 'cert' | 'key'> {
  const read = (file: string | undefined, where: string): string | undefined => {
    if (file === undefined || file === '') return undefined;
    try {
      return readFile(file);
    } catch (error) {
      throw new ConfigError(`${where} ${file} cannot be read: ${(error as Error).message}`);
    }
  };
  const ca = read(flags.ca ?? env.HENRIK_CA, '--ca / HENRIK_CA');
  const cert = read(flags.cert ?? env.HENRIK_CERT, '--cert / HENRIK_CERT');
  const key = read(flags.key ?? env.HENRIK_KEY, '--key / HENRIK_KEY');
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('--cert and --key go together');
  // NODE_EXTRA_CA_CERTS stays trusted when --ca is given too (an explicit CA list would replace it).
  const extra = env.NODE_EXTRA_CA_CERTS === undefined || ca === undefined ? undefined : read(env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS');
  return {
    ...(ca === undefined ? {} : { ca: extra === undefined ? ca : `${ca}\n${extra}` }),
    ...(cert === undefined || key === undefined ? {} : { cert, key }),
  };
}
