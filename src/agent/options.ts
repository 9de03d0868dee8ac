/** Everything an Agent can be told, with the defaults SPEC.md and the issue name. */
import type { Readable } from 'node:stream';
import type { JournalSource } from './journal/journal-input.js';
import type { AgentLog } from './events.js';
import type { MultilineRule } from './multiline.js';
import { defaultBackoff, type BackoffOptions } from './retry.js';
import type { TimestampParser } from './timestamps.js';
import type { WireEncoding } from './wire-body.js';

export interface AgentSource {
  /** Paths and globs (`*`, `?`, `[..]`, `{a,b}`, `**`). */
  paths: string[];
  /** Globs of files not to ship: with a `/` matched against the path, else the base name. */
  exclude?: string[];
  /**
   * Follow a file symlink a wildcard matches even when it points outside the pattern's root
   * (the directory the pattern starts from); default false: such a link is skipped, and said.
   */
  followSymlinks?: boolean;
  /** IANA zone for naive times in these files; default TZ. */
  timezone?: string;
  multiline?: MultilineRule;
  /** Fields sent with every line of these files (`labels: {service: api}`). */
  labels?: Record<string, string>;
}

export interface AgentOptions {
  server: string;
  token: string;
  /** PEM CA(s) trusted for an https server, beside the system's roots. */
  ca?: string;
  /** PEM client certificate and key. */
  cert?: string;
  key?: string;
  host: string;
  stateDir: string;
  sources: AgentSource[];
  /** Journals to ship (`--journal`, `--journal-dir`, the config's `journald`). */
  journal?: JournalSource[];
  /** `--stdin --name NAME`: standard input (or `stream`) shipped under NAME. */
  stdin?: { name: string; stream?: Readable };
  /** The journalctl to run (default `journalctl` from PATH). */
  journalctl?: string;
  once?: boolean;
  maxLineBytes?: number;
  readChunkBytes?: number;
  batchMaxLines?: number;
  batchMaxBytes?: number;
  flushIntervalMs?: number;
  scanIntervalMs?: number;
  pollIntervalMs?: number;
  spoolMaxBytes?: number;
  /** How batches are compressed, in the spool and on the wire (config `compression`, wire-body.ts); zstd becomes br where the addon does not load. */
  compression?: WireEncoding;
  /** zlib's level for batches compressed with gzip (config `gzipLevel`): 0 stores them. */
  gzipLevel?: number;
  orphanIdleMs?: number;
  copyGraceMs?: number;
  copyWindowMs?: number;
  forgetAfterMs?: number;
  stopTimeoutMs?: number;
  checkpointIntervalMs?: number;
  requestTimeoutMs?: number;
  backoff?: BackoffOptions;
  onceGiveUpMs?: number;
  summaryIntervalMs?: number;
  /** A batch held back (outage, refused token, wrong address) is logged at once, then at most this often. */
  heldLogIntervalMs?: number;
  /** The dead-letter file is moved to `.1` past this size (so at most twice this on disk). */
  deadLetterMaxBytes?: number;
  progressIntervalMs?: number;
  cwd?: string;
  /** Named events (events.ts); the bin writes them to stderr. */
  log?: AgentLog;
  /** Tests may swap the timestamp finder; default createTimestampParser. */
  parserFactory?: (options: { timezone?: string }) => TimestampParser;
}

export const agentDefaults = {
  journal: [] as JournalSource[],
  once: false,
  maxLineBytes: 256 * 1024,
  readChunkBytes: 256 * 1024,
  batchMaxLines: 10_000,
  batchMaxBytes: 1024 * 1024,
  flushIntervalMs: 1000,
  scanIntervalMs: 1000,
  pollIntervalMs: 250,
  spoolMaxBytes: 1024 * 1024 * 1024,
  compression: 'zstd',
  gzipLevel: 1,
  orphanIdleMs: 5000,
  copyGraceMs: 5000,
  copyWindowMs: 60_000,
  forgetAfterMs: 3_600_000,
  stopTimeoutMs: 10_000,
  checkpointIntervalMs: 1000,
  requestTimeoutMs: 30_000,
  backoff: defaultBackoff,
  onceGiveUpMs: 60_000,
  summaryIntervalMs: 30_000,
  heldLogIntervalMs: 60_000,
  deadLetterMaxBytes: 64 * 1024 * 1024,
  progressIntervalMs: 2000,
  cwd: process.cwd(),
  parserFactory: undefined,
} satisfies Omit<Required<AgentOptions>, 'server' | 'token' | 'ca' | 'cert' | 'key' | 'host' | 'stateDir' | 'sources' | 'stdin' | 'journalctl' | 'log' | 'parserFactory'> & {
  parserFactory: undefined;
};
