/**
 * Henrik's log as named events with fields (as Vector's internal events): code says
 * `log('file_truncated', { path, size, read })`, tests await `file_truncated` by name, and
 * the bin writes each event as one line, human-readable (`TIME henrik path=… size=…: file
 * truncated, reading it from the start`, the default) or JSON (`--log-format json`:
 * `{"time":…,"level":"warn","event":"file_truncated","path":…,"msg":…}`). A new event is
 * one line in AGENT_EVENTS; docs/agent.md "What it logs" lists them.
 */

type Level = 'info' | 'warn' | 'error';

/** Every event Henrik logs: its level and the sentence a person reads after the fields. */
export const AGENT_EVENTS = {
  started: ['info', 'started'],
  reading_once: ['info', 'reading once'],
  spool_replay: ['info', 'replaying the spool'],
  shipping: ['info', 'shipping'],
  backfill: ['info', 'backfill'],
  done: ['info', 'done'],
  stopped: ['info', 'stopped'],
  exiting_for_restart: ['error', 'exiting with status 1 so that a supervisor restarts Henrik'],
  read_pass_failed: ['error', 'read pass failed'],
  // Inputs other than files (the journal, stdin): what the input says, in its own words.
  input_note: ['warn', 'input'],
  // Compressed rotated files (tailer/archives.ts), in their own words.
  archive_note: ['info', 'compressed file'],
  input_unacknowledged: ['error', 'the input ended but Daniel has not acknowledged everything yet; they stay in the spool, and the next henrik with this --state-dir ships them'],
  // Files.
  rotated_copy: ['info', 'rotated copy, continuing at its offset'],
  file_truncated: ['warn', 'file truncated, reading it from the start'],
  file_replaced_unwatched: ['warn', 'file truncated or replaced while not watched, reading it from the start'],
  rotated_away_while_stopped: ['info', 'rotated away while stopped, reading it to its end'],
  rotated_truncated_while_stopped: ['info', 'truncated and rotated while stopped, reading it from the start'],
  rotated_before_seen: ['info', 'rotated before it was seen, reading it to its end'],
  read_failed: ['warn', 'read failed; closing it'],
  file_skipped: ['warn', 'skipped'],
  file_unreadable: ['error', 'cannot read it, its lines are not shipped; give the user Henrik runs as read access, e.g. add the user to group adm (usermod -aG adm <user>, then restart Henrik)'],
  file_error: ['error', 'cannot read it'],
  too_many_open_files: ['warn', 'too many open files; closing quiet ones (raise the limit, ulimit -n, or lower maxOpenFiles)'],
  // Daniel.
  ship_retry: ['warn', 'could not ship a batch, retrying'],
  token_refused: ['error', 'Daniel refused the token; set --token / HENRIK_TOKEN to an ingest token. Lines are held in the spool, nothing is dropped'],
  server_misrouted: [
    'error',
    "the server address does not answer as Daniel's /ingest (a redirect, 404 or 405: an http:// address of an https:// server, a proxy without the route); Henrik does not follow redirects: set --server to Daniel's address. Lines are held in the spool, nothing is dropped",
  ],
  delivery_resumed: ['info', 'Daniel is taking lines again'],
  wire_format_fallback: ['warn', 'Daniel does not take binary batches (it is older than this Henrik); sending JSON from now on (nothing is dropped; upgrade Daniel to stop this)'],
  compression_fallback: ['warn', 'Daniel does not take this compression (it is older than this Henrik); sending the next one (zstd, then br, then gzip) from now on (nothing is dropped; upgrade Daniel, or set compression, to stop this)'],
  batch_split: ['warn', "a batch is over the body limit of Daniel or a proxy in front of it; sending it in halves (nothing is dropped; raise --body-limit or the proxy's limit, or lower batchMaxBytes, to stop this)"],
  delivery_given_up: ['error', 'gave up shipping'],
  ship_loop_failed: ['error', 'ship loop failed'],
  dead_lettered: ['error', 'Daniel refused lines that can never be stored as they are; they are kept in the dead-letter file (fix the cause, then henrik replay-dead-letter)'],
  dead_letter_rotated: ['warn', 'dead-letter file full, moved aside'],
  dead_letter_replay_skipped: ['warn', 'not dead-letter entries, skipped'],
  dead_letter_replay: ['info', 'dead-letter replay finished'],
  // The spool and the state dir.
  spool_full: ['warn', 'spool full, reading paused until Daniel catches up (nothing is dropped)'],
  spool_write_failed: ['error', 'spool write failed; reading is paused and the write retried (said again every 30 s while it fails)'],
  spool_write_resumed: ['info', 'spool writes work again: reading goes on'],
  spool_segment_cut: ['warn', 'torn or corrupt record, cut off there; lines after it are read again from their files'],
  spool_segment_deleted: ['warn', 'deleted, it comes after a break in the spool; its lines are read again from their files'],
  batch_lost: ['warn', 'batch lost before the spool; its lines are read again after a restart'],
  state_dir_recreated: ['warn', 'the state dir was deleted while Henrik runs; made it again and saved the checkpoints (delete it only while Henrik is stopped, or every file is shipped again)'],
  checkpoint_save_failed: ['error', 'checkpoint save failed'],
} as const satisfies Record<string, readonly [Level, string]>;

export type AgentEventName = keyof typeof AGENT_EVENTS;
export type AgentEventFields = Record<string, string | number | boolean | undefined>;

/** Where Henrik's parts send what happens. */
export type AgentLog = (event: AgentEventName, fields?: AgentEventFields) => void;

export interface AgentEvent {
  event: AgentEventName;
  fields: AgentEventFields;
}

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** `key=value`, the value quoted (JSON) when it holds a space, a quote, `=` or a control character. */
function textValue(value: string | number | boolean): string {
  const text = String(value);
  return text === '' || /[\s"=\\\x00-\x1f\x7f]/.test(text) ? JSON.stringify(text) : text;
}

/** One line for the event, with its newline. */
export function formatEvent(format: LogFormat, event: AgentEventName, fields: AgentEventFields = {}, time = new Date()): string {
  const [level, text] = AGENT_EVENTS[event];
  if (format === 'json') return `${JSON.stringify({ time: time.toISOString(), level, event, ...fields, msg: text })}\n`;
  const pairs = Object.entries(fields)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${textValue(value)}`);
  return `${time.toISOString()} henrik ${[`event=${event}`, ...pairs].join(' ')}: ${text}\n`;
}

/** A log that writes each event to `write` (stderr in the bin) in `format`. */
export function eventWriter(format: LogFormat, write: (line: string) => void = (line) => void process.stderr.write(line)): AgentLog {
  return (event, fields) => write(formatEvent(format, event, fields));
}

/** For tests: keeps every event, and resolves when one with a name (and matching fields) comes. */
export class EventLog {
  readonly events: AgentEvent[] = [];
  private waiters: Array<{ match: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void }> = [];
  readonly log: AgentLog = (event, fields = {}) => {
    const entry = { event, fields };
    this.events.push(entry);
    this.waiters = this.waiters.filter((w) => !(w.match(entry) && (w.resolve(entry), true)));
  };

  named(event: AgentEventName): AgentEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  has(event: AgentEventName): boolean {
    return this.events.some((e) => e.event === event);
  }

  /** The first event so named (already logged or still to come); rejects after timeoutMs. */
  waitFor(event: AgentEventName, timeoutMs = 20_000, where: (fields: AgentEventFields) => boolean = () => true): Promise<AgentEvent> {
    const match = (e: AgentEvent): boolean => e.event === event && where(e.fields);
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms; saw ${this.events.map((e) => e.event).join(', ')}`)), timeoutMs);
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }
}
