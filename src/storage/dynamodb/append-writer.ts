/**
 * The write path of the dynamodb store, exactly once without transactions (dynalite, the
 * test double, has no TransactWriteItems, and a transaction would double the write units).
 *
 * Per file identity, its segments form a chain: the segment holding the lines after end
 * offset E lives at the slot (host, file id, E), and records the end offset after it. One
 * append, for each file:
 *   1. read where the identity's lines end: its chain's newest slot (or the hint retention
 *      leaves when it deletes the newest segments); lines below it are duplicates;
 *   2. reserve seqs for the rest: one UpdateItem ADD on the counter (a range; gaps allowed);
 *   3. encode the lines into segments of at most `maxSegmentBytes` of text and write their
 *      blobs with BatchWriteItem (invisible until step 4; they carry the TTL);
 *   4. commit each segment, in offset order, by putting its metadata at its slot with
 *      attribute_not_exists: the conditional write that advances the end offset. If another
 *      Daniel took the slot, follow the chain to the real end, delete our unused blobs,
 *      drop the lines that are now duplicates and go back to 2 with the rest;
 *   5. move the summaries (the agent's size report rides on the file name mention), merge
 *      the committed segments' newest lines into the host's head (host-head.ts: a verified
 *      cache, so a merge that gives up costs reads, never lines) and move the committed-seq
 *      watermark forward. No per-file hint is written: the chain is the truth.
 * Appends of one store instance run one at a time, so its seqs are committed in order.
 *
 * The settle window of live tail (settle-window.ts): a reservation is committed only while it
 * is younger than half the window. A commit that would come later is given up like a taken
 * slot (the lines go back to 2 for fresh seqs), so every seq reserved a window ago is either
 * visible or never will be, and a tail may move past it.
 */
import { randomBytes } from 'node:crypto';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { encodeSegment, type SegmentLine } from '../../segment/codec.js';
import { chunkLines, splitDuplicates, withSeqs } from '../append-plan.js';
import { segmentMetaOf } from '../../segment/meta.js';
import { StoreUnavailableError, type AppendFile, type AppendLine, type AppendRequest, type AppendResult } from '../store.js';
import { attr, batchGet, batchWrite, isConditionFailure, readN, type Item } from './dynamo-client.js';
import { chainEnd, type DynamoSegment, type SegmentContext } from './dynamo-segments.js';
import { blobDeletes, blobWrites } from './segment-blobs.js';
import { commitSegment, type CommitContext, type CommitOutcome } from './segment-commit.js';
import { mergeIntoHead, type HeadSegment } from './host-head.js';
import { updateHost, updateMention, type CountDelta } from './summaries.js';
import { COUNTER_KEY, hostKeyPk, identitySk, mentionSk, segmentPk, segmentSk, shardOf } from './table-design.js';

export interface WriterContext extends SegmentContext, CommitContext {
  /** Raw text bytes per segment: keeps data and bloom each within one 400 KB item for ordinary lines. */
  maxSegmentBytes: number;
}

/** Lines of TTL grace after retention: the sweep deletes first (and fixes counts); TTL is the backstop. */
const TTL_GRACE_SECONDS = 86_400;
/** Rounds in a row that commit nothing (slot taken, reservation too old) before an append gives up with 503. */
const COMMIT_ATTEMPTS = 20;

function newSegmentId(): string {
  return randomBytes(12).toString('base64url');
}

function expiresAt(context: WriterContext, receivedAt: bigint): number | undefined {
  if (context.retentionNs === undefined) return undefined;
  return Number((receivedAt + context.retentionNs) / 1_000_000_000n) + TTL_GRACE_SECONDS;
}

interface FileOutcome extends CountDelta {
  accepted: number;
  duplicates: number;
  end: number;
  maxSeq: number;
  /** The segments committed, with their lines, for the host's head. */
  committed: HeadSegment[];
}

export class AppendWriter {
  /** The newest stamp this writer drew (every reservation draws one): orders size reports. */
  private stamp = 0;

  constructor(private readonly context: WriterContext) {}

  async append(request: AppendRequest): Promise<AppendResult> {
    if (request.files.length === 0) return { accepted: 0, duplicates: 0 };
    const { host, receivedAt } = request;
    const stampBefore = this.stamp;
    const state = await this.readState(host, request.files);
    const newMentions = [...state.mentionKnown].filter(([, known]) => !known).map(([key]) => key);
    let ordinal = newMentions.length > 0 ? (await this.reserve(0, newMentions.length)).mentionEnd - newMentions.length : 0;
    const ordinals = new Map(newMentions.map((key) => [key, ++ordinal]));

    const total: CountDelta = { lines: 0, bytes: 0, storedBytes: 0, segments: 0 };
    const result: AppendResult = { accepted: 0, duplicates: 0 };
    const mentionDeltas = new Map<string, { filename: string; fileId: string; path: string; lines: number; bytes: number }>();
    let maxSeq = 0;
    const committed: HeadSegment[] = [];
    for (const file of request.files) {
      const outcome = await this.appendFile(host, file, state.ends.get(file.fileId) ?? 0, receivedAt);
      state.ends.set(file.fileId, outcome.end);
      result.accepted += outcome.accepted;
      result.duplicates += outcome.duplicates;
      for (const key of ['lines', 'bytes', 'storedBytes', 'segments'] as const) total[key] += outcome[key];
      maxSeq = Math.max(maxSeq, outcome.maxSeq);
      committed.push(...outcome.committed);
      const mentionKey = mentionSk(file.filename, file.fileId);
      const mention = mentionDeltas.get(mentionKey) ?? { filename: file.filename, fileId: file.fileId, path: file.path, lines: 0, bytes: 0 };
      mention.path = file.path;
      mention.lines += outcome.lines;
      mention.bytes += outcome.bytes;
      mentionDeltas.set(mentionKey, mention);
    }

    const summary = { client: this.context.client, table: this.context.table };
    const sizes = await this.stampedSizes(request.files, stampBefore);
    const heads = this.context.headLines ? mergeIntoHead(summary, host, committed, this.context.headLines).catch(() => undefined) : undefined;
    await Promise.all([
      ...[...mentionDeltas].map(([key, mention]) => {
        const size = sizes.get(mention.fileId);
        return updateMention(summary, { host, ...mention, ...(ordinals.has(key) ? { ordinal: ordinals.get(key)! } : {}), ...(size === undefined ? {} : { size }) }, mention, receivedAt);
      }),
      updateHost(summary, host, total, receivedAt),
      // The lines are committed: a head that cannot be written only costs readers the ordinary listing.
      heads,
    ]);
    if (maxSeq > 0) await this.markCommitted(maxSeq);
    return result;
  }

  /**
   * Where each identity's lines end now, and which mentions exist, strongly consistent. The end
   * is the newest slot's (the chain is the truth), or the hint retention leaves when it deleted
   * the newest segments, whichever is further.
   */
  private async readState(host: string, files: readonly AppendFile[]) {
    const { client, table } = this.context;
    const pk = attr.s(hostKeyPk(host));
    const fileIds = [...new Set(files.map((f) => f.fileId))];
    const mentionKeys = [...new Set(files.map((f) => mentionSk(f.filename, f.fileId)))];
    const [items, chainEnds] = await Promise.all([
      batchGet(client, table, [...fileIds.map(identitySk), ...mentionKeys].map((sk) => ({ pk, sk: attr.s(sk) }))),
      Promise.all(fileIds.map((fileId) => chainEnd(this.context, host, fileId))),
    ]);
    const bySk = new Map(items.map((item) => [item.sk!.S!, item]));
    const ends = new Map<string, number>();
    fileIds.forEach((fileId, i) => {
      const hint = bySk.get(identitySk(fileId));
      ends.set(fileId, Math.max(chainEnds[i]!, hint === undefined ? 0 : readN(hint, 'e', 0)));
    });
    return { ends, mentionKnown: new Map(mentionKeys.map((sk) => [sk, bySk.has(sk)])) };
  }

  /**
   * The size each identity last reported in this append, with a stamp this append drew from
   * the counter: files() shows the size of the highest stamp among the identity's mentions,
   * so the newest report wins even when it came under another filename (a rotated file). An
   * append that reserved nothing (a size report, a resend) draws a stamp alone.
   */
  private async stampedSizes(files: readonly AppendFile[], stampBefore: number): Promise<Map<string, { bytes: number; stamp: number }>> {
    const latest = new Map<string, number>();
    for (const file of files) if (file.size !== undefined) latest.set(file.fileId, file.size);
    if (latest.size > 0 && this.stamp === stampBefore) await this.reserve(0, 0);
    return new Map([...latest].map(([fileId, bytes]) => [fileId, { bytes, stamp: this.stamp }]));
  }

  /** Reserves `lines` seqs and `mentions` mention ordinals, and draws a stamp; returns the last of each range. */
  private async reserve(lines: number, mentions: number): Promise<{ seqEnd: number; mentionEnd: number }> {
    const { client, table } = this.context;
    const answer = await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: attr.s(COUNTER_KEY.pk), sk: attr.s(COUNTER_KEY.sk) },
        UpdateExpression: 'ADD s :s, m :m, k :one',
        ExpressionAttributeValues: { ':s': attr.n(lines), ':m': attr.n(mentions), ':one': attr.n(1) },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const item: Item = answer.Attributes ?? {};
    this.stamp = Math.max(this.stamp, readN(item, 'k', 0));
    return { seqEnd: readN(item, 's', 0), mentionEnd: readN(item, 'm', 0) };
  }

  private async markCommitted(seq: number): Promise<void> {
    const { client, table } = this.context;
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: attr.s(COUNTER_KEY.pk), sk: attr.s(COUNTER_KEY.sk) },
          UpdateExpression: 'SET c = :c',
          ConditionExpression: 'attribute_not_exists(c) OR c < :c',
          ExpressionAttributeValues: { ':c': attr.n(seq) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // another Daniel committed later seqs meanwhile
    }
  }

  private async appendFile(host: string, file: AppendFile, knownEnd: number, receivedAt: bigint): Promise<FileOutcome> {
    const outcome: FileOutcome = { accepted: 0, duplicates: 0, end: knownEnd, maxSeq: 0, lines: 0, bytes: 0, storedBytes: 0, segments: 0, committed: [] };
    let pending: readonly AppendLine[] = file.lines;
    // Lines per round: halved when a round's reservation got too old before it committed anything.
    let roundLines = Infinity;
    for (let failures = 0; ; ) {
      if (failures === COMMIT_ATTEMPTS) throw new StoreUnavailableError('Too many concurrent writers on one file, or DynamoDB too slow to commit within the settle window; retry later');
      const split = splitDuplicates(pending, outcome.end);
      outcome.duplicates += split.duplicates;
      if (split.fresh.length === 0) return outcome;
      const round = split.fresh.slice(0, roundLines);
      // Taken before the reservation is sent: the reservation is at least this old (settle-window.ts).
      const reservedAt = performance.now();
      const { seqEnd } = await this.reserve(round.length, 0);
      const lines = withSeqs(round, seqEnd - round.length);
      const segmentsBefore = outcome.segments;
      const stop = await this.writeSegments(host, file, lines, outcome, receivedAt, reservedAt);
      const progressed = outcome.segments > segmentsBefore;
      failures = progressed ? 0 : failures + 1;
      if (stop === undefined) {
        pending = split.fresh.slice(round.length);
        continue;
      }
      if (stop.outcome !== 'taken' && !progressed) roundLines = Math.max(1, Math.floor(round.length / 2));
      // The lines from that segment on are checked again against the real end (another writer's, or our own late put's).
      pending = split.fresh.filter((line) => line.offset >= stop.segment.firstOffset);
      outcome.end = await this.walkChain(host, file.fileId, stop.segment.previousEnd);
    }
  }

  /** Writes and commits the segments of fresh lines; returns the first segment that did not commit, if any, and why. */
  private async writeSegments(
    host: string,
    file: AppendFile,
    lines: SegmentLine[],
    outcome: FileOutcome,
    receivedAt: bigint,
    reservedAt: number,
  ): Promise<{ segment: DynamoSegment; outcome: Exclude<CommitOutcome, 'committed'> } | undefined> {
    const { client, table, shards, maxSegmentBytes } = this.context;
    const expiry = expiresAt(this.context, receivedAt);
    const shard = shardOf(file.fileId, shards);
    const segments: DynamoSegment[] = [];
    const chunks: SegmentLine[][] = [];
    const writes = [];
    let end = outcome.end;
    for (const chunk of chunkLines(lines, maxSegmentBytes)) {
      const encoded = encodeSegment(chunk);
      const id = newSegmentId();
      const blobs = blobWrites(id, encoded, expiry);
      writes.push(...blobs.requests);
      const previousEnd = end;
      chunks.push(chunk);
      for (const line of chunk) end = Math.max(end, line.end);
      segments.push({
        ...segmentMetaOf(id, encoded, { host, fileId: file.fileId, filename: file.filename, path: file.path }, { minArrival: receivedAt, maxArrival: receivedAt }),
        shard,
        previousEnd,
        nextEnd: end,
        dataParts: blobs.dataParts,
        bloomParts: blobs.bloomParts,
        combined: blobs.combined,
        storedBytes: blobs.storedBytes,
      });
    }
    await batchWrite(client, table, writes);
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const commit = await commitSegment(this.context, segment, expiry, reservedAt);
      if (commit !== 'committed') {
        // A put that may still land keeps its blobs; TTL catches what this misses.
        const unused = segments.slice(commit === 'unknown' ? i + 1 : i);
        await batchWrite(client, table, unused.flatMap(blobDeletes)).catch(() => undefined);
        return { segment, outcome: commit };
      }
      outcome.accepted += segment.lineCount;
      outcome.lines += segment.lineCount;
      outcome.bytes += segment.rawBytes;
      outcome.storedBytes += segment.storedBytes;
      outcome.segments += 1;
      outcome.end = segment.nextEnd;
      outcome.maxSeq = Math.max(outcome.maxSeq, segment.maxSeq);
      outcome.committed.push({ id: segment.id, fileId: segment.fileId, maxTimestamp: segment.maxTimestamp, lines: chunks[i]! });
    }
    return undefined;
  }

  /** The real end offset of a file identity: follow the chain of slots from a known end until a slot is free. */
  async walkChain(host: string, fileId: string, from: number): Promise<number> {
    const { client, table, shards } = this.context;
    const pk = attr.s(segmentPk(host, shardOf(fileId, shards)));
    let end = from;
    for (;;) {
      const answer = await client.send(new GetItemCommand({ TableName: table, Key: { pk, sk: attr.s(segmentSk(fileId, end)) }, ConsistentRead: true, ProjectionExpression: 'ne' }));
      if (answer.Item === undefined) return end;
      end = readN(answer.Item, 'ne');
    }
  }
}
