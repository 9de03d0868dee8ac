/**
 * The dynamodb store: the segment design on one DynamoDB table (table-design.ts), for
 * deployments that run several stateless Daniels. Writes: append-writer.ts (exactly once
 * through conditional writes on per-file slots). Reads: the shared query engine over
 * DynamoSegments; live tail only up to the settle window's bound (settle-window.ts), so it
 * is exact with several Daniels. Every SDK error is mapped at this boundary (dynamo-client.ts).
 */
import { DescribeTableCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DATA_FORMAT_VERSION, DataFormatError, newerFormatMessage } from '../data-format.js';
import { nowNs } from '../../common/time.js';
import { searchSegments, tailSegments } from '../../query/segment-search.js';
import type { SearchPage, SearchQuery } from '../../query/types.js';
import { segmentReads, type SegmentReads } from '../segment-reads.js';
import type { SegmentBackend } from '../../query/backend.js';
import {
  StoreUnavailableError,
  type AppendRequest,
  type AppendResult,
  type FileSummary,
  type HostSummary,
  type RetentionResult,
  type Store,
  type StoreStats,
  type TailPage,
  type TailQuery,
} from '../store.js';
import { AppendWriter, type WriterContext } from './append-writer.js';
import { attr, createClient, isConditionFailure, mapDynamoError, readN, TableMissingError, type DynamoConnection } from './dynamo-client.js';
import { DynamoSegments, type SegmentContext } from './dynamo-segments.js';
import { FORMAT_KEY } from './table-design.js';
import { HEAD_LINES, headHost, searchFromHead } from './host-head.js';
import { deleteSegmentsArrivedBefore } from './retention.js';
import { settledBackend, SettleWindow } from './settle-window.js';
import { readFiles, readHosts, readStats } from './summaries.js';

export interface DynamoDbStoreOptions extends DynamoConnection {
  /** Partitions per host for segments (hash of the file id); may grow, never shrink. Default 1. */
  shards?: number;
  /** How long lines are kept after arrival (ns): sets the TTL attribute and hides older segments from reads. */
  retentionNs?: bigint;
  /** Raw text bytes per segment item. Default 192 KiB: data and bloom each stay in one item. */
  maxSegmentBytes?: number;
  /**
   * The settle window of live tail (ms): tail shows a line once its seq is this old, and writers
   * give up reservations half this old, so tail is exact with several Daniels. 0 turns it off
   * (exact with one Daniel only, and no delay). Default 1000.
   */
  settleMs?: number;
  /** Runs before each segment's commit: tests make a commit late with it. */
  beforeCommit?: WriterContext['beforeCommit'];
  /** Lines each host's head keeps (default HEAD_LINES); 0 writes and reads no heads, as stores before heads did (tests). */
  headLines?: number;
  now?: () => bigint;
}

export const DEFAULT_MAX_SEGMENT_BYTES = 192 << 10;
export const DEFAULT_SETTLE_MS = 1000;

export class DynamoDbStore implements Store {
  readonly kind = 'dynamodb' as const;
  readonly table: string;
  private readonly client: DynamoDBClient;
  private readonly segments: DynamoSegments;
  private readonly writer: AppendWriter;
  private readonly segmentContext: SegmentContext;
  /** Undefined when the settle window is off. */
  private readonly settle: SettleWindow | undefined;
  /** Appends of this instance run one after another, so its seqs become durable in order. */
  private appendQueue: Promise<unknown> = Promise.resolve();
  private closed = false;
  readonly context: SegmentReads['context'];
  readonly histogram: SegmentReads['histogram'];
  private readonly unsettledTail: SegmentReads['tail'];

  /** Opens the store; a missing table is an error naming `daniel create-table`, an unreachable endpoint is not (requests get 503 until it answers). */
  static async open(options: DynamoDbStoreOptions): Promise<DynamoDbStore> {
    const store = new DynamoDbStore(options);
    try {
      await store.describe();
    } catch (error) {
      if (error instanceof TableMissingError || !(error instanceof StoreUnavailableError)) {
        await store.close();
        throw error;
      }
      return store;
    }
    try {
      await store.ensureFormat();
    } catch (error) {
      await store.close();
      throw error;
    }
    // A first counter sample now, so the first live tail finds one a window old and need not wait.
    await store.settle?.sample().catch(() => undefined);
    return store;
  }

  constructor(options: DynamoDbStoreOptions) {
    this.table = options.table;
    this.client = createClient(options);
    const shards = Math.max(1, Math.floor(options.shards ?? 1));
    this.segmentContext = {
      client: this.client,
      table: options.table,
      shards,
      now: options.now ?? nowNs,
      headLines: Math.max(0, Math.floor(options.headLines ?? HEAD_LINES)),
      ...(options.retentionNs === undefined ? {} : { retentionNs: options.retentionNs }),
    };
    this.segments = new DynamoSegments(this.segmentContext);
    ({ context: this.context, histogram: this.histogram, tail: this.unsettledTail } = segmentReads(this.segments, (work) => this.guard(work)));
    const settleMs = Math.max(0, options.settleMs ?? DEFAULT_SETTLE_MS);
    this.settle = settleMs > 0 ? new SettleWindow(settleMs, () => this.segments.reservedSeq()) : undefined;
    this.writer = new AppendWriter({
      ...this.segmentContext,
      maxSegmentBytes: options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES,
      settleMs,
      ...(options.beforeCommit === undefined ? {} : { beforeCommit: options.beforeCommit }),
    });
  }

  /**
   * A newest-first page of one host from the host's head when it answers exactly
   * (host-head.ts), else the shared engine over the segment listing; both take the snapshot
   * from one read of the committed seq.
   */
  search(query: SearchQuery): Promise<SearchPage> {
    return this.guard(async () => {
      let snapshot: Promise<number> | undefined;
      const lastSeq = (): Promise<number> => (snapshot ??= this.segments.lastSeq());
      const host = this.segmentContext.headLines ? headHost(query) : undefined;
      if (host !== undefined) {
        const page = await searchFromHead(this.segmentContext, host, query, this.segments.visibility({ hosts: [host] }, false), lastSeq);
        if (page !== undefined) return page;
      }
      return searchSegments(snapshot === undefined ? this.segments : withLastSeq(this.segments, lastSeq), query);
    });
  }

  /**
   * Lines up to the settled seq only (settle-window.ts): the page's resume position never passes
   * it, so a line whose lower seq commits after a higher one's is still shown, a window late.
   */
  tail(query: TailQuery): Promise<TailPage> {
    const settle = this.settle;
    if (settle === undefined) return this.unsettledTail(query);
    return this.guard(async () => tailSegments(settledBackend(this.segments, (await settle.settledSeq()) ?? 0), query));
  }

  /** Where a new live tail starts: the settled seq (lines of the last window show once), or lastSeq when the window is off. */
  tailStart(): Promise<number> {
    const settle = this.settle;
    return settle === undefined ? this.lastSeq() : this.guard(() => settle.startSeq());
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError('The dynamodb store is closed.');
    try {
      return await work();
    } catch (error) {
      throw mapDynamoError(error, this.table);
    }
  }

  /**
   * The table's data format (item META/FORMAT): recorded when absent (a new table, or one
   * written before the version was recorded: format 0 had the same items), raised when older,
   * refused when newer.
   */
  private async ensureFormat(): Promise<void> {
    const key = { pk: attr.s(FORMAT_KEY.pk), sk: attr.s(FORMAT_KEY.sk) };
    await this.guard(async () => {
      try {
        await this.client.send(
          new PutItemCommand({ TableName: this.table, Item: { ...key, v: attr.n(DATA_FORMAT_VERSION) }, ConditionExpression: 'attribute_not_exists(pk)' }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    });
    const answer = await this.guard(() => this.client.send(new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true })));
    const found = answer.Item === undefined ? DATA_FORMAT_VERSION : readN(answer.Item, 'v', 0);
    if (found > DATA_FORMAT_VERSION) throw new DataFormatError(newerFormatMessage(`the DynamoDB table ${this.table}`, found));
    if (found < DATA_FORMAT_VERSION) {
      // Every older format holds the same items (data-format.ts): raising the version is the
      // whole upgrade, and keeps an older Daniel from opening a table with blobs it cannot read.
      await this.guard(async () => {
        try {
          await this.client.send(
            new UpdateItemCommand({
              TableName: this.table,
              Key: key,
              UpdateExpression: 'SET v = :new',
              ConditionExpression: 'v < :new',
              ExpressionAttributeValues: { ':new': attr.n(DATA_FORMAT_VERSION) },
            }),
          );
        } catch (error) {
          // Another Daniel raised it first (to this version or a newer one, which its next start refuses).
          if (!isConditionFailure(error)) throw error;
        }
      });
    }
  }

  private async describe(): Promise<void> {
    await this.guard(() => this.client.send(new DescribeTableCommand({ TableName: this.table })));
  }

  append(request: AppendRequest): Promise<AppendResult> {
    const run = this.appendQueue.then(() => this.guard(() => this.writer.append(request)));
    this.appendQueue = run.catch(() => undefined);
    return run;
  }

  hosts(): Promise<HostSummary[]> {
    return this.guard(() => readHosts(this.segmentContext));
  }

  files(host: string): Promise<FileSummary[] | null> {
    return this.guard(() => readFiles(this.segmentContext, host));
  }

  lastSeq(): Promise<number> {
    return this.guard(() => this.segments.lastSeq());
  }

  deleteArrivedBefore(arrivedBefore: bigint): Promise<RetentionResult> {
    return this.guard(() => deleteSegmentsArrivedBefore(this.segmentContext, this.segments, arrivedBefore));
  }

  stats(): Promise<StoreStats> {
    return this.guard(() => readStats(this.segmentContext));
  }

  ping(): Promise<void> {
    return this.describe();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appendQueue;
    this.client.destroy();
  }
}

/** The segments with the snapshot already read for this search. */
function withLastSeq(segments: DynamoSegments, lastSeq: () => Promise<number>): SegmentBackend {
  return {
    listSegments: (query) => segments.listSegments(query),
    listSegmentsInOrder: (query, order) => segments.listSegmentsInOrder(query, order),
    loadBloom: (segment) => segments.loadBloom(segment),
    loadData: (segment) => segments.loadData(segment),
    lastSeq,
  };
}

/**
 * The store as `daniel serve --store dynamodb` opens it: the connection from its flags, the
 * shard count (default 1; every Daniel on a table must use the same, and it may only grow;
 * `daniel serve` validates it), and the retention when the caller passes it.
 */
/** What `daniel serve` configures of the DynamoDB store. */
export interface DynamoDbServeOptions {
  table: string;
  endpoint?: string;
  region: string;
  /** How long lines are kept after arrival (ns): DynamoDB's TTL attribute and read-time hiding. */
  retentionNs?: bigint;
  /** Segment partitions per host (1..1000); default 1. */
  shards?: number;
  /** Live tail's settle window (ms, 0..60000; 0 = off); default 1000. */
  settleMs?: number;
  /**
   * Lines each host's head item keeps (0..1000; 0 = no heads). Default 0 for a served store:
   * a head makes every append dearer (about 5 write units more for 128 lines) to make the
   * newest page of a host cheap, which pays only where hosts are read about as often as they
   * write (docs/dynamodb.md, "The host head").
   */
  headLines?: number;
}

export function openDynamoDbStore(connection: DynamoDbServeOptions): Promise<DynamoDbStore> {
  const shards = connection.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > 1000) {
    return Promise.reject(new Error(`the DynamoDB shard count ${shards} must be a whole number from 1 to 1000`));
  }
  const settleMs = connection.settleMs ?? DEFAULT_SETTLE_MS;
  if (!Number.isInteger(settleMs) || settleMs < 0 || settleMs > 60_000) {
    return Promise.reject(new Error(`the live-tail settle window ${settleMs} ms must be a whole number from 0 to 60000`));
  }
  const headLines = connection.headLines ?? 0;
  if (!Number.isInteger(headLines) || headLines < 0 || headLines > 1000) {
    return Promise.reject(new Error(`the host head of ${headLines} lines must be a whole number from 0 to 1000`));
  }
  return DynamoDbStore.open({ ...connection, shards, settleMs, headLines });
}
