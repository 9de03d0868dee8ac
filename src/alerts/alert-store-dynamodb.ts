/**
 * The alert store in the DynamoDB table of the dynamodb store, so every Daniel on the table
 * sees the same rules, and one evaluates at a time: the holder of the lease item. Items under
 * the partition `ALERTS` (docs/dynamodb.md):
 *
 * | item | sk | attributes |
 * |---|---|---|
 * | rule | `R#<id>` | body (the rule's JSON), created_ms |
 * | group state | `G#<rule id>#<group key>` (length-prefixed) | rule_id, key, state, fired_ms, notified_ms |
 * | notification to deliver (one per target) | `D#<id, 16 digits>` | rule_id, lane, event, target, target_index, attempts, next_ms, created_ms |
 * | rule status | `S#<rule id>` | last_fired_ms, last_delivery_ms, last_delivery_target, last_error_ms, last_error |
 * | evaluation lease | `LEASE` | owner, expires_ms, cursor (the highest seq evaluated) |
 * | rules version | `RULES` | v, counted up by every put and delete of a rule |
 *
 * The lease is taken and renewed with a conditional write (free, expired, or already ours);
 * the holder records what it decided (notifications first, then group states) before it
 * moves the cursor with a write conditional on still holding the lease, so a Daniel that
 * lost the lease stops at its next commit, and the next holder resumes from the cursor and
 * sends the notifications recorded but not delivered (same ids). Without transactions a
 * holder that dies between recording a notification and its group state may have the page
 * evaluated again: at least once, never lost.
 */
import { randomUUID } from 'node:crypto';
import type { AlertRule, Target } from './rule.js';
import { LeaseLostError, type AlertEvent, type AlertStore, type Commit, type Delivery, type EvaluationLease, type GroupRow, type RuleStatus } from './alert-store.js';
import type { AttributeValue, WriteRequest } from '@aws-sdk/client-dynamodb';
import type { DynamoConnection, Item } from '../storage/dynamodb/dynamo-client.js';

export const ALERTS_PK = 'ALERTS';
const LEASE_SK = 'LEASE';
const RULES_SK = 'RULES';

export const DEFAULT_LEASE_MS = 10_000;

function part(text: string): string {
  return `${text.length}:${text}`;
}

function deliverySk(id: number): string {
  return `D#${String(id).padStart(16, '0')}`;
}

export async function openDynamoAlertStore(connection: DynamoConnection, options: { leaseMs?: number; owner?: string } = {}): Promise<AlertStore & { lease: EvaluationLease }> {
  const { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
  const { attr, batchWrite, createClient, isConditionFailure, mapDynamoError, queryAll, readN, readS } = await import('../storage/dynamodb/dynamo-client.js');
  const client = createClient(connection);
  const table = connection.table;
  const owner = options.owner ?? randomUUID();
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const key = (sk: string) => ({ pk: attr.s(ALERTS_PK), sk: attr.s(sk) });
  const call = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof LeaseLostError) throw error;
      throw mapDynamoError(error, table);
    }
  };
  const items = (prefix: string): Promise<Item[]> =>
    queryAll(client, {
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': attr.s(ALERTS_PK), ':prefix': attr.s(prefix) },
      ConsistentRead: true,
    });
  const optionalN = (item: Item, name: string): number | null => (item[name]?.N === undefined ? null : Number(item[name].N));
  let lastId = 0;
  const nextId = (nowMs: number): number => (lastId = Math.max(lastId + 1, nowMs * 1000));
  const deliveries = async (): Promise<Item[]> => {
    const found = await items('D#');
    for (const item of found) lastId = Math.max(lastId, readN(item, 'id'));
    return found;
  };
  const setStatus = (ruleId: string, values: Record<string, number | string>): Promise<unknown> => {
    const names = Object.keys(values);
    return client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key(`S#${ruleId}`),
        UpdateExpression: `SET rule_id = :rule, ${names.map((name, i) => `${name} = :v${i}`).join(', ')}`,
        ExpressionAttributeValues: Object.fromEntries([
          [':rule', attr.s(ruleId)],
          ...names.map((name, i): [string, AttributeValue] => {
            const value = values[name] as number | string;
            return [`:v${i}`, typeof value === 'number' ? attr.n(value) : attr.s(value)];
          }),
        ]),
      }),
    );
  };

  const bumpRules = (): Promise<unknown> =>
    client.send(new UpdateItemCommand({ TableName: table, Key: key(RULES_SK), UpdateExpression: 'ADD v :one', ExpressionAttributeValues: { ':one': attr.n(1) } }));

  /** A conditional update of the lease item (`#owner`, `:me` bound): false when its condition failed. */
  const updateLease = async (update: string, condition: string, values: Record<string, AttributeValue>, names: Record<string, string> = {}): Promise<boolean> => {
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: key(LEASE_SK),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#owner': 'owner', ...names },
          ExpressionAttributeValues: { ':me': attr.s(owner), ...values },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  };

  const lease: EvaluationLease = {
    owner,
    leaseMs,
    acquire: (nowMs) =>
      call(() =>
        updateLease('SET #owner = :me, expires_ms = :expires', 'attribute_not_exists(pk) OR #owner = :me OR expires_ms < :now', {
          ':expires': attr.n(nowMs + leaseMs),
          ':now': attr.n(nowMs),
        }),
      ),
    release: () =>
      call(async () => {
        await updateLease('SET expires_ms = :zero', '#owner = :me', { ':zero': attr.n(0) });
      }),
  };

  return {
    where: `DynamoDB table ${table}`,
    lease,
    rules: () => call(async () => (await items('R#')).map((item) => JSON.parse(readS(item, 'body')) as AlertRule).sort((a, b) => a.createdMs - b.createdMs || a.id.localeCompare(b.id))),
    putRule: (rule) =>
      call(async () => {
        await client.send(new PutItemCommand({ TableName: table, Item: { ...key(`R#${rule.id}`), body: attr.s(JSON.stringify(rule)), created_ms: attr.n(rule.createdMs) } }));
        await bumpRules();
      }),
    rulesVersion: () =>
      call(async () => {
        const answer = await client.send(new GetItemCommand({ TableName: table, Key: key(RULES_SK), ConsistentRead: true }));
        return answer.Item === undefined ? 0 : readN(answer.Item, 'v', 0);
      }),
    deleteRule: (id) =>
      call(async () => {
        const answer = await client.send(new DeleteItemCommand({ TableName: table, Key: key(`R#${id}`), ReturnValues: 'ALL_OLD' }));
        await bumpRules();
        const groups = await items(`G#${part(id)}`);
        const pending = (await deliveries()).filter((item) => item.rule_id?.S === id);
        await batchWrite(client, table, [...groups, ...pending].map((item) => ({ DeleteRequest: { Key: { pk: item.pk!, sk: item.sk! } } })));
        await client.send(new DeleteItemCommand({ TableName: table, Key: key(`S#${id}`) }));
        return answer.Attributes !== undefined;
      }),
    groups: () =>
      call(async () =>
        (await items('G#')).map((item) => ({
          ruleId: readS(item, 'rule_id'),
          key: readS(item, 'key'),
          state: readS(item, 'state') === 'firing' ? ('firing' as const) : ('ok' as const),
          firedMs: readN(item, 'fired_ms'),
          notifiedMs: readN(item, 'notified_ms'),
        })),
      ),
    cursor: () =>
      call(async () => {
        const answer = await client.send(new GetItemCommand({ TableName: table, Key: key(LEASE_SK), ConsistentRead: true }));
        return answer.Item?.cursor?.N === undefined ? undefined : Number(answer.Item.cursor.N);
      }),
    commit: (work: Commit) =>
      call(async () => {
        // The notifications first, then the group states, then the position (only while ours).
        const requests: WriteRequest[] = [];
        for (const { event, targets } of work.events) {
          const text = JSON.stringify(event);
          targets.forEach((target, index) => {
            const id = nextId(event.atMs);
            requests.push({
              PutRequest: {
                Item: {
                  ...key(deliverySk(id)),
                  id: attr.n(id),
                  rule_id: attr.s(event.ruleId),
                  lane: attr.s(`${event.ruleId}\u0000${JSON.stringify(event.group)}\u0000${index}`),
                  event: attr.s(text),
                  target: attr.s(JSON.stringify(target)),
                  target_index: attr.n(index),
                  attempts: attr.n(0),
                  next_ms: attr.n(event.atMs),
                  created_ms: attr.n(event.atMs),
                },
              },
            });
          });
        }
        await batchWrite(client, table, requests);
        // Group states as the SQLite store leaves them: every upsert, then every forget.
        const latest = new Map<string, GroupRow>();
        for (const group of work.groups) latest.set(`${part(group.ruleId)}${group.key}`, group);
        const forgotten = new Set(work.forget.map(({ ruleId, key: groupKey }) => `${part(ruleId)}${groupKey}`));
        const groupRequests: WriteRequest[] = [];
        for (const [sk, group] of latest) {
          if (forgotten.has(sk)) continue;
          groupRequests.push({
            PutRequest: {
              Item: { ...key(`G#${sk}`), rule_id: attr.s(group.ruleId), key: attr.s(group.key), state: attr.s(group.state), fired_ms: attr.n(group.firedMs), notified_ms: attr.n(group.notifiedMs) },
            },
          });
        }
        for (const sk of forgotten) groupRequests.push({ DeleteRequest: { Key: key(`G#${sk}`) } });
        await batchWrite(client, table, groupRequests);
        for (const { event } of work.events) if (event.status === 'firing') await setStatus(event.ruleId, { last_fired_ms: event.atMs });
        if (work.cursor === undefined) return;
        if (!(await updateLease('SET #cursor = :cursor', '#owner = :me', { ':cursor': attr.n(work.cursor) }, { '#cursor': 'cursor' }))) {
          throw new LeaseLostError('another Daniel holds the evaluation lease');
        }
      }),
    pending: (nowMs, limit) =>
      call(async () => {
        const oldest = new Map<string, Item>();
        for (const item of await deliveries()) {
          const lane = readS(item, 'lane');
          const held = oldest.get(lane);
          if (held === undefined || readN(item, 'id') < readN(held, 'id')) oldest.set(lane, item);
        }
        let nextDueMs: number | undefined;
        const due: Item[] = [];
        for (const item of oldest.values()) {
          const nextMs = readN(item, 'next_ms');
          if (nextMs <= nowMs) due.push(item);
          else nextDueMs = Math.min(nextDueMs ?? Infinity, nextMs);
        }
        return {
          nextDueMs,
          due: due
            .sort((a, b) => readN(a, 'next_ms') - readN(b, 'next_ms') || readN(a, 'id') - readN(b, 'id'))
            .slice(0, limit)
            .map((item): Delivery => ({
              id: readN(item, 'id'),
              event: JSON.parse(readS(item, 'event')) as AlertEvent,
              target: JSON.parse(readS(item, 'target')) as Target,
              targetIndex: readN(item, 'target_index'),
              attempts: readN(item, 'attempts'),
              createdMs: readN(item, 'created_ms'),
            })),
        };
      }),
    delivered: (id, ruleId, target, atMs) =>
      call(async () => {
        await client.send(new DeleteItemCommand({ TableName: table, Key: key(deliverySk(id)) }));
        await setStatus(ruleId, { last_delivery_ms: atMs, last_delivery_target: target });
      }),
    failed: (id, ruleId, error, atMs, retryMs) =>
      call(async () => {
        if (retryMs === null) {
          await client.send(new DeleteItemCommand({ TableName: table, Key: key(deliverySk(id)) }));
        } else {
          try {
            await client.send(
              new UpdateItemCommand({
                TableName: table,
                Key: key(deliverySk(id)),
                UpdateExpression: 'SET attempts = attempts + :one, next_ms = :next',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeValues: { ':one': attr.n(1), ':next': attr.n(retryMs) },
              }),
            );
          } catch (problem) {
            if (!isConditionFailure(problem)) throw problem;
          }
        }
        await setStatus(ruleId, { last_error_ms: atMs, last_error: error });
      }),
    statuses: () =>
      call(async () => {
        const out = new Map<string, RuleStatus>();
        const blank = (ruleId: string): RuleStatus => ({ ruleId, lastFiredMs: null, lastDeliveryMs: null, lastDeliveryTarget: null, lastErrorMs: null, lastError: null, pending: 0 });
        for (const item of await items('S#')) {
          const ruleId = readS(item, 'sk').slice(2);
          out.set(ruleId, {
            ...blank(ruleId),
            lastFiredMs: optionalN(item, 'last_fired_ms'),
            lastDeliveryMs: optionalN(item, 'last_delivery_ms'),
            lastDeliveryTarget: item.last_delivery_target?.S ?? null,
            lastErrorMs: optionalN(item, 'last_error_ms'),
            lastError: item.last_error?.S ?? null,
          });
        }
        for (const item of await deliveries()) {
          const ruleId = readS(item, 'rule_id');
          const status = out.get(ruleId) ?? blank(ruleId);
          status.pending += 1;
          out.set(ruleId, status);
        }
        return out;
      }),
    close() {
      client.destroy();
      return Promise.resolve();
    },
  };
}
