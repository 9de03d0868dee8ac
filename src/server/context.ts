/**
 * What the route plugins share: handed to each as plugin options, so nothing is global.
 * Types only, and it imports no module of the server that imports it (live tail's registry
 * is named here by what the server needs of it), so the server's modules form no cycle.
 */
import type { PushSink } from '../inputs/sink.js';
import type { Store } from '../storage/store.js';
import type { ServerLog } from './log.js';
import type { ServerMetrics } from './metrics-registry.js';
import type { IdentityBudget } from './identity-budget.js';
import type { AppendNotifier } from './notifier.js';
import type { PagePrefetch } from './page-prefetch.js';
import type { QueryGate } from './query-gate.js';

export interface ServerDeps {
  store: Store;
  now: () => bigint;
  notifier: AppendNotifier;
  /** Where the inputs of src/inputs/ (syslog, Loki, OTLP, Elasticsearch) store what they receive. */
  push: PushSink;
  metrics: ServerMetrics;
  followers: Followers;
  /** Admits searches and histograms within the concurrency bounds. */
  queries: QueryGate;
  /** Pages of a paging made ahead while its client reads the one before (page-prefetch.ts). */
  pages: PagePrefetch;
  limits: ServerLimits;
  log: ServerLog;
  /** Distinct file identities per host per UTC day (ingest). */
  identities: IdentityBudget;
}

/** Every open live tail, so the server can refuse one too many and end them all on close (follow.ts). */
export interface Followers {
  readonly size: number;
  /** A line's SSE event, rendered once and shared by every tail that sends it (follow.ts). */
  eventOf(seq: number, render: () => string): string;
  add(stop: () => void): void;
  delete(stop: () => void): void;
  closeAll(): void;
}

export interface ServerLimits {
  bodyLimitBytes: number;
  /** Time budget of a query when the request gives no `timeout`. */
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  /** Live tail: poll interval when no ingest wakes it. */
  followPollMs: number;
  followHeartbeatMs: number;
  /** Live tail: bytes queued on a socket before the client counts as too slow. */
  followBufferBytes: number;
  maxFollowers: number;
  /** Searches and histograms running at once, in all and per token (429 past either). */
  maxQueries: number;
  maxQueriesPerToken: number;
  /** On close: how long in-flight requests may take before every connection is cut. */
  closeGraceMs: number;
  /** Open connections at most (Node closes the ones past it at once). */
  maxConnections: number;
  /** Time to receive a request's headers, and the whole request with its body. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Distinct file identities one host may write in one UTC day. */
  maxFilesPerHostDay: number;
}

export interface RouteOptions {
  deps: ServerDeps;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Set when Daniel evaluates alert rules (AppOptions.alerts). */
    alertEngine?: import('../alerts/engine.js').AlertEngine;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one (health, OpenAPI, UI files) are public. */
    scope?: 'read' | 'ingest' | 'admin';
    /** Where the route takes its host from, for tokens bound to hosts (plugins/auth.ts); none = every host. */
    hosts?: 'params' | 'query' | 'body' | 'list' | 'pushed';
    /** Answered from memory and polled hard (`/healthz`): no per-route request-log hook. */
    hotPath?: boolean;
  }
}
