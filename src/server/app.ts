/**
 * Builds Daniel's HTTP app without listening: tests drive it with `inject()`, `daniel serve`
 * listens on it. Auth, body parsing and error mapping are installed once on the root; routes
 * are plugins that get their dependencies as options.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AlertStore } from '../alerts/alert-store.js';
import { AlertEngine, type EngineOptions } from '../alerts/engine.js';
import { nowNs } from '../common/time.js';
import { assertLinearRegex } from '../query/matcher.js';
import type { Store } from '../storage/store.js';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_MAX_FILES_PER_HOST_DAY } from './config.js';
import { IdentityBudget } from './identity-budget.js';
import { ConnectionDrainer } from './connections.js';
import type { ServerDeps, ServerLimits } from './context.js';
import { FollowRegistry } from './follow.js';
import { toLogEntry } from './log-query.js';
import { silentLog, type ServerLog } from './log.js';
import { ServerMetrics } from './metrics-registry.js';
import { AppendNotifier } from './notifier.js';
import { StorePushSink } from './push-sink.js';
import type { PushSink } from '../inputs/sink.js';
import { PagePrefetch } from './page-prefetch.js';
import { QueryGate } from './query-gate.js';
import { AbuseGuard, DEFAULT_ABUSE_LIMITS, installSecurityHeaders, type AbuseLimits } from './plugins/abuse.js';
import { installAuth } from './plugins/auth.js';
import { frameworkErrorHandler, installErrorHandling } from './plugins/errors.js';
import { installJsonBody } from './plugins/json-body.js';
import { DEFAULT_SLOW_REQUEST_MS, installRequestLog, type RequestLogOptions } from './plugins/request-log.js';
import { strictValidatorCompiler } from './plugins/validator.js';
import { alertRoutes } from './routes/alerts.js';
import { contextRoutes } from './routes/context.js';
import { healthRoutes } from './routes/health.js';
import { fieldRoutes } from './routes/fields.js';
import { histogramRoutes } from './routes/histogram.js';
import { hostsRoutes } from './routes/hosts.js';
import { elasticsearchRoutes, esRootAnswer, looksLikeEsClient } from './routes/elasticsearch.js';
import { ingestRoutes } from './routes/ingest.js';
import { lokiRoutes } from './routes/loki.js';
import { otlpRoutes } from './routes/otlp.js';
import { PushBudget } from './routes/push-common.js';
import { logsRoutes } from './routes/logs.js';
import { metricsRoutes } from './routes/metrics.js';
import { tokenRoutes } from './routes/tokens.js';
import { TokenRegistry } from './token-registry.js';
import type { TokenSet } from './tokens.js';
import { uiPlugin } from './ui/plugin.js';

export interface AppOptions {
  store: Store;
  tokens: TokenSet;
  /** Raw and decompressed body limit; default 8 MiB. */
  bodyLimitBytes?: number;
  /** Errors, 5xx and slow requests (and every request with `requestLog.all`); default silent. */
  log?: ServerLog;
  requestLog?: Partial<RequestLogOptions>;
  now?: () => bigint;
  /** Per-token rates and the failed-authentication limit per address (plugins/abuse.ts). */
  abuseLimits?: Partial<AbuseLimits>;
  /** Proxies whose X-Forwarded-Proto/-For are believed (IPs or CIDRs); default none. */
  trustedProxies?: readonly string[];
  /** HTTPS: PEM key and certificate (and the CA client certificates must chain to, if any). */
  https?: { key: string | Buffer; cert: string | Buffer; clientCa?: string | Buffer };
  /** The per-host daily bound on file identities; default one of `limits.maxFilesPerHostDay` (serve passes its own, to change it on SIGHUP). */
  identityBudget?: IdentityBudget;
  /** Overrides for tests (short heartbeats, small buffers). */
  limits?: Partial<Omit<ServerLimits, 'bodyLimitBytes'>>;
  /** Where the pushed inputs (Loki, OTLP, Elasticsearch bulk) store; default the store's own (push-sink.ts). Tests may record instead. */
  pushSink?: PushSink;
  /** Alert rules and their notifications (src/alerts/); without it there is no /alerts. */
  alerts?: { store: AlertStore; baseUrl?: string; options?: Partial<EngineOptions> };
}

export const DEFAULT_LIMITS: Omit<ServerLimits, 'bodyLimitBytes'> = {
  defaultTimeoutMs: 5000,
  maxTimeoutMs: 30_000,
  followPollMs: 500,
  followHeartbeatMs: 15_000,
  followBufferBytes: 1024 * 1024,
  maxFollowers: 256,
  maxQueries: 16,
  maxQueriesPerToken: 8,
  closeGraceMs: 10_000,
  maxConnections: 512,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxFilesPerHostDay: DEFAULT_MAX_FILES_PER_HOST_DAY,
};

export const API_VERSION = '0.1.0';

const pushSinks = new WeakMap<FastifyInstance, PushSink>();

/** The app's PushSink, for the inputs that listen outside HTTP (syslog) to store through. */
export function pushSinkOf(app: FastifyInstance): PushSink {
  const sink = pushSinks.get(app);
  if (sink === undefined) throw new Error('not an app made by buildApp');
  return sink;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  assertLinearRegex();
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const log = options.log ?? silentLog;
  const limits = { ...DEFAULT_LIMITS, ...options.limits, bodyLimitBytes };
  const app = Fastify({
    // Every request is bounded in time: headers, the whole request (body included), and an
    // idle keep-alive connection. Live tails are not cut: their request is complete at once.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Daniel logs through its own pino logger (log.ts), every line with the request id it
    // concerns (plugins/errors.ts, plugins/request-log.ts). It is not Fastify's logger:
    // measured, a Fastify logger costs /healthz about 25 µs of CPU a request (0.43x of bare
    // node:http against 0.68x without; bench/healthz-bench.ts), and Daniel logs nothing
    // through request.log.
    logger: false,
    bodyLimit: bodyLimitBytes,
    // X-Forwarded-Proto/-For only from the configured proxies (--trusted-proxy).
    trustProxy: options.trustedProxies !== undefined && options.trustedProxies.length > 0 ? [...options.trustedProxies] : false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    // Idle keep-alive sockets must not hold `close()` open; ConnectionDrainer closes the
    // sockets this leaves (never-used ones, ones that go idle during close); live tails are
    // ended in preClose.
    forceCloseConnections: 'idle',
    // Requests already on an open connection during close are served like in-flight ones
    // (the store closes after them), so every answer keeps the API's error shape.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    ...(options.https === undefined
      ? {}
      : {
          https: {
            key: options.https.key,
            cert: options.https.cert,
            minVersion: 'TLSv1.2' as const,
            ...(options.https.clientCa === undefined ? {} : { ca: options.https.clientCa, requestCert: true, rejectUnauthorized: true }),
          },
        }),
  });
  app.setValidatorCompiler(strictValidatorCompiler);

  app.server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  // Past this Node closes new connections at once, so idle clients cannot use up every descriptor.
  app.server.maxConnections = limits.maxConnections;
  const followers = new FollowRegistry();
  const metrics = new ServerMetrics();
  const now = options.now ?? nowNs;
  const notifier = new AppendNotifier();
  const pages = new PagePrefetch(metrics.pagesAhead);
  const deps: ServerDeps = {
    store: options.store,
    now,
    notifier,
    push: options.pushSink ?? new StorePushSink({ store: options.store, now, notifier, metrics }),
    metrics,
    followers,
    queries: new QueryGate(limits.maxQueries, limits.maxQueriesPerToken, metrics, () => pages.stop()),
    pages,
    limits,
    log,
    identities: options.identityBudget ?? new IdentityBudget(limits.maxFilesPerHostDay),
  };
  pushSinks.set(app as unknown as FastifyInstance, deps.push);

  // Hooks that attach to routes as they are added (auth, request log) come before any route.
  installErrorHandling(app, log);
  installSecurityHeaders(app);
  installAuth(app, options.tokens, new AbuseGuard({ ...DEFAULT_ABUSE_LIMITS, ...options.abuseLimits }, log));
  installRequestLog(app, log, { all: false, slowMs: DEFAULT_SLOW_REQUEST_MS, ...options.requestLog });
  installJsonBody(app, bodyLimitBytes);
  const drainer = new ConnectionDrainer(app.server);
  app.addHook('preClose', (done) => {
    followers.closeAll();
    pages.stop();
    // In-flight requests get up to closeGraceMs; idle and never-used sockets close now.
    drainer.drain(deps.limits.closeGraceMs);
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Daniel: the Logging Aggregator server',
        description: 'Ingest, search and live tail of log lines shipped by Henrik. See docs/api.md.',
        version: API_VERSION,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  const routeOptions = { deps };
  // A logged request goes through the route (its onResponse hook logs it).
  await app.register(healthRoutes, { ...routeOptions, answerFirst: options.requestLog?.all !== true });
  await app.register(ingestRoutes, routeOptions);
  await app.register(hostsRoutes, routeOptions);
  await app.register(logsRoutes, routeOptions);
  await app.register(contextRoutes, routeOptions);
  await app.register(histogramRoutes, routeOptions);
  await app.register(fieldRoutes, routeOptions);
  await app.register(metricsRoutes, routeOptions);
  // Bodies of pushed requests held at once: four full requests, at least 32 MiB.
  const pushOptions = { deps, sink: deps.push, budget: new PushBudget(Math.max(4 * bodyLimitBytes, 32 * 1024 * 1024)) };
  await app.register(lokiRoutes, pushOptions);
  await app.register(otlpRoutes, pushOptions);
  await app.register(elasticsearchRoutes, pushOptions);
  const registry = options.tokens instanceof TokenRegistry ? options.tokens : undefined;
  if (registry?.store !== undefined) {
    await app.register(tokenRoutes, { store: registry.store, changed: () => registry.refresh() });
  }
  if (options.alerts !== undefined) {
    const engine = new AlertEngine({
      store: options.store,
      alerts: options.alerts.store,
      notifier: deps.notifier,
      counters: metrics.alerts,
      log: { warn: (message) => log.warn(message) },
      toEntry: (line) => toLogEntry(line, String(line.seq)),
      baseUrl: options.alerts.baseUrl ?? 'http://127.0.0.1:3032',
      ...(options.alerts.options === undefined ? {} : { options: options.alerts.options }),
    });
    app.decorate('alertEngine', engine);
    await app.register(alertRoutes, { engine });
    // The lines ingest stores go to the evaluator in memory: it need not read them back.
    const unlisten = deps.notifier.onAppended((stored) => engine.appended(stored));
    await engine.start();
    app.addHook('onClose', async () => {
      unlisten();
      await engine.stop();
    });
  }

  // The web UI's static files: public, the API it calls does the auth.
  // GET / from an Elasticsearch client is its version check, not a visit to the UI.
  await app.register(uiPlugin, { root: (request, reply) => (looksLikeEsClient(request) ? esRootAnswer(reply) : undefined) });

  app.get('/openapi.json', { schema: { hide: true } }, (_request, reply) => reply.send(app.swagger()));

  await app.ready();
  return app;
}
