/**
 * Host and file summaries of the dynamodb store: the items behind hosts(), files() and
 * stats(), and the updates that keep them. Counts move with ADD (commutative, so appends and
 * retention sweeps of several Daniels interleave freely); "last seen" moves only forward,
 * with a condition. These updates follow the commit of the lines: a Daniel killed between
 * the two leaves that batch's lines stored and searchable but uncounted in the summaries
 * (docs/dynamodb.md, "what is exact").
 */
import { UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FileSummary, HostSummary, StoreStats } from '../store.js';
import { attr, inParallel, isConditionFailure, queryAll, readBig, readN, readS, type Item } from './dynamo-client.js';
import { chainEnd } from './dynamo-segments.js';
import { hostKeyPk, HOSTS_PK, identitySk, mentionSk } from './table-design.js';

export interface SummaryClient {
  client: DynamoDBClient;
  table: string;
}

export interface CountDelta {
  lines: number;
  bytes: number;
  storedBytes: number;
  segments: number;
}

/**
 * One UpdateItem that ADDs counts and moves `ls` (last seen) forward. Tried first with the
 * forward move under a condition; when an equal or later arrival is already recorded, the
 * counts go in alone.
 */
async function addAndSee(
  { client, table }: SummaryClient,
  key: { pk: string; sk: string },
  sets: Record<string, AttributeValue>,
  adds: Record<string, number>,
  seenAt: bigint | undefined,
): Promise<void> {
  const build = (withSeen: boolean) => {
    const values: Record<string, AttributeValue> = {};
    const names: Record<string, string> = {};
    const setParts: string[] = [];
    const addParts: string[] = [];
    Object.entries(sets).forEach(([name, value], i) => {
      names[`#s${i}`] = name;
      values[`:s${i}`] = value;
      setParts.push(name === 'fs' ? `#s${i} = if_not_exists(#s${i}, :s${i})` : `#s${i} = :s${i}`);
    });
    Object.entries(adds).forEach(([name, value], i) => {
      names[`#a${i}`] = name;
      values[`:a${i}`] = attr.n(value);
      addParts.push(`#a${i} :a${i}`);
    });
    if (withSeen) {
      values[':ls'] = attr.n(seenAt!);
      setParts.push('ls = :ls');
    }
    const expression = [setParts.length ? `SET ${setParts.join(', ')}` : '', addParts.length ? `ADD ${addParts.join(', ')}` : ''].filter(Boolean).join(' ');
    return new UpdateItemCommand({
      TableName: table,
      Key: { pk: attr.s(key.pk), sk: attr.s(key.sk) },
      UpdateExpression: expression,
      ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
      ExpressionAttributeValues: values,
      ...(withSeen ? { ConditionExpression: 'attribute_not_exists(ls) OR ls < :ls' } : {}),
    });
  };
  if (seenAt !== undefined) {
    try {
      await client.send(build(true));
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
  if (Object.keys(sets).length === 0 && Object.values(adds).every((value) => value === 0)) return;
  await client.send(build(false));
}

export function updateHost(summary: SummaryClient, host: string, delta: CountDelta, seenAt: bigint | undefined): Promise<void> {
  return addAndSee(summary, { pk: HOSTS_PK, sk: host }, {}, { n: delta.lines, b: delta.bytes, st: delta.storedBytes, sg: delta.segments }, seenAt);
}

/**
 * Adds an append's counts to a file name mention; with `size`, also the size the agent
 * reported for the identity, stamped so files() can take the newest report among the
 * identity's mentions (the identity item is no longer written on every append).
 */
export function updateMention(
  summary: SummaryClient,
  mention: { host: string; filename: string; fileId: string; path?: string; ordinal?: number; size?: { bytes: number; stamp: number } },
  delta: { lines: number; bytes: number },
  seenAt: bigint | undefined,
): Promise<void> {
  const sets: Record<string, AttributeValue> = {};
  if (mention.path !== undefined) Object.assign(sets, { fn: attr.s(mention.filename), f: attr.s(mention.fileId), p: attr.s(mention.path) });
  if (mention.ordinal !== undefined) sets.fs = attr.n(mention.ordinal);
  if (mention.size !== undefined) Object.assign(sets, { z: attr.n(mention.size.bytes), zs: attr.n(mention.size.stamp) });
  return addAndSee(summary, { pk: hostKeyPk(mention.host), sk: mentionSk(mention.filename, mention.fileId) }, sets, { n: delta.lines, b: delta.bytes }, seenAt);
}

/**
 * Moves a file identity's end-offset hint forward (never back). Retention moves it past the
 * segments it deletes, so the end stays known when a file's newest segments are gone;
 * otherwise the segment slots are the truth (append-writer.ts).
 */
export async function updateIdentity({ client, table }: SummaryClient, host: string, fileId: string, end: number): Promise<void> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: attr.s(hostKeyPk(host)), sk: attr.s(identitySk(fileId)) },
        UpdateExpression: 'SET e = :e',
        ConditionExpression: 'attribute_not_exists(e) OR e < :e',
        ExpressionAttributeValues: { ':e': attr.n(end) },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error; // already further
  }
}

async function hostItems({ client, table }: SummaryClient): Promise<Item[]> {
  return queryAll(client, { TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': attr.s(HOSTS_PK) }, ConsistentRead: true });
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export async function readHosts(summary: SummaryClient): Promise<HostSummary[]> {
  return (await hostItems(summary))
    .map((item) => ({ host: readS(item, 'sk'), lastSeen: readBig(item, 'ls', 0n), lines: readN(item, 'n', 0), bytes: readN(item, 'b', 0) }))
    .sort((a, b) => byText(a.host, b.host));
}

export async function readStats(summary: SummaryClient): Promise<StoreStats> {
  const stats: StoreStats = { lines: 0, rawBytes: 0, storedBytes: 0, segments: 0 };
  for (const item of await hostItems(summary)) {
    stats.lines += readN(item, 'n', 0);
    stats.rawBytes += readN(item, 'b', 0);
    stats.storedBytes += readN(item, 'st', 0);
    stats.segments += readN(item, 'sg', 0);
  }
  return stats;
}

interface Mention {
  filename: string;
  fileId: string;
  path: string;
  lastSeen: bigint;
  ordinal: number;
  lines: number;
  bytes: number;
  size?: { bytes: number; stamp: number };
}

/**
 * The files of a host: its mentions and identity items (one Query), and for the identity each
 * filename shows, where its lines end now (the chain's newest slot, or retention's hint).
 */
export async function readFiles(context: SummaryClient & { shards: number }, host: string): Promise<FileSummary[] | null> {
  const { client, table } = context;
  const items = await queryAll(client, { TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': attr.s(hostKeyPk(host)) }, ConsistentRead: true });
  const identities = new Map<string, { end: number; size: number | null }>();
  const byFilename = new Map<string, Mention[]>();
  const newestSize = new Map<string, { bytes: number; stamp: number }>();
  for (const item of items) {
    const sk = readS(item, 'sk');
    if (sk.startsWith('I#')) {
      identities.set(sk.slice(sk.indexOf(':') + 1), { end: readN(item, 'e', 0), size: item.z?.N === undefined ? null : Number(item.z.N) });
    } else if (sk.startsWith('M#')) {
      const mention: Mention = {
        filename: readS(item, 'fn'),
        fileId: readS(item, 'f'),
        path: readS(item, 'p'),
        lastSeen: readBig(item, 'ls', 0n),
        ordinal: readN(item, 'fs', 0),
        lines: readN(item, 'n', 0),
        bytes: readN(item, 'b', 0),
      };
      const list = byFilename.get(mention.filename) ?? [];
      list.push(mention);
      byFilename.set(mention.filename, list);
      if (item.zs?.N !== undefined) {
        const size = { bytes: readN(item, 'z'), stamp: readN(item, 'zs') };
        if ((newestSize.get(mention.fileId)?.stamp ?? -1) < size.stamp) newestSize.set(mention.fileId, size);
      }
    }
  }
  if (byFilename.size === 0) return null;
  const shown = [...byFilename].map(([filename, mentions]) => {
    mentions.sort((a, b) => (a.lastSeen !== b.lastSeen ? (a.lastSeen > b.lastSeen ? -1 : 1) : b.ordinal - a.ordinal));
    return [filename, mentions] as const;
  });
  const ends = await inParallel(shown, 8, ([, mentions]) => chainEnd(context, host, mentions[0]!.fileId));
  const summaries: FileSummary[] = [];
  for (const [index, [filename, mentions]] of shown.entries()) {
    const newest = mentions[0]!;
    const identity = identities.get(newest.fileId);
    const state = { end: Math.max(ends[index]!, identity?.end ?? 0), size: newestSize.get(newest.fileId)?.bytes ?? identity?.size ?? null };
    summaries.push({
      host,
      filename,
      path: newest.path,
      lastSeen: newest.lastSeen,
      lines: mentions.reduce((sum, m) => sum + m.lines, 0),
      bytes: mentions.reduce((sum, m) => sum + m.bytes, 0),
      offset: state.end,
      size: state.size,
      fileIds: mentions.map((m) => m.fileId),
    });
  }
  return summaries.sort((a, b) => byText(a.filename, b.filename));
}
