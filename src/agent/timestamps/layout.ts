/**
 * What the finder learns of one file from its own lines (docs/timestamps.md, "Per-file
 * layout"): where its times stand, whether they are plain numbers, and the day/month
 * order of its numeric dates. One per file, never shared: the stamper owns it.
 */
export const ANCHOR_UNKNOWN = 0, ANCHOR_LEAD = 1, ANCHOR_KEY = 2, ANCHOR_WALK = 3, ANCHOR_COLUMN = 4;

/** Timed lines in a row whose time stood elsewhere before the layout is learned anew. */
export const RELEARN_AFTER = 3;
/** Lines in a row with an epoch in the same column (and no other time) that make it the file's time. */
export const COLUMN_AFTER = 3;
/** Lines at a file's start in which an epoch column is looked for. */
export const COLUMN_SEARCH_LINES = 32;

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
  /** For ANCHOR_COLUMN: the blank-separated field (0-based) that holds the epoch. */
  column = -1;
  /** While learning: the column an epoch stood in on the last untimed lines, and how many in a row. */
  candidateColumn = -1;
  candidateLines = 0;
  /** Untimed lines looked at for an epoch column. */
  searchedLines = 0;
}
