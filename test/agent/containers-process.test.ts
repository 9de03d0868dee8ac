/**
 * The real `henrik` binary (dist/, so `npm run build` first) against the real Daniel app
 * (ingest-sink.ts), tailing container log files a writer keeps appending to, with partial
 * sequences (Docker pieces without their newline, CRI `P` pieces) often left unfinished at
 * the end of the file: kill -9 in a loop, also in the middle of a sequence. Every line is
 * stored once and whole.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HenrikRunner, type HenrikChild } from './henrik-bin.js';
import { IngestSink } from './ingest-sink.js';


let dir: string;
let sink: IngestSink;
let runner: HenrikRunner;

beforeEach(async () => {
  runner = new HenrikRunner();
  dir = mkdtempSync(path.join(os.tmpdir(), 'henrik-containers-proc-'));
  sink = new IngestSink({ token: 'T' });
  await sink.listen(0);
});
afterEach(async () => {
  runner.killAll();
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
});

function startHenrik(patterns: string[]): HenrikChild {
  return runner.start({ server: sink.url, stateDir: path.join(dir, 'state'), args: patterns });
}

/** Appends lines to a CRI and a Docker file every few ms; every third line in pieces, the last piece often in the next write. */
function startWriter(cri: string, docker: string): { stop: () => Promise<void>; written: () => string[] } {
  const written: string[] = [];
  writeFileSync(cri, '');
  writeFileSync(docker, '');
  let n = 0;
  let held = { cri: '', docker: '' };
  const time = (): string => new Date(Date.UTC(2024, 4, 1) + n).toISOString().replace('Z', '000001Z');
  const timer = setInterval(() => {
    let criOut = held.cri;
    let dockerOut = held.docker;
    held = { cri: '', docker: '' };
    for (let i = 0; i < 10; i++) {
      const text = `line ${++n} ${'z'.repeat(n % 30)}`;
      written.push(`cri ${text}`, `docker ${text}`);
      if (n % 3 !== 0) {
        criOut += `${time()} stdout F cri ${text}\n`;
        dockerOut += `${JSON.stringify({ log: `docker ${text}\n`, stream: 'stdout', time: time() })}\n`;
        continue;
      }
      const [a, b, c] = [`cri ${text}`.slice(0, 4), `cri ${text}`.slice(4, 9), `cri ${text}`.slice(9)];
      criOut += `${time()} stdout P ${a}\n${time()} stdout P ${b}\n`;
      const [d, e] = [`docker ${text}`.slice(0, 7), `docker ${text}`.slice(7)];
      dockerOut += `${JSON.stringify({ log: d, stream: 'stdout', time: time() })}\n`;
      const criEnd = `${time()} stdout F ${c}\n`;
      const dockerEnd = `${JSON.stringify({ log: `${e}\n`, stream: 'stdout', time: time() })}\n`;
      // The last sequence of a write is finished by the next write.
      if (i === 9) held = { cri: criEnd, docker: dockerEnd };
      else {
        criOut += criEnd;
        dockerOut += dockerEnd;
      }
    }
    appendFileSync(cri, criOut);
    appendFileSync(docker, dockerOut);
  }, 5);
  return {
    stop: async () => {
      clearInterval(timer);
      appendFileSync(cri, held.cri);
      appendFileSync(docker, held.docker);
      await new Promise((r) => setImmediate(r));
    },
    written: () => written,
  };
}

describe('henrik process on container files', () => {
  it('kill -9 in a loop, in the middle of partial sequences: every line once and whole', async () => {
    const pod = path.join(dir, 'pods', 'shop_web-1_0f1e2d3c', 'nginx');
    const id = 'c'.repeat(64);
    const containers = path.join(dir, 'containers', id);
    mkdirSync(pod, { recursive: true });
    mkdirSync(containers, { recursive: true });
    const writer = startWriter(path.join(pod, '0.log'), path.join(containers, `${id}-json.log`));
    const patterns = [path.join(dir, 'pods', '*', '*', '*.log'), path.join(dir, 'containers', '*', '*-json.log')];
    for (let round = 0; round < 6; round++) {
      const henrik = startHenrik(patterns);
      const before = sink.stored.length;
      await sink.waitFor(() => sink.stored.length > before, 30_000, `round ${round} progress`);
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      henrik.child.kill('SIGKILL');
      await henrik.exited;
    }
    await writer.stop();
    const last = startHenrik(patterns);
    const written = writer.written();
    await sink.waitFor(() => sink.stored.length >= written.length, 60_000, `${written.length} lines`);
    // A SIGTERM before Node has loaded Henrik's code would kill it outright.
    await last.started();
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
    const stored = sink.lines();
    const counts = new Map<string, number>();
    for (const line of stored) counts.set(line, (counts.get(line) ?? 0) + 1);
    const duplicated = [...counts].filter(([, c]) => c > 1).map(([l]) => l);
    const lost = written.filter((l) => !counts.has(l));
    expect({ lost: lost.length, duplicated: duplicated.length, firstLost: lost[0], firstDuplicated: duplicated[0] }).toEqual({ lost: 0, duplicated: 0, firstLost: undefined, firstDuplicated: undefined });
    expect(stored.length).toBe(written.length);
  }, 180_000);
});
