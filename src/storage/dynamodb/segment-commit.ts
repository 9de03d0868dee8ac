/**
 * Step 4 of the write path (append-writer.ts): commit one segment by putting its metadata at
 * its slot with attribute_not_exists, the conditional write that advances the file's end
 * offset, within the settle window's deadline (settle-window.ts): a commit is only sent, and
 * only waited for, while its seq reservation is younger than half the window.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { attr, isConditionFailure, readS } from './dynamo-client.js';
import { segmentItem, type DynamoSegment } from './dynamo-segments.js';
import { ofSegmentTimeKey, segmentPk, segmentSk } from './table-design.js';

export interface CommitContext {
  client: DynamoDBClient;
  table: string;
  /** The settle window of live tail (ms); 0 turns it off. A reservation is committed only while younger than half of it. */
  settleMs: number;
  /** Runs before each segment's commit (tests make a commit late with it). */
  beforeCommit?: (segment: { host: string; fileId: string; minSeq: number; maxSeq: number }) => Promise<void>;
}

/** What became of one segment's commit. */
export type CommitOutcome =
  | 'committed'
  /** Another writer holds the slot. */
  | 'taken'
  /** The reservation got too old before the put was sent: nothing was sent. */
  | 'expired'
  /** The put was sent but cut at the deadline: it may still land, so its blobs stay; the slot decides. */
  | 'unknown';

/**
 * Puts the segment's metadata at its slot. `reservedAt` is when its seqs' reservation was sent
 * (performance.now()); past half the settle window no attempt is sent (the SDK's retries
 * included) and one in flight is cut, so every commit of a seq is sent within W/2 of its
 * reservation, or the lines are reserved again.
 */
export async function commitSegment(context: CommitContext, segment: DynamoSegment, expiresAt: number | undefined, reservedAt: number): Promise<CommitOutcome> {
  const { client, table, settleMs, beforeCommit } = context;
  await beforeCommit?.({ host: segment.host, fileId: segment.fileId, minSeq: segment.minSeq, maxSeq: segment.maxSeq });
  const left = settleMs > 0 ? reservedAt + settleMs / 2 - performance.now() : Infinity;
  if (left <= 0) return 'expired';
  const abortSignal = left === Infinity ? undefined : AbortSignal.timeout(Math.ceil(left));
  try {
    const put = new PutItemCommand({ TableName: table, Item: segmentItem(segment, expiresAt), ConditionExpression: 'attribute_not_exists(pk)' });
    await client.send(put, abortSignal === undefined ? {} : { abortSignal });
    return 'committed';
  } catch (error) {
    // A retry of our own put whose answer was lost also fails the condition: the slot then holds this segment.
    if (isConditionFailure(error)) return (await slotHolds(context, segment)) ? 'committed' : 'taken';
    if (abortSignal?.aborted === true) return 'unknown';
    throw error;
  }
}

/** Whether the segment's slot holds this very segment (its id is in the time key). */
async function slotHolds(context: CommitContext, segment: DynamoSegment): Promise<boolean> {
  const { client, table } = context;
  const key = { pk: attr.s(segmentPk(segment.host, segment.shard)), sk: attr.s(segmentSk(segment.fileId, segment.previousEnd)) };
  const answer = await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true, ProjectionExpression: 'lt' }));
  return answer.Item !== undefined && ofSegmentTimeKey(readS(answer.Item, 'lt')).segmentId === segment.id;
}
