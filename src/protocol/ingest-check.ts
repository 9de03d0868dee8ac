/**
 * The checks of an ingest body, group by group and line by line, in one place: Daniel runs
 * them to store what is valid and name what is not; Henrik and the tests can run them to know
 * before sending that nothing would be refused. A bad group or line is refused alone: it never
 * costs another group or line of the request.
 */
import { Compile } from 'typebox/compile';
import type { IngestRejection } from './ingest.js';
import { IngestFileHeadSchema, IngestLineSchema } from './ingest-schema.js';
import { endProblem, groupNameProblem, lineFields, lineName, orderProblem } from './ingest-rules.js';
import { parseWireTimestamp, wellFormed } from './names.js';

/** A line that passed every check: the timestamp parsed, the text well-formed, the end known. */
export interface CheckedLine {
  offset: number;
  end: number;
  timestamp: bigint;
  line: string;
  cut: boolean;
  /** UTF-8 bytes of the text. */
  bytes: number;
  /** The group's labels with the line's own fields over them; absent when neither has any. */
  fields?: Record<string, string>;
}

/** A file group that passed its checks, with the lines that passed theirs. */
export interface CheckedGroup {
  /** Index in the request's `files`. */
  index: number;
  fileId: string;
  filename: string;
  path: string;
  size?: number;
  lines: CheckedLine[];
}

export interface CheckedFiles {
  groups: CheckedGroup[];
  rejected: IngestRejection[];
}

interface Issue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const headCheck = Compile(IngestFileHeadSchema);
const lineCheck = Compile(IngestLineSchema);

/** `/lines/3/offset` under `files[0]` -> `files[0].lines[3].offset` */
function fieldOf(prefix: string, instancePath: string): string {
  let out = prefix;
  for (const part of instancePath.split('/').slice(1)) out += /^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`;
  return out;
}

/** The first schema issue as `Body field <field> <what is wrong>`. */
function describe(prefix: string, issues: readonly Issue[]): string {
  const issue = issues[0] ?? {};
  let field = fieldOf(prefix, issue.instancePath ?? '');
  let message = issue.message ?? 'is not valid';
  if (issue.keyword === 'required') {
    const required = issue.params?.requiredProperties;
    const missing = Array.isArray(required) && typeof required[0] === 'string' ? required[0] : undefined;
    if (missing !== undefined) field += `.${missing}`;
    message = 'is required';
  } else if (issue.keyword === 'pattern' && field.endsWith('timestamp')) {
    message = 'must be a signed decimal string of nanoseconds since the epoch';
  }
  return `Body field ${field} ${message}`;
}

const isSafeOffset = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Whether a line (its offset already checked) has the shape Henrik sends, which the line
 * schema accepts but for the timestamp's pattern: text and timestamp strings, `end` and `cut`
 * absent or of their types, no `fields`. Such a line skips the compiled schema check; its
 * timestamp's pattern is checked by parseWireTimestamp.
 */
function plainLine(line: unknown): line is { offset: number; timestamp: string; line: string; end?: number; cut?: boolean; fields?: undefined } {
  if (typeof line !== 'object' || line === null) return false;
  const { timestamp, line: text, end, cut, fields } = line as Record<string, unknown>;
  return (
    typeof timestamp === 'string' &&
    typeof text === 'string' &&
    fields === undefined &&
    (end === undefined || (typeof end === 'number' && Number.isSafeInteger(end) && end >= 1)) &&
    (cut === undefined || typeof cut === 'boolean')
  );
}

/**
 * Checks the request's `files`. Groups of one file identity continue each other: a line must
 * start at or after the end of the identity's previous line in the request, so a line with a
 * wrong end can never make a later valid one look like a duplicate without being named.
 */
export function checkIngestFiles(files: readonly unknown[]): CheckedFiles {
  const groups: CheckedGroup[] = [];
  const rejected: IngestRejection[] = [];
  const lastEnd = new Map<string, number>();
  files.forEach((value, index) => {
    const at = `files[${index}]`;
    const rawId = (value as { file_id?: unknown } | null)?.file_id;
    const fileId = typeof rawId === 'string' ? rawId : '';
    const refuseGroup = (code: string, message: string): void => {
      rejected.push({ file: index, file_id: fileId, code, message });
    };
    if (!headCheck.Check(value)) {
      refuseGroup('INVALID_BODY', describe(at, headCheck.Errors(value) as Issue[]));
      return;
    }
    const path = value.path ?? '';
    const nameIssue = groupNameProblem(at, value.file_id, value.filename, path);
    if (nameIssue !== undefined) return refuseGroup('INVALID_NAME', nameIssue);
    // A line without a usable offset cannot be named alone: the group is refused.
    const badOffset = value.lines.findIndex((line) => !isSafeOffset((line as { offset?: unknown } | null)?.offset));
    if (badOffset >= 0) {
      const line = value.lines[badOffset];
      const issues = lineCheck.Check(line) ? [] : (lineCheck.Errors(line) as Issue[]);
      const offsetIssue = issues.find((issue) => issue.instancePath === '/offset' || issue.keyword === 'required' || issue.instancePath === '');
      return refuseGroup('INVALID_BODY', describe(lineName(at, badOffset), offsetIssue ? [offsetIssue] : issues));
    }
    const labels = value.labels;
    const group: CheckedGroup = { index, fileId: value.file_id, filename: value.filename, path, lines: [] };
    if (value.size !== undefined) group.size = value.size;
    let previousEnd = lastEnd.get(value.file_id) ?? -1;
    value.lines.forEach((line, lineIndex) => {
      const field = lineName(at, lineIndex);
      const offset = (line as { offset: number }).offset;
      const refuseLine = (message: string): void => {
        rejected.push({ file: index, file_id: value.file_id, offset, code: 'INVALID_BODY', message });
      };
      const plain = plainLine(line);
      if (!plain && !lineCheck.Check(line)) return refuseLine(describe(field, lineCheck.Errors(line) as Issue[]));
      const timestamp = parseWireTimestamp(line.timestamp);
      if (timestamp === undefined) {
        // A plain line skipped the schema: its timestamp may break the pattern rather than the range.
        if (plain && !lineCheck.Check(line)) return refuseLine(describe(field, lineCheck.Errors(line) as Issue[]));
        return refuseLine(`Body field ${field}.timestamp is outside the signed 64-bit nanosecond range`);
      }
      const outOfOrder = orderProblem(at, lineIndex, offset, previousEnd);
      if (outOfOrder !== undefined) return refuseLine(outOfOrder);
      const text = wellFormed(line.line);
      const bytes = Buffer.byteLength(text, 'utf8');
      const end = line.end ?? offset + bytes + 1;
      const badEnd = endProblem(at, lineIndex, offset, end);
      if (badEnd !== undefined) return refuseLine(badEnd);
      const checked: CheckedLine = { offset, end, timestamp, line: text, cut: line.cut === true, bytes };
      const fields = lineFields(labels, line.fields);
      if (fields !== undefined) checked.fields = fields;
      group.lines.push(checked);
      previousEnd = end;
    });
    lastEnd.set(value.file_id, previousEnd);
    groups.push(group);
  });
  return { groups, rejected };
}
