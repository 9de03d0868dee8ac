/**
 * The ship loop: spool records go to Daniel one at a time, in spool order (so each file's
 * lines arrive in ascending offsets), each retried until it is delivered. What is not the
 * batch's fault is held and retried (an outage, a wrong token, a wrong address), a batch
 * over a body limit is sent in halves (split-request.ts), and only lines Daniel says can
 * never be stored go to the dead-letter file (dead-letter.ts): the whole batch when Daniel
 * refused it as a whole, else just the groups or lines its answer names in `rejected`. A
 * Daniel older than brotli bodies answers 415 to one: that batch is sent again as gzip, and
 * so is every later one (the sealer compresses them with gzip from then on).
 */
import type { IngestRejection, IngestRequest } from '../protocol/ingest.js';
import { parseBatchBody } from './batcher.js';
import type { DeadLetters } from './dead-letter.js';
import type { AgentLog } from './events.js';
import { backoffMs, type BackoffOptions } from './retry.js';
import type { ShipOutcome, Shipper } from './shipper.js';
import { decodeSpoolRecord, type SpoolRecordHeader } from './spool-record.js';
import type { Spool, SpoolPosition } from './spool.js';
import { sleep } from './sleep.js';
import { lineCount, splitRequest } from './split-request.js';
import { compressBodySync, decompressBody, encodingOf, fallbackOf, type SharedWire } from './wire-body.js';

export interface SenderOptions {
  shipper: Shipper;
  deadLetters: DeadLetters;
  /** How batches are written and compressed; turned to JSON, or an older encoding, when Daniel refuses one (shared with the batcher and the sealer). */
  wire?: SharedWire;
  backoff: BackoffOptions;
  /** Give up (and report failure) after this long without delivering anything (`--once`, replay). */
  giveUpAfterMs?: number;
  /** A held batch (outage, token, address) is logged at once, then at most this often (default 60 s). */
  heldLogIntervalMs?: number;
  log: AgentLog;
}

export interface DeliveryOptions extends SenderOptions {
  spool: Spool;
  /** A record is done (delivered, or refused and dead-lettered): advance checkpoints. */
  onDone: (header: SpoolRecordHeader, position: SpoolPosition) => void;
  /** Every spooled record is done: nothing waits for Daniel. */
  onDrained?: () => void;
  /** Delivery gave up (`--once`) or broke: nothing more will be done. */
  onFailed?: (reason: string) => void;
}

/** Sends one request until Daniel took it (or refused parts of it for good), splitting it on 413. */
export class Sender {
  deliveredLines = 0;
  duplicateLines = 0;
  /** Lines Daniel refused for good (dead-lettered). */
  rejectedLines = 0;
  /** Why sending gave up, if it did. */
  failure: string | undefined;
  lastProgressMs = Date.now();
  private lastHeldLogMs = 0;
  private lastSplitLogMs = 0;

  constructor(
    private readonly options: SenderOptions,
    private readonly signal: AbortSignal,
    private readonly onGiveUp: (reason: string) => void,
  ) {}

  /** True once delivered (or dead-lettered); false when stopping or giving up first. */
  async send(body: Buffer, request?: IngestRequest, binary = false): Promise<boolean> {
    const { shipper } = this.options;
    for (let attempt = 0; !this.signal.aborted; attempt++) {
      const outcome: ShipOutcome = await shipper.send(body, this.signal, binary);
      if (binary && outcome.kind === 'rejected' && outcome.status === 415) {
        // A Daniel older than binary batches: this batch goes as the JSON it stands for, and so do the next ones.
        if (this.options.wire !== undefined && this.options.wire.format !== 'json') {
          this.options.wire.format = 'json';
          this.options.log('wire_format_fallback', { from: 'binary', to: 'json', reason: outcome.reason });
        }
        try {
          request ??= decodeBody(body);
        } catch (error) {
          await this.deadLetterAll(body, undefined, outcome.status, `${outcome.reason}; the batch could not be read to send it as JSON: ${(error as Error).message}`);
          return true;
        }
        body = compressBodySync(JSON.stringify(request), encodingOf(body));
        binary = false;
        attempt--;
        continue;
      }
      const from = encodingOf(body);
      const next = fallbackOf(from);
      if (outcome.kind === 'rejected' && outcome.status === 415 && next !== undefined) {
        // An older Daniel: it may take the next encoding (zstd, then brotli, then gzip). Nothing is lost; this batch and the next go that way.
        if (this.options.wire !== undefined && this.options.wire.encoding === from) {
          this.options.wire.encoding = next;
          this.options.log('compression_fallback', { from, to: next, reason: outcome.reason });
        }
        body = compressBodySync(decompressBody(body), next);
        attempt--; // not a failed attempt: the same batch, in the encoding this Daniel reads
        continue;
      }
      switch (outcome.kind) {
        case 'delivered':
          this.deliveredLines += outcome.accepted;
          this.duplicateLines += outcome.duplicates;
          this.lastProgressMs = Date.now();
          if (attempt > 0) this.options.log('delivery_resumed', { attempts: attempt + 1 });
          if (outcome.rejected.length > 0) await this.deadLetterNamed(request ?? decodeBody(body), outcome.rejected);
          return true;
        case 'rejected':
          await this.deadLetterAll(body, request, outcome.status, outcome.reason);
          this.lastProgressMs = Date.now();
          return true;
        case 'too-large':
          return this.sendInHalves(body, request, outcome.status, outcome.reason);
        default:
          break;
      }
      if (outcome.kind === 'unauthorized' && this.options.giveUpAfterMs !== undefined) {
        return this.giveUp(`Daniel refused the token (${outcome.reason}); check --token`);
      }
      if (this.options.giveUpAfterMs !== undefined && Date.now() - this.lastProgressMs > this.options.giveUpAfterMs) {
        return this.giveUp(`could not deliver for ${Math.round((Date.now() - this.lastProgressMs) / 1000)} s (${outcome.reason})`);
      }
      const retryAfterMs = outcome.kind === 'retry' ? outcome.retryAfterMs : undefined;
      const waitMs = Math.max(retryAfterMs ?? 0, backoffMs(attempt, this.options.backoff));
      this.sayHeld(outcome, attempt, waitMs);
      await sleep(waitMs, this.signal);
    }
    return false;
  }

  /** The first failure of a batch at once, then at most every `heldLogIntervalMs`, however long it lasts. */
  private sayHeld(outcome: ShipOutcome, attempt: number, waitMs: number): void {
    const now = Date.now();
    if (attempt > 0 && now - this.lastHeldLogMs < (this.options.heldLogIntervalMs ?? 60_000)) return;
    this.lastHeldLogMs = now;
    const fields = { attempt: attempt + 1, held_s: Math.round((now - this.lastProgressMs) / 1000), reason: 'reason' in outcome ? outcome.reason : '' };
    if (outcome.kind === 'unauthorized') this.options.log('token_refused', fields);
    else if (outcome.kind === 'misrouted') this.options.log('server_misrouted', fields);
    else this.options.log('ship_retry', { ...fields, wait_ms: waitMs });
  }

  private async sendInHalves(body: Buffer, given: IngestRequest | undefined, status: number, reason: string): Promise<boolean> {
    let request: IngestRequest;
    try {
      request = given ?? decodeBody(body);
    } catch {
      await this.deadLetterAll(body, given, status, `${reason}; the batch could not be read to split it`);
      return true;
    }
    const halves = splitRequest(request);
    if (halves === undefined) {
      await this.deadLetterAll(body, request, status, `${reason}; one line of ${body.length} compressed bytes cannot be cut further`);
      this.lastProgressMs = Date.now();
      return true;
    }
    const now = Date.now();
    if (now - this.lastSplitLogMs >= (this.options.heldLogIntervalMs ?? 60_000)) {
      this.lastSplitLogMs = now;
      this.options.log('batch_split', { status, lines: lineCount(request), reason });
    }
    for (const half of halves) {
      if (!(await this.send(compressBodySync(JSON.stringify(half), encodingOf(body)), half))) return false;
    }
    return true;
  }

  private async deadLetterAll(body: Buffer, given: IngestRequest | undefined, status: number, reason: string): Promise<void> {
    let request: IngestRequest | string;
    try {
      request = given ?? decodeBody(body);
    } catch {
      request = body.toString('base64');
    }
    const lines = typeof request === 'string' ? 0 : lineCount(request);
    this.rejectedLines += lines;
    await this.options.deadLetters.write({ status, code: codeOf(reason), reason, request }, lines);
  }

  /** Daniel stored the request but the groups or lines `rejected` names: only those are dead-lettered. */
  private async deadLetterNamed(request: IngestRequest, rejected: IngestRejection[]): Promise<void> {
    const byGroup = new Map<number, { whole: IngestRejection | undefined; lines: Map<number, IngestRejection> }>();
    for (const r of rejected) {
      let index = r.file;
      if (request.files[index]?.file_id !== r.file_id) index = request.files.findIndex((f) => f.file_id === r.file_id);
      if (index < 0) continue;
      const entry = byGroup.get(index) ?? { whole: undefined, lines: new Map<number, IngestRejection>() };
      if (r.offset === undefined) entry.whole = r;
      else entry.lines.set(r.offset, r);
      byGroup.set(index, entry);
    }
    for (const [index, { whole, lines }] of byGroup) {
      const group = request.files[index];
      if (group === undefined) continue;
      const refused = whole !== undefined ? group.lines : group.lines.filter((l) => lines.has(l.offset));
      const first = whole ?? [...lines.values()][0];
      if (first === undefined) continue;
      const reasons = [...new Set((whole !== undefined ? [whole] : [...lines.values()]).map((r) => `${r.code}: ${r.message}`))].slice(0, 3).join('; ');
      this.rejectedLines += refused.length;
      await this.options.deadLetters.write({ status: 200, code: first.code, reason: reasons, request: { host: request.host, files: [{ ...group, lines: refused }] } }, refused.length);
    }
  }

  private giveUp(reason: string): false {
    this.failure = reason;
    this.options.log('delivery_given_up', { reason });
    this.onGiveUp(reason);
    return false;
  }
}

export class Delivery {
  /** Records in the spool not yet done. */
  pending = 0;
  private readonly stopController = new AbortController();
  private readonly stopped = abortPromise(this.stopController.signal);
  private readonly sender: Sender;
  private idleWaiters: Array<() => void> = [];
  private loop: Promise<void> | undefined;
  private broken: string | undefined;

  constructor(private readonly options: DeliveryOptions) {
    this.sender = new Sender(options, this.stopController.signal, (reason) => {
      this.wakeIdle();
      this.stopController.abort();
      this.options.onFailed?.(reason);
    });
  }

  get deliveredLines(): number {
    return this.sender.deliveredLines;
  }

  get duplicateLines(): number {
    return this.sender.duplicateLines;
  }

  get rejectedLines(): number {
    return this.sender.rejectedLines;
  }

  /** Why delivery gave up (`--once`) or broke, if it did. */
  get failure(): string | undefined {
    return this.broken ?? this.sender.failure;
  }

  start(): void {
    this.loop = this.run().catch((err: unknown) => {
      this.broken = `ship loop failed: ${(err as Error).message}`;
      this.options.log('ship_loop_failed', { error: (err as Error).message });
      this.wakeIdle();
      this.options.onFailed?.(this.broken);
    });
  }

  /** Resolves when every spooled record is done, or delivery gave up. */
  waitIdle(): Promise<void> {
    if (this.pending === 0 || this.failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops after the record in flight (or at once, abandoning it: it stays in the spool). */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.loop;
    await this.options.deadLetters.idle();
    this.options.shipper.close();
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    const { spool } = this.options;
    this.sender.lastProgressMs = Date.now();
    while (!this.stopping) {
      await Promise.race([spool.waitForRecord(), this.stopped]);
      if (this.stopping) return;
      const record = await spool.next();
      if (record === undefined) continue;
      const { header, body } = decodeSpoolRecord(record.payload);
      const done = await this.sender.send(body, undefined, header.binary === true);
      if (!done) {
        spool.rewind();
        return;
      }
      this.pending--;
      this.options.onDone(header, record.position);
      if (this.pending <= 0) {
        this.wakeIdle();
        this.options.onDrained?.();
      }
    }
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** The ingest request inside a compressed body, binary or JSON (only after a 413, a 415 or a `rejected` answer). */
export function decodeBody(body: Buffer): IngestRequest {
  return parseBatchBody(decompressBody(body));
}

function codeOf(reason: string): string | undefined {
  return /^HTTP \d+ ([A-Z_]+):/.exec(reason)?.[1];
}

function abortPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
