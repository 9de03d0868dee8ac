/**
 * A commit put that is still on the wire when its reservation turns half a settle window old
 * (the network holds it): the writer cuts it, keeps its blobs, and commits the lines again
 * with fresh seqs; when the held put lands at last, the slot refuses it, so the lines are
 * stored and tailed exactly once. The network is a real HTTP proxy in front of dynalite that
 * holds the first commit put it sees.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { appendFile, fileLines, T0 } from '../store.case.js';
import { useDynalite } from './dynalite.case.js';
import { DynamoDbStore } from './dynamodb-store.js';

const dynalite = useDynalite();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Forwards to `target`; holds the first conditional PutItem for `holdMs` and records what DynamoDB answered it. */
async function holdingProxy(target: string, holdMs: number): Promise<{ url: string; held: Promise<number>; arm: () => void; close: () => Promise<void> }> {
  // Armed once the stores are open: opening writes the data-format item with a conditional put too.
  let armed = false;
  let answered: (status: number) => void = () => undefined;
  const held = new Promise<number>((resolve) => (answered = resolve));
  const forward = (method: string, path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const out = request(new URL(path, target), { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      out.on('error', reject);
      out.end(body);
    });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const hold = armed && String(req.headers['x-amz-target']).endsWith('.PutItem') && body.includes('attribute_not_exists(pk)');
      if (hold) armed = false;
      void (async () => {
        if (hold) await sleep(holdMs);
        const answer = await forward(req.method ?? 'POST', req.url ?? '/', req.headers, body);
        if (hold) answered(answer.status);
        if (!res.destroyed) res.writeHead(answer.status, answer.headers).end(answer.body);
      })().catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    arm: () => {
      armed = true;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('dynamodb store: a commit still in flight at half the settle window', () => {
  it('is cut, committed again with fresh seqs, and the late put is refused: stored and tailed once', async () => {
    // Wide enough that the second commit lands long before the held one, even on a loaded machine.
    const settleMs = 2000;
    const connection = await dynalite().freshTable();
    const proxy = await holdingProxy(connection.endpoint!, settleMs * 1.5);
    const writer = await DynamoDbStore.open({ ...connection, endpoint: proxy.url, settleMs });
    const reader = await DynamoDbStore.open({ ...connection, settleMs });
    proxy.arm();
    try {
      let afterSeq = await reader.tailStart();
      const texts = ['one', 'two', 'three'];
      expect(await writer.append({ host: 'h', files: [appendFile('f', 'app.log', fileLines(texts))], receivedAt: T0 })).toEqual({ accepted: 3, duplicates: 0 });
      // The held put reached DynamoDB after the writer had committed the lines again: the slot refused it.
      expect(await proxy.held).toBe(400);

      const seen: { line: string; seq: number }[] = [];
      const deadline = performance.now() + 20_000;
      while (seen.length < texts.length && performance.now() < deadline) {
        const page = await reader.tail({ afterSeq, limit: 100 });
        seen.push(...page.lines);
        afterSeq = Math.max(afterSeq, page.lastSeq);
        await sleep(20);
      }
      expect(seen.map((l) => l.line)).toEqual(texts);
      // The first reservation (seqs 1-3) was given up.
      expect(seen[0]!.seq).toBeGreaterThan(3);
      const stored = await reader.search({ order: 'asc', limit: 100 });
      expect(stored.lines.map((l) => l.line)).toEqual(texts);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
      await proxy.close();
    }
  }, 60_000);
});
