/**
 * What the live-tail settle window of the dynamodb store costs in latency: append -> tail
 * through two store instances (a writing Daniel and a following one) on one dynalite table,
 * window off and at its default. `node --import tsx bench/dynamodb-tail-latency.ts [samples]`
 * (default 60 appends of one line each, the follower polling every 20 ms as fast as a test can).
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTable } from '../src/storage/dynamodb/create-table.js';
import { DEFAULT_SETTLE_MS, DynamoDbStore } from '../src/storage/dynamodb/dynamodb-store.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const dynalite = createRequire(import.meta.url)('dynalite') as (options: Record<string, unknown>) => Server;
const SAMPLES = Number(process.argv[2] ?? 60);
const POLL_MS = 20;
const T0 = 1_700_000_000_000_000_000n;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(endpoint: string, settleMs: number): Promise<number[]> {
  const connection = { table: `latency-${settleMs}`, endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  await createTable(connection, { waitSeconds: 10 });
  const writer = await DynamoDbStore.open({ ...connection, settleMs });
  const follower = await DynamoDbStore.open({ ...connection, settleMs });
  const seenAt = new Map<string, number>();
  let stopped = false;
  let polls = 0;
  const loop = (async () => {
    let afterSeq = await follower.tailStart();
    while (!stopped) {
      const page = await follower.tail({ afterSeq, limit: 1000 });
      for (const line of page.lines) seenAt.set(line.line, performance.now());
      afterSeq = Math.max(afterSeq, page.lastSeq);
      polls++;
      await sleep(POLL_MS);
    }
  })();
  while (polls === 0) await sleep(5); // the follower has started (a new tail starts at the settled seq)
  const latencies: number[] = [];
  let offset = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const text = `line ${i}`;
    const start = performance.now();
    const line = { offset, end: offset + text.length + 1, timestamp: T0, line: text, cut: false };
    await writer.append({ host: 'h', files: [{ fileId: 'f', filename: 'app.log', path: '/var/log/app.log', lines: [line] }], receivedAt: T0 });
    offset = line.end;
    while (!seenAt.has(text)) await sleep(2);
    latencies.push(seenAt.get(text)! - start);
    await sleep(Math.random() * 100); // appends land anywhere in the follower's sampling cycle
  }
  stopped = true;
  await loop;
  await Promise.all([writer.close(), follower.close()]);
  return latencies.sort((a, b) => a - b);
}

const server = dynalite({ createTableMs: 0 });
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
try {
  for (const settleMs of [0, DEFAULT_SETTLE_MS]) {
    const latencies = await measure(endpoint, settleMs);
    const at = (q: number): string => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(0);
    console.log(`settle window ${settleMs} ms: ${SAMPLES} appends, append -> tail p50 ${at(0.5)} ms, p99 ${at(0.99)} ms (follower polls every ${POLL_MS} ms)`);
  }
} finally {
  server.close();
}
