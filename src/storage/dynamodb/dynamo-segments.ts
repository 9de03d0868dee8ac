/**
 * The segments of the dynamodb store as the shared query engine reads them (SegmentBackend),
 * and the metadata item the writer and retention use. A segment is a small metadata item in
 * its host's partition (listed by Query, never carrying the blobs) plus blob items in the
 * segment's own partition (segment-blobs.ts): listing reads ~180 bytes per segment, a bloom
 * check reads only the bloom, and a scan only the data.
 */
import { GetItemCommand, QueryCommand, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { segmentMatchesList, type SegmentBackend, type SegmentListQuery, type SegmentMeta } from '../../query/backend.js';
import { attr, inParallel, queryAll, readBig, readN, readS, type Item } from './dynamo-client.js';
import { mergeNewestFirst } from './newest-first.js';
import { readBlob, type BlobSegment } from './segment-blobs.js';
import {
  COUNTER_KEY,
  fileSlotPrefix,
  HOSTS_PK,
  INDEX_BY_SEQ,
  INDEX_BY_TIME,
  ofSegmentPk,
  ofSegmentSk,
  ofSegmentTimeKey,
  segmentPk,
  segmentSk,
  segmentTimeKey,
  shardOf,
  timeKey,
  TTL_ATTRIBUTE,
} from './table-design.js';

const QUERY_CONCURRENCY = 8;

/** A listed segment: the engine's metadata plus what the store needs to find and delete it. */
export interface DynamoSegment extends SegmentMeta, BlobSegment {
  shard: number;
  /** The file's end offset before this segment (its slot) and after it. */
  previousEnd: number;
  nextEnd: number;
  storedBytes: number;
}

export interface SegmentContext {
  client: DynamoDBClient;
  table: string;
  shards: number;
  /** Retention in ns, when known: reads skip segments past it even before a sweep deletes them. */
  retentionNs?: bigint;
  now: () => bigint;
  /** Lines a host's head keeps (host-head.ts); 0 (or unset) writes no heads and reads none. */
  headLines?: number;
}

/**
 * The metadata item: what the keys already say (host, shard, file id, slot, max timestamp,
 * id, max seq) is not repeated, nor the arrival range or end offset when they are one value,
 * so the item stays near 180 bytes and one 4 KB read unit lists ~20 segments.
 */
export function segmentItem(segment: DynamoSegment, expiresAt: number | undefined): Item {
  return {
    pk: attr.s(segmentPk(segment.host, segment.shard)),
    sk: attr.s(segmentSk(segment.fileId, segment.previousEnd)),
    lt: attr.s(segmentTimeKey(segment.maxTimestamp, segment.id)),
    lq: attr.n(segment.maxSeq),
    fn: attr.s(segment.filename),
    p: attr.s(segment.path),
    fo: attr.n(segment.firstOffset),
    ...(segment.endOffset === segment.nextEnd ? {} : { eo: attr.n(segment.endOffset) }),
    ne: attr.n(segment.nextEnd),
    t0: attr.n(segment.minTimestamp),
    q0: attr.n(segment.minSeq),
    n: attr.n(segment.lineCount),
    rb: attr.n(segment.rawBytes),
    a: attr.bool(segment.ascii),
    ...(segment.minArrival === segment.maxArrival ? {} : { r0: attr.n(segment.minArrival) }),
    r1: attr.n(segment.maxArrival),
    sb: attr.n(segment.storedBytes),
    dp: attr.n(segment.dataParts),
    bp: attr.n(segment.bloomParts),
    ...(segment.combined ? { c: attr.bool(true) } : {}),
    ...(expiresAt === undefined ? {} : { [TTL_ATTRIBUTE]: attr.n(expiresAt) }),
  };
}

/** Reads a metadata item; items written before the keys stopped being repeated (h, f, id, t1, q1) read the same. */
export function segmentFromItem(item: Item): DynamoSegment {
  const { host, shard } = ofSegmentPk(readS(item, 'pk'));
  const { fileId, previousEnd } = ofSegmentSk(readS(item, 'sk'));
  const { maxTimestamp, segmentId } = ofSegmentTimeKey(readS(item, 'lt'));
  const nextEnd = readN(item, 'ne');
  const maxArrival = readBig(item, 'r1');
  return {
    id: segmentId,
    host,
    fileId,
    filename: readS(item, 'fn'),
    path: readS(item, 'p'),
    firstOffset: readN(item, 'fo'),
    endOffset: readN(item, 'eo', nextEnd),
    minTimestamp: readBig(item, 't0'),
    maxTimestamp,
    minSeq: readN(item, 'q0'),
    maxSeq: readN(item, 'lq'),
    lineCount: readN(item, 'n'),
    rawBytes: readN(item, 'rb'),
    ascii: item.a?.BOOL === true,
    minArrival: readBig(item, 'r0', maxArrival),
    maxArrival,
    shard,
    previousEnd,
    nextEnd,
    dataParts: readN(item, 'dp'),
    bloomParts: readN(item, 'bp'),
    combined: item.c?.BOOL === true,
    storedBytes: readN(item, 'sb'),
  };
}

/**
 * Where a file identity's chain of slots ends now: the end offset its newest slot records
 * (slots sort by the end offset they follow), 0 when it has none. One strongly consistent
 * Query of one item.
 */
export async function chainEnd(context: Pick<SegmentContext, 'client' | 'table' | 'shards'>, host: string, fileId: string): Promise<number> {
  const { client, table, shards } = context;
  const answer = await client.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': attr.s(segmentPk(host, shardOf(fileId, shards))), ':prefix': attr.s(fileSlotPrefix(fileId)) },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
      ProjectionExpression: 'ne',
    }),
  );
  const newest = answer.Items?.[0];
  return newest === undefined ? 0 : readN(newest, 'ne');
}

export class DynamoSegments implements SegmentBackend {
  constructor(private readonly context: SegmentContext) {}

  async hostNames(): Promise<string[]> {
    const { client, table } = this.context;
    const items = await queryAll(client, { TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': attr.s(HOSTS_PK) }, ConsistentRead: true, ProjectionExpression: 'sk' });
    return items.map((item) => readS(item, 'sk'));
  }

  /** The segment partitions of the query's hosts (every host when it names none). */
  private async partitions(query: SegmentListQuery): Promise<string[]> {
    const hosts = query.hosts?.length ? [...new Set(query.hosts)] : await this.hostNames();
    return hosts.flatMap((host) => Array.from({ length: this.context.shards }, (_, shard) => segmentPk(host, shard)));
  }

  /** The client-side part of a listing: the query's conditions the key did not apply, and retention. */
  visibility(query: SegmentListQuery, includeExpired: boolean): (segment: DynamoSegment) => boolean {
    const { retentionNs, now } = this.context;
    const retentionBound = retentionNs === undefined || includeExpired ? undefined : now() - retentionNs;
    return (segment) => segmentMatchesList(segment, query) && (retentionBound === undefined || segment.maxArrival >= retentionBound);
  }

  /** Every segment of the given hosts (all when empty), read with the narrowest key condition the query allows. */
  async listAll(query: SegmentListQuery, options: { includeExpired?: boolean } = {}): Promise<DynamoSegment[]> {
    const { client, table } = this.context;
    const pages = await inParallel(await this.partitions(query), QUERY_CONCURRENCY, (pk) => queryAll(client, this.keyCondition(table, pk, query)));
    return pages
      .flat()
      .map((item) => segmentFromItem(item))
      .filter(this.visibility(query, options.includeExpired === true));
  }

  /**
   * Newest first by max timestamp, lazily (newest-first.ts): the by_time index read backwards
   * from the top (or down to `minTimestamp`). Oldest first by min timestamp has no index, so
   * that order, and listings by file or seq, go through `listSegments`.
   */
  listSegmentsInOrder(query: SegmentListQuery, order: 'asc' | 'desc'): AsyncIterable<SegmentMeta[]> | undefined {
    if (order !== 'desc' || query.fileId !== undefined || query.maxSeqAbove !== undefined) return undefined;
    return this.newestFirst(query);
  }

  private async *newestFirst(query: SegmentListQuery): AsyncGenerator<SegmentMeta[]> {
    const { client, table } = this.context;
    const visible = this.visibility(query, false);
    const queries = (await this.partitions(query)).map((pk) => this.timeCondition(table, pk, query.minTimestamp));
    for await (const items of mergeNewestFirst(client, queries, 'lt')) {
      const page = items.map((item) => segmentFromItem(item)).filter(visible);
      if (page.length > 0) yield page;
    }
  }

  private timeCondition(table: string, pk: string, minTimestamp: bigint | undefined): QueryCommandInput {
    const base = { TableName: table, ConsistentRead: true, IndexName: INDEX_BY_TIME };
    if (minTimestamp === undefined) return { ...base, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': attr.s(pk) } };
    return { ...base, KeyConditionExpression: 'pk = :pk AND lt >= :t', ExpressionAttributeValues: { ':pk': attr.s(pk), ':t': attr.s(timeKey(minTimestamp)) } };
  }

  private keyCondition(table: string, pk: string, query: SegmentListQuery): QueryCommandInput {
    const base = { TableName: table, ConsistentRead: true };
    if (query.fileId !== undefined) {
      return { ...base, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': attr.s(pk), ':prefix': attr.s(fileSlotPrefix(query.fileId)) } };
    }
    if (query.maxSeqAbove !== undefined) {
      return { ...base, IndexName: INDEX_BY_SEQ, KeyConditionExpression: 'pk = :pk AND lq > :q', ExpressionAttributeValues: { ':pk': attr.s(pk), ':q': attr.n(query.maxSeqAbove) } };
    }
    if (query.minTimestamp !== undefined) return this.timeCondition(table, pk, query.minTimestamp);
    return { ...base, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': attr.s(pk) } };
  }

  listSegments(query: SegmentListQuery): Promise<SegmentMeta[]> {
    return this.listAll(query);
  }

  loadBloom(segment: SegmentMeta): Promise<Uint8Array | null> {
    return readBlob(this.context, segment as DynamoSegment, 'bloom');
  }

  loadData(segment: SegmentMeta): Promise<Buffer | null> {
    return readBlob(this.context, segment as DynamoSegment, 'data');
  }

  /** The highest committed seq (the watermark `c`). */
  lastSeq(): Promise<number> {
    return this.counter('c');
  }

  /** The highest reserved seq (`s`): committed, still to commit, or given up. */
  reservedSeq(): Promise<number> {
    return this.counter('s');
  }

  private async counter(name: 'c' | 's'): Promise<number> {
    const { client, table } = this.context;
    const answer = await client.send(new GetItemCommand({ TableName: table, Key: { pk: attr.s(COUNTER_KEY.pk), sk: attr.s(COUNTER_KEY.sk) }, ConsistentRead: true, ProjectionExpression: name }));
    return answer.Item === undefined ? 0 : readN(answer.Item, name, 0);
  }
}
