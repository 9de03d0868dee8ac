/**
 * Live tail: reads `GET /logs?follow=true` as an event stream through fetch() (so it can
 * send the token), and on pause, a dropped connection or a server close reconnects with
 * `Last-Event-ID` set to the last line received, which the server resumes after with no
 * gap and no duplicate.
 */
import type { LogEntry } from '../src/protocol/api.js';
import { type ApiFailure, authHeaders, failureOf } from './api.js';
import { SseParser } from './sse.js';

export type LiveState = 'connecting' | 'live' | 'paused' | 'retrying' | 'stopped';

export interface LiveTailOptions {
  /** API filter parameters (no `follow`, no time range). */
  params: URLSearchParams;
  onLines: (lines: LogEntry[]) => void;
  onState: (state: LiveState, detail?: string) => void;
  /** Fatal failures (401, bad filter): live tail stops. */
  onError: (error: ApiFailure) => void;
  /** Where the API is; the page's own origin when absent. */
  origin?: string;
}

const RETRY_MS = [500, 1000, 2000, 5000];

export class LiveTail {
  private controller: AbortController | undefined;
  private lastEventId = '';
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private state: LiveState = 'stopped';
  /** Paused before any line arrived: lines are kept here until resume(). */
  private holding = false;
  private held: LogEntry[] = [];

  constructor(private readonly options: LiveTailOptions) {}

  start(): void {
    this.stopStream();
    void this.run();
  }

  /**
   * Closes the stream but remembers where it was, so resume() misses nothing. Before the
   * first line there is no position to resume from, so the stream stays open until one
   * line arrives; that line is held back for resume() and then the stream closes.
   */
  pause(): void {
    if (this.lastEventId === '' && this.controller) {
      this.holding = true;
    } else {
      this.stopStream();
    }
    this.setState('paused');
  }

  resume(): void {
    if (this.state !== 'paused' && this.state !== 'stopped') return;
    const held = this.held;
    this.held = [];
    const streaming = this.holding && this.controller !== undefined;
    this.holding = false;
    if (held.length > 0) this.options.onLines(held);
    if (streaming) this.setState('live');
    else this.start();
  }

  stop(): void {
    this.holding = false;
    this.held = [];
    this.stopStream();
    this.setState('stopped');
  }

  /** The id of the last line received (what a reconnect sends as Last-Event-ID). */
  get position(): string {
    return this.lastEventId;
  }

  private stopStream(): void {
    clearTimeout(this.retryTimer);
    this.controller?.abort();
    this.controller = undefined;
  }

  private setState(state: LiveState, detail?: string): void {
    this.state = state;
    this.options.onState(state, detail);
  }

  private async run(): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    // While paused (holding for a first line) reconnects stay quiet: the user asked for a pause.
    if (!this.holding) this.setState('connecting');
    const params = new URLSearchParams(this.options.params);
    params.set('follow', 'true');
    const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
    if (this.lastEventId !== '') headers['last-event-id'] = this.lastEventId;
    try {
      const response = await fetch(`${this.options.origin ?? ''}/logs?${params.toString()}`, { headers, signal: controller.signal, cache: 'no-store' });
      if (!response.ok) {
        const failure = await failureOf(response);
        // 429 and 5xx are worth retrying; any other answer will not change by itself.
        if (failure.status === 429 || failure.status >= 500) throw failure;
        this.setState('stopped', failure.message);
        this.options.onError(failure);
        return;
      }
      if (!response.body) throw new Error('the browser gave no response stream');
      if (!this.holding) this.setState('live');
      await this.read(response.body, controller);
      if (controller.signal.aborted) return;
      this.scheduleRetry('the server closed the stream');
    } catch (error) {
      if (controller.signal.aborted) return;
      this.scheduleRetry(error instanceof Error ? error.message : String(error));
    }
  }

  private async read(body: ReadableStream<Uint8Array>, controller: AbortController): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    parser.lastEventId = this.lastEventId;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || controller.signal.aborted) return;
        const lines: LogEntry[] = [];
        // stream: true keeps a UTF-8 sequence split across chunks for the next one.
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          if (event.type === 'line') {
            lines.push(JSON.parse(event.data) as LogEntry);
            this.retries = 0;
          } else if (event.type === 'error') {
            // The server gave up on us (slow consumer); reconnecting resumes after the last id.
            this.lastEventId = event.id;
            if (lines.length > 0) this.options.onLines(lines);
            throw new Error(describeServerError(event.data));
          }
        }
        // Every id counts, including one sent without a line (a start position), so a
        // reconnect resumes exactly where this stream was.
        this.lastEventId = parser.lastEventId;
        if (lines.length > 0 && this.holding) {
          // Paused with no position until now: keep these lines, close, resume from here.
          this.held.push(...lines);
          this.controller = undefined;
          controller.abort();
          return;
        }
        if (lines.length > 0) this.options.onLines(lines);
      }
    } finally {
      reader.releaseLock();
    }
  }

  private scheduleRetry(reason: string): void {
    const delay = RETRY_MS[Math.min(this.retries, RETRY_MS.length - 1)] ?? 5000;
    this.retries++;
    if (!this.holding) this.setState('retrying', reason);
    this.retryTimer = setTimeout(() => this.start(), delay);
  }
}

function describeServerError(data: string): string {
  try {
    const parsed = JSON.parse(data) as { error?: { message?: string }; message?: string };
    return parsed.error?.message ?? parsed.message ?? data;
  } catch {
    return data;
  }
}

/** Lines per second over a sliding window, for the rate indicator. */
export class RateMeter {
  private stamps: Array<[number, number]> = [];

  constructor(private readonly windowMs = 5000) {}

  add(count: number, now = performance.now()): void {
    this.stamps.push([now, count]);
    this.trim(now);
  }

  perSecond(now = performance.now()): number {
    this.trim(now);
    let total = 0;
    for (const [, count] of this.stamps) total += count;
    return total / (this.windowMs / 1000);
  }

  private trim(now: number): void {
    while (this.stamps.length > 0 && (this.stamps[0]?.[0] ?? now) < now - this.windowMs) this.stamps.shift();
  }
}

