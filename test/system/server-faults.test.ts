/**
 * What happens between the agent and the server: Daniel killed mid-ingest, Daniel down
 * for a long while (the spool), Daniel answering 503/429, connections cut mid-request, and
 * the spool filling up. Henrik always talks to a proxy or front that stays put.
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { delay, waitForLines, waitUntil } from './lib/checker.js';
import { expectExactlyOnce, Stack, useSystemHooks } from './lib/stack.js';
import { LineWriter } from './lib/writer.js';
import { tokens } from '../lib/processes.js';

useSystemHooks();

const downSeconds = process.env.FAST_SYSTEM_TESTS === '1' ? 10 : 30;

/** One series of Daniel's /metrics (NaN when absent). */
async function metric(stack: Stack, name: string): Promise<number> {
  const response = await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${tokens.read}` }, signal: AbortSignal.timeout(10_000) });
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(await response.text());
  return match ? Number(match[1]) : Number.NaN;
}

describe('system: server and network faults', () => {
  it('kill -9 of Daniel mid-ingest, twice, loses and duplicates nothing', async () => {
    const stack = await Stack.start({ name: 'daniel-kill9', proxy: true });
    const writer = new LineWriter({ path: stack.logPath('app.log'), stream: 'A', linesPerSecond: 1000 });
    writer.start();
    const henrik = stack.startHenrik();
    for (let round = 0; round < 2; round++) {
      await delay(2000);
      await stack.daniel.child.kill9();
      await delay(500);
      await stack.startDaniel();
    }
    await delay(1500);
    writer.stop();
    expectExactlyOnce('daniel kill -9', await waitForLines(stack, stack.host, { A: writer.written }, { timeoutMs: 90_000 }));
    expect((await henrik.stop()).code).toBe(0);
  }, 150_000);

  it('kill -9 of Daniel while it repacks sealed segments: every line once, and the rest repacked after the restart', async () => {
    const stack = await Stack.start({ name: 'daniel-kill9-repack' });
    const writer = new LineWriter({ path: stack.logPath('app.log'), stream: 'A', linesPerSecond: 0, payloadBytes: 240 });
    // ~45 MB at once: Henrik sends it in large batches, whose runs are sealed as they arrive.
    for (let i = 0; i < 15; i++) writer.writeLines(10_000);
    const henrik = stack.startHenrik();
    expectExactlyOnce('before the kill', await waitForLines(stack, stack.host, { A: writer.written }, { timeoutMs: 90_000, settleMs: 0 }));
    const first = await metric(stack, 'daniel_store_segments_to_repack');
    expect(first).toBeGreaterThan(10);
    // Daniel is idle now: it starts repacking within a few seconds; kill it once it has begun.
    expect(await waitUntil(async () => (await metric(stack, 'daniel_store_segments_to_repack')) < first, 30_000, 20)).toBe(true);
    const left = await metric(stack, 'daniel_store_segments_to_repack');
    await stack.daniel.child.kill9();
    console.log(`kill -9 while repacking: ${first - left} of ${first} sealed segments repacked before the kill`);
    await stack.startDaniel();
    expect(await waitUntil(async () => (await metric(stack, 'daniel_store_segments_to_repack')) === 0, 90_000, 250)).toBe(true);
    expectExactlyOnce('daniel kill -9 while repacking', await waitForLines(stack, stack.host, { A: writer.written }, { timeoutMs: 30_000 }));
    expect((await henrik.stop()).code).toBe(0);
  }, 240_000);

  it(`Daniel down for ${downSeconds} s, Henrik killed meanwhile: the spool replays everything`, async () => {
    const stack = await Stack.start({ name: 'daniel-down', proxy: true });
    const writer = new LineWriter({ path: stack.logPath('app.log'), stream: 'A', linesPerSecond: 200 });
    writer.start();
    let henrik = stack.startHenrik();
    await delay(1500);
    expect((await stack.daniel.child.stop()).code, 'daniel exits 0 on SIGTERM').toBe(0);
    stack.proxy!.mode = 'refuse';
    await delay((downSeconds * 1000) / 2);
    // The spool must survive the agent's own crash while the server is away.
    await henrik.kill9();
    henrik = stack.startHenrik();
    await delay((downSeconds * 1000) / 2);
    stack.proxy!.mode = 'pass';
    await stack.startDaniel();
    const backAt = Date.now();
    await delay(1000);
    writer.stop();
    const verdict = await waitForLines(stack, stack.host, { A: writer.written }, { timeoutMs: 120_000, settleMs: 0 });
    console.log(`daniel down: everything visible ${Date.now() - backAt} ms after Daniel came back`);
    expectExactlyOnce('daniel down', verdict.lost > 0 ? verdict : await waitForLines(stack, stack.host, { A: writer.written }));
    expect((await henrik.stop()).code).toBe(0);
  }, 240_000);

  it('Daniel answering 503, then 429 with Retry-After, for a while', async () => {
    const stack = await Stack.start({ name: 'answers-503-429', front: true });
    const writer = new LineWriter({ path: stack.logPath('app.log'), stream: 'A', linesPerSecond: 300 });
    writer.start();
    stack.startHenrik();
    await delay(1000);
    const front = stack.front!;
    // Each phase lasts a few seconds and until Henrik has met it, whatever its backoff.
    front.fail({ status: 503 });
    await delay(3000);
    expect(await waitUntil(() => front.count(503) >= 2, 60_000), 'henrik met the 503s').toBe(true);
    front.fail({ status: 429, retryAfterSeconds: 1 });
    await delay(3000);
    expect(await waitUntil(() => front.count(429) >= 1, 60_000), 'henrik met the 429s').toBe(true);
    front.pass();
    const passAt = Date.now();
    await delay(1000);
    writer.stop();
    const verdict = await waitForLines(stack, stack.host, { A: writer.written }, { timeoutMs: 90_000, settleMs: 0 });
    console.log(`503/429: everything visible ${Date.now() - passAt} ms after Daniel answered normally again`);
    expectExactlyOnce('503 and 429', verdict.lost > 0 ? verdict : await waitForLines(stack, stack.host, { A: writer.written }));
    console.log(`front answered 503 x${stack.front!.count(503)}, 429 x${stack.front!.count(429)}`);
    expect(stack.front!.count(503), 'henrik retried through the 503s').toBeGreaterThan(1);
    expect(stack.front!.count(429), 'henrik retried through the 429s').toBeGreaterThan(0);
  }, 150_000);

  it('connections cut mid-request and after Daniel stored the batch', async () => {
    const stack = await Stack.start({ name: 'connection-cut', proxy: true });
    const proxy = stack.proxy!;
    const writer = new LineWriter({ path: stack.logPath('app.log'), stream: 'A', linesPerSecond: 500 });
    writer.start();
    stack.startHenrik();
    await delay(1000);
    // Half of each body is forwarded, whatever its size: a small batch is cut inside its body too.
    proxy.cut({ count: 3, phase: 'request' });
    expect(await waitUntil(() => proxy.cutsPending === 0, 60_000), 'three requests cut mid-body').toBe(true);
    // The answer is lost after Daniel committed: the resend must be acknowledged as duplicates.
    proxy.cut({ count: 3, phase: 'response' });
    expect(await waitUntil(() => proxy.cutsPending === 0, 60_000), 'three answers cut').toBe(true);
    proxy.cutAll();
    await delay(1000);
    writer.stop();
    expectExactlyOnce('connection cut', await waitForLines(stack, stack.host, { A: writer.written }, { timeoutMs: 90_000 }));
    console.log(`proxy: ${JSON.stringify(proxy.stats)}`);
    expect(proxy.stats.cut).toBeGreaterThanOrEqual(6);
  }, 150_000);

  it('the spool reaching its size limit: reading stops, nothing is dropped, all arrives later', async () => {
    const stack = await Stack.start({ name: 'spool-full', proxy: true });
    const config = join(stack.root, 'henrik.yaml');
    // The limit is tiny so a few thousand lines fill it; small batches keep the overshoot
    // (batches already being sealed when it fills) small enough to tell "stopped" from "kept going".
    writeFileSync(config, 'spoolMaxBytes: 65536\nbatchMaxBytes: 16384\n');
    stack.proxy!.mode = 'refuse';
    const writer = new LineWriter({ path: stack.logPath('app.log'), stream: 'A', linesPerSecond: 0 });
    // Several MiB of lines: far more than the spool may hold.
    writer.writeLines(50_000);
    const henrik = stack.startHenrik({ config });
    const saidFull = await henrik.waitForEvent('spool_full', 30_000).then(
      () => true,
      () => false,
    );
    // Reading has stopped: the spool stays near its limit while Daniel stays away (spooling
    // all 50,000 lines would take about five times the limit).
    await delay(3000);
    const spoolBytes = directoryBytes(join(stack.stateDir, 'spool'));
    console.log(`spool full: ${spoolBytes} bytes on disk (limit 65536)`);
    writer.writeLines(2_000);
    stack.proxy!.mode = 'pass';
    const backAt = Date.now();
    const verdict = await waitForLines(stack, stack.host, { A: writer.written }, { timeoutMs: 90_000, settleMs: 0 });
    console.log(`spool full: ${verdict.received} lines visible ${Date.now() - backAt} ms after Daniel became reachable; proxy ${JSON.stringify(stack.proxy!.stats)}`);
    expectExactlyOnce('spool full', verdict.lost > 0 ? verdict : await waitForLines(stack, stack.host, { A: writer.written }));
    expect(saidFull, 'henrik says the spool is full').toBe(true);
    expect(spoolBytes, 'the spool stopped near its limit').toBeLessThanOrEqual(65536 + 3 * 16384);
  }, 150_000);
});

function directoryBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  return total;
}
