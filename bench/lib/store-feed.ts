/**
 * Generated files fed straight into a Store (no HTTP, no agent), for the component benches:
 * each file's lines spread evenly over one day, offsets as a file would have them.
 */
import type { AppendLine, AppendRequest } from '../../src/storage/store.js';
import type { GeneratedFile } from './datagen.js';

export const DAY_START_NS = BigInt(Date.UTC(2026, 0, 5)) * 1_000_000n;
const DAY_NS = 86_400_000_000_000n;

export interface StoreFeed {
  file: GeneratedFile;
  /** Lines of the file taken so far. */
  index: number;
  /** Byte offset of the next line. */
  offset: number;
}

/** The next lines of `feed` as one append of its file; `round` orders arrivals. */
export function appendOf(feed: StoreFeed, texts: readonly string[], round: number): AppendRequest {
  const lines: AppendLine[] = texts.map((line) => {
    const bytes = Buffer.byteLength(line);
    const timestamp = DAY_START_NS + (BigInt(feed.index++) * DAY_NS) / BigInt(feed.file.lines);
    const stored = { offset: feed.offset, end: feed.offset + bytes + 1, timestamp, line, cut: false };
    feed.offset += bytes + 1;
    return stored;
  });
  const { host, filename, path } = feed.file;
  return { host, files: [{ fileId: `inode-${host}-${filename}`, filename, path, lines }], receivedAt: DAY_START_NS + BigInt(round) };
}
