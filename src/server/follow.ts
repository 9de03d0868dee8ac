/**
 * Live tail (`follow=true`) as Server-Sent Events, written on the raw socket. Each new
 * matching line is one event whose id is its store seq, so `Last-Event-ID` resumes with no
 * gap and no duplicate. The loop wakes on ingest (AppendNotifier) and polls as a fallback;
 * a client that stops reading gets an error event and a close once its socket buffer passes
 * the limit, so a slow reader costs bounded memory.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorBody } from '../common/errors.js';
import type { LineFilter, TailPage } from '../storage/store.js';
import type { ServerDeps } from './context.js';
import { toLogEntry } from './log-query.js';
import { callStore } from './store-call.js';

const PAGE_LINES = 1000;
/** Grace for a closing stream to flush its last event before the socket is cut. */
const CLOSE_GRACE_MS = 5000;

/** Every open stream, so the server can end them all on close. */
export class FollowRegistry {
  private readonly active = new Set<() => void>();

  get size(): number {
    return this.active.size;
  }

  add(stop: () => void): void {
    this.active.add(stop);
  }

  delete(stop: () => void): void {
    this.active.delete(stop);
  }

  closeAll(): void {
    for (const stop of [...this.active]) stop();
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
  let page = await callStore('read new lines', () => store.tail({ ...filter, afterSeq, limit: PAGE_LINES }));

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
  res.write('retry: 2000\n: connected\n\n');

  const abort = new AbortController();
  const stop = (): void => abort.abort();
  res.on('close', stop);
  followers.add(stop);
  metrics.followersActive += 1;
  const heartbeat = setInterval(() => {
    if (!res.writableEnded) res.write(': ping\n\n');
  }, limits.followHeartbeatMs);
  heartbeat.unref();

  try {
    for (;;) {
      for (const line of page.lines) res.write(lineEvent(line));
      afterSeq = Math.max(afterSeq, page.lastSeq);
      if (res.writableLength > limits.followBufferBytes) {
        res.write(errorEvent('RATE_LIMITED', `The client reads too slowly: more than ${limits.followBufferBytes} bytes queued; reconnect with Last-Event-ID ${afterSeq}`));
        break;
      }
      if (page.lines.length < PAGE_LINES) await notifier.wait(limits.followPollMs, abort.signal);
      if (abort.signal.aborted) break;
      page = await callStore('read new lines', () => store.tail({ ...filter, afterSeq, limit: PAGE_LINES }));
    }
  } catch (error) {
    const code = error instanceof AppError ? error.code : 'INTERNAL';
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
