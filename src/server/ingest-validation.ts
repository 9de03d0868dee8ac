/**
 * POST /ingest's body as an append: the request as a whole must name a valid host (else the
 * whole request is refused); every file group and line is checked on its own by the protocol's
 * checks (src/protocol/ingest-check.ts), and what fails is named in `rejected` while the rest
 * is stored. Names are only ever data, never file-system paths.
 */
import { AppError } from '../common/errors.js';
import type { IngestRejection } from '../protocol/ingest.js';
import { checkIngestFiles } from '../protocol/ingest-check.js';
import type { IngestEnvelopeValue } from '../protocol/ingest-schema.js';
import { nameProblem } from '../protocol/names.js';
import { boundFields } from '../query/fields.js';
import type { AppendFile, AppendLine, AppendRequest } from '../storage/store.js';

export interface ValidatedIngest {
  request: AppendRequest;
  lineCount: number;
  lineBytes: number;
  rejected: IngestRejection[];
}

export function toAppendRequest(body: IngestEnvelopeValue, receivedAt: bigint): ValidatedIngest {
  const hostProblem = nameProblem(body.host);
  if (hostProblem !== undefined) throw new AppError('INVALID_NAME', `host ${hostProblem}`);
  const { groups, rejected } = checkIngestFiles(body.files);
  // One identity may come in several groups of one request: they continue each other.
  const byId = new Map<string, AppendFile>();
  let lineCount = 0;
  let lineBytes = 0;
  for (const group of groups) {
    let target = byId.get(group.fileId);
    if (!target) {
      target = { fileId: group.fileId, filename: group.filename, path: group.path, lines: [] };
      byId.set(group.fileId, target);
    }
    if (group.size !== undefined) target.size = group.size;
    for (const line of group.lines) {
      const append: AppendLine = { offset: line.offset, end: line.end, timestamp: line.timestamp, line: line.line, cut: line.cut };
      if (line.fields !== undefined) {
        const fields = boundFields(line.fields);
        if (fields !== undefined) append.fields = fields;
      }
      target.lines.push(append);
      lineCount += 1;
      lineBytes += line.bytes;
    }
  }
  return { request: { host: body.host, files: [...byId.values()], receivedAt }, lineCount, lineBytes, rejected };
}
