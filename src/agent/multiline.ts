/**
 * Joins continuation lines (a Java stack trace, a Python traceback) into the record that
 * started them. Off unless a source has a rule. The joined record keeps the first line's
 * offset and the last line's end, so checkpoints still fall on line boundaries. A record is
 * bounded (`maxBytes`): past it the record is emitted and the next line starts a new one.
 */
import type { LineSink, RawLine } from './tailer/line-splitter.js';

export interface MultilineRule {
  /** A line matching this starts a record; any other line continues the current one. */
  start?: string;
  /** Or: a line matching this continues the current record; any other line starts one. */
  continue?: string;
  /** A ready-made rule: `java` (stack traces) or `python` (tracebacks). */
  preset?: 'java' | 'python';
  /** Emit a record after this long without a new line (default 1000 ms). */
  timeoutMs?: number;
}

const PRESET_CONTINUE: Record<'java' | 'python', RegExp> = {
  // `\tat x.y(Z.java:1)`, `... 3 more`, `Caused by: ...`, and the exception line after a message.
  java: /^(?:\s|Caused by:|Suppressed:|[\w$.]+(?:Exception|Error|Throwable)\b(?::.*)?$)/,
  python:
    /^(?:\s|Traceback \(most recent call last\):|During handling of the above exception|The above exception was the direct cause|[\w.]+(?:Error|Exception|Exit|Interrupt|Warning)\b(?::.*)?$)/,
};

export function isValidRule(rule: MultilineRule): string | undefined {
  const given = [rule.start, rule.continue, rule.preset].filter((x) => x !== undefined).length;
  if (given !== 1) return 'a multiline rule needs exactly one of start, continue or preset';
  try {
    if (rule.start !== undefined) new RegExp(rule.start);
    if (rule.continue !== undefined) new RegExp(rule.continue);
  } catch (err) {
    return `multiline regex does not compile: ${(err as Error).message}`;
  }
  if (rule.preset !== undefined && !(rule.preset in PRESET_CONTINUE)) return `unknown multiline preset '${String(rule.preset)}' (java, python)`;
  return undefined;
}

export class MultilineJoiner {
  private readonly continues: (text: string) => boolean;
  private pending: RawLine | undefined;
  private pendingBytes = 0;
  private insideCutLine = false;
  /** When the pending record last grew (ms), for the flush timeout. */
  lastLineAtMs = 0;
  readonly timeoutMs: number;

  constructor(rule: MultilineRule, private readonly maxBytes: number) {
    this.timeoutMs = rule.timeoutMs ?? 1000;
    if (rule.start !== undefined) {
      const start = new RegExp(rule.start);
      this.continues = (t) => !start.test(t);
    } else {
      const cont = rule.continue !== undefined ? new RegExp(rule.continue) : PRESET_CONTINUE[rule.preset ?? 'java'];
      this.continues = (t) => cont.test(t);
    }
  }

  get hasPending(): boolean {
    return this.pending !== undefined;
  }

  push(line: RawLine, emit: LineSink, nowMs: number): void {
    // Pieces of an over-long line pass through untouched, in order.
    if (line.cut || this.insideCutLine) {
      this.flush(emit);
      emit(line);
      this.insideCutLine = line.cut;
      return;
    }
    const bytes = line.end - line.offset;
    if (this.pending !== undefined && this.continues(line.text) && this.pendingBytes + bytes <= this.maxBytes) {
      this.pending = { offset: this.pending.offset, end: line.end, text: `${this.pending.text}\n${line.text}`, cut: false };
      this.pendingBytes += bytes;
    } else {
      this.flush(emit);
      this.pending = line;
      this.pendingBytes = bytes;
    }
    this.lastLineAtMs = nowMs;
  }

  flush(emit: LineSink): void {
    if (this.pending === undefined) return;
    const record = this.pending;
    this.pending = undefined;
    this.pendingBytes = 0;
    emit(record);
  }

  /** Emits the pending record if no line came for `timeoutMs`. */
  flushIfIdle(emit: LineSink, nowMs: number): void {
    if (this.pending !== undefined && nowMs - this.lastLineAtMs >= this.timeoutMs) this.flush(emit);
  }
}
