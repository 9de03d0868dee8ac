/**
 * Sends the recorded notifications: each (notification, target) until the receiver answers
 * 2xx, retried with exponential backoff (with jitter, capped) while it fails, each attempt
 * bounded by a timeout so a receiver that never answers holds one slot for that long and
 * nothing else. A delivery is removed only after its 2xx, so one cut short by `kill -9` is
 * sent again on the next start: receivers drop repeats by the `id` (also the
 * `Idempotency-Key` header). Per rule, group and target the notifications go out in order.
 */
import type { AlertStore, Delivery } from './alert-store.js';
import { render } from './payload.js';

export interface DeliveryOptions {
  /** Time a receiver has to answer one attempt. */
  timeoutMs: number;
  /** First retry delay, doubled each attempt up to maxBackoffMs. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** A notification still failing this long after it was recorded is dropped (and the error kept). */
  giveUpAfterMs: number;
  /** Attempts running at once. */
  concurrency: number;
}

export const DEFAULT_DELIVERY: DeliveryOptions = {
  timeoutMs: 10_000,
  minBackoffMs: 1000,
  maxBackoffMs: 5 * 60_000,
  giveUpAfterMs: 24 * 3_600_000,
  concurrency: 8,
};

/** A monotonic counter (the server passes its metrics registry's, prom-client's). */
export interface Count {
  inc(by?: number): void;
}

export interface DeliveryCounters {
  /** Notifications a receiver accepted (2xx). */
  deliveries: Count;
  /** Failed attempts (each retried). */
  deliveryFailures: Count;
}

export interface DeliveryLog {
  warn(message: string): void;
}

export class Deliverer {
  private readonly inFlight = new Set<number>();
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly aborter = new AbortController();
  /** Delivered once: notification ids (with target) seen delivered, for tests and latency. */
  onDelivered: ((delivery: Delivery, atMs: number) => void) | undefined;

  constructor(
    private readonly store: AlertStore,
    private readonly options: DeliveryOptions,
    private readonly counters: DeliveryCounters,
    private readonly log: DeliveryLog,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** New notifications were recorded: look now. */
  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.aborter.abort();
    this.poke();
    await this.loop;
  }

  private async run(): Promise<void> {
    const running = new Set<Promise<void>>();
    while (!this.stopped) {
      let due: Delivery[] = [];
      // Looked at again after a second when the outbox cannot be read.
      let waitMs = 1000;
      try {
        const free = this.options.concurrency - running.size;
        const pending = await this.store.pending(this.now(), Math.max(0, free) + this.inFlight.size);
        due = pending.due.filter((d) => !this.inFlight.has(d.id)).slice(0, Math.max(0, free));
        // A due delivery left for later (in flight, or no slot free) is looked at again when an
        // attempt ends (poke); the wait is only for the next one whose retry time has not come.
        if (pending.nextDueMs !== undefined) waitMs = Math.max(0, Math.min(waitMs, pending.nextDueMs - this.now()));
      } catch (error) {
        this.log.warn(`alerts: cannot read the notifications to send: ${(error as Error).message}`);
      }
      for (const delivery of due) {
        this.inFlight.add(delivery.id);
        const attempt = this.attempt(delivery).finally(() => {
          this.inFlight.delete(delivery.id);
          running.delete(attempt);
          this.poke();
        });
        running.add(attempt);
      }
      if (this.stopped) break;
      if (due.length > 0 && running.size < this.options.concurrency) waitMs = 0;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, waitMs);
      });
      clearTimeout(this.timer);
      this.wake = undefined;
    }
    await Promise.allSettled([...running]);
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const { url, body } = render(delivery.event, delivery.target);
    let problem: string | undefined;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': delivery.event.id, 'user-agent': 'daniel-alerts' },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.aborter.signal]),
      });
      const text = await response.text().catch(() => '');
      if (response.status < 200 || response.status > 299) problem = `${delivery.target.kind} ${redact(url)} answered ${response.status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`;
    } catch (error) {
      if (this.stopped) return;
      const err = error as Error & { cause?: { code?: string; message?: string } };
      const reason = err.name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
      problem = `${delivery.target.kind} ${redact(url)}: ${reason}`;
    }
    const at = this.now();
    try {
      if (problem === undefined) {
        await this.store.delivered(delivery.id, delivery.event.ruleId, `${delivery.target.kind} ${redact(url)}`, at);
        this.counters.deliveries.inc();
        this.onDelivered?.(delivery, at);
        return;
      }
      this.counters.deliveryFailures.inc();
      const giveUp = at - delivery.createdMs >= this.options.giveUpAfterMs;
      const backoff = Math.min(this.options.maxBackoffMs, this.options.minBackoffMs * 2 ** Math.min(delivery.attempts, 30));
      const retryMs = giveUp ? null : at + Math.round(backoff * (0.5 + Math.random() / 2));
      await this.store.failed(delivery.id, delivery.event.ruleId, giveUp ? `${problem} (given up after ${delivery.attempts + 1} attempts)` : problem, at, retryMs);
      if (giveUp) this.log.warn(`alerts: gave up notifying ${delivery.event.name}: ${problem}`);
    } catch (error) {
      this.log.warn(`alerts: cannot record a delivery: ${(error as Error).message}`);
    }
  }
}

/** A URL without credentials or query (Slack's secret is in the path: keep only its start). */
export function redact(text: string): string {
  try {
    const url = new URL(text);
    const path = url.pathname.length > 24 ? `${url.pathname.slice(0, 20)}…` : url.pathname;
    return `${url.protocol}//${url.host}${path}`;
  } catch {
    return '(url)';
  }
}
