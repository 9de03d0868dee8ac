/**
 * Bounds on read queries that scan segments (search pages and histograms): at most
 * `maxQueries` at once in all and `maxQueriesPerToken` per bearer token. Past either bound
 * the request is answered 429 RATE_LIMITED with `Retry-After` at once; nothing queues, so a
 * burst of searches costs no memory while it waits. Each admitted query also gets an
 * AbortSignal that fires when its client disconnects, so an abandoned search stops at its
 * next turn (src/query/time-slice.ts) and frees its place.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../common/errors.js';
import type { ServerMetrics } from './metrics-registry.js';
import { presentedToken } from './plugins/auth.js';

/** Seconds a refused client is told to wait. */
const RETRY_AFTER_SECONDS = 1;

export interface AdmittedQuery {
  /** Aborts when the client goes away before the answer is written. */
  signal: AbortSignal;
  /** Frees the place; idempotent. */
  release(): void;
}

export class QueryGate {
  private total = 0;
  private readonly byToken = new Map<string, number>();

  constructor(
    private readonly maxQueries: number,
    private readonly maxPerToken: number,
    private readonly metrics?: ServerMetrics,
    /** Called as each query is admitted (a page being made ahead then stops: page-prefetch.ts). */
    private readonly onAdmit?: () => void,
  ) {}

  /** Queries running now. */
  get active(): number {
    return this.total;
  }

  /** Admits the request or throws RATE_LIMITED (with Retry-After set on the reply). */
  admit(request: FastifyRequest, reply: FastifyReply): AdmittedQuery {
    const token = presentedToken(request) ?? '';
    const mine = this.byToken.get(token) ?? 0;
    if (this.total >= this.maxQueries || mine >= this.maxPerToken) {
      if (this.metrics) this.metrics.queriesRefused += 1;
      void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      const which =
        this.total >= this.maxQueries
          ? `${this.maxQueries} searches are running (--max-queries)`
          : `this token already runs ${this.maxPerToken} searches (--max-queries-per-token)`;
      throw new AppError('RATE_LIMITED', `Too many concurrent searches: ${which}; retry after ${RETRY_AFTER_SECONDS} s`);
    }
    this.onAdmit?.();
    this.total += 1;
    this.byToken.set(token, mine + 1);
    if (this.metrics) this.metrics.queriesActive = this.total;

    const abort = new AbortController();
    const res = reply.raw;
    const onClose = (): void => {
      if (res.writableFinished || abort.signal.aborted) return;
      if (this.metrics) this.metrics.queriesAbandoned += 1;
      abort.abort();
    };
    res.on('close', onClose);
    let released = false;
    return {
      signal: abort.signal,
      release: () => {
        if (released) return;
        released = true;
        res.off('close', onClose);
        this.total -= 1;
        if (this.metrics) this.metrics.queriesActive = this.total;
        const left = (this.byToken.get(token) ?? 1) - 1;
        if (left <= 0) this.byToken.delete(token);
        else this.byToken.set(token, left);
      },
    };
  }

  /**
   * Runs `work` admitted (or throws RATE_LIMITED). Resolves with its result, or with undefined
   * when the client went away and the work stopped early: the reply is then already ended,
   * since nobody is left to answer.
   */
  async run<T>(request: FastifyRequest, reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    const admitted = this.admit(request, reply);
    try {
      return await work(admitted.signal);
    } catch (error) {
      if (!admitted.signal.aborted) throw error;
      reply.hijack();
      reply.raw.destroy();
      return undefined;
    } finally {
      admitted.release();
    }
  }
}
