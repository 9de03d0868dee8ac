/**
 * Retention for the dynamodb store: delete whole segments whose newest line arrived before
 * a bound. Each segment's metadata is deleted with a condition that it still exists, so when
 * several Daniels sweep at once each segment is counted off the summaries once. Before any
 * deletion the file's end-offset hint is moved past the deleted segments: the chain of slots
 * (append-writer.ts) then never needs them to know what is a duplicate. Blobs go last, so a
 * reader holding the metadata sees the segment vanish, which the query engine handles.
 * AWS's TTL (`expires_at`, retention plus a day) is only the backstop for orphans.
 */
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import type { RetentionResult } from '../store.js';
import { attr, batchWrite, inParallel, isConditionFailure } from './dynamo-client.js';
import type { DynamoSegment, DynamoSegments, SegmentContext } from './dynamo-segments.js';
import { blobDeletes } from './segment-blobs.js';
import { updateHost, updateIdentity, updateMention, type CountDelta } from './summaries.js';
import { segmentPk, segmentSk } from './table-design.js';

export async function deleteSegmentsArrivedBefore(context: SegmentContext, segments: DynamoSegments, arrivedBefore: bigint): Promise<RetentionResult> {
  const { client, table } = context;
  const summary = { client, table };
  const expired = (await segments.listAll({}, { includeExpired: true })).filter((segment) => segment.maxArrival < arrivedBefore);
  if (expired.length === 0) return { deletedLines: 0 };

  const hints = new Map<string, { host: string; fileId: string; end: number }>();
  for (const segment of expired) {
    const key = `${segment.host}\u0000${segment.fileId}`;
    const hint = hints.get(key);
    if (hint === undefined || hint.end < segment.nextEnd) hints.set(key, { host: segment.host, fileId: segment.fileId, end: segment.nextEnd });
  }
  await inParallel([...hints.values()], 8, (hint) => updateIdentity(summary, hint.host, hint.fileId, hint.end));

  const deleted = await inParallel(expired, 8, async (segment): Promise<DynamoSegment | null> => {
    try {
      await client.send(
        new DeleteItemCommand({
          TableName: table,
          Key: { pk: attr.s(segmentPk(segment.host, segment.shard)), sk: attr.s(segmentSk(segment.fileId, segment.previousEnd)) },
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
      return segment;
    } catch (error) {
      if (isConditionFailure(error)) return null; // another sweep took it
      throw error;
    }
  });
  const gone = deleted.filter((segment): segment is DynamoSegment => segment !== null);

  const hostDeltas = new Map<string, CountDelta>();
  const mentionDeltas = new Map<string, { host: string; filename: string; fileId: string; lines: number; bytes: number }>();
  for (const segment of gone) {
    const host = hostDeltas.get(segment.host) ?? { lines: 0, bytes: 0, storedBytes: 0, segments: 0 };
    host.lines -= segment.lineCount;
    host.bytes -= segment.rawBytes;
    host.storedBytes -= segment.storedBytes;
    host.segments -= 1;
    hostDeltas.set(segment.host, host);
    const key = `${segment.host}\u0000${segment.filename}\u0000${segment.fileId}`;
    const mention = mentionDeltas.get(key) ?? { host: segment.host, filename: segment.filename, fileId: segment.fileId, lines: 0, bytes: 0 };
    mention.lines -= segment.lineCount;
    mention.bytes -= segment.rawBytes;
    mentionDeltas.set(key, mention);
  }
  await Promise.all([
    ...[...hostDeltas].map(([host, delta]) => updateHost(summary, host, delta, undefined)),
    ...[...mentionDeltas.values()].map((mention) => updateMention(summary, mention, mention, undefined)),
  ]);
  await batchWrite(client, table, gone.flatMap(blobDeletes));
  return { deletedLines: gone.reduce((sum, segment) => sum + segment.lineCount, 0) };
}
