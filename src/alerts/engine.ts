/**
 * Evaluates the rules on the lines as they become durable, in store seq order after the last
 * one evaluated, woken by ingest (the notifier) and polling the seqs only as a fallback, so
 * nothing rescans the store. The lines this Daniel's ingest stored are handed over in memory
 * with their seqs (appended()); the evaluator takes them from there as long as they follow
 * its position without a gap, and otherwise reads from the store by seq the way a live tail
 * does: lines appended through another Daniel, lines of a store that does not report them,
 * those refused past maxHandedBytes, and everything after a restart or a lease change.
 *
 * A count rule keeps, per group, the matches of its window in one-second buckets; an absence rule the time of its group's last
 * match, checked on a timer (as are windows running out and repeats).
 *
 * Every state change and the notification it causes are recorded in one transaction with
 * the evaluation position before the Deliverer sends anything (alert-store.ts).
 *
 * Lines count when they are evaluated (their arrival); a line whose own timestamp is older
 * than the rule's window plus BACKFILL_GRACE_MS (a backfill of old logs) is not counted.
 * After a restart the windows start empty, absence timers start again from the start, and
 * lines acknowledged but not yet evaluated are evaluated.
 */
import { randomUUID } from 'node:crypto';
import type { Store, StoredLine, StoredRun } from '../storage/store.js';
import { LeaseLostError, type AlertEvent, type AlertStore, type Commit, type EvaluationLease, type GroupRow, type RuleStatus } from './alert-store.js';
import { Deliverer, DEFAULT_DELIVERY, type Count, type DeliveryCounters, type DeliveryLog, type DeliveryOptions } from './deliverer.js';
import { compileRule, RuleIndex, type CompiledRule } from './rule-index.js';
import { formatDuration, RULE_LIMITS, type AlertRule } from './rule.js';

export const BACKFILL_GRACE_MS = 5 * 60_000;
/** What a line handed over from ingest counts against maxHandedBytes beside its text (its objects). */
export const HANDED_LINE_BYTES = 200;
const PAGE_LINES = 1000;
const RECENT_LINES = 10;
/** Groups a rule keeps at most; lines of further groups count in the group `_other`. */
export const MAX_GROUPS_PER_RULE = 1000;

export interface AppendWaiter {
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

export interface AlertCounters extends DeliveryCounters {
  /** Evaluation passes over newly stored lines. */
  evaluations: Count;
  linesEvaluated: Count;
  /** Groups that started firing. */
  firings: Count;
}

export interface EngineOptions {
  /** How often windows, absences and repeats are checked. */
  tickMs: number;
  /** Fallback poll of new seqs when no ingest wakes the evaluator. */
  pollMs: number;
  /** Bytes of lines handed over by ingest that may wait in memory (HANDED_LINE_BYTES each beside its text); past it they are read back from the store. */
  maxHandedBytes: number;
  delivery: DeliveryOptions;
}

export const DEFAULT_ENGINE: EngineOptions = { tickMs: 1000, pollMs: 1000, maxHandedBytes: 32 * 1024 * 1024, delivery: DEFAULT_DELIVERY };

interface Group {
  key: string;
  values: Record<string, string>;
  state: 'ok' | 'firing';
  firedMs: number;
  notifiedMs: number;
  /** Count: [second start ms, matches] oldest first, and their total. */
  buckets: [number, number][];
  total: number;
  /** Absence: when the group last matched (or the evaluator started). */
  lastSeenMs: number;
  recent: StoredLine[];
  /** A count group found firing at start-up: its window's lines are gone, so it is not resolved for lack of them before this. */
  holdUntilMs: number;
}

/** Lines handed over from ingest with consecutive seqs `first`..`last`. */
interface HandedRun {
  first: number;
  last: number;
  lines: StoredLine[];
}

interface RuleState {
  compiled: CompiledRule;
  groups: Map<string, Group>;
}

export interface GroupView {
  group: Record<string, string>;
  state: 'ok' | 'firing';
  since: string | null;
  count: number;
}

export interface RuleView {
  rule: AlertRule;
  state: 'ok' | 'firing';
  groups: GroupView[];
  status: RuleStatus | undefined;
}

export interface EngineDeps {
  store: Store;
  alerts: AlertStore;
  notifier: AppendWaiter;
  counters: AlertCounters;
  log: DeliveryLog;
  /** LogEntry of a stored line, as the API returns it. */
  toEntry: (line: StoredLine) => unknown;
  /** The web UI's address for links (`http://host:port`); settable once Daniel listens. */
  baseUrl: string;
  now?: () => number;
  options?: Partial<EngineOptions>;
}

/** What handed-over lines count against maxHandedBytes. */
function bytesOf(lines: readonly StoredLine[]): number {
  let bytes = 0;
  for (const line of lines) bytes += line.line.length + HANDED_LINE_BYTES;
  return bytes;
}

export class AlertEngine {
  private readonly index = new RuleIndex();
  private readonly states = new Map<string, RuleState>();
  private readonly options: EngineOptions;
  private readonly now: () => number;
  private currentDeliverer: Deliverer;
  /** Evaluates and delivers: always with a store of its own; with a shared one, while holding its lease. */
  private active = false;
  private leasing: Promise<void> | undefined;
  /** The shared store's rules version this Daniel's rules were read at. */
  private rulesVersion = NaN;
  private cursor = 0;
  /** Lines stored by this Daniel not yet evaluated, runs of consecutive seqs, ascending. */
  private handed: HandedRun[] = [];
  private handedBytes = 0;
  /** Lines were refused (past the bound) since the last read from the store: read it without waiting for a wake-up. */
  private refused = false;
  private startedMs = 0;
  private loop: Promise<void> | undefined;
  private readonly aborter = new AbortController();
  private pending: Commit = { groups: [], forget: [], events: [] };
  private lastCommitMs = 0;
  private nextTickMs = 0;
  baseUrl: string;

  constructor(private readonly deps: EngineDeps) {
    this.options = { ...DEFAULT_ENGINE, ...deps.options, delivery: { ...DEFAULT_ENGINE.delivery, ...deps.options?.delivery } };
    this.now = deps.now ?? Date.now;
    this.baseUrl = deps.baseUrl;
    this.currentDeliverer = this.newDeliverer();
  }

  get deliverer(): Deliverer {
    return this.currentDeliverer;
  }

  private newDeliverer(): Deliverer {
    return new Deliverer(this.deps.alerts, this.options.delivery, this.deps.counters, this.deps.log, this.now);
  }

  /** True while this Daniel evaluates the rules (with a shared store: holds the lease). */
  get holdsEvaluation(): boolean {
    return this.active;
  }

  async start(): Promise<void> {
    const lease = this.deps.alerts.lease;
    if (lease === undefined) {
      await this.resume();
      this.nextTickMs = this.now() + this.options.tickMs;
      this.loop = this.run();
      return;
    }
    // Shared: the rules now (for the routes), evaluation once the lease is ours.
    await this.syncRules();
    this.loop = this.run();
    this.leasing = this.holdLease(lease);
  }

  /** Loads the rules, their groups' states and the position, then evaluates and delivers. */
  private async resume(): Promise<void> {
    // Everything is read first, then installed at once, so the routes never see the rules half loaded.
    const version = (await this.deps.alerts.rulesVersion?.()) ?? NaN;
    const rows = await this.deps.alerts.groups();
    const rules = await this.deps.alerts.rules();
    const cursor = (await this.deps.alerts.cursor()) ?? (await (this.deps.store.tailStart?.() ?? this.deps.store.lastSeq()));
    this.startedMs = this.now();
    this.index.clear();
    this.states.clear();
    this.rulesVersion = version;
    this.pending = { groups: [], forget: [], events: [] };
    const persisted = new Map<string, GroupRow[]>();
    for (const row of rows) {
      const list = persisted.get(row.ruleId) ?? [];
      list.push(row);
      persisted.set(row.ruleId, list);
    }
    for (const rule of rules) {
      const state = this.install(rule, this.startedMs);
      for (const row of persisted.get(rule.id) ?? []) {
        const group = this.group(state, row.key, JSON.parse(row.key) as string[], this.startedMs);
        group.state = row.state;
        group.firedMs = row.firedMs;
        group.notifiedMs = row.notifiedMs;
        if (rule.condition.kind === 'count' && row.state === 'firing') group.holdUntilMs = this.startedMs + rule.condition.windowMs;
      }
    }
    this.cursor = cursor;
    this.dropHanded();
    this.active = true;
    this.currentDeliverer = this.newDeliverer();
    this.currentDeliverer.start();
  }

  /** The lease was lost (or could not be renewed in time): stop deciding and sending; the next holder resumes. */
  private async pause(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.pending = { groups: [], forget: [], events: [] };
    this.dropHanded();
    await this.currentDeliverer.stop();
  }

  /** Takes or renews the lease every third of its length; evaluates while it holds it. */
  private async holdLease(lease: EvaluationLease): Promise<void> {
    const signal = this.aborter.signal;
    const renewMs = Math.max(50, Math.floor(lease.leaseMs * 0.3));
    let heldUntilMs = 0;
    while (!signal.aborted) {
      const at = this.now();
      let held: boolean;
      try {
        held = await lease.acquire(at);
        if (held) heldUntilMs = at + lease.leaseMs;
      } catch (error) {
        // Kept only while the lease surely lasts (another Daniel may take it once it expires).
        held = this.now() + renewMs < heldUntilMs;
        this.deps.log.warn(`alerts: cannot renew the evaluation lease: ${(error as Error).message}`);
      }
      if (signal.aborted) break;
      try {
        if (held && !this.active) {
          await this.resume();
          this.nextTickMs = this.now() + this.options.tickMs;
          this.deliverer.poke();
        } else if (!held && this.active) {
          await this.pause();
        } else {
          await this.syncRules();
        }
      } catch (error) {
        this.deps.log.warn(`alerts: cannot read the shared alert state: ${(error as Error).message}`);
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, renewMs);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** With a shared store: the rules as the store has them now (created, changed or deleted on another Daniel). */
  private async syncRules(force = false): Promise<void> {
    if (this.deps.alerts.lease === undefined) return;
    // Read before the rules: a change made meanwhile moves it again, so it is read next time.
    const version = (await this.deps.alerts.rulesVersion?.()) ?? NaN;
    if (!force && version === this.rulesVersion) return;
    const rules = await this.deps.alerts.rules();
    this.rulesVersion = version;
    const seen = new Set<string>();
    for (const rule of rules) {
      seen.add(rule.id);
      const known = this.index.get(rule.id)?.rule;
      if (known === undefined || known.updatedMs !== rule.updatedMs) this.replace(rule);
    }
    for (const compiled of [...this.index.all()]) {
      if (seen.has(compiled.rule.id)) continue;
      this.index.remove(compiled.rule.id);
      this.states.delete(compiled.rule.id);
    }
  }

  async stop(): Promise<void> {
    this.aborter.abort();
    await this.loop?.catch(() => undefined);
    await this.leasing?.catch(() => undefined);
    if (this.active) {
      await this.flush().catch(() => undefined);
      await this.currentDeliverer.stop();
      await this.deps.alerts.lease?.release().catch(() => undefined);
    }
  }

  // ---------- rules ----------

  get ruleCount(): number {
    return this.index.size;
  }

  rule(id: string): AlertRule | undefined {
    return this.index.get(id)?.rule;
  }

  /** The rule as stored now (with a shared store, one created on another Daniel too). */
  async current(id: string): Promise<AlertRule | undefined> {
    await this.syncRules();
    return this.rule(id);
  }

  async put(rule: AlertRule): Promise<void> {
    compileRule(rule); // throws on a bad query before anything is stored
    await this.deps.alerts.putRule(rule);
    this.replace(rule);
  }

  /** Installs a new or changed rule; a changed one keeps its firing groups. */
  private replace(rule: AlertRule): void {
    const previous = this.states.get(rule.id);
    const state = this.install(rule, this.now());
    // A changed rule keeps the state of its groups (a firing group is not notified again).
    if (previous) for (const [key, group] of previous.groups) if (group.state === 'firing') state.groups.set(key, { ...group, buckets: [], total: 0, lastSeenMs: this.now() });
  }

  async delete(id: string): Promise<boolean> {
    this.index.remove(id);
    this.states.delete(id);
    this.pending.events = this.pending.events.filter((item) => item.event.ruleId !== id);
    return this.deps.alerts.deleteRule(id);
  }

  async views(): Promise<RuleView[]> {
    await this.syncRules();
    const statuses = await this.deps.alerts.statuses();
    const stored = await this.storedGroups();
    return [...this.index.all()].map((compiled) => this.view(compiled.rule, statuses.get(compiled.rule.id), stored));
  }

  async viewOf(id: string): Promise<RuleView | undefined> {
    await this.syncRules();
    const rule = this.rule(id);
    if (!rule) return undefined;
    return this.view(rule, (await this.deps.alerts.statuses()).get(id), await this.storedGroups());
  }

  /** A Daniel that does not evaluate (another holds the lease) shows the groups as the holder recorded them. */
  private async storedGroups(): Promise<Map<string, GroupView[]> | undefined> {
    if (this.active) return undefined;
    const out = new Map<string, GroupView[]>();
    for (const row of await this.deps.alerts.groups()) {
      const names = this.rule(row.ruleId)?.groupBy ?? [];
      const values = JSON.parse(row.key) as string[];
      const list = out.get(row.ruleId) ?? [];
      list.push({
        group: Object.fromEntries(names.map((name, i) => [name, values[i] ?? ''])),
        state: row.state,
        since: row.state === 'firing' ? new Date(row.firedMs).toISOString() : null,
        count: 0,
      });
      out.set(row.ruleId, list);
    }
    return out;
  }

  private view(rule: AlertRule, status: RuleStatus | undefined, stored?: Map<string, GroupView[]>): RuleView {
    const groups = stored !== undefined ? (stored.get(rule.id) ?? []) : [...(this.states.get(rule.id)?.groups.values() ?? [])].map((group) => ({
      group: group.values,
      state: group.state,
      since: group.state === 'firing' ? new Date(group.firedMs).toISOString() : null,
      count: group.total,
    }));
    return { rule, state: groups.some((g) => g.state === 'firing') ? 'firing' : 'ok', groups, status };
  }

  private install(rule: AlertRule, atMs: number): RuleState {
    const compiled = compileRule(rule);
    this.index.add(compiled);
    const state: RuleState = { compiled, groups: new Map() };
    this.states.set(rule.id, state);
    if (rule.condition.kind === 'absent' && rule.groupBy.length === 0) this.group(state, '[]', [], atMs);
    return state;
  }

  private group(state: RuleState, key: string, values: string[], atMs: number): Group {
    let group = state.groups.get(key);
    if (!group) {
      const names = state.compiled.rule.groupBy;
      group = {
        key,
        values: Object.fromEntries(names.map((name, i) => [name, values[i] ?? ''])),
        state: 'ok',
        firedMs: 0,
        notifiedMs: 0,
        buckets: [],
        total: 0,
        lastSeenMs: atMs,
        recent: [],
        holdUntilMs: 0,
      };
      state.groups.set(key, group);
    }
    return group;
  }

  // ---------- evaluation ----------

  private async run(): Promise<void> {
    const signal = this.aborter.signal;
    while (!signal.aborted) {
      if (!this.active) {
        await this.deps.notifier.wait(this.options.pollMs, signal);
        continue;
      }
      const untilTick = Math.max(0, this.nextTickMs - this.now());
      const woken = this.deps.notifier.wait(Math.min(this.options.pollMs, untilTick), signal);
      let caughtUp = false;
      try {
        caughtUp = await this.evaluateNew(signal);
        if (this.now() >= this.nextTickMs) {
          this.tick(this.now());
          this.nextTickMs = this.now() + this.options.tickMs;
        }
        await this.flush();
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof LeaseLostError) {
          this.deps.log.warn('alerts: another Daniel took the evaluation lease; this one stops evaluating');
          await this.pause();
          continue;
        }
        this.deps.log.warn(`alerts: evaluation failed, retrying: ${(error as Error).message}`);
        caughtUp = true;
      }
      if (caughtUp) await woken;
    }
  }

  /**
   * Lines this Daniel just stored (the notifier's listener, called after a durable append):
   * kept for the evaluator, which takes them while they follow its position. Nothing is kept
   * while it does not evaluate, while there are no rules, or past maxHandedBytes: those
   * lines are read back from the store.
   */
  appended(runs: readonly StoredRun[]): void {
    if (!this.active || this.index.size === 0) return;
    for (const run of runs) {
      let current: HandedRun | undefined;
      for (const stored of run.lines) {
        if (stored.seq <= this.cursor) continue;
        const bytes = stored.line.length + HANDED_LINE_BYTES;
        if (this.handedBytes + bytes > this.options.maxHandedBytes) {
          this.refused = true;
          return;
        }
        const line: StoredLine = {
          host: run.host,
          fileId: run.fileId,
          filename: run.filename,
          path: run.path,
          offset: stored.offset,
          end: stored.end,
          timestamp: stored.timestamp,
          line: stored.line,
          cut: stored.cut,
          seq: stored.seq,
        };
        if (stored.fields !== undefined) line.fields = stored.fields;
        if (current === undefined || stored.seq !== current.last + 1) {
          current = { first: stored.seq, last: stored.seq - 1, lines: [] };
          this.insertHanded(current);
        }
        current.lines.push(line);
        current.last = stored.seq;
        this.handedBytes += bytes;
      }
    }
  }

  /** Files a run by its first seq (appends usually report in seq order: it goes last). */
  private insertHanded(run: HandedRun): void {
    let at = this.handed.length;
    while (at > 0 && (this.handed[at - 1] as HandedRun).first > run.first) at -= 1;
    this.handed.splice(at, 0, run);
  }

  private dropHanded(): void {
    this.handed = [];
    this.handedBytes = 0;
    this.refused = false;
  }

  /**
   * The handed-over lines that follow the position without a gap (about a page of them), or
   * undefined when the next line to evaluate is not among them. Lines at or below the
   * position (read from the store meanwhile) are dropped.
   */
  private takeHanded(): StoredLine[] | undefined {
    while (this.handed.length > 0) {
      const head = this.handed[0] as HandedRun;
      if (head.last <= this.cursor) {
        this.handed.shift();
        this.handedBytes -= bytesOf(head.lines);
      } else if (head.first <= this.cursor) {
        const skip = this.cursor + 1 - head.first;
        this.handedBytes -= bytesOf(head.lines.slice(0, skip));
        head.lines = head.lines.slice(skip);
        head.first += skip;
      } else {
        break;
      }
    }
    let next = this.cursor + 1;
    let taken: StoredLine[] | undefined;
    while (this.handed.length > 0 && (taken === undefined || taken.length < PAGE_LINES)) {
      const head = this.handed[0] as HandedRun;
      if (head.first !== next) break;
      this.handed.shift();
      this.handedBytes -= bytesOf(head.lines);
      if (taken === undefined) taken = head.lines;
      else for (const line of head.lines) taken.push(line);
      next = head.last + 1;
    }
    return taken;
  }

  /** Evaluates the next lines: handed over when they follow the position, else one page read from the store; true when there was nothing more. */
  private async evaluateNew(signal: AbortSignal): Promise<boolean> {
    if (this.index.size === 0) {
      this.dropHanded();
      this.cursor = await this.deps.store.lastSeq();
      return true;
    }
    const handed = this.takeHanded();
    if (handed !== undefined) {
      this.evaluate(handed, this.now());
      this.cursor = (handed[handed.length - 1] as StoredLine).seq;
      this.deps.counters.evaluations.inc();
      return this.handed.length === 0 && !this.refused;
    }
    // Everything durable from the position on is read from here, lines refused so far too.
    this.refused = false;
    const page = await this.deps.store.tail({ afterSeq: this.cursor, limit: PAGE_LINES, signal });
    if (!this.active) return true;
    if (page.lastSeq <= this.cursor && page.lines.length === 0) return true;
    this.evaluate(page.lines, this.now());
    this.cursor = Math.max(this.cursor, page.lastSeq);
    this.deps.counters.evaluations.inc();
    return page.lines.length < PAGE_LINES;
  }

  /** The page being evaluated, for onHit (a method bound once, not a closure per line). */
  private evaluating: { line: StoredLine; nowMs: number; second: number; crossed: Map<Group, AlertRule> } | undefined;
  private readonly onHit = (compiled: CompiledRule): void => this.hitBy(compiled);

  /** Tests the lines against every rule (through the index) and fires what crosses its threshold. */
  evaluate(lines: readonly StoredLine[], nowMs: number): void {
    this.deps.counters.linesEvaluated.inc(lines.length);
    const crossed = new Map<Group, AlertRule>();
    const page = { line: lines[0] as StoredLine, nowMs, second: nowMs - (nowMs % 1000), crossed };
    this.evaluating = page;
    try {
      for (const line of lines) {
        page.line = line;
        this.index.match(line, this.onHit);
      }
    } finally {
      this.evaluating = undefined;
    }
    // Fired after the whole page, so the notification carries the page's newest matches too.
    for (const [group, rule] of crossed) {
      if (rule.condition.kind !== 'count' || !this.states.has(rule.id)) continue;
      this.prune(group, nowMs - rule.condition.windowMs);
      if (group.total >= rule.condition.threshold) this.fire(rule, group, nowMs);
    }
  }

  /** One line matched one rule: count it in its group. */
  private hitBy(compiled: CompiledRule): void {
    const page = this.evaluating;
    if (page === undefined) return;
    const { line, nowMs } = page;
    const rule = compiled.rule;
    const spanMs = rule.condition.kind === 'count' ? rule.condition.windowMs : rule.condition.forMs;
    // A backfill of old logs (stamped before the span and its grace) is not counted.
    if (Number(line.timestamp / 1_000_000n) < nowMs - spanMs - BACKFILL_GRACE_MS) return;
    const state = this.states.get(rule.id);
    if (!state) return;
    const group = this.groupOf(state, line, nowMs);
    group.recent.push(line);
    if (group.recent.length > RECENT_LINES) group.recent.shift();
    if (rule.condition.kind === 'absent') {
      group.lastSeenMs = nowMs;
      if (group.state === 'firing') this.resolve(rule, group, nowMs, 1);
      return;
    }
    const last = group.buckets[group.buckets.length - 1];
    if (last && last[0] === page.second) last[1] += 1;
    else group.buckets.push([page.second, 1]);
    group.total += 1;
    if (group.state === 'ok' && group.total >= rule.condition.threshold) page.crossed.set(group, rule);
  }

  private groupOf(state: RuleState, line: StoredLine, nowMs: number): Group {
    const names = state.compiled.rule.groupBy;
    if (names.length === 0) return this.group(state, '[]', [], nowMs);
    let fields: Readonly<Record<string, string>> | undefined;
    const values = names.map((name) => {
      if (name === 'host') return line.host;
      if (name === 'file' || name === 'filename') return line.filename;
      fields ??= this.index.fields();
      return fields[name] ?? '';
    });
    let key = JSON.stringify(values);
    if (!state.groups.has(key) && state.groups.size >= MAX_GROUPS_PER_RULE) key = JSON.stringify(names.map(() => '_other'));
    const known = state.groups.has(key);
    const group = this.group(state, key, JSON.parse(key) as string[], nowMs);
    // An absence rule remembers its groups across restarts (a host that stops must still be missed).
    if (!known && state.compiled.rule.condition.kind === 'absent') this.pending.groups.push(this.row(state.compiled.rule, group));
    return group;
  }

  private prune(group: Group, oldestMs: number): void {
    while (group.buckets.length > 0 && (group.buckets[0] as [number, number])[0] + 1000 <= oldestMs) {
      group.total -= (group.buckets.shift() as [number, number])[1];
    }
  }

  /** Windows running out, absences, repeats. */
  tick(nowMs: number): void {
    for (const state of this.states.values()) {
      const rule = state.compiled.rule;
      for (const group of state.groups.values()) {
        if (rule.condition.kind === 'count') {
          this.prune(group, nowMs - rule.condition.windowMs);
          if (group.state === 'firing' && group.total < rule.condition.threshold && nowMs >= group.holdUntilMs) this.resolve(rule, group, nowMs, group.total);
          else if (group.state === 'firing' && nowMs - group.notifiedMs >= rule.repeatMs) this.notify(rule, group, 'firing', nowMs, group.total);
          if (group.state === 'ok' && group.total === 0 && nowMs >= group.holdUntilMs) state.groups.delete(group.key);
          continue;
        }
        const quietFrom = Math.max(group.lastSeenMs, this.startedMs);
        if (group.state === 'ok' && nowMs - quietFrom >= rule.condition.forMs) {
          group.recent = [];
          this.fire(rule, group, nowMs);
        } else if (group.state === 'firing' && nowMs - group.notifiedMs >= rule.repeatMs) {
          this.notify(rule, group, 'firing', nowMs, 0);
        }
      }
    }
  }

  private fire(rule: AlertRule, group: Group, nowMs: number): void {
    group.state = 'firing';
    group.firedMs = nowMs;
    this.deps.counters.firings.inc();
    this.notify(rule, group, 'firing', nowMs, rule.condition.kind === 'count' ? group.total : 0);
  }

  private resolve(rule: AlertRule, group: Group, nowMs: number, count: number): void {
    group.state = 'ok';
    this.notify(rule, group, 'resolved', nowMs, count);
    group.firedMs = 0;
    if (rule.condition.kind === 'count' && group.total === 0) this.pending.forget.push({ ruleId: rule.id, key: group.key });
  }

  private notify(rule: AlertRule, group: Group, status: 'firing' | 'resolved', nowMs: number, count: number): void {
    group.notifiedMs = nowMs;
    this.pending.groups.push(this.row(rule, group));
    if (rule.mutedUntilMs > nowMs) return;
    const span = rule.condition.kind === 'count' ? rule.condition.windowMs : rule.condition.forMs;
    const event: AlertEvent = {
      id: randomUUID(),
      ruleId: rule.id,
      name: rule.name,
      status,
      group: group.values,
      count,
      window: formatDuration(span),
      kind: rule.condition.kind,
      q: rule.q,
      hosts: rule.hosts,
      labels: rule.labels,
      url: this.searchUrl(rule, group, nowMs),
      lines: group.recent.slice(-RECENT_LINES).reverse().map((line) => this.deps.toEntry(line)),
      startsMs: group.firedMs,
      endsMs: status === 'resolved' ? nowMs : null,
      atMs: nowMs,
      activeForMs: rule.repeatMs + Math.max(span, 5 * 60_000),
    };
    this.pending.events.push({ event, targets: rule.notify });
  }

  /** The search in the web UI: the rule's query, its hosts or the group's host, over the span before now. */
  searchUrl(rule: AlertRule, group: { values: Record<string, string> }, nowMs: number): string {
    const params = new URLSearchParams();
    let q = rule.q;
    for (const [name, value] of Object.entries(group.values)) {
      if (name === 'host') params.append('host', value);
      else if (name !== 'file' && name !== 'filename') q = `${q} ${name}:${JSON.stringify(value)}`.trim();
      else params.append('file', value);
    }
    if (q !== '') params.set('q', q);
    if (group.values.host === undefined) for (const host of rule.hosts) params.append('host', host);
    const span = rule.condition.kind === 'count' ? rule.condition.windowMs : rule.condition.forMs;
    params.set('since', new Date(nowMs - Math.max(span, 60_000) - 60_000).toISOString());
    return `${this.baseUrl.replace(/\/+$/, '')}/?${params.toString()}`;
  }

  private row(rule: AlertRule, group: Group): GroupRow {
    return { ruleId: rule.id, key: group.key, state: group.state, firedMs: group.firedMs, notifiedMs: group.notifiedMs };
  }

  /** Writes what changed (and the position, at most each second otherwise), then wakes the sender. */
  private async flush(): Promise<void> {
    // A Daniel that lost the lease records nothing more: the holder evaluates those lines again.
    if (!this.active) return;
    const work = this.pending;
    const changed = work.groups.length > 0 || work.forget.length > 0 || work.events.length > 0;
    if (!changed && this.now() - this.lastCommitMs < 1000) return;
    this.pending = { groups: [], forget: [], events: [] };
    // Rules deleted meanwhile tell nobody.
    work.events = work.events.filter((item) => this.states.has(item.event.ruleId));
    try {
      await this.deps.alerts.commit({ ...work, cursor: this.cursor });
    } catch (error) {
      // Kept for the next attempt: nothing decided is dropped because the disk hiccuped.
      this.pending = {
        groups: [...work.groups, ...this.pending.groups],
        forget: [...work.forget, ...this.pending.forget],
        events: [...work.events, ...this.pending.events],
      };
      throw error;
    }
    this.lastCommitMs = this.now();
    if (work.events.length > 0) this.currentDeliverer.poke();
  }
}

export { RULE_LIMITS };
