/**
 * The rules a file group and a line of an ingest request must keep, with their messages: one
 * place for both bodies, JSON (ingest-check.ts) and binary (binary-batch.ts). Plain functions
 * without the schema library, so Henrik, which reads its own binary batches back, does not
 * load and compile the JSON schema at start.
 */
import { CONTROL, LONE_SURROGATE, MAX_PATH_BYTES, nameProblem } from './names.js';

/** Why a group's names are refused (INVALID_NAME), `at` being `files[i]`; undefined when they are fine. */
export function groupNameProblem(at: string, fileId: string, filename: string, path: string): string | undefined {
  const idProblem = nameProblem(fileId);
  if (idProblem !== undefined) return `${at}.file_id ${idProblem}`;
  const nameIssue = nameProblem(filename);
  if (nameIssue !== undefined) return `${at}.filename ${nameIssue}`;
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES || CONTROL.test(path) || LONE_SURROGATE.test(path)) {
    return `${at}.path is over ${MAX_PATH_BYTES} bytes or holds control characters`;
  }
  return undefined;
}

/**
 * A line's name in messages, `files[i].lines[j]`, `at` being `files[i]`. The rules below spell
 * it out only for a line they refuse: made for every line, it was a string and a number's
 * digits a line on the ingest path.
 */
export function lineName(at: string, lineIndex: number): string {
  return `${at}.lines[${lineIndex}]`;
}

/** A line starting before the end of its identity's previous line in the request: why it is refused. */
export function orderProblem(at: string, lineIndex: number, offset: number, previousEnd: number): string | undefined {
  return offset < previousEnd ? `Body field ${lineName(at, lineIndex)}.offset must not be below the end (${previousEnd}) of the file's previous line in this request` : undefined;
}

/** Why a line's end (given or derived) is refused. */
export function endProblem(at: string, lineIndex: number, offset: number, end: number): string | undefined {
  if (end <= offset) return `Body field ${lineName(at, lineIndex)}.end must be greater than its offset`;
  if (!Number.isSafeInteger(end)) return `Body field ${lineName(at, lineIndex)}.end is too large`;
  return undefined;
}

/** A line's fields: the group's labels with its own over them; undefined when neither has any. */
export function lineFields(labels: Readonly<Record<string, string>> | undefined, own: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  const hasOwn = own !== undefined && Object.keys(own).length > 0;
  if (labels === undefined || Object.keys(labels).length === 0) return hasOwn ? { ...own } : undefined;
  return hasOwn ? { ...labels, ...own } : { ...labels };
}
