/**
 * The checks of POST /ingest that a JSON schema cannot express: names (which are only ever
 * data, never file-system paths, but are still refused when they could mislead someone who
 * treats them as one), offset order, timestamp range. Each error names the field.
 */
import type { Static } from 'typebox';
import { AppError } from '../common/errors.js';
import { CONTROL, INT64_MAX, LONE_SURROGATE, MAX_PATH_BYTES, nameProblem } from '../protocol/names.js';
import type { AppendFile, AppendRequest } from '../storage/store.js';
import type { IngestBody } from './schemas.js';

export type IngestBodyValue = Static<typeof IngestBody>;

function checkName(name: string, field: string): void {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new AppError('INVALID_NAME', `${field} ${problem}`);
}

/** Lone surrogates (from `\ud800` escapes) cannot be stored as UTF-8: they become U+FFFD. */
function wellFormed(text: string): string {
  return (text as string & { toWellFormed(): string }).toWellFormed();
}

function parseTimestamp(text: string, field: string): bigint {
  const value = BigInt(text);
  if (value > INT64_MAX) throw new AppError('INVALID_BODY', `Body field ${field} is past the largest 64-bit nanosecond time`);
  return value;
}

export interface ValidatedIngest {
  request: AppendRequest;
  lineCount: number;
  lineBytes: number;
}

export function toAppendRequest(body: IngestBodyValue, receivedAt: bigint): ValidatedIngest {
  checkName(body.host, 'host');
  const byId = new Map<string, AppendFile>();
  let lineCount = 0;
  let lineBytes = 0;
  body.files.forEach((file, fileIndex) => {
    const at = `files[${fileIndex}]`;
    checkName(file.file_id, `${at}.file_id`);
    checkName(file.filename, `${at}.filename`);
    const path = file.path ?? '';
    if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES || CONTROL.test(path) || LONE_SURROGATE.test(path)) {
      throw new AppError('INVALID_NAME', `${at}.path is over ${MAX_PATH_BYTES} bytes or holds control characters`);
    }
    // One identity may come in several groups of one request: they continue each other.
    let target = byId.get(file.file_id);
    if (!target) {
      target = { fileId: file.file_id, filename: file.filename, path, lines: [] };
      byId.set(file.file_id, target);
    }
    if (file.size !== undefined) target.size = file.size;
    let previousOffset = target.lines.at(-1)?.offset ?? -1;
    file.lines.forEach((line, lineIndex) => {
      const field = `${at}.lines[${lineIndex}]`;
      if (line.offset <= previousOffset) {
        throw new AppError('INVALID_BODY', `Body field ${field}.offset must be greater than the previous line's offset (${previousOffset}) of this file`);
      }
      const text = wellFormed(line.line);
      const bytes = Buffer.byteLength(text, 'utf8');
      const end = line.end ?? line.offset + bytes + 1;
      if (end <= line.offset) throw new AppError('INVALID_BODY', `Body field ${field}.end must be greater than its offset`);
      if (!Number.isSafeInteger(end)) throw new AppError('INVALID_BODY', `Body field ${field}.end is too large`);
      target.lines.push({
        offset: line.offset,
        end,
        timestamp: parseTimestamp(line.timestamp, `${field}.timestamp`),
        line: text,
        cut: line.cut === true,
      });
      previousOffset = line.offset;
      lineCount += 1;
      lineBytes += bytes;
    });
  });
  return { request: { host: body.host, files: [...byId.values()], receivedAt }, lineCount, lineBytes };
}
