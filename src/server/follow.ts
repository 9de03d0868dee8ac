/**
 * Live tail (`follow=true`) as Server-Sent Events, written on the raw socket. Each new
 * matching line is one event whose id is its store seq, so `Last-Event-ID` resumes with no
 * gap and no duplicate. The stream's first bytes carry the position it starts from as an
 * id (no data), and every heartbeat carries the position reached, so a client that saw no
 * line before a drop still resumes where it was. The loop wakes on ingest (AppendNotifier)
 * and polls as a fallback.
 *
 * Memory per tail is bounded before the socket: events are written one at a time and only
 * while less than `followBufferBytes` wait in the socket's queue; past that the client gets a
 * RATE_LIMITED error event and the stream closes (it reconnects with Last-Event-ID). A line's
 * event text depends only on the line (its seq), not on the tail's filter: it is rendered
 * once (LogEntry, extracted fields, JSON) and the same string is queued on every tail's
 * socket, so N idle tails hold N references to one string per line, not N copies. Reads of
 * new lines are shared out: at most TAIL_READS tails read the store at once, so a burst of
 * ingest does not make every tail decode the same segments at the same moment.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorBody, errorCatalogue } from '../common/errors.js';
import type { LineFilter, TailPage } from '../storage/store.js';
import type { ServerDeps } from './context.js';
import { toLogEntry } from './log-query.js';
import { callStore } from './store-call.js';

const PAGE_LINES = 1000;
/** Tails reading new lines from the store at once; the others wait their turn. */
const TAIL_READS = 4;
/** Grace for a closing stream to flush its last event before the socket is cut. */
const CLOSE_GRACE_MS = 5000;

/** A counting semaphore: at most `limit` holders at once, the rest wait in order. */
export class ReadSlots {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.held >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.held += 1;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter; the count only drops when nobody waits.
      if (next) next();
      else this.held -= 1;
    }
  }
}

const tailReads = new ReadSlots(TAIL_READS);

/** The code of an error a store or route meant for the user; anything else is a bug (INTERNAL). */
function userCode(error: unknown): keyof typeof errorCatalogue {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in errorCatalogue ? (code as keyof typeof errorCatalogue) : 'INTERNAL';
}

/** Rendered events kept for the tails that have not sent them yet: the newest lines, by seq. */
const RENDERED_EVENTS = 4096;

/** Every open stream, so the server can end them all on close; and the events they share. */
export class FollowRegistry {
  private readonly active = new Set<() => void>();
  private readonly rendered = new Map<number, string>();

  eventOf(seq: number, render: () => string): string {
    let event = this.rendered.get(seq);
    if (event === undefined) {
      event = render();
      this.rendered.set(seq, event);
      // Oldest first out (a Map iterates in insertion order): tails read the newest lines.
      if (this.rendered.size > RENDERED_EVENTS) this.rendered.delete(this.rendered.keys().next().value as number);
    }
    return event;
  }

  get size(): number {
    return this.active.size;
  }

  add(stop: () => void): void {
    this.active.add(stop);
  }

  delete(stop: () => void): void {
    this.active.delete(stop);
    if (this.active.size === 0) this.rendered.clear();
  }

  closeAll(): void {
    for (const stop of [...this.active]) stop();
    this.rendered.clear();
  }
}

/** The seq to resume after: `Last-Event-ID` wins over `cursor`; both are decimal seqs. */
export function resumeSeq(request: FastifyRequest, cursor: string | undefined): number | undefined {
  const header = request.headers['last-event-id'];
  const text = typeof header === 'string' && header.trim() !== '' ? header.trim() : cursor;
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,15}$/.test(text)) {
    throw new AppError('INVALID_CURSOR', 'A live-tail resume position (Last-Event-ID or cursor) must be the id of an earlier event');
  }
  return Number(text);
}

function lineEvent(line: TailPage['lines'][number]): string {
  return `id: ${line.seq}\nevent: line\ndata: ${JSON.stringify(toLogEntry(line, String(line.seq)))}\n\n`;
}

function errorEvent(code: string, message: string): string {
  return `event: error\ndata: ${JSON.stringify(errorBody(code, message))}\n\n`;
}

export async function streamFollow(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: ServerDeps,
  filter: LineFilter,
  resumeAfter: number | undefined,
): Promise<void> {
  const { store, limits, followers, metrics, notifier } = deps;
  if (followers.size >= limits.maxFollowers) {
    void reply.header('retry-after', '5');
    throw new AppError('RATE_LIMITED', `Too many live tails (${limits.maxFollowers}); retry later`);
  }
  let afterSeq = resumeAfter ?? (await callStore('read its position', () => store.tailStart?.() ?? store.lastSeq()));
  // The first page is read before the stream starts, so a bad regex is still a plain 400.
  const abort = new AbortController();
  const readPage = (): Promise<TailPage> =>
    tailReads.run(() => callStore('read new lines', () => store.tail({ ...filter, afterSeq, limit: PAGE_LINES, signal: abort.signal })));
  let page = await readPage();

  const res = reply.raw;
  reply.hijack();
  // Set apart so the request log can tell a live tail (long by design) from a slow request.
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.writeHead(200, {
    'cache-control': 'no-cache, no-transform',
    // The socket ends with the stream: a shutdown must not wait for the client to drop an idle keep-alive socket.
    connection: 'close',
    'x-accel-buffering': 'no',
  });
  // The start position as an id with no data: a client that sees no line before a drop
  // reconnects with it as Last-Event-ID and misses nothing that arrived meanwhile.
  res.write(`retry: 2000\nid: ${afterSeq}\n: connected\n\n`);

  const stop = (): void => abort.abort();
  res.on('close', stop);
  followers.add(stop);
  metrics.followersActive += 1;
  const heartbeat = setInterval(() => {
    if (!res.writableEnded) res.write(`id: ${afterSeq}\n: ping\n\n`);
  }, limits.followHeartbeatMs);
  heartbeat.unref();

  try {
    for (;;) {
      let tooSlow = false;
      for (const line of page.lines) {
        // Checked before each event: what waits for the client never passes the bound by more than one event.
        if (res.writableLength > limits.followBufferBytes) {
          tooSlow = true;
          break;
        }
        res.write(followers.eventOf(line.seq, () => lineEvent(line)));
        afterSeq = line.seq;
      }
      if (tooSlow || res.writableLength > limits.followBufferBytes) {
        res.write(errorEvent('RATE_LIMITED', `The client reads too slowly: more than ${limits.followBufferBytes} bytes queued; reconnect with Last-Event-ID ${afterSeq}`));
        break;
      }
      afterSeq = Math.max(afterSeq, page.lastSeq);
      if (page.lines.length < PAGE_LINES) await notifier.wait(limits.followPollMs, abort.signal);
      if (abort.signal.aborted) break;
      page = await readPage();
    }
  } catch (error) {
    if (abort.signal.aborted) return;
    const code = userCode(error);
    if (code === 'INTERNAL') deps.log.error('live tail failed', { reqId: request.id, url: request.url, err: error });
    if (!res.writableEnded) res.write(errorEvent(code, error instanceof Error ? error.message : 'live tail failed'));
  } finally {
    clearInterval(heartbeat);
    followers.delete(stop);
    metrics.followersActive -= 1;
    res.off('close', stop);
    if (!res.writableEnded) res.end();
    // A client that stopped reading never lets the end flush: cut it after a grace period.
    setTimeout(() => {
      if (!res.writableFinished) res.destroy();
    }, CLOSE_GRACE_MS).unref();
  }
}
