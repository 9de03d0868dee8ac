/**
 * Syslog over a byte stream (TCP, TLS) -> messages, per RFC 6587: a frame that starts with a
 * digit is octet-counted (`MSG-LEN SP SYSLOG-MSG`), any other ends at LF (non-transparent
 * framing; a CR before the LF is dropped by the parser). The two may alternate on one
 * connection. A frame whose digits are not followed by a space (`42: %SYS-5-...` from a device
 * without PRI) is read as LF-framed.
 *
 * Memory is bounded: a frame longer than `maxFrameBytes` is cut there (its first
 * `maxFrameBytes` are delivered, marked cut, the rest is skipped), so a connection never holds
 * more than one frame's bound plus one read.
 */

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SP = 0x20;
const EMPTY = Buffer.alloc(0);
/** MSG-LEN of up to 10 digits: more than any bound we would accept. */
const MAX_LENGTH_DIGITS = 10;

/** The default bound on one message: syslog-ng's default log-msg-size, 8x rsyslog's default. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

export type FrameHandler = (frame: Buffer, cut: boolean) => void;

type Mode = 'start' | 'counted' | 'skip-counted' | 'lf' | 'skip-lf';

export class Deframer {
  private rest: Buffer = EMPTY;
  private mode: Mode = 'start';
  private remaining = 0;

  constructor(
    private readonly onFrame: FrameHandler,
    private readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES,
  ) {}

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.rest.length;
  }

  push(chunk: Buffer): void {
    const data = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    const max = this.maxFrameBytes;
    let at = 0;
    scan: while (at < data.length) {
      switch (this.mode) {
        case 'start': {
          const first = data[at] as number;
          if (first === LF || first === CR || first === NUL || first === SP) {
            at++;
            continue;
          }
          if (first >= 0x31 && first <= 0x39) {
            let end = at;
            while (end < data.length && end - at <= MAX_LENGTH_DIGITS && (data[end] as number) >= 0x30 && (data[end] as number) <= 0x39) end++;
            if (end === data.length && end - at <= MAX_LENGTH_DIGITS) break scan; // the length is not complete yet
            if (data[end] === SP && end - at <= MAX_LENGTH_DIGITS) {
              this.remaining = Number(data.toString('latin1', at, end));
              this.mode = 'counted';
              at = end + 1;
              continue;
            }
          }
          this.mode = 'lf';
          continue;
        }
        case 'counted': {
          const available = data.length - at;
          if (this.remaining <= max) {
            if (available < this.remaining) break scan;
            this.onFrame(data.subarray(at, at + this.remaining), false);
            at += this.remaining;
            this.mode = 'start';
          } else {
            if (available < max) break scan;
            this.onFrame(data.subarray(at, at + max), true);
            at += max;
            this.remaining -= max;
            this.mode = 'skip-counted';
          }
          continue;
        }
        case 'skip-counted': {
          const skip = Math.min(this.remaining, data.length - at);
          at += skip;
          this.remaining -= skip;
          if (this.remaining === 0) this.mode = 'start';
          continue;
        }
        case 'lf': {
          const newline = data.indexOf(LF, at);
          if (newline === -1) {
            if (data.length - at < max) break scan;
            this.onFrame(data.subarray(at, at + max), true);
            at += max;
            this.mode = 'skip-lf';
            continue;
          }
          if (newline - at > max) this.onFrame(data.subarray(at, at + max), true);
          else this.onFrame(data.subarray(at, newline), false);
          at = newline + 1;
          this.mode = 'start';
          continue;
        }
        case 'skip-lf': {
          const newline = data.indexOf(LF, at);
          if (newline === -1) {
            at = data.length;
            break scan;
          }
          at = newline + 1;
          this.mode = 'start';
          continue;
        }
      }
    }
    // A copy, so that a held partial frame does not keep the whole read alive.
    this.rest = at >= data.length ? EMPTY : Buffer.from(data.subarray(at));
  }

  /** The connection ended: a last LF-framed message without its LF still counts. */
  end(): void {
    if (this.rest.length > 0 && (this.mode === 'lf' || this.mode === 'start')) this.onFrame(this.rest, false);
    this.rest = EMPTY;
    this.mode = 'start';
  }
}
