/**
 * The segments of the dynamodb store as the shared query engine reads them (SegmentBackend),
 * and the item shapes the writer and retention use. A segment is a small metadata item in
 * its host's partition (listed by Query, never carrying the blobs) plus blob items of at
 * most BLOB_PART_BYTES each in the segment's own partition: listing reads a few hundred
 * bytes per segment, a bloom check reads only the bloom, and a scan only the data.
 */
import { GetItemCommand, type DynamoDBClient, type QueryCommandInput, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { EncodedSegment } from '../../query/segment-codec.js';
import { segmentMatchesList, type SegmentBackend, type SegmentListQuery, type SegmentMeta } from '../segment-backend.js';
import { attr, inParallel, queryAll, readBig, readN, readS, type Item } from './dynamo-client.js';
import {
  blobPartSk,
  blobPk,
  COUNTER_KEY,
  fileSlotPrefix,
  HOSTS_PK,
  INDEX_BY_SEQ,
  INDEX_BY_TIME,
  segmentPk,
  segmentSk,
  timeKey,
  TTL_ATTRIBUTE,
} from './table-design.js';

/** Well under the 400 KB item limit, with room for the key and attribute names. */
export const BLOB_PART_BYTES = 350_000;
const QUERY_CONCURRENCY = 8;

/** A listed segment: the engine's metadata plus what the store needs to find and delete it. */
export interface DynamoSegment extends SegmentMeta {
  shard: number;
  /** The file's end offset before this segment (its slot) and after it. */
  previousEnd: number;
  nextEnd: number;
  dataParts: number;
  bloomParts: number;
  storedBytes: number;
}

export interface SegmentContext {
  client: DynamoDBClient;
  table: string;
  shards: number;
  /** Retention in ns, when known: reads skip segments past it even before a sweep deletes them. */
  retentionNs?: bigint;
  now: () => bigint;
}

function parts(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += BLOB_PART_BYTES) out.push(bytes.subarray(i, i + BLOB_PART_BYTES));
  return out.length === 0 ? [Buffer.alloc(0)] : out;
}

/** The put requests of a segment's blob items (data and bloom, split into parts). */
export function blobWrites(id: string, encoded: EncodedSegment, expiresAt: number | undefined): { requests: WriteRequest[]; dataParts: number; bloomParts: number } {
  const requests: WriteRequest[] = [];
  const put = (kind: 'data' | 'bloom', chunks: Buffer[]): void =>
    chunks.forEach((chunk, index) =>
      requests.push({
        PutRequest: {
          Item: { pk: attr.s(blobPk(id)), sk: attr.s(blobPartSk(kind, index)), v: attr.b(chunk), ...(expiresAt === undefined ? {} : { [TTL_ATTRIBUTE]: attr.n(expiresAt) }) },
        },
      }),
    );
  const data = parts(encoded.data);
  const bloom = parts(encoded.bloom);
  put('data', data);
  put('bloom', bloom);
  return { requests, dataParts: data.length, bloomParts: bloom.length };
}

export function blobDeletes(segment: Pick<DynamoSegment, 'id' | 'dataParts' | 'bloomParts'>): WriteRequest[] {
  const keys: WriteRequest[] = [];
  for (let i = 0; i < segment.dataParts; i++) keys.push({ DeleteRequest: { Key: { pk: attr.s(blobPk(segment.id)), sk: attr.s(blobPartSk('data', i)) } } });
  for (let i = 0; i < segment.bloomParts; i++) keys.push({ DeleteRequest: { Key: { pk: attr.s(blobPk(segment.id)), sk: attr.s(blobPartSk('bloom', i)) } } });
  return keys;
}

export function segmentItem(segment: DynamoSegment, expiresAt: number | undefined): Item {
  return {
    pk: attr.s(segmentPk(segment.host, segment.shard)),
    sk: attr.s(segmentSk(segment.fileId, segment.previousEnd)),
    lt: attr.s(`${timeKey(segment.maxTimestamp)}#${segment.id}`),
    lq: attr.n(segment.maxSeq),
    id: attr.s(segment.id),
    h: attr.s(segment.host),
    f: attr.s(segment.fileId),
    fn: attr.s(segment.filename),
    p: attr.s(segment.path),
    fo: attr.n(segment.firstOffset),
    eo: attr.n(segment.endOffset),
    ne: attr.n(segment.nextEnd),
    t0: attr.n(segment.minTimestamp),
    t1: attr.n(segment.maxTimestamp),
    q0: attr.n(segment.minSeq),
    q1: attr.n(segment.maxSeq),
    n: attr.n(segment.lineCount),
    rb: attr.n(segment.rawBytes),
    a: attr.bool(segment.ascii),
    r0: attr.n(segment.minArrival),
    r1: attr.n(segment.maxArrival),
    sb: attr.n(segment.storedBytes),
    dp: attr.n(segment.dataParts),
    bp: attr.n(segment.bloomParts),
    ...(expiresAt === undefined ? {} : { [TTL_ATTRIBUTE]: attr.n(expiresAt) }),
  };
}

export function segmentFromItem(item: Item): DynamoSegment {
  const pk = readS(item, 'pk');
  return {
    id: readS(item, 'id'),
    host: readS(item, 'h'),
    fileId: readS(item, 'f'),
    filename: readS(item, 'fn'),
    path: readS(item, 'p'),
    firstOffset: readN(item, 'fo'),
    endOffset: readN(item, 'eo'),
    minTimestamp: readBig(item, 't0'),
    maxTimestamp: readBig(item, 't1'),
    minSeq: readN(item, 'q0'),
    maxSeq: readN(item, 'q1'),
    lineCount: readN(item, 'n'),
    rawBytes: readN(item, 'rb'),
    ascii: item.a?.BOOL === true,
    minArrival: readBig(item, 'r0'),
    maxArrival: readBig(item, 'r1'),
    shard: Number(pk.slice(pk.lastIndexOf('#') + 1)),
    previousEnd: Number(readS(item, 'sk').slice(-16)),
    nextEnd: readN(item, 'ne'),
    dataParts: readN(item, 'dp'),
    bloomParts: readN(item, 'bp'),
    storedBytes: readN(item, 'sb'),
  };
}

export class DynamoSegments implements SegmentBackend {
  constructor(private readonly context: SegmentContext) {}

  async hostNames(): Promise<string[]> {
    const { client, table } = this.context;
    const items = await queryAll(client, { TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': attr.s(HOSTS_PK) }, ConsistentRead: true, ProjectionExpression: 'sk' });
    return items.map((item) => readS(item, 'sk'));
  }

  /** Every segment of the given hosts (all when empty), read with the narrowest key condition the query allows. */
  async listAll(query: SegmentListQuery, options: { includeExpired?: boolean } = {}): Promise<DynamoSegment[]> {
    const { client, table, shards } = this.context;
    const hosts = query.hosts?.length ? [...new Set(query.hosts)] : await this.hostNames();
    const partitions = hosts.flatMap((host) => Array.from({ length: shards }, (_, shard) => segmentPk(host, shard)));
    const pages = await inParallel(partitions, QUERY_CONCURRENCY, (pk) => queryAll(client, this.keyCondition(table, pk, query)));
    const retentionBound = this.context.retentionNs === undefined || options.includeExpired === true ? undefined : this.context.now() - this.context.retentionNs;
    return pages
      .flat()
      .map((item) => segmentFromItem(item))
      .filter((segment) => segmentMatchesList(segment, query) && (retentionBound === undefined || segment.maxArrival >= retentionBound));
  }

  private keyCondition(table: string, pk: string, query: SegmentListQuery): QueryCommandInput {
    const base = { TableName: table, ConsistentRead: true };
    if (query.fileId !== undefined) {
      return { ...base, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': attr.s(pk), ':prefix': attr.s(fileSlotPrefix(query.fileId)) } };
    }
    if (query.maxSeqAbove !== undefined) {
      return { ...base, IndexName: INDEX_BY_SEQ, KeyConditionExpression: 'pk = :pk AND lq > :q', ExpressionAttributeValues: { ':pk': attr.s(pk), ':q': attr.n(query.maxSeqAbove) } };
    }
    if (query.minTimestamp !== undefined) {
      return { ...base, IndexName: INDEX_BY_TIME, KeyConditionExpression: 'pk = :pk AND lt >= :t', ExpressionAttributeValues: { ':pk': attr.s(pk), ':t': attr.s(timeKey(query.minTimestamp)) } };
    }
    return { ...base, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': attr.s(pk) } };
  }

  listSegments(query: SegmentListQuery): Promise<SegmentMeta[]> {
    return this.listAll(query);
  }

  loadBloom(segment: SegmentMeta): Promise<Uint8Array | null> {
    return this.loadBlob(segment as DynamoSegment, 'bloom');
  }

  loadData(segment: SegmentMeta): Promise<Buffer | null> {
    return this.loadBlob(segment as DynamoSegment, 'data');
  }

  async lastSeq(): Promise<number> {
    const { client, table } = this.context;
    const answer = await client.send(new GetItemCommand({ TableName: table, Key: { pk: attr.s(COUNTER_KEY.pk), sk: attr.s(COUNTER_KEY.sk) }, ConsistentRead: true, ProjectionExpression: 'c' }));
    return answer.Item === undefined ? 0 : readN(answer.Item, 'c', 0);
  }

  /**
   * A blob, eventually consistent first (half the read units). Blob items are written before
   * their metadata commits and never change, so a miss only means a replica has not caught up
   * (read again, strongly) or the segment was deleted (null).
   */
  private async loadBlob(segment: DynamoSegment, kind: 'data' | 'bloom'): Promise<Buffer | null> {
    const count = kind === 'data' ? segment.dataParts : segment.bloomParts;
    for (const consistent of [false, true]) {
      const chunks = await this.readParts(segment.id, kind, count, consistent);
      if (chunks !== null) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    }
    return null;
  }

  private async readParts(id: string, kind: 'data' | 'bloom', count: number, consistent: boolean): Promise<Buffer[] | null> {
    const { client, table } = this.context;
    if (count === 1) {
      const answer = await client.send(new GetItemCommand({ TableName: table, Key: { pk: attr.s(blobPk(id)), sk: attr.s(blobPartSk(kind, 0)) }, ConsistentRead: consistent }));
      const value = answer.Item?.v?.B;
      return value === undefined ? null : [Buffer.from(value)];
    }
    const items = await queryAll(client, {
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)',
      ExpressionAttributeValues: { ':pk': attr.s(blobPk(id)), ':kind': attr.s(blobPartSk(kind, 0).slice(0, 1)) },
      ConsistentRead: consistent,
    });
    if (items.length !== count) return null;
    return items.map((item) => Buffer.from(item.v?.B ?? new Uint8Array()));
  }
}
