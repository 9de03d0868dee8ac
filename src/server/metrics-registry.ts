/**
 * Daniel's Prometheus series, kept by prom-client: one registry per app (tests build many
 * apps in one process), plus Node's default process metrics (`process_*`, `nodejs_*`),
 * collected once per process and rendered with every app's series. Routes keep calling the
 * few fields and methods below; a new part (an input, alerts) adds its own series with
 * `counter()` / `gauge()` by name. docs/api.md lists the series (metrics-docs.test.ts).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { AlertCounters } from '../alerts/engine.js';

const QUERY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The series the /metrics route derives from the store at each scrape. */
export interface StoreFigures {
  storeLines: number;
  storeRawBytes: number;
  storeStoredBytes: number;
  storeSegments: number;
  /** Segments without field statistics yet (sqlite store only). */
  storeSegmentsWithoutFieldStats?: number;
  /** Sealed segments not compressed again yet, and the bytes repacking saved since start (sqlite store only). */
  storeSegmentsToRepack?: number;
  storeRepackSavedBytes?: number;
  hostsLastSeen: { host: string; seconds: number }[];
}

let processRegistry: Registry | undefined;

/** Node's default metrics: one collector per process, whatever the number of apps. */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class ServerMetrics {
  /** This app's series (the process metrics are added when rendering). */
  readonly registry = new Registry();
  private readonly ingestRequestsCounter = this.counter('daniel_ingest_requests_total', 'Ingest requests answered with 200.');
  private readonly ingestLines = this.counter('daniel_ingest_lines_total', 'Lines received by POST /ingest, by result.', ['result']);
  private readonly ingestDuplicates = this.counter('daniel_ingest_duplicates_total', 'Lines acknowledged as duplicates (already stored).');
  private readonly ingestBytes = this.counter('daniel_ingest_bytes_total', 'UTF-8 bytes of line text received by POST /ingest.');
  private readonly ingestBodyBytes = this.counter('daniel_ingest_body_bytes_total', 'Request body bytes received by POST /ingest, as sent (compressed or not).');
  private readonly queryDuration = new Histogram({
    name: 'daniel_query_duration_seconds',
    help: 'Time to answer read queries, by kind.',
    labelNames: ['kind'],
    buckets: QUERY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  private readonly queriesActiveGauge = this.gauge('daniel_queries_active', 'Searches and histograms running now.');
  private readonly queriesRefusedCounter = this.counter('daniel_queries_refused_total', 'Searches and histograms refused 429 past the concurrency bounds.');
  private readonly queriesAbandonedCounter = this.counter('daniel_queries_abandoned_total', 'Searches and histograms stopped early because their client disconnected.');
  private readonly pagesMadeAheadCounter = this.counter('daniel_pages_made_ahead_total', 'Search pages made ahead of their request while the client read the page before.');
  private readonly pagesAheadTakenCounter = this.counter('daniel_pages_ahead_taken_total', 'Search pages made ahead that a request then took.');
  private readonly followClients = this.gauge('daniel_follow_clients', 'Live-tail (SSE) clients connected now.');
  private readonly storeLines = this.gauge('daniel_store_lines', 'Lines in the store.');
  private readonly storeRawBytes = this.gauge('daniel_store_raw_bytes', 'Bytes of line text in the store.');
  private readonly storeSizeBytes = this.gauge('daniel_store_size_bytes', 'Bytes the store occupies.');
  private readonly storeSegments = this.gauge('daniel_store_segments', 'Segments in the store.');
  private readonly storeSegmentsWithoutFieldStats = this.gauge('daniel_store_segments_without_field_stats', 'Segments whose field statistics are not computed yet (sqlite store; 0 elsewhere).');
  private readonly storeSegmentsToRepack = this.gauge('daniel_store_segments_to_repack', 'Sealed segments not yet compressed again while idle (sqlite store; 0 elsewhere).');
  private readonly storeRepackSavedBytes = this.gauge('daniel_store_repack_saved_bytes', 'Bytes saved since start by compressing sealed segments again while idle (sqlite store; 0 elsewhere).');
  private readonly hostLastSeen = this.gauge('daniel_host_last_seen_seconds', 'When Daniel last received lines from the host (epoch seconds).', ['host']);

  // Plain numbers as well, for code that reads them back (the query gate, tests).
  private active = 0;
  private refused = 0;
  private abandoned = 0;
  private followers = 0;

  /** The alert engine's counters (src/alerts/ counts through them); exported from the start, 0 until alerts run. */
  readonly alerts: AlertCounters = {
    evaluations: this.counter('daniel_alert_evaluations_total', 'Alert evaluation passes over newly stored lines.'),
    linesEvaluated: this.counter('daniel_alert_lines_evaluated_total', 'Stored lines evaluated against the alert rules.'),
    firings: this.counter('daniel_alert_firings_total', 'Alert groups that started firing.'),
    deliveries: this.counter('daniel_alert_notifications_delivered_total', 'Alert notifications a receiver accepted (2xx).'),
    deliveryFailures: this.counter('daniel_alert_delivery_failures_total', 'Failed attempts to deliver an alert notification (each retried).'),
  };

  constructor() {
    // Both results are always exported, 0 before the first line.
    this.ingestLines.inc({ result: 'accepted' }, 0);
    this.ingestLines.inc({ result: 'duplicate' }, 0);
  }

  /**
   * A counter of this app's registry, made at the first call with its name and returned
   * as it is at the next ones (so a plugin may ask for it where it counts).
   */
  counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.named(name, 'counter', () => new Counter<L>({ name, help, labelNames, registers: [this.registry] }));
  }

  /** A gauge of this app's registry, by name (as `counter`). */
  gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.named(name, 'gauge', () => new Gauge<L>({ name, help, labelNames, registers: [this.registry] }));
  }

  private named<M extends Metric>(name: string, type: 'counter' | 'gauge', make: () => M): M {
    const existing = this.registry.getSingleMetric(name);
    if (existing === undefined) return make();
    const kind = existing instanceof Counter ? 'counter' : existing instanceof Gauge ? 'gauge' : 'another type';
    if (kind !== type) throw new Error(`metric ${name} is already registered as ${kind}`);
    return existing as unknown as M;
  }

  recordIngest(accepted: number, duplicates: number, lineBytes: number, bodyBytes: number): void {
    this.ingestRequestsCounter.inc();
    this.ingestLines.inc({ result: 'accepted' }, accepted);
    this.ingestLines.inc({ result: 'duplicate' }, duplicates);
    this.ingestDuplicates.inc(duplicates);
    this.ingestBytes.inc(lineBytes);
    this.ingestBodyBytes.inc(bodyBytes);
  }

  observeQuery(kind: string, seconds: number): void {
    this.queryDuration.observe({ kind }, seconds);
  }

  /** Searches and histograms running now. */
  get queriesActive(): number {
    return this.active;
  }
  set queriesActive(value: number) {
    this.active = value;
    this.queriesActiveGauge.set(value);
  }

  /** Refused past the bounds (only ever grows). */
  get queriesRefused(): number {
    return this.refused;
  }
  set queriesRefused(value: number) {
    this.queriesRefusedCounter.inc(Math.max(0, value - this.refused));
    this.refused = value;
  }

  /** Stopped because the client left (only ever grows). */
  get queriesAbandoned(): number {
    return this.abandoned;
  }
  set queriesAbandoned(value: number) {
    this.queriesAbandonedCounter.inc(Math.max(0, value - this.abandoned));
    this.abandoned = value;
  }

  /** A page of a paging made ahead (page-prefetch.ts); `taken` when its request then found it. */
  readonly pagesAhead = {
    made: (): void => this.pagesMadeAheadCounter.inc(),
    taken: (): void => this.pagesAheadTakenCounter.inc(),
  };

  get followersActive(): number {
    return this.followers;
  }
  set followersActive(value: number) {
    this.followers = value;
    this.followClients.set(value);
  }

  /** The text exposition format: this app's series, the store's figures, the process metrics. */
  async render(store: StoreFigures): Promise<string> {
    this.storeLines.set(store.storeLines);
    this.storeRawBytes.set(store.storeRawBytes);
    this.storeSizeBytes.set(store.storeStoredBytes);
    this.storeSegments.set(store.storeSegments);
    this.storeSegmentsWithoutFieldStats.set(store.storeSegmentsWithoutFieldStats ?? 0);
    this.storeSegmentsToRepack.set(store.storeSegmentsToRepack ?? 0);
    this.storeRepackSavedBytes.set(store.storeRepackSavedBytes ?? 0);
    // A host no longer in the store (retention) leaves the series.
    this.hostLastSeen.reset();
    for (const { host, seconds } of store.hostsLastSeen) this.hostLastSeen.set({ host }, seconds);
    const own = await this.registry.metrics();
    const process = await processMetrics().metrics();
    return `${own.trimEnd()}\n${process.trimEnd()}\n`;
  }

  /** The Content-Type of `render`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
