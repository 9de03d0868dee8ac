/**
 * Where rules, group states and notifications waiting for delivery are kept, durably: a
 * notification is written (with the group state that caused it and the evaluation position)
 * in one transaction before anything is sent, so `kill -9` at any moment loses none; one
 * that was sent but not yet marked delivered is sent again (at least once; receivers drop
 * repeats by its id).
 *
 * SQLite: `DATA_DIR/alerts.db`, mode 0600, WAL with synchronous FULL (a commit is on disk
 * when it returns).
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlertRule, Target } from './rule.js';

export interface GroupRow {
  ruleId: string;
  /** JSON array of the group's values (`[]` for a rule without group_by). */
  key: string;
  state: 'ok' | 'firing';
  /** When the group started firing (epoch ms); 0 when ok. */
  firedMs: number;
  /** When it was last notified (firing or repeat). */
  notifiedMs: number;
}

/** What happened, as every target is told it (each target renders its own body from it). */
export interface AlertEvent {
  id: string;
  ruleId: string;
  name: string;
  status: 'firing' | 'resolved';
  group: Record<string, string>;
  count: number;
  /** The condition's span: the window of a count rule, the `for` of an absence rule. */
  window: string;
  kind: 'count' | 'absent';
  q: string;
  hosts: string[];
  labels: Record<string, string>;
  /** The search in the web UI. */
  url: string;
  lines: unknown[];
  /** When the group started firing and (resolved) when it stopped, epoch ms. */
  startsMs: number;
  endsMs: number | null;
  atMs: number;
  /** Alertmanager: how long a firing alert stays active if it is not sent again. */
  activeForMs: number;
}

export interface Delivery {
  id: number;
  event: AlertEvent;
  target: Target;
  targetIndex: number;
  attempts: number;
  createdMs: number;
}

export interface PendingDeliveries {
  due: Delivery[];
  nextDueMs: number | undefined;
}

export interface RuleStatus {
  ruleId: string;
  lastFiredMs: number | null;
  lastDeliveryMs: number | null;
  lastDeliveryTarget: string | null;
  lastErrorMs: number | null;
  lastError: string | null;
  /** Deliveries still waiting (being retried). */
  pending: number;
}

export interface Commit {
  groups: GroupRow[];
  /** Groups to forget (rule deleted, or back to ok with nothing to remember). */
  forget: { ruleId: string; key: string }[];
  events: { event: AlertEvent; targets: Target[] }[];
  /** The highest store seq evaluated. */
  cursor?: number;
}

/** The lease of evaluation among the Daniels sharing one alert store (DynamoDB). */
export interface EvaluationLease {
  /** This Daniel's owner id. */
  readonly owner: string;
  /** How long a taken or renewed lease lasts. */
  readonly leaseMs: number;
  /** Takes the lease if it is free or expired, renews it if ours; true when held until nowMs + leaseMs. */
  acquire(nowMs: number): Promise<boolean>;
  /** Gives the lease up (a clean stop), so another Daniel takes over at once. */
  release(): Promise<void>;
}

/** The lease was taken over by another Daniel: this one stops evaluating. */
export class LeaseLostError extends Error {}

export interface AlertStore {
  readonly where: string;
  /** Set when several Daniels share the store: only the lease's holder evaluates and delivers. */
  readonly lease?: EvaluationLease;
  /** A shared store's count of rule changes (put or delete), so a Daniel re-reads the rules only when it moved. */
  rulesVersion?(): Promise<number>;
  rules(): Promise<AlertRule[]>;
  putRule(rule: AlertRule): Promise<void>;
  /** Drops the rule, its groups and its undelivered notifications; false when unknown. */
  deleteRule(id: string): Promise<boolean>;
  groups(): Promise<GroupRow[]>;
  cursor(): Promise<number | undefined>;
  commit(commit: Commit): Promise<void>;
  /**
   * One read of the outbox. `due`: the deliveries due at `nowMs` (at most `limit`), for each
   * (rule, group, target) only the oldest, so they arrive in order. `nextDueMs`: when the
   * next of those oldest ones that is not due yet will be. A delivery waiting behind an older
   * one of its lane is not counted: it becomes due when the older one is done, not at its
   * own time (counting it made the sender look again at once, in a loop, while a receiver failed).
   */
  pending(nowMs: number, limit: number): Promise<PendingDeliveries>;
  delivered(id: number, ruleId: string, target: string, atMs: number): Promise<void>;
  /** A failed attempt: retried at `retryMs`, or dropped (`retryMs` null: given up). */
  failed(id: number, ruleId: string, error: string, atMs: number, retryMs: number | null): Promise<void>;
  statuses(): Promise<Map<string, RuleStatus>>;
  close(): Promise<void>;
}

export const ALERTS_DB = 'alerts.db';

interface DeliveryRow {
  id: number;
  event: string;
  target: string;
  target_index: number;
  attempts: number;
  created_ms: number;
}

export async function openSqliteAlertStore(dataDir: string): Promise<AlertStore> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { default: Database } = await import('better-sqlite3');
  const path = join(dataDir, ALERTS_DB);
  const previousMask = process.umask(0o077);
  let db: import('better-sqlite3').Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS rules (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_ms INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS groups (rule_id TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL,
        fired_ms INTEGER NOT NULL, notified_ms INTEGER NOT NULL, PRIMARY KEY (rule_id, key));
      CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, rule_id TEXT NOT NULL,
        lane TEXT NOT NULL, event TEXT NOT NULL, target TEXT NOT NULL, target_index INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS deliveries_lane ON deliveries (lane, id);
      CREATE TABLE IF NOT EXISTS status (rule_id TEXT PRIMARY KEY, last_fired_ms INTEGER, last_delivery_ms INTEGER,
        last_delivery_target TEXT, last_error_ms INTEGER, last_error TEXT);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`);
  } finally {
    process.umask(previousMask);
  }
  for (const suffix of ['', '-wal', '-shm']) await chmod(path + suffix, 0o600).catch(() => undefined);

  const selectRules = db.prepare('SELECT body FROM rules ORDER BY created_ms, id');
  const upsertRule = db.prepare('INSERT INTO rules (id, body, created_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body');
  const deleteRule = db.prepare('DELETE FROM rules WHERE id = ?');
  const deleteGroups = db.prepare('DELETE FROM groups WHERE rule_id = ?');
  const deleteDeliveries = db.prepare('DELETE FROM deliveries WHERE rule_id = ?');
  const deleteStatus = db.prepare('DELETE FROM status WHERE rule_id = ?');
  const selectGroups = db.prepare('SELECT rule_id, key, state, fired_ms, notified_ms FROM groups');
  const upsertGroup = db.prepare(
    'INSERT INTO groups (rule_id, key, state, fired_ms, notified_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (rule_id, key) DO UPDATE SET state = excluded.state, fired_ms = excluded.fired_ms, notified_ms = excluded.notified_ms',
  );
  const forgetGroup = db.prepare('DELETE FROM groups WHERE rule_id = ? AND key = ?');
  const insertDelivery = db.prepare('INSERT INTO deliveries (rule_id, lane, event, target, target_index, next_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const setFired = db.prepare('INSERT INTO status (rule_id, last_fired_ms) VALUES (?, ?) ON CONFLICT (rule_id) DO UPDATE SET last_fired_ms = excluded.last_fired_ms');
  const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const getMeta = db.prepare('SELECT value FROM meta WHERE key = ?');
  // The oldest delivery of each lane (rule, group, target), when it is due.
  const selectDue = db.prepare(
    `SELECT d.id, d.event, d.target, d.target_index, d.attempts, d.created_ms FROM deliveries d
     WHERE d.next_ms <= ? AND d.id = (SELECT MIN(id) FROM deliveries e WHERE e.lane = d.lane) ORDER BY d.next_ms, d.id LIMIT ?`,
  );
  const selectNext = db.prepare('SELECT MIN(d.next_ms) AS next FROM deliveries d WHERE d.next_ms > ? AND d.id = (SELECT MIN(id) FROM deliveries e WHERE e.lane = d.lane)');
  const deleteDelivery = db.prepare('DELETE FROM deliveries WHERE id = ?');
  const retryDelivery = db.prepare('UPDATE deliveries SET attempts = attempts + 1, next_ms = ? WHERE id = ?');
  const setDelivered = db.prepare(
    'INSERT INTO status (rule_id, last_delivery_ms, last_delivery_target) VALUES (?, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET last_delivery_ms = excluded.last_delivery_ms, last_delivery_target = excluded.last_delivery_target',
  );
  const setError = db.prepare(
    'INSERT INTO status (rule_id, last_error_ms, last_error) VALUES (?, ?, ?) ON CONFLICT (rule_id) DO UPDATE SET last_error_ms = excluded.last_error_ms, last_error = excluded.last_error',
  );
  const ruleExists = db.prepare('SELECT 1 FROM rules WHERE id = ?');
  const selectStatus = db.prepare('SELECT rule_id, last_fired_ms, last_delivery_ms, last_delivery_target, last_error_ms, last_error FROM status');
  const selectPending = db.prepare('SELECT rule_id, COUNT(*) AS n FROM deliveries GROUP BY rule_id');

  const commit = db.transaction((work: Commit) => {
    for (const group of work.groups) upsertGroup.run(group.ruleId, group.key, group.state, group.firedMs, group.notifiedMs);
    for (const { ruleId, key } of work.forget) forgetGroup.run(ruleId, key);
    for (const { event, targets } of work.events) {
      const text = JSON.stringify(event);
      targets.forEach((target, index) => {
        insertDelivery.run(event.ruleId, `${event.ruleId}\u0000${JSON.stringify(event.group)}\u0000${index}`, text, JSON.stringify(target), index, event.atMs, event.atMs);
      });
      if (event.status === 'firing') setFired.run(event.ruleId, event.atMs);
    }
    if (work.cursor !== undefined) setMeta.run('cursor', String(work.cursor));
  });
  const removeRule = db.transaction((id: string) => {
    const gone = deleteRule.run(id).changes > 0;
    deleteGroups.run(id);
    deleteDeliveries.run(id);
    deleteStatus.run(id);
    return gone;
  });

  return {
    where: path,
    rules: () => Promise.resolve((selectRules.all() as { body: string }[]).map((row) => JSON.parse(row.body) as AlertRule)),
    putRule(rule) {
      upsertRule.run(rule.id, JSON.stringify(rule), rule.createdMs);
      return Promise.resolve();
    },
    deleteRule: (id) => Promise.resolve(removeRule(id)),
    groups: () =>
      Promise.resolve(
        (selectGroups.all() as { rule_id: string; key: string; state: string; fired_ms: number; notified_ms: number }[]).map((row) => ({
          ruleId: row.rule_id,
          key: row.key,
          state: row.state === 'firing' ? 'firing' : 'ok',
          firedMs: row.fired_ms,
          notifiedMs: row.notified_ms,
        })),
      ),
    cursor() {
      const row = getMeta.get('cursor') as { value: string } | undefined;
      return Promise.resolve(row === undefined ? undefined : Number(row.value));
    },
    commit(work) {
      commit(work);
      return Promise.resolve();
    },
    pending(nowMs, limit) {
      const due = (selectDue.all(nowMs, limit) as DeliveryRow[]).map((row) => ({
        id: row.id,
        event: JSON.parse(row.event) as AlertEvent,
        target: JSON.parse(row.target) as Target,
        targetIndex: row.target_index,
        attempts: row.attempts,
        createdMs: row.created_ms,
      }));
      const next = (selectNext.get(nowMs) as { next: number | null }).next;
      return Promise.resolve({ due, nextDueMs: next ?? undefined });
    },
    delivered(id, ruleId, target, atMs) {
      deleteDelivery.run(id);
      if (ruleExists.get(ruleId) !== undefined) setDelivered.run(ruleId, atMs, target);
      return Promise.resolve();
    },
    failed(id, ruleId, error, atMs, retryMs) {
      if (retryMs === null) deleteDelivery.run(id);
      else retryDelivery.run(retryMs, id);
      if (ruleExists.get(ruleId) !== undefined) setError.run(ruleId, atMs, error);
      return Promise.resolve();
    },
    statuses() {
      const out = new Map<string, RuleStatus>();
      const blank = (ruleId: string): RuleStatus => ({ ruleId, lastFiredMs: null, lastDeliveryMs: null, lastDeliveryTarget: null, lastErrorMs: null, lastError: null, pending: 0 });
      for (const row of selectStatus.all() as { rule_id: string; last_fired_ms: number | null; last_delivery_ms: number | null; last_delivery_target: string | null; last_error_ms: number | null; last_error: string | null }[]) {
        out.set(row.rule_id, {
          ...blank(row.rule_id),
          lastFiredMs: row.last_fired_ms,
          lastDeliveryMs: row.last_delivery_ms,
          lastDeliveryTarget: row.last_delivery_target,
          lastErrorMs: row.last_error_ms,
          lastError: row.last_error,
        });
      }
      for (const row of selectPending.all() as { rule_id: string; n: number }[]) {
        const status = out.get(row.rule_id) ?? blank(row.rule_id);
        status.pending = row.n;
        out.set(row.rule_id, status);
      }
      return Promise.resolve(out);
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}
