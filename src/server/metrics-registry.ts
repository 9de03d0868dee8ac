/**
 * The few Prometheus series Daniel exports, kept in process and rendered in the text
 * exposition format (version 0.0.4). Small enough not to need a client library.
 */

const QUERY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export class ServerMetrics {
  ingestRequests = 0;
  ingestLinesAccepted = 0;
  ingestLinesDuplicate = 0;
  ingestLineBytes = 0;
  ingestBodyBytes = 0;
  followersActive = 0;
  /** Searches and histograms running now, refused past the bounds, stopped because the client left. */
  queriesActive = 0;
  queriesRefused = 0;
  queriesAbandoned = 0;
  /** Alerts: evaluation passes, lines evaluated, firings, notifications delivered and failed attempts. */
  alertEvaluations = 0;
  alertLinesEvaluated = 0;
  alertFirings = 0;
  alertDeliveries = 0;
  alertDeliveryFailures = 0;
  private readonly queryLatency = new Map<string, Histogram>();

  recordIngest(accepted: number, duplicates: number, lineBytes: number, bodyBytes: number): void {
    this.ingestRequests += 1;
    this.ingestLinesAccepted += accepted;
    this.ingestLinesDuplicate += duplicates;
    this.ingestLineBytes += lineBytes;
    this.ingestBodyBytes += bodyBytes;
  }

  observeQuery(kind: string, seconds: number): void {
    let histogram = this.queryLatency.get(kind);
    if (!histogram) {
      histogram = { counts: QUERY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 };
      this.queryLatency.set(kind, histogram);
    }
    QUERY_BUCKETS_SECONDS.forEach((bound, index) => {
      if (seconds <= bound) histogram.counts[index] = (histogram.counts[index] ?? 0) + 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
  }

  /** Renders these series plus the store-derived ones handed in by the /metrics route. */
  render(extra: { storeLines: number; storeRawBytes: number; storeStoredBytes: number; storeSegments: number; hostsLastSeen: { host: string; seconds: number }[] }): string {
    const out: string[] = [];
    const series = (name: string, type: string, help: string, samples: string[]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
    };
    series('daniel_ingest_requests_total', 'counter', 'Ingest requests answered with 200.', [
      `daniel_ingest_requests_total ${this.ingestRequests}`,
    ]);
    series('daniel_ingest_lines_total', 'counter', 'Lines received by POST /ingest, by result.', [
      `daniel_ingest_lines_total{result="accepted"} ${this.ingestLinesAccepted}`,
      `daniel_ingest_lines_total{result="duplicate"} ${this.ingestLinesDuplicate}`,
    ]);
    series('daniel_ingest_duplicates_total', 'counter', 'Lines acknowledged as duplicates (already stored).', [
      `daniel_ingest_duplicates_total ${this.ingestLinesDuplicate}`,
    ]);
    series('daniel_ingest_bytes_total', 'counter', 'UTF-8 bytes of line text received by POST /ingest.', [
      `daniel_ingest_bytes_total ${this.ingestLineBytes}`,
    ]);
    series('daniel_ingest_body_bytes_total', 'counter', 'Request body bytes received by POST /ingest, as sent (compressed or not).', [
      `daniel_ingest_body_bytes_total ${this.ingestBodyBytes}`,
    ]);
    const latency: string[] = [];
    for (const [kind, histogram] of [...this.queryLatency.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      QUERY_BUCKETS_SECONDS.forEach((bound, index) => {
        latency.push(`daniel_query_duration_seconds_bucket{kind="${kind}",le="${bound}"} ${histogram.counts[index] ?? 0}`);
      });
      latency.push(`daniel_query_duration_seconds_bucket{kind="${kind}",le="+Inf"} ${histogram.count}`);
      latency.push(`daniel_query_duration_seconds_sum{kind="${kind}"} ${histogram.sum}`);
      latency.push(`daniel_query_duration_seconds_count{kind="${kind}"} ${histogram.count}`);
    }
    series('daniel_query_duration_seconds', 'histogram', 'Time to answer read queries, by kind.', latency);
    series('daniel_queries_active', 'gauge', 'Searches and histograms running now.', [`daniel_queries_active ${this.queriesActive}`]);
    series('daniel_queries_refused_total', 'counter', 'Searches and histograms refused 429 past the concurrency bounds.', [
      `daniel_queries_refused_total ${this.queriesRefused}`,
    ]);
    series('daniel_queries_abandoned_total', 'counter', 'Searches and histograms stopped early because their client disconnected.', [
      `daniel_queries_abandoned_total ${this.queriesAbandoned}`,
    ]);
    series('daniel_alert_evaluations_total', 'counter', 'Alert evaluation passes over newly stored lines.', [`daniel_alert_evaluations_total ${this.alertEvaluations}`]);
    series('daniel_alert_lines_evaluated_total', 'counter', 'Stored lines evaluated against the alert rules.', [`daniel_alert_lines_evaluated_total ${this.alertLinesEvaluated}`]);
    series('daniel_alert_firings_total', 'counter', 'Alert groups that started firing.', [`daniel_alert_firings_total ${this.alertFirings}`]);
    series('daniel_alert_notifications_delivered_total', 'counter', 'Alert notifications a receiver accepted (2xx).', [`daniel_alert_notifications_delivered_total ${this.alertDeliveries}`]);
    series('daniel_alert_delivery_failures_total', 'counter', 'Failed attempts to deliver an alert notification (each retried).', [`daniel_alert_delivery_failures_total ${this.alertDeliveryFailures}`]);
    series('daniel_follow_clients', 'gauge', 'Live-tail (SSE) clients connected now.', [`daniel_follow_clients ${this.followersActive}`]);
    series('daniel_store_lines', 'gauge', 'Lines in the store.', [`daniel_store_lines ${extra.storeLines}`]);
    series('daniel_store_raw_bytes', 'gauge', 'Bytes of line text in the store.', [`daniel_store_raw_bytes ${extra.storeRawBytes}`]);
    series('daniel_store_size_bytes', 'gauge', 'Bytes the store occupies.', [`daniel_store_size_bytes ${extra.storeStoredBytes}`]);
    series('daniel_store_segments', 'gauge', 'Segments in the store.', [`daniel_store_segments ${extra.storeSegments}`]);
    series(
      'daniel_host_last_seen_seconds',
      'gauge',
      'When Daniel last received lines from the host (epoch seconds).',
      extra.hostsLastSeen.map(({ host, seconds }) => `daniel_host_last_seen_seconds{host="${escapeLabel(host)}"} ${seconds}`),
    );
    return out.join('\n') + '\n';
  }
}

/** Label values escape backslash, double quote and newline (exposition format). */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
