/**
 * The server's PushSink (src/inputs/sink.ts): pushed entries stored through the same append
 * path as /ingest, so they are durable when push resolves, counted, tailed and alerted on.
 *
 * A pushed source has no file and no offsets. Each (host, filename) gets a file identity of
 * this process's own (`push:<instance>:<hash of filename>`, a new instance id per start) whose offsets
 * are entry numbers from 0, handed out in order under a per-host queue. A restart starts new
 * identities, so two Daniels (or two lives of one) never hand out the same offsets for a
 * source: nothing pushed can be taken for a duplicate of something else. The price is one
 * identity per source per start, listed under the source's filename.
 *
 * Entries with a sender's id (Elasticsearch `_id`) are remembered per source, the newest
 * ID_MEMORY of them: a retry of an entry still remembered is a duplicate. A retry after a
 * restart, or of an id older than that, is stored again (docs/guarantees.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../common/errors.js';
import type { PushAuth, PushedBatch, PushedEntry, PushRejection, PushResult, PushSink } from '../inputs/sink.js';
import { INT64_MAX, INT64_MIN, nameProblem, wellFormed } from '../protocol/names.js';
import { FieldBounds } from '../query/fields.js';
import type { AppendLine, Store } from '../storage/store.js';
import type { ServerMetrics } from './metrics-registry.js';
import type { AppendNotifier } from './notifier.js';

/** Sender ids remembered, over all sources. */
export const ID_MEMORY = 200_000;
/** Entries waiting for the store at once; past it a push is refused with 429 (RATE_LIMITED). */
export const MAX_PENDING_ENTRIES = 500_000;

export interface PushSinkDeps {
  store: Store;
  now: () => bigint;
  notifier: AppendNotifier;
  metrics: ServerMetrics;
}

interface Source {
  fileId: string;
  next: number;
}


/**
 * The batch's entries a store can hold: each entry whose time is past the signed 64-bit range
 * of nanoseconds (what every store and segment writes) is refused alone, INVALID_BODY, as
 * /ingest refuses such a line. A receiver may pass any time a sender wrote (an Elasticsearch
 * `@timestamp` of 1e30 ms, a Loki time of 20 digits); written anyway, it failed the whole
 * append. The batch's own array when every entry is storable.
 */
function storableEntries(batch: PushedBatch, index: number, rejected: PushRejection[]): PushedEntry[] {
  let kept: PushedEntry[] | undefined;
  batch.entries.forEach((entry, j) => {
    if (entry.timestamp >= INT64_MIN && entry.timestamp <= INT64_MAX) {
      kept?.push(entry);
      return;
    }
    kept ??= batch.entries.slice(0, j);
    rejected.push({
      batch: index,
      entry: j,
      code: 'INVALID_BODY',
      message: `The entry's time, ${entry.timestamp} ns since the epoch, is past what can be stored (1677-09-21 to 2262-04-11 UTC)`,
    });
  });
  return kept ?? batch.entries;
}

export class StorePushSink implements PushSink {
  private readonly instance = randomBytes(6).toString('hex');
  private readonly sources = new Map<string, Source>();
  /** Per host: the push in progress, so offsets are handed out and stored in order. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** `host \0 filename \0 id`, oldest first (a Map keeps insertion order). */
  private readonly ids = new Map<string, true>();
  private pending = 0;

  constructor(private readonly deps: PushSinkDeps) {}

  async push(batches: readonly PushedBatch[], auth: PushAuth): Promise<PushResult> {
    const rejected: PushRejection[] = [];
    const byHost = new Map<string, { batch: PushedBatch; index: number }[]>();
    let entries = 0;
    batches.forEach((batch, index) => {
      const hostProblem = nameProblem(batch.host);
      const problem = hostProblem === undefined ? nameProblem(batch.filename) : `host ${hostProblem}`;
      if (problem !== undefined) {
        rejected.push({ batch: index, code: 'INVALID_NAME', message: hostProblem === undefined ? `filename ${problem}` : problem });
        return;
      }
      if (auth.hosts !== undefined && !auth.hosts.has(batch.host)) {
        rejected.push({ batch: index, code: 'HOST_NOT_ALLOWED', message: `This token may not write host ${JSON.stringify(batch.host)}: it is bound to other hosts` });
        return;
      }
      const storable = storableEntries(batch, index, rejected);
      if (storable.length === 0) return;
      entries += storable.length;
      let list = byHost.get(batch.host);
      if (!list) byHost.set(batch.host, (list = []));
      list.push({ batch: storable === batch.entries ? batch : { ...batch, entries: storable }, index });
    });
    if (entries > 0 && this.pending + entries > MAX_PENDING_ENTRIES) {
      throw new AppError('RATE_LIMITED', `The store is behind: ${this.pending} pushed entries are waiting; retry later`);
    }
    this.pending += entries;
    try {
      const results = await Promise.all([...byHost].map(([host, list]) => this.inOrder(host, () => this.store(host, list))));
      let accepted = 0;
      let duplicates = 0;
      for (const result of results) {
        accepted += result.accepted;
        duplicates += result.duplicates;
      }
      return { accepted, duplicates, rejected };
    } finally {
      this.pending -= entries;
    }
  }

  private inOrder<T>(host: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(host) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(host, settled);
    void settled.then(() => {
      if (this.queues.get(host) === settled) this.queues.delete(host);
    });
    return next;
  }

  private async store(host: string, list: { batch: PushedBatch; index: number }[]): Promise<{ accepted: number; duplicates: number }> {
    const files = new Map<string, { source: Source; filename: string; lines: AppendLine[]; ids: string[] }>();
    let duplicates = 0;
    let bytes = 0;
    const seenInRequest = new Set<string>();
    const bounds = new FieldBounds();
    for (const { batch } of list) {
      let file = files.get(batch.filename);
      if (!file) {
        const source = this.sourceOf(host, batch.filename);
        files.set(batch.filename, (file = { source, filename: batch.filename, lines: [], ids: [] }));
      }
      for (const entry of batch.entries) {
        if (entry.id !== undefined) {
          const key = `${host}\0${batch.filename}\0${entry.id}`;
          if (this.ids.has(key) || seenInRequest.has(key)) {
            duplicates++;
            continue;
          }
          seenInRequest.add(key);
          file.ids.push(key);
        }
        const text = wellFormed(entry.line);
        const offset = file.source.next + file.lines.length;
        const line: AppendLine = { offset, end: offset + 1, timestamp: entry.timestamp, line: text, cut: false };
        if (entry.fields !== undefined) {
          const fields = bounds.of(entry.fields);
          if (fields !== undefined) line.fields = fields;
        }
        file.lines.push(line);
        bytes += Buffer.byteLength(text, 'utf8');
      }
    }
    const appendFiles = [...files.values()].filter((file) => file.lines.length > 0);
    if (appendFiles.length === 0) return { accepted: 0, duplicates };
    // The offsets are spent whatever the append does: a store that failed part way may have kept
    // some of them, and later entries must never be taken for those (a retry is stored again).
    for (const file of appendFiles) file.source.next += file.lines.length;
    const result = await this.deps.store.append({
      host,
      files: appendFiles.map((file) => ({ fileId: file.source.fileId, filename: file.filename, path: '', lines: file.lines })),
      receivedAt: this.deps.now(),
    });
    // Only once durable are the ids known.
    for (const file of appendFiles) for (const key of file.ids) this.remember(key);
    this.deps.metrics.recordIngest(result.accepted, result.duplicates + duplicates, bytes, 0);
    if (result.accepted > 0) this.deps.notifier.notify(result.stored);
    return { accepted: result.accepted, duplicates: result.duplicates + duplicates };
  }

  private sourceOf(host: string, filename: string): Source {
    const key = `${host}\0${filename}`;
    let source = this.sources.get(key);
    if (!source) {
      // Hashed: a filename may be as long as a file_id may be.
      const name = createHash('sha256').update(filename).digest('base64url').slice(0, 22);
      this.sources.set(key, (source = { fileId: `push:${this.instance}:${name}`, next: 0 }));
    }
    return source;
  }

  private remember(key: string): void {
    this.ids.set(key, true);
    while (this.ids.size > ID_MEMORY) {
      const oldest = this.ids.keys().next().value as string;
      this.ids.delete(oldest);
    }
  }
}
