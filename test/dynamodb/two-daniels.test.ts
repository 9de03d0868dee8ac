/**
 * Two real `daniel serve --store dynamodb` processes on one table (dynalite in this
 * process): create-table from the CLI, ingest through one and read through the other, the
 * same batch sent to both at once stored once, and a Daniel killed mid-ingest losing
 * nothing that was acknowledged.
 */
import { describe, expect, it } from 'vitest';
import { runDaniel } from '../lib/processes.js';
import { useDanielsOnDynalite } from './daniels-on-dynalite.js';

const TOKEN = 'admin-token-for-dynamodb-test';
const TABLE = `two-daniels-${process.pid}`;
const T0 = 1_700_000_000_000_000_000n;

const daniels = useDanielsOnDynalite({ token: TOKEN, table: TABLE });
const serve = () => daniels.serve();

function lines(from: number, to: number): { offset: number; end: number; timestamp: string; line: string }[] {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    return { offset: i * 10, end: i * 10 + 10, timestamp: (T0 + BigInt(i) * 1_000_000n).toString(), line: `line ${String(i).padStart(4, '0')}` };
  });
}

async function ingest(url: string, from: number, to: number): Promise<{ accepted: number; duplicates: number }> {
  const response = await fetch(`${url}/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ host: 'web', files: [{ file_id: 'f1', filename: 'app.log', path: '/var/log/app.log', lines: lines(from, to) }] }),
  });
  if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { data: { accepted: number; duplicates: number } }).data;
}

async function stored(url: string): Promise<string[]> {
  const response = await fetch(`${url}/hosts/web/logs?count=10000`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { logline: string }[] }).data.map((entry) => entry.logline);
}

describe('two daniel serve --store dynamodb processes on one table', () => {
  it('refuses to start without the table, naming daniel create-table; create-table is idempotent', async () => {
    const missing = await runDaniel(['serve', '--listen', '127.0.0.1:0', '--data-dir', daniels.dataDir], daniels.env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('daniel create-table');
    const first = await runDaniel(['create-table'], daniels.env);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('created');
    const again = await runDaniel(['create-table', '--dynamodb-table', TABLE, '--dynamodb-endpoint', daniels.endpoint], daniels.env);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toContain('already exists');
    expect(first.stdout + again.stdout + first.stderr + again.stderr).not.toContain('test-secret');
  }, 120_000);

  it('serves through one what the other stored, stores a batch sent to both once, and loses nothing when one is killed', async () => {
    const [one, two] = await Promise.all([serve(), serve()]);
    expect(await ingest(one.url, 0, 50)).toEqual({ accepted: 50, duplicates: 0 });
    expect((await stored(two.url)).length).toBe(50);

    const [a, b] = await Promise.all([ingest(one.url, 40, 120), ingest(two.url, 40, 120)]);
    expect(a.accepted + b.accepted).toBe(70);
    expect((await stored(one.url)).length).toBe(120);

    // A stream of batches to the first; it dies mid-stream; the agent resends what was not acknowledged to the other.
    let acknowledged = 120;
    let ended = false;
    const stream = (async () => {
      for (let from = 120; from < 2_000; from += 20) {
        await ingest(one.url, from, from + 20);
        acknowledged = from + 20;
      }
    })()
      .catch(() => undefined)
      .finally(() => (ended = true));
    while (acknowledged < 300 && !ended) await new Promise((resolve) => setTimeout(resolve, 5));
    one.daniel.child.kill('SIGKILL');
    await stream;
    const resent = await ingest(two.url, acknowledged, 2_000);
    expect(resent.accepted + resent.duplicates).toBe(2_000 - acknowledged);
    const all = await stored(two.url);
    expect(all.length).toBe(2_000);
    expect(new Set(all).size).toBe(2_000);
    // And from the first offset after an in-flight batch that may or may not have committed: still exactly once.
    expect(await ingest(two.url, 0, 2_000)).toEqual({ accepted: 0, duplicates: 2_000 });
  }, 120_000);
});
