/** What the route plugins share: handed to each as plugin options, so nothing is global. */
import type { Store } from '../storage/store.js';
import type { ServerLog } from './log.js';
import type { ServerMetrics } from './metrics-registry.js';
import type { AppendNotifier } from './notifier.js';
import type { FollowRegistry } from './follow.js';

export interface ServerDeps {
  store: Store;
  now: () => bigint;
  notifier: AppendNotifier;
  metrics: ServerMetrics;
  followers: FollowRegistry;
  limits: ServerLimits;
  log: ServerLog;
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
  /** On close: how long in-flight requests may take before every connection is cut. */
  closeGraceMs: number;
}

export interface RouteOptions {
  deps: ServerDeps;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one (health, OpenAPI, UI files) are public. */
    scope?: 'read' | 'ingest' | 'admin';
    /** Where the route takes its host from, for tokens bound to hosts (plugins/auth.ts); none = every host. */
    hosts?: 'params' | 'query' | 'body' | 'list';
    /** Answered from memory and polled hard (`/healthz`): no per-route request-log hook. */
    hotPath?: boolean;
  }
}
