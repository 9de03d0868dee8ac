/**
 * A line's event time, per SPEC.md: the time written in the line; else the previous line's
 * in the same file; else (the first lines of a file) the file's modification time; only
 * lines written while the agent was tailing take the time they were read. Every time
 * handed on is within the storable range (signed 64-bit ns): a time the finder cannot
 * store counts as no time, and a previous time or mtime outside the range is passed over.
 */
import { msToNs } from '../common/time.js';
import { INT64_MAX } from '../protocol/names.js';
import { FileLayout, type TimestampParser } from './timestamps.js';

const INT64_MIN = -INT64_MAX - 1n;

function storable(ns: bigint | undefined): ns is bigint {
  return ns !== undefined && ns <= INT64_MAX && ns >= INT64_MIN;
}

/** ms as ns when storable (an mtime can be anything `touch -d` set), else undefined. */
function storableMs(ms: number): bigint | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const ns = msToNs(ms);
  return storable(ns) ? ns : undefined;
}

export class Stamper {
  /** What the finder learned of this file's lines (its layout): one per file. */
  readonly layout = new FileLayout();

  constructor(
    private readonly parser: TimestampParser,
    /** The previous line's time, carried over a restart by the checkpoint. */
    public lastTimestamp: bigint | undefined = undefined,
  ) {
    if (!storable(lastTimestamp)) this.lastTimestamp = undefined;
  }

  /**
   * `live`: the line was appended after the agent had caught up with the file.
   * `inherit`: the line continues a cut piece, so it cannot hold its own time.
   * (Plain arguments rather than an options object: this runs once per line.)
   */
  stamp(text: string, live: boolean, mtimeMs: number, nowMs: number, inherit = false): bigint {
    if (!inherit) {
      // Year-less formats are anchored to when the line can at latest have been written.
      const found = this.parser.parse(text, live ? nowMs : mtimeMs + 60_000, this.layout);
      if (storable(found)) {
        this.lastTimestamp = found;
        return found;
      }
    }
    if (this.lastTimestamp !== undefined) return this.lastTimestamp;
    return (live ? undefined : storableMs(mtimeMs)) ?? storableMs(nowMs) ?? msToNs(Date.now());
  }
}
