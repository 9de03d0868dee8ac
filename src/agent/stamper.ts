/**
 * A line's event time, per SPEC.md: the time written in the line; else the previous line's
 * in the same file; else (the first lines of a file) the file's modification time; only
 * lines written while the agent was tailing take the time they were read.
 */
import { msToNs } from '../common/time.js';
import type { TimestampParser } from './timestamps.js';

export class Stamper {
  constructor(
    private readonly parser: TimestampParser,
    /** The previous line's time, carried over a restart by the checkpoint. */
    public lastTimestamp: bigint | undefined = undefined,
  ) {}

  /**
   * `live`: the line was appended after the agent had caught up with the file.
   * `inherit`: the line continues a cut piece, so it cannot hold its own time.
   * (Plain arguments rather than an options object: this runs once per line.)
   */
  stamp(text: string, live: boolean, mtimeMs: number, nowMs: number, inherit = false): bigint {
    if (!inherit) {
      // Year-less formats are anchored to when the line can at latest have been written.
      const found = this.parser.parse(text, live ? nowMs : mtimeMs + 60_000);
      if (found !== undefined) {
        this.lastTimestamp = found;
        return found;
      }
    }
    if (this.lastTimestamp !== undefined) return this.lastTimestamp;
    return msToNs(live ? nowMs : mtimeMs);
  }
}
