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
import path from 'node:path';
import { journalKey, type JournalSource } from './journal/journal-input.js';
import { parseLabels } from './labels.js';
import { configFileProblem } from './config-schema.js';
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
  /** `--journal`: the system journal. */
  journal?: boolean;
  /** `--journal-dir DIR` (repeatable): the journal files in DIR. */
  journalDir?: string[];
  /** `--stdin [--name NAME]`: standard input, shipped as NAME (default `stdin`). */
  stdin?: boolean;
  name?: string;
  /** The command line's paths follow symlinks out of their pattern's root. */
  followSymlinks?: boolean;
}

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
    sources.push(parseSource({ paths: file.paths, exclude: file.exclude, timezone: file.timezone, multiline: file.multiline, labels: file.labels, followSymlinks: file.followSymlinks }, 'config'));
  }
  const journal = journalSources(flags, file);
  if (flags.name !== undefined && flags.stdin !== true) throw new ConfigError('--name names what --stdin ships: pass --stdin too');
  const stdinName = flags.name ?? 'stdin';
  const nameIssue = nameProblem(stdinName);
  if (nameIssue !== undefined) throw new ConfigError(`--name '${printable(stdinName)}' ${nameIssue}; it is the file name the lines get in Daniel`);
  if (sources.length === 0 && journal.length === 0 && flags.stdin !== true) {
    throw new ConfigError('nothing to watch: give at least one PATH_OR_GLOB, --journal, --journal-dir DIR, --stdin, or sources or journald in --config');
  }

  return {
    server: url.toString().replace(/\/+$/, ''),
    token,
    ...tls,
    host,
    stateDir,
    once: flags.once === true,
    sources,
    ...(journal.length > 0 ? { journal } : {}),
    ...(flags.stdin === true ? { stdin: { name: stdinName } } : {}),
    maxLineBytes: optionalSize(file, 'maxLineBytes'),
    batchMaxBytes: optionalSize(file, 'batchMaxBytes'),
    spoolMaxBytes: optionalSize(file, 'spoolMaxBytes'),
    batchMaxLines: optionalNumber(file, 'batchMaxLines'),
    flushIntervalMs: optionalNumber(file, 'flushIntervalMs'),
    scanIntervalMs: optionalNumber(file, 'scanIntervalMs'),
    stopTimeoutMs: optionalNumber(file, 'stopTimeoutMs'),
    compression: optionalCompression(file),
    gzipLevel: optionalGzipLevel(file),
  };
}

type Table = Record<string, unknown>;

const JOURNAL_KEYS = new Set(['directory', 'units', 'priority']);
/** journalctl's priority names, and Daniel's level names for the same. */
const PRIORITY_NAMES: Record<string, string> = {
  emerg: 'emerg', emergency: 'emerg', alert: 'alert', crit: 'crit', critical: 'crit', err: 'err', error: 'err',
  warning: 'warning', warn: 'warning', notice: 'notice', info: 'info', debug: 'debug',
};

/** `--journal`, `--journal-dir` and the config's `journald` (true, a mapping or a list of them). */
function journalSources(flags: CliFlags, file: Table): JournalSource[] {
  const sources: JournalSource[] = [];
  if (flags.journal === true) sources.push({});
  for (const dir of flags.journalDir ?? []) {
    if (dir === '') throw new ConfigError('--journal-dir needs a directory of journal files');
    sources.push({ directory: path.resolve(dir) });
  }
  const configured = file.journald;
  if (configured !== undefined && configured !== false) {
    const list = configured === true ? [{}] : Array.isArray(configured) ? configured : [configured];
    list.forEach((value: unknown, i) => sources.push(parseJournalSource(value, Array.isArray(configured) ? `journald[${i}]` : 'journald')));
  }
  const seen = new Set<string>();
  for (const source of sources) {
    const key = journalKey(source);
    if (seen.has(key)) throw new ConfigError(`${source.directory === undefined ? 'the system journal' : `journal directory ${source.directory}`} is named twice (by --journal/--journal-dir or journald): name it once, with every unit it should ship`);
    seen.add(key);
  }
  return sources;
}

function parseJournalSource(value: unknown, where: string): JournalSource {
  if (value === true || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`config: ${where} must be true or a mapping with directory, units, priority`);
  const s = value as Table;
  for (const key of Object.keys(s)) if (!JOURNAL_KEYS.has(key)) throw new ConfigError(`config: ${where} has unknown setting '${key}' (directory, units, priority)`);
  const source: JournalSource = {};
  if (s.directory !== undefined) {
    if (typeof s.directory !== 'string' || s.directory === '') throw new ConfigError(`config: ${where}.directory must be a directory of journal files`);
    source.directory = path.resolve(s.directory);
  }
  if (s.units !== undefined) {
    const units = stringList(s.units, `${where}.units`);
    for (const unit of units) {
      if (unit.startsWith('-') || /[\s\u0000-\u001f]/.test(unit)) throw new ConfigError(`config: ${where}.units: '${printable(unit)}' is not a unit name like nginx.service or a glob like nginx*`);
    }
    source.units = units;
  }
  if (s.priority !== undefined) source.priority = parsePriority(s.priority, `${where}.priority`);
  return source;
}

/** `warning`, `3`, `err..warning`: journalctl's --priority, with Daniel's level names accepted too. */
function parsePriority(value: unknown, where: string): string {
  const one = (text: string): string | undefined => (/^[0-7]$/.test(text) ? text : PRIORITY_NAMES[text.toLowerCase()]);
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text === 'string') {
    const parts = text.split('..');
    const mapped = parts.map((p) => one(p.trim()));
    if (parts.length <= 2 && mapped.every((p) => p !== undefined)) return mapped.join('..');
  }
  throw new ConfigError(`config: ${where} must be a priority (emerg, alert, crit, err, warning, notice, info, debug or 0..7) or a range like err..warning`);
}

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
  // Keys and types by the one schema (config-schema.ts); meanings (zones, regexes, sizes) below.
  const problem = configFileProblem(parsed);
  if (problem !== undefined) throw new ConfigError(problem);
  return parsed as Table;
}

function sourceOptions(file: Table, where: string): Omit<AgentSource, 'paths'> {
  const parsed = parseSource({ paths: ['-'], exclude: file.exclude, timezone: file.timezone, multiline: file.multiline, labels: file.labels, followSymlinks: file.followSymlinks }, where);
  return { exclude: parsed.exclude, timezone: parsed.timezone, multiline: parsed.multiline, labels: parsed.labels, ...(parsed.followSymlinks === true ? { followSymlinks: true } : {}) };
}

function parseSource(value: unknown, where: string): AgentSource {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`config: ${where} must be a mapping with paths`);
  const s = value as Table;
  const paths = stringList(s.paths, `${where}.paths`);
  if (paths.length === 0) throw new ConfigError(`config: ${where}.paths is empty`);
  const source: AgentSource = { paths, exclude: s.exclude === undefined ? [] : stringList(s.exclude, `${where}.exclude`) };
  if (s.timezone !== undefined) {
    if (typeof s.timezone !== 'string' || !validZone(s.timezone)) throw new ConfigError(`config: ${where}.timezone '${JSON.stringify(s.timezone)}' is not an IANA zone like Europe/Oslo`);
    source.timezone = s.timezone;
  }
  if (s.multiline !== undefined) source.multiline = parseMultiline(s.multiline, `${where}.multiline`);
  if (s.labels !== undefined) {
    const labels = parseLabels(s.labels, `config: ${where}.labels`);
    if (typeof labels === 'string') throw new ConfigError(labels);
    source.labels = labels;
  }
  if (s.followSymlinks !== undefined) {
    if (typeof s.followSymlinks !== 'boolean') throw new ConfigError(`config: ${where}.followSymlinks must be true or false`);
    if (s.followSymlinks) source.followSymlinks = true;
  }
  return source;
}

function parseMultiline(value: unknown, where: string): MultilineRule {
  const rule: MultilineRule = typeof value === 'string' ? { preset: value as MultilineRule['preset'] } : (value as MultilineRule);
  if (typeof rule !== 'object' || rule === null) throw new ConfigError(`config: ${where} must be a preset name or a mapping`);
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

/** How batches are compressed (wire-body.ts). */
function optionalCompression(file: Table): 'zstd' | 'br' | 'gzip' | undefined {
  const value = file.compression;
  if (value === undefined) return undefined;
  if (value !== 'zstd' && value !== 'br' && value !== 'gzip') throw new ConfigError(`config: compression must be zstd, br or gzip, not ${JSON.stringify(value)}`);
  return value;
}

/** zlib's level for the batches when they are gzip (spool and wire): 0 (stored, gzip framing only) to 9. */
function optionalGzipLevel(file: Table): number | undefined {
  const value = file.gzipLevel;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 9) throw new ConfigError('config: gzipLevel must be a whole number from 0 to 9');
  return value;
}

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
