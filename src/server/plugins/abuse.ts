/**
 * Limits that keep one client from starving the rest, and headers that keep a browser from
 * being turned against Daniel:
 *
 * - per token: requests and request-body bytes per second (token buckets); past them 429
 *   RATE_LIMITED with Retry-After;
 * - per client address: failed authentications (a wrong or missing token); past the limit the
 *   address gets 429 on every route that needs a token, before any token is compared, so
 *   guessing tokens is slow; each failure is logged (address, route, reason; never the token);
 * - security headers on every answer (API, UI, errors, live tails): a CSP with
 *   frame-ancestors 'none', nosniff, no-referrer, DENY framing. No CORS header is ever sent,
 *   so other origins cannot read answers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../common/errors.js';
import type { ServerLog } from '../log.js';

export interface AbuseLimits {
  /** Requests per second per token (sustained); 0 = no limit. */
  tokenRequestsPerSecond: number;
  tokenRequestBurst: number;
  /** Request-body bytes per second per token; 0 = no limit. */
  tokenBytesPerSecond: number;
  tokenByteBurst: number;
  /** Failed authentications per address: sustained rate and burst. */
  authFailuresPerMinute: number;
  authFailureBurst: number;
}

export const DEFAULT_ABUSE_LIMITS: AbuseLimits = {
  tokenRequestsPerSecond: 1000,
  tokenRequestBurst: 5000,
  tokenBytesPerSecond: 64 * 1024 * 1024,
  tokenByteBurst: 256 * 1024 * 1024,
  authFailuresPerMinute: 30,
  authFailureBurst: 30,
};

const MAX_BUCKETS = 100_000;

/** Token buckets by key; `take` answers 0 (admitted) or the seconds to wait. */
export class Buckets {
  private readonly buckets = new Map<string, { level: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  private current(key: string, now: number): { level: number; at: number } {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_BUCKETS) this.prune(now);
      bucket = { level: this.burst, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.level = Math.min(this.burst, bucket.level + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    return bucket;
  }

  /** Takes `amount` when there is that much (or a full bucket, for amounts past the burst). */
  take(key: string, amount: number, now: number = Date.now()): number {
    if (this.perSecond <= 0) return 0;
    const bucket = this.current(key, now);
    const needed = Math.min(amount, this.burst);
    if (bucket.level >= needed) {
      bucket.level -= amount;
      return 0;
    }
    return Math.max(1, Math.ceil((needed - bucket.level) / this.perSecond));
  }

  /** Seconds until `amount` could be taken; 0 = now. Takes nothing. */
  wait(key: string, amount: number, now: number = Date.now()): number {
    if (this.perSecond <= 0 || !this.buckets.has(key)) return 0;
    const bucket = this.current(key, now);
    return bucket.level >= amount ? 0 : Math.max(1, Math.ceil((amount - bucket.level) / this.perSecond));
  }

  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.level + ((now - bucket.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
  }
}

export class AbuseGuard {
  private readonly requests: Buckets;
  private readonly bytes: Buckets;
  private readonly failures: Buckets;

  constructor(
    limits: AbuseLimits,
    private readonly log: ServerLog,
  ) {
    this.requests = new Buckets(limits.tokenRequestsPerSecond, limits.tokenRequestBurst);
    this.bytes = new Buckets(limits.tokenBytesPerSecond, limits.tokenByteBurst);
    this.failures = new Buckets(limits.authFailuresPerMinute / 60, limits.authFailureBurst);
  }

  /** Before any token is compared: an address that failed too often waits. */
  checkAddress(request: FastifyRequest, reply: FastifyReply): AppError | undefined {
    const wait = this.failures.wait(request.ip, 1);
    if (wait === 0) return undefined;
    void reply.header('retry-after', String(wait));
    return new AppError('RATE_LIMITED', `Too many failed authentications from this address; retry after ${wait} s`);
  }

  failed(request: FastifyRequest, problem: AppError): void {
    this.failures.take(request.ip, 1);
    this.log.warn('authentication failed', { client: request.ip, method: request.method, url: request.routeOptions.url ?? request.url, code: problem.code, reason: problem.message });
  }

  /** After authentication: the token's request and byte budget. `key` identifies the token. */
  admit(key: string, request: FastifyRequest, reply: FastifyReply): AppError | undefined {
    const length = Number(request.headers['content-length'] ?? 0);
    const bytes = Number.isFinite(length) && length > 0 ? length : 0;
    const wait = Math.max(this.requests.take(key, 1), bytes > 0 ? this.bytes.take(key, bytes) : 0);
    if (wait === 0) return undefined;
    void reply.header('retry-after', String(wait));
    return new AppError('RATE_LIMITED', `This token passed its request or byte rate; retry after ${wait} s`);
  }
}

export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Security headers on every answer; routes (the UI) may set a wider CSP of their own. */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (_request, reply, done) => {
    setSecurityHeaders(reply.raw);
    done();
  });
}

/** The security headers every answer carries (also written as they are by the early /healthz answer). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': API_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};
const SECURITY_HEADER_ENTRIES = Object.entries(SECURITY_HEADERS);

/** On the raw response, so they reach hijacked answers (live tails) and framework errors too. */
export function setSecurityHeaders(raw: { setHeader(name: string, value: string): unknown }): void {
  for (const [name, value] of SECURITY_HEADER_ENTRIES) raw.setHeader(name, value);
}
