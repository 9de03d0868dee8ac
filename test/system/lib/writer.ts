/**
 * Appends numbered lines (`<RFC 3339> seq=000123 stream=NAME payload…`) to a file at a
 * given rate. Each tick opens the path, appends and closes, synchronously: a test that
 * renames, copies or truncates between two ticks does so between two whole writes, the
 * way a well-behaved application reopens its log after rotation.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface LineWriterOptions {
  path: string;
  /** Tag of this writer's lines; the checker counts lines per stream. */
  stream: string;
  linesPerSecond: number;
  /** Filler after the header so lines have a realistic size. */
  payloadBytes?: number;
  tickMs?: number;
}

const filler = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ';

export function numberedLine(stream: string, seq: number, payloadBytes = 60, now = new Date()): string {
  const header = `${now.toISOString()} seq=${String(seq).padStart(6, '0')} stream=${stream} `;
  return `${header}${filler.repeat(Math.ceil(payloadBytes / filler.length)).slice(0, payloadBytes)}\n`;
}

export class LineWriter {
  /** Number of lines written so far; the next line's seq. */
  written = 0;
  path: string;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private creditBase = 0;
  private paused = false;

  constructor(private readonly options: LineWriterOptions) {
    this.path = options.path;
  }

  get stream(): string {
    return this.options.stream;
  }

  /** Appends `count` lines now (also usable without `start()`). */
  writeLines(count: number, path = this.path): void {
    if (count <= 0) return;
    const now = new Date();
    let text = '';
    for (let i = 0; i < count; i++) text += numberedLine(this.options.stream, this.written + i, this.options.payloadBytes, now);
    const fd = openSync(path, 'a');
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    this.written += count;
  }

  start(): void {
    this.startedAt = Date.now();
    this.creditBase = this.written;
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 20);
  }

  /** Stops writing until `resume()`; the rate does not catch up on the paused time. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.startedAt = Date.now();
    this.creditBase = this.written;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (this.paused) return;
    const due = this.creditBase + Math.floor(((Date.now() - this.startedAt) / 1000) * this.options.linesPerSecond);
    // A loaded machine may stall the timer: write what is due, at most one second's worth at once.
    this.writeLines(Math.min(due - this.written, Math.max(1, this.options.linesPerSecond)));
  }
}
