/**
 * Deterministic bench data: the real-format lines of the loghub samples, with monotonic
 * timestamps rewritten in each format, numbers varied so no two lines repeat, short lines
 * lengthened to a mean of about 150 bytes, and rare needles planted at known places.
 * The same seed and size give byte-identical files, so a run can reuse them (manifest).
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Prng } from './prng.js';
import { DATASETS, type Dataset } from './formats.js';

export const GENERATOR_VERSION = 4;
/** Services of the structured (JSON and logfmt) lines; `api` is the one the field queries ask for. */
const SERVICES = ['api', 'web', 'worker', 'auth', 'billing'];
const PATHS = ['/healthz', '/api/orders', '/api/users', '/login', '/static/app.js'];
/** How a file's lines are written: loghub's own text, or the same events as JSON or logfmt. */
export type LineStyle = 'plain' | 'json' | 'logfmt';
/** Of the eight formats, three are written as JSON and two as logfmt (about a third each). */
export function styleOf(datasetIndex: number): LineStyle {
  return datasetIndex % 3 === 0 ? 'plain' : datasetIndex % 3 === 1 ? 'json' : 'logfmt';
}
/** Substrings whose exact counts the queries check their answers against. */
export const COMMON_TERM = 'INFO';
export const COUNTED_TERM = 'ERROR';
const NEEDLE_MARK = 'qzx';
const NEEDLES_PER_KIND = 8;
/** Lines shorter than this get a request id appended (real services log one): mean ~150 B. */
const PAD_BELOW = 160;
/** Day the generated logs start (UTC); each file spans one day. */
const START_MS = Date.UTC(2026, 0, 5);
const SPAN_MS = 86_400_000;

export interface GeneratedFile {
  host: string;
  /** Name as Henrik reports it (relative to the host dir). */
  filename: string;
  path: string;
  lines: number;
  bytes: number;
}

export interface Needle {
  token: string;
  host: string;
  filename: string;
  /** 0-based line number in its file. */
  lineIndex: number;
}

export interface DataManifest {
  version: number;
  seed: number;
  totalLines: number;
  hosts: string[];
  dir: string;
  files: GeneratedFile[];
  rawBytes: number;
  meanLineBytes: number;
  /** Needles of the first host, each in exactly one line. */
  hostNeedles: Needle[];
  /** Needles spread over all hosts, each in exactly one line. */
  crossNeedles: Needle[];
  /** Lines containing each term, over all files and per host. */
  termCounts: Record<string, { total: number; perHost: Record<string, number> }>;
  /** Lines containing the needle mark that are not planted needles (must be 0). */
  needleCollisions: number;
  /** Structured lines: counts the field queries are checked against, and trace ids to look up. */
  fieldTruth: {
    structuredLines: number;
    /** level:error service:api -healthz */
    errorsFromApiNotHealthz: number;
    /** status:>=500 */
    status5xx: number;
    /** A trace id of some line of each host's files, each in exactly one line. */
    traceIds: { traceId: string; host: string }[];
  };
}

export interface GenerateOptions {
  seed: number;
  totalLines: number;
  hosts: string[];
  baseDir: string;
  log?: (msg: string) => void;
}

function loadTemplates(loghub: string, dataset: Dataset): string[] {
  const dir = path.join(loghub, dataset.dir);
  const logFile = readdirSync(dir).find((name) => name.endsWith('.log'));
  if (!logFile) throw new Error(`no .log file in ${dir}`);
  return readFileSync(path.join(dir, logFile), 'utf8').split(/\r\n|\r|\n/).filter((line) => line.length > 0);
}

/** FNV-1a over a string, mixed with the seed: a per-file seed independent of file order. */
function fileSeed(seed: number, key: string): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

const HEX = '0123456789abcdef';
function hex(prng: Prng, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += HEX[prng.below(16)];
  return out;
}

/** Keep each number's first digit (magnitude, format) and vary up to three after it. */
function varyDigits(text: string, prng: Prng): string {
  return text.replace(/\d{2,}/g, (run) => {
    const keep = Math.max(1, run.length - 3);
    let out = run.slice(0, keep);
    for (let i = keep; i < run.length; i++) out += String(prng.below(10));
    return out;
  });
}

interface Plant {
  lineIndex: number;
  token: string;
}

const LEVEL_IN_TEXT: [RegExp, string][] = [
  [/\b(ERROR|FATAL|SEVERE)\b|\berror\b/, 'error'],
  [/\bWARN(ING)?\b/, 'warn'],
  [/\bDEBUG\b/, 'debug'],
];

interface FieldCounts {
  structured: number;
  errorsFromApiNotHealthz: number;
  status5xx: number;
  traceId?: string;
}

/** One event of a loghub line as a structured line: JSON or logfmt with the fields real services log. */
function structured(style: 'json' | 'logfmt', time: Date, message: string, prng: Prng, counts: FieldCounts, lineIndex: number, traceAt: number): string {
  const level = LEVEL_IN_TEXT.find(([pattern]) => pattern.test(message))?.[1] ?? (prng.below(50) === 0 ? 'error' : 'info');
  const service = SERVICES[prng.below(SERVICES.length)]!;
  const path = PATHS[prng.below(PATHS.length)]!;
  const roll = prng.below(100);
  const status = roll < 4 ? 500 + prng.below(4) : roll < 10 ? 404 : 200;
  const tookMs = prng.below(2000);
  const traceId = hex(prng, 16);
  if (lineIndex === traceAt) counts.traceId = traceId;
  counts.structured++;
  if (level === 'error' && service === 'api' && !path.includes('healthz') && !message.toLowerCase().includes('healthz')) counts.errorsFromApiNotHealthz++;
  if (status >= 500) counts.status5xx++;
  const iso = time.toISOString();
  if (style === 'json') {
    return JSON.stringify({ time: iso, level, service, msg: message, http: { method: 'GET', path }, status, took_ms: tookMs, trace_id: traceId });
  }
  return `time=${iso} level=${level} service=${service} path=${path} status=${status} took_ms=${tookMs} trace_id=${traceId} msg=${JSON.stringify(message)}`;
}

function generateFile(
  file: GeneratedFile,
  dataset: Dataset,
  templates: string[],
  prng: Prng,
  plants: Plant[],
  termCounts: Map<string, number>,
  style: LineStyle,
  fieldCounts: FieldCounts,
): { collisions: number } {
  const fd = openSync(file.path, 'w');
  const stepMs = SPAN_MS / file.lines;
  const startMs = START_MS + DATASETS.indexOf(dataset) * 37;
  const plantAt = new Map(plants.map((plant) => [plant.lineIndex, plant.token]));
  let chunk: string[] = [];
  let bytes = 0;
  let collisions = 0;
  for (let i = 0; i < file.lines; i++) {
    const template = templates[i % templates.length]!;
    const stamp = dataset.timestamp.exec(template);
    const time = new Date(startMs + Math.floor(i * stepMs));
    const token = plantAt.get(i);
    let line: string;
    if (style === 'plain') {
      line = stamp ? dataset.format(time) + varyDigits(template.slice(stamp[0].length), prng) : varyDigits(template, prng);
      if (line.length < PAD_BELOW) line += ` req_id=${hex(prng, 12)} took_ms=${prng.below(5000)}`;
      if (line.includes(NEEDLE_MARK)) collisions++;
      if (token) line += ` ref=${token}`;
    } else {
      let message = varyDigits(stamp ? template.slice(stamp[0].length).trimStart() : template, prng);
      if (message.includes(NEEDLE_MARK)) collisions++;
      if (token) message += ` ref=${token}`;
      line = structured(style, time, message, prng, fieldCounts, i, Math.floor(file.lines / 2));
    }
    for (const [term, count] of termCounts) if (line.includes(term)) termCounts.set(term, count + 1);
    chunk.push(line);
    if (chunk.length === 8192) {
      bytes += writeSync(fd, chunk.join('\n') + '\n');
      chunk = [];
    }
  }
  if (chunk.length > 0) bytes += writeSync(fd, chunk.join('\n') + '\n');
  closeSync(fd);
  file.bytes = bytes;
  return { collisions };
}

/** Place needles deterministically: spread over files and over each file's time span. */
function placeNeedles(seed: number, files: GeneratedFile[], hosts: string[]): { host: Needle[]; cross: Needle[] } {
  const prng = new Prng(fileSeed(seed, 'needles'));
  const place = (kind: string, i: number, host: string, fileIndex: number): Needle => {
    const candidates = files.filter((f) => f.host === host);
    const file = candidates[fileIndex % candidates.length]!;
    const fraction = (i + 0.5) / NEEDLES_PER_KIND;
    return {
      token: `${NEEDLE_MARK}-${kind}-${i}-${hex(prng, 10)}`,
      host,
      filename: file.filename,
      lineIndex: Math.min(file.lines - 1, Math.floor(fraction * file.lines)),
    };
  };
  const host: Needle[] = [];
  const cross: Needle[] = [];
  for (let i = 0; i < NEEDLES_PER_KIND; i++) {
    host.push(place('rare', i, hosts[0]!, i));
    cross.push(place('cross', i, hosts[i % hosts.length]!, i * 3 + 1));
  }
  return { host, cross };
}

function manifestPath(dir: string): string {
  return path.join(dir, 'manifest.json');
}

/** Generate the data set, or reuse it when a complete one with the same parameters exists. */
export function generateData(loghub: string, options: GenerateOptions): DataManifest {
  const { seed, totalLines, hosts, baseDir } = options;
  const log = options.log ?? (() => undefined);
  const dir = path.join(baseDir, `data-s${seed}-n${totalLines}-h${hosts.length}`);
  if (existsSync(manifestPath(dir))) {
    const existing = JSON.parse(readFileSync(manifestPath(dir), 'utf8')) as DataManifest;
    if (existing.version === GENERATOR_VERSION) {
      log(`reusing generated data in ${dir}`);
      return existing;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const perFile = Math.ceil(totalLines / (hosts.length * DATASETS.length));
  const files: GeneratedFile[] = [];
  for (const host of hosts) {
    mkdirSync(path.join(dir, host), { recursive: true });
    for (const dataset of DATASETS) {
      const filename = `${dataset.dir.toLowerCase()}.log`;
      files.push({ host, filename, path: path.join(dir, host, filename), lines: perFile, bytes: 0 });
    }
  }
  const needles = placeNeedles(seed, files, hosts);
  const allNeedles = [...needles.host, ...needles.cross];
  const termCounts: DataManifest['termCounts'] = {};
  const fieldTruth: DataManifest['fieldTruth'] = { structuredLines: 0, errorsFromApiNotHealthz: 0, status5xx: 0, traceIds: [] };
  for (const term of [COMMON_TERM, COUNTED_TERM]) termCounts[term] = { total: 0, perHost: {} };
  let collisions = 0;
  const started = performance.now();
  for (const file of files) {
    const dataset = DATASETS.find((d) => `${d.dir.toLowerCase()}.log` === file.filename)!;
    const plants = allNeedles
      .filter((n) => n.host === file.host && n.filename === file.filename)
      .map((n) => ({ lineIndex: n.lineIndex, token: n.token }));
    const counts = new Map([COMMON_TERM, COUNTED_TERM].map((term) => [term, 0]));
    const prng = new Prng(fileSeed(seed, `${file.host}/${file.filename}`));
    const fieldCounts: FieldCounts = { structured: 0, errorsFromApiNotHealthz: 0, status5xx: 0 };
    const style = styleOf(DATASETS.indexOf(dataset));
    collisions += generateFile(file, dataset, loadTemplates(loghub, dataset), prng, plants, counts, style, fieldCounts).collisions;
    fieldTruth.structuredLines += fieldCounts.structured;
    fieldTruth.errorsFromApiNotHealthz += fieldCounts.errorsFromApiNotHealthz;
    fieldTruth.status5xx += fieldCounts.status5xx;
    if (fieldCounts.traceId !== undefined) fieldTruth.traceIds.push({ traceId: fieldCounts.traceId, host: file.host });
    for (const [term, count] of counts) {
      const entry = termCounts[term]!;
      entry.total += count;
      entry.perHost[file.host] = (entry.perHost[file.host] ?? 0) + count;
    }
  }
  const rawBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  const lines = files.reduce((sum, f) => sum + f.lines, 0);
  const manifest: DataManifest = {
    version: GENERATOR_VERSION,
    seed,
    totalLines: lines,
    hosts,
    dir,
    files,
    rawBytes,
    meanLineBytes: rawBytes / lines,
    hostNeedles: needles.host,
    crossNeedles: needles.cross,
    termCounts,
    needleCollisions: collisions,
    fieldTruth,
  };
  writeFileSync(manifestPath(dir), JSON.stringify(manifest, null, 2));
  log(`generated ${lines} lines, ${(rawBytes / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return manifest;
}
