/**
 * Segment metadata newest first, read lazily, for the search engine's early stop: per segment
 * partition (host x shard) a Query of the by_time index backwards (its sort key starts with
 * the segment's max timestamp), in pages that grow from one 4 KB read unit's worth, merged
 * across partitions by that key. A newest-100 search then reads the first page of each
 * partition instead of every segment's metadata; a search that walks the whole history reads
 * the same items as one full listing, in a few more requests.
 *
 * The merged order is exact: an item is handed out only while every partition that may hold a
 * newer one has its next item in memory, so a page ends where a partition runs out of read
 * items, and that partition's next page is read only when the consumer asks for more.
 */
import { QueryCommand, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { inParallel, readS, type Item, type Key } from './dynamo-client.js';

/** ~16 metadata items of ~200 bytes: one read unit. Later pages grow fourfold, to DynamoDB's own 1 MB page. */
const FIRST_PAGE_ITEMS = 16;
const GROWTH = 4;
const MAX_PAGE_ITEMS = 4_096;
const QUERY_CONCURRENCY = 8;

class PartitionPages {
  private items: Item[] = [];
  private next = 0;
  private start: Key | undefined;
  private exhausted = false;
  private limit = FIRST_PAGE_ITEMS;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly input: QueryCommandInput,
  ) {}

  /** The newest item not handed out yet, when read. */
  get head(): Item | undefined {
    return this.items[this.next];
  }

  get needsPage(): boolean {
    return this.next >= this.items.length && !this.exhausted;
  }

  take(): Item {
    return this.items[this.next++]!;
  }

  async readPage(): Promise<void> {
    const answer = await this.client.send(
      new QueryCommand({ ...this.input, ScanIndexForward: false, Limit: this.limit, ...(this.start === undefined ? {} : { ExclusiveStartKey: this.start }) }),
    );
    this.items = answer.Items ?? [];
    this.next = 0;
    this.start = answer.LastEvaluatedKey;
    this.exhausted = this.start === undefined;
    this.limit = Math.min(MAX_PAGE_ITEMS, this.limit * GROWTH);
  }
}

/**
 * The items of the given by_time Queries (one per partition), merged newest first by `sortKey`,
 * in pages; each page continues the order of the one before.
 */
export async function* mergeNewestFirst(client: DynamoDBClient, queries: readonly QueryCommandInput[], sortKey: string): AsyncGenerator<Item[]> {
  const partitions = queries.map((input) => new PartitionPages(client, input));
  for (;;) {
    await inParallel(
      partitions.filter((partition) => partition.needsPage),
      QUERY_CONCURRENCY,
      (partition) => partition.readPage(),
    );
    const page: Item[] = [];
    for (;;) {
      let newest: PartitionPages | undefined;
      let newestKey = '';
      for (const partition of partitions) {
        const head = partition.head;
        if (head === undefined) continue;
        const key = readS(head, sortKey);
        if (newest === undefined || key > newestKey) {
          newest = partition;
          newestKey = key;
        }
      }
      if (newest === undefined) break;
      page.push(newest.take());
      if (newest.needsPage) break; // its next item may be newer than any other partition's head
    }
    if (page.length === 0) {
      if (partitions.some((partition) => partition.needsPage)) continue; // an empty page with more to come
      return;
    }
    yield page;
  }
}
