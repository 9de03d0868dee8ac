/**
 * What the finder learns of one file from its own lines (docs/timestamps.md, "Per-file
 * layout"): where its times stand, whether they are plain numbers, and the day/month
 * order of its numeric dates. One per file, never shared: the stamper owns it.
 */
export const ANCHOR_UNKNOWN = 0, ANCHOR_LEAD = 1, ANCHOR_KEY = 2, ANCHOR_WALK = 3;

/** Timed lines in a row whose time stood elsewhere before the layout is learned anew. */
export const RELEARN_AFTER = 3;

export class FileLayout {
  /** Where the file's times stand: at the line's lead, after `key`, or anywhere (walk). */
  anchor = ANCHOR_UNKNOWN;
  /** The text just before the time, e.g. `"time":"` or `ts=`, for ANCHOR_KEY. */
  key = '';
  /** The learned times are plain numbers (epochs, `yyMMdd HHmmss`). */
  bare = false;
  /** MONTH_FIRST or DAY_FIRST once a line showed it (a field over 12); 0 before. */
  order = 0;
  /** Timed lines in a row that disagreed with the learned anchor. */
  misses = 0;
}
