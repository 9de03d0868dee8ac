/**
 * The blob items of a dynamodb segment, in the segment's own partition `B#<segment id>`: the
 * compressed lines (`d00`, `d01`, …) and their trigram bloom (`b00`, …), each split into parts
 * well under the 400 KB item limit, or both in one item (`c00`) when small. Written before
 * the segment's metadata commits and never changed, so a reader holding the metadata can read
 * them eventually consistent (half the read units).
 */
import { GetItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { foldBloom } from '../../segment/bloom.js';
import type { EncodedSegment } from '../../segment/codec.js';
import { attr, queryAll, type Item } from './dynamo-client.js';
import { blobPartSk, blobPk, TTL_ATTRIBUTE } from './table-design.js';

/** Well under the 400 KB item limit, with room for the key and attribute names. */
export const BLOB_PART_BYTES = 350_000;
/**
 * The bloom is stored folded to half its bits (`foldBloom`: still a bloom of the same text, at
 * 4-8 bits per trigram instead of 8-16, the precision the sqlite store searches by from
 * memory). A 1,000-line segment's bloom then takes 4 KB instead of 8 KB + 1 byte: a bloom
 * check reads 1 read unit instead of 1.5, and the segment is written with 4 write units fewer.
 */
const BLOOM_FOLD = 2;
/**
 * Data and bloom this small together go in one item (`c00`): a write unit fewer for a small
 * append (each item rounds up to whole 1 KB write units), and a read of it costs the one read
 * unit a read of either alone costs (4 KB, less the key and attribute names).
 */
export const COMBINED_BLOB_BYTES = 3_900;
/** What finding a segment's blobs takes (the metadata item records it). */
export interface BlobSegment {
  id: string;
  dataParts: number;
  bloomParts: number;
  /** Data and bloom in one item; the part counts are then 1. */
  combined: boolean;
}

interface BlobContext {
  client: DynamoDBClient;
  table: string;
}

function parts(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += BLOB_PART_BYTES) out.push(bytes.subarray(i, i + BLOB_PART_BYTES));
  return out.length === 0 ? [Buffer.alloc(0)] : out;
}

/** The put requests of a segment's blob items (data and bloom, split into parts, or one combined item when small). */
export function blobWrites(
  id: string,
  encoded: EncodedSegment,
  expiresAt: number | undefined,
): { requests: WriteRequest[]; dataParts: number; bloomParts: number; combined: boolean; storedBytes: number } {
  const ttl: Item = expiresAt === undefined ? {} : { [TTL_ATTRIBUTE]: attr.n(expiresAt) };
  const folded = Buffer.from(foldBloom(encoded.bloom, BLOOM_FOLD));
  const storedBytes = encoded.data.length + folded.length;
  if (storedBytes <= COMBINED_BLOB_BYTES) {
    const item = { pk: attr.s(blobPk(id)), sk: attr.s(blobPartSk('combined', 0)), v: attr.b(encoded.data), w: attr.b(folded), ...ttl };
    return { requests: [{ PutRequest: { Item: item } }], dataParts: 1, bloomParts: 1, combined: true, storedBytes };
  }
  const requests: WriteRequest[] = [];
  const put = (kind: 'data' | 'bloom', chunks: Buffer[]): void =>
    chunks.forEach((chunk, index) => requests.push({ PutRequest: { Item: { pk: attr.s(blobPk(id)), sk: attr.s(blobPartSk(kind, index)), v: attr.b(chunk), ...ttl } } }));
  const data = parts(encoded.data);
  const bloom = parts(folded);
  put('data', data);
  put('bloom', bloom);
  return { requests, dataParts: data.length, bloomParts: bloom.length, combined: false, storedBytes };
}

export function blobDeletes(segment: BlobSegment): WriteRequest[] {
  if (segment.combined) return [{ DeleteRequest: { Key: { pk: attr.s(blobPk(segment.id)), sk: attr.s(blobPartSk('combined', 0)) } } }];
  const keys: WriteRequest[] = [];
  for (let i = 0; i < segment.dataParts; i++) keys.push({ DeleteRequest: { Key: { pk: attr.s(blobPk(segment.id)), sk: attr.s(blobPartSk('data', i)) } } });
  for (let i = 0; i < segment.bloomParts; i++) keys.push({ DeleteRequest: { Key: { pk: attr.s(blobPk(segment.id)), sk: attr.s(blobPartSk('bloom', i)) } } });
  return keys;
}

/**
 * A blob, eventually consistent first (half the read units). Blob items are written before
 * their metadata commits and never change, so a miss only means a replica has not caught up
 * (read again, strongly) or the segment was deleted (null).
 */
export async function readBlob(context: BlobContext, segment: BlobSegment, kind: 'data' | 'bloom'): Promise<Buffer | null> {
  const count = kind === 'data' ? segment.dataParts : segment.bloomParts;
  for (const consistent of [false, true]) {
    const chunks = segment.combined ? await readCombined(context, segment.id, kind, consistent) : await readParts(context, segment.id, kind, count, consistent);
    if (chunks !== null) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }
  return null;
}

async function readCombined(context: BlobContext, id: string, kind: 'data' | 'bloom', consistent: boolean): Promise<Buffer[] | null> {
  const { client, table } = context;
  const answer = await client.send(new GetItemCommand({ TableName: table, Key: { pk: attr.s(blobPk(id)), sk: attr.s(blobPartSk('combined', 0)) }, ConsistentRead: consistent }));
  const value = answer.Item?.[kind === 'data' ? 'v' : 'w']?.B;
  return value === undefined ? null : [Buffer.from(value)];
}

async function readParts(context: BlobContext, id: string, kind: 'data' | 'bloom', count: number, consistent: boolean): Promise<Buffer[] | null> {
  const { client, table } = context;
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
