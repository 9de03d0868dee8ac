/**
 * The one DynamoDB table of the dynamodb store: key layout, item kinds and the CreateTable
 * input. Single-table design; docs/dynamodb.md draws it.
 *
 * | item | pk | sk |
 * |---|---|---|
 * | seq counter | `META` | `SEQ` (s: reserved, c: committed, m: mention ordinals, k: size stamps) |
 * | data format | `META` | `FORMAT` (v: the data format version, src/storage/data-format.ts) |
 * | host summary | `HOSTS` | host |
 * | file identity (end offset hint, moved by retention) | `H#<host>` | `I#<fileId>` |
 * | file name mention (path, last seen, lines, bytes, stamped size) | `H#<host>` | `M#<filename>#<fileId>` |
 * | segment metadata (the commit point) | `S#<host>#<shard>` | `F#<fileId>#<previous end offset>` |
 * | segment blob parts | `B#<segment id>` | `d00`.. (data), `b00`.. (bloom), or `c00` (both, when small) |
 * | host head (the newest lines, a verified cache; host-head.ts) | `N#<host>` | `HEAD` (hv: version, d: the lines) |
 * | alert rules, states, notifications, lease | `ALERTS` | `R#`, `G#`, `D#`, `S#`, `LEASE`, `RULES` (src/alerts/alert-store-dynamodb.ts) |
 *
 * A segment's metadata item sits at the slot "the lines after end offset E of this file":
 * putting it with attribute_not_exists is the conditional write that advances the file's end
 * offset, so two Daniels storing the same batch collide on one slot and only one wins.
 * Two local secondary indexes over the segment partitions (strongly consistent, unlike a
 * GSI) serve newest-first time ranges (`by_time`) and live tail (`by_seq`).
 *
 * The host head holds copies of a host's newest ~128 lines, so the newest page of a host
 * reads one small item (eventually consistent) and a strongly consistent listing of the few
 * segments it has to agree with, instead of the newest blob of every file. Tables written
 * before it have no head items: reads then list and load segments as before, and the first
 * appends build the head (it is used once its floor is above the older segments).
 *
 * Variable parts of keys are length-prefixed (`5:hello`) so no two names share a key.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const INDEX_BY_TIME = 'by_time';
export const INDEX_BY_SEQ = 'by_seq';
/** AWS's TTL attribute (epoch seconds); set when the store knows the retention. */
export const TTL_ATTRIBUTE = 'expires_at';

export const COUNTER_KEY = { pk: 'META', sk: 'SEQ' } as const;
export const FORMAT_KEY = { pk: 'META', sk: 'FORMAT' } as const;
export const HOSTS_PK = 'HOSTS';

function part(text: string): string {
  return `${text.length}:${text}`;
}

/** Reads a `part` starting at `from`; returns it and where the key goes on. */
function readPart(key: string, from: number): { text: string; next: number } {
  const colon = key.indexOf(':', from);
  const start = colon + 1;
  const end = start + Number(key.slice(from, colon));
  return { text: key.slice(start, end), next: end };
}

/** Offsets as 16 digits sort as numbers (offsets stay below 2^53). */
function padOffset(offset: number): string {
  return offset.toString().padStart(16, '0');
}

/** Nanosecond times, shifted to be non-negative, as 20 digits so they sort as numbers. */
export function timeKey(ns: bigint): string {
  return (ns + (1n << 63n)).toString().padStart(20, '0');
}

/** The inverse of timeKey. */
export function timeOfKey(key: string): bigint {
  return BigInt(key.slice(0, 20)) - (1n << 63n);
}

/** The by_time sort key of a segment: its max timestamp, then its id (unique, so no two segments tie). */
export function segmentTimeKey(maxTimestamp: bigint, segmentId: string): string {
  return `${timeKey(maxTimestamp)}#${segmentId}`;
}

export function ofSegmentTimeKey(key: string): { maxTimestamp: bigint; segmentId: string } {
  return { maxTimestamp: timeOfKey(key), segmentId: key.slice(21) };
}

export function hostKeyPk(host: string): string {
  return `H#${part(host)}`;
}

export function identitySk(fileId: string): string {
  return `I#${part(fileId)}`;
}

export function mentionSk(filename: string, fileId: string): string {
  return `M#${part(filename)}#${part(fileId)}`;
}

export function segmentPk(host: string, shard: number): string {
  return `S#${part(host)}#${shard}`;
}

export function ofSegmentPk(pk: string): { host: string; shard: number } {
  const host = readPart(pk, 2);
  return { host: host.text, shard: Number(pk.slice(host.next + 1)) };
}

export function fileSlotPrefix(fileId: string): string {
  return `F#${part(fileId)}#`;
}

/** The slot of the segment that follows end offset `previousEnd` of a file identity. */
export function segmentSk(fileId: string, previousEnd: number): string {
  return fileSlotPrefix(fileId) + padOffset(previousEnd);
}

export function ofSegmentSk(sk: string): { fileId: string; previousEnd: number } {
  const fileId = readPart(sk, 2);
  return { fileId: fileId.text, previousEnd: Number(sk.slice(fileId.next + 1)) };
}

/** The head item of a host (host-head.ts): its own partition, so listing a host's files never reads it. */
export function headKey(host: string): { pk: string; sk: string } {
  return { pk: `N#${part(host)}`, sk: 'HEAD' };
}

export function blobPk(segmentId: string): string {
  return `B#${segmentId}`;
}

export function blobPartSk(kind: 'data' | 'bloom' | 'combined', index: number): string {
  return `${kind === 'data' ? 'd' : kind === 'bloom' ? 'b' : 'c'}${index.toString().padStart(2, '0')}`;
}

/**
 * The shard of a file identity: FNV-1a of the file id, modulo the shard count. One
 * partition takes about 1,000 write units a second; a host writing more than that spreads
 * its files over `shards` partitions. Readers query shards 0..shards-1, so the count may
 * grow (old segments stay reachable) but must never shrink.
 */
export function shardOf(fileId: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < fileId.length; i++) {
    hash ^= fileId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

export function createTableInput(table: string): CreateTableCommandInput {
  const lsi = (name: string, attribute: string) => ({
    IndexName: name,
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' as const },
      { AttributeName: attribute, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  return {
    TableName: table,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'lt', AttributeType: 'S' },
      { AttributeName: 'lq', AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    LocalSecondaryIndexes: [lsi(INDEX_BY_TIME, 'lt'), lsi(INDEX_BY_SEQ, 'lq')],
  };
}
