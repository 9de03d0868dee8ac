/**
 * POST /ingest's body as an append: the request as a whole must name a valid host (else the
 * whole request is refused); every file group and line is checked on its own by the protocol's
 * checks (src/protocol/ingest-check.ts), and what fails is named in `rejected` while the rest
 * is stored. Names are only ever data, never file-system paths.
 */
import { AppError } from '../common/errors.js';
import type { IngestRejection } from '../protocol/ingest.js';
import { checkIngestFiles, type CheckedFiles } from '../protocol/ingest-check.js';
import type { IngestEnvelopeValue } from '../protocol/ingest-schema.js';
import { nameProblem } from '../protocol/names.js';
import { boundFields } from '../query/fields.js';
import type { AppendFile, AppendRequest } from '../storage/store.js';
import type { IdentityBudget } from './identity-budget.js';

export interface ValidatedIngest {
  request: AppendRequest;
  lineCount: number;
  lineBytes: number;
  rejected: IngestRejection[];
}

/**
 * `budget`, when given, says which of the request's file identities are over the host's daily
 * bound (identity-budget.ts): their groups are named in `rejected` with HOST_FILE_LIMIT.
 */
export function toAppendRequest(body: IngestEnvelopeValue & { checked?: CheckedFiles }, receivedAt: bigint, budget?: IdentityBudget): ValidatedIngest {
  const hostProblem = nameProblem(body.host);
  if (hostProblem !== undefined) throw new AppError('INVALID_NAME', `host ${hostProblem}`);
  // A binary batch was checked as it was read (protocol/binary-batch.ts).
  const checked = body.checked ?? checkIngestFiles(body.files);
  const { rejected } = checked;
  let groups = checked.groups;
  if (budget !== undefined) {
    const refused = budget.admit(body.host, groups.map((group) => group.fileId));
    if (refused.size > 0) {
      for (const group of groups) {
        if (!refused.has(group.fileId)) continue;
        rejected.push({
          file: group.index,
          file_id: group.fileId,
          code: 'HOST_FILE_LIMIT',
          message: `host ${body.host} has written ${budget.limit} distinct files today (UTC), the most allowed (--max-files-per-host-day): this file's lines are refused until 00:00 UTC`,
        });
      }
      groups = groups.filter((group) => !refused.has(group.fileId));
    }
  }
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
      // The checked line is the append line (its `bytes` rides along, unread): a copy of each was
      // an object a line that lived until the lines were stored.
      if (line.fields !== undefined) line.fields = boundFields(line.fields);
      target.lines.push(line);
      lineCount += 1;
      lineBytes += line.bytes;
    }
  }
  return { request: { host: body.host, files: [...byId.values()], receivedAt }, lineCount, lineBytes, rejected };
}
