/**
 * The ship loop: spool records go to Daniel one at a time, in spool order (so each file's
 * lines arrive in ascending offsets), each retried until it is delivered or rejected.
 * Rejected batches (4xx other than 401/403/408/429) go to a dead-letter file and count as
 * done, so one bad batch never blocks the rest forever.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { backoffMs, type BackoffOptions } from './retry.js';
import type { ShipOutcome, Shipper } from './shipper.js';
import { decodeSpoolRecord, type SpoolRecordHeader } from './spool-record.js';
import type { Spool, SpoolPosition } from './spool.js';
import { sleep } from './sleep.js';

export interface DeliveryOptions {
  spool: Spool;
  shipper: Shipper;
  stateDir: string;
  backoff: BackoffOptions;
  /** `--once`: give up (and report failure) after this long without delivering anything. */
  giveUpAfterMs?: number;
  /** A record is done (delivered, or rejected and dead-lettered): advance checkpoints. */
  onDone: (header: SpoolRecordHeader, position: SpoolPosition) => void;
  /** Every spooled record is done: nothing waits for Daniel. */
  onDrained?: () => void;
  /** Delivery gave up (`--once`) or broke: nothing more will be done. */
  onFailed?: () => void;
  log: (message: string) => void;
}

export class Delivery {
  /** Records in the spool not yet done. */
  pending = 0;
  deliveredLines = 0;
  duplicateLines = 0;
  rejectedLines = 0;
  /** Why a `--once` gave up, if it did. */
  failure: string | undefined;
  private readonly stopController = new AbortController();
  private readonly stopped = abortPromise(this.stopController.signal);
  private idleWaiters: Array<() => void> = [];
  private loop: Promise<void> | undefined;
  private readonly rejectedStatusesLogged = new Set<number>();
  private lastProgressMs = Date.now();

  constructor(private readonly options: DeliveryOptions) {}

  start(): void {
    this.loop = this.run().catch((err: unknown) => {
      this.failure = `ship loop failed: ${(err as Error).message}`;
      this.options.log(this.failure);
      this.wakeIdle();
      this.options.onFailed?.();
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
    this.options.shipper.close();
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    const { spool } = this.options;
    while (!this.stopping) {
      await Promise.race([spool.waitForRecord(), this.stopped]);
      if (this.stopping) return;
      const record = await spool.next();
      if (record === undefined) continue;
      const { header, body } = decodeSpoolRecord(record.payload);
      const done = await this.deliver(header, body);
      if (!done) {
        spool.rewind();
        return;
      }
      this.pending--;
      this.lastProgressMs = Date.now();
      this.options.onDone(header, record.position);
      if (this.pending <= 0) {
        this.wakeIdle();
        this.options.onDrained?.();
      }
    }
  }

  /** True once delivered or rejected; false when stopping or giving up first. */
  private async deliver(header: SpoolRecordHeader, body: Buffer): Promise<boolean> {
    for (let attempt = 0; !this.stopping; attempt++) {
      const outcome: ShipOutcome = await this.options.shipper.send(body, this.stopController.signal);
      if (outcome.kind === 'delivered') {
        this.deliveredLines += outcome.accepted;
        this.duplicateLines += outcome.duplicates;
        if (attempt > 0) this.options.log(`attempts=${attempt + 1}: Daniel is taking lines again`);
        return true;
      }
      if (outcome.kind === 'rejected') {
        await this.deadLetter(header, body, outcome.status, outcome.reason);
        return true;
      }
      if (outcome.kind === 'unauthorized' && this.options.giveUpAfterMs !== undefined) {
        return this.giveUp(`Daniel refused the token (${outcome.reason}); check --token`);
      }
      if (this.options.giveUpAfterMs !== undefined && Date.now() - this.lastProgressMs > this.options.giveUpAfterMs) {
        return this.giveUp(`could not deliver for ${Math.round((Date.now() - this.lastProgressMs) / 1000)} s (${outcome.reason})`);
      }
      const retryAfterMs = outcome.kind === 'retry' ? outcome.retryAfterMs : undefined;
      const waitMs = Math.max(retryAfterMs ?? 0, backoffMs(attempt, this.options.backoff));
      if (attempt === 0 || Number.isInteger(Math.log2(attempt + 1))) {
        this.options.log(`attempt=${attempt + 1} wait_ms=${waitMs} reason="${outcome.reason}": could not ship a batch, retrying`);
      }
      await sleep(waitMs, this.stopController.signal);
    }
    return false;
  }

  private giveUp(reason: string): false {
    this.failure = reason;
    this.options.log(reason);
    this.wakeIdle();
    this.stopController.abort();
    this.options.onFailed?.();
    return false;
  }

  private async deadLetter(header: SpoolRecordHeader, body: Buffer, status: number, reason: string): Promise<void> {
    this.rejectedLines += header.lines;
    const file = path.join(this.options.stateDir, 'dead-letter.ndjson');
    let request: unknown;
    try {
      request = JSON.parse(gunzipSync(body).toString('utf8'));
    } catch {
      request = body.toString('base64');
    }
    await fsp.appendFile(file, JSON.stringify({ time: new Date().toISOString(), status, reason, request }) + '\n');
    if (!this.rejectedStatusesLogged.has(status)) {
      this.rejectedStatusesLogged.add(status);
      this.options.log(`status=${status} reason="${reason}" file=${file}: Daniel rejected a batch; it was written to the dead-letter file (logged once per status)`);
    }
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

function abortPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
