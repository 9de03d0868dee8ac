/**
 * Model-based test of the whole read path: random sequences of appends, partial appends,
 * rotations (rename and copytruncate), deletes, truncations and agent restarts (graceful
 * and crash-like), against a sink with Daniel's dedupe. What is stored must equal what was
 * written, line for line: nothing lost, nothing stored twice.
 */
import { appendFileSync, copyFileSync, existsSync, readFileSync, readdirSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestSink } from '../../../test/agent/ingest-sink.js';
import { Agent } from '../agent.js';

type Command =
  | { kind: 'append'; lines: number; long: boolean }
  | { kind: 'partial' }
  | { kind: 'rotate' }
  | { kind: 'copytruncate' }
  | { kind: 'deleteRotated' }
  | { kind: 'truncate' }
  | { kind: 'restart'; crash: boolean };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), lines: fc.integer({ min: 1, max: 20 }), long: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'partial' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'rotate' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'copytruncate' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'deleteRotated' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'truncate' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restart' as const), crash: fc.boolean() }) },
);

let sink: IngestSink;
let root: string;

beforeAll(async () => {
  sink = new IngestSink();
  await sink.listen(0);
  root = mkdtempSync(path.join(os.tmpdir(), 'henrik-model-'));
});
afterAll(async () => {
  await sink.close();
  rmSync(root, { recursive: true, force: true });
});

const MAX_LINE = 200;

/** Joins cut pieces back into lines, per file id, in stored order. */
function storedLines(): string[] {
  const out: string[] = [];
  const open = new Map<string, string>();
  for (const l of sink.stored) {
    const text = (open.get(l.fileId) ?? '') + l.line;
    if (l.cut) open.set(l.fileId, text);
    else {
      open.delete(l.fileId);
      out.push(text);
    }
  }
  return out;
}

/** Sequences that once failed, replayed on every run before the random ones. */
const REGRESSIONS: Command[][] = [
  // Truncated, written and rotated before the agent looked, then two graceful restarts: the
  // second restart must not read the rotated file again under a new identity.
  [
    { kind: 'append', lines: 1, long: true },
    { kind: 'truncate' },
    { kind: 'append', lines: 1, long: false },
    { kind: 'rotate' },
    { kind: 'restart', crash: false },
    { kind: 'restart', crash: false },
    { kind: 'partial' },
    { kind: 'copytruncate' },
  ],
  // A copy made by copytruncate while the agent ran, a crash, then a rename rotation.
  [
    { kind: 'append', lines: 1, long: false },
    { kind: 'restart', crash: false },
    { kind: 'copytruncate' },
    { kind: 'restart', crash: true },
    { kind: 'rotate' },
    { kind: 'restart', crash: false },
  ],
  // A deleted rotated file's inode reused by a copytruncate copy under the pattern.
  [
    { kind: 'append', lines: 1, long: false },
    { kind: 'rotate' },
    { kind: 'append', lines: 1, long: false },
    { kind: 'deleteRotated' },
    { kind: 'restart', crash: false },
    { kind: 'copytruncate' },
    { kind: 'partial' },
  ],
  [
    { kind: 'partial' },
    { kind: 'rotate' },
    { kind: 'append', lines: 1, long: false },
    { kind: 'deleteRotated' },
    { kind: 'copytruncate' },
    { kind: 'append', lines: 1, long: false },
    { kind: 'restart', crash: false },
    { kind: 'append', lines: 1, long: false },
  ],
  // copytruncate right after a start, then a rename rotation and a delete.
  [
    { kind: 'append', lines: 1, long: false },
    { kind: 'restart', crash: false },
    { kind: 'copytruncate' },
    { kind: 'rotate' },
    { kind: 'deleteRotated' },
    { kind: 'restart', crash: false },
    { kind: 'append', lines: 1, long: false },
  ],
  [
    { kind: 'append', lines: 1, long: false },
    { kind: 'restart', crash: false },
    { kind: 'copytruncate' },
    { kind: 'rotate' },
    { kind: 'deleteRotated' },
    { kind: 'append', lines: 1, long: false },
    { kind: 'append', lines: 1, long: false },
    { kind: 'partial' },
  ],
];

/**
 * The suite replays a fixed seed, so a failure in CI is the same failure on a laptop;
 * `MODEL_SEED=random` (or a number) and `MODEL_RUNS=200` explore further.
 */
function modelSeed(): number | undefined {
  const seed = process.env.MODEL_SEED ?? '20261124';
  return seed === 'random' ? undefined : Number(seed);
}

describe('tailer model', () => {
  it('stores exactly what was written, across rotations, truncations and restarts', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 3, maxLength: Number(process.env.MODEL_MAX_COMMANDS ?? 14) }), async (commands) => {
        run++;
        if (process.env.MODEL_DEBUG) console.log(`[run${run}] commands ${JSON.stringify(commands)}`);
        const dir = path.join(root, `run${run}`);
        const logs = path.join(dir, 'logs');
        mkdirSync(logs, { recursive: true });
        sink.stored.length = 0;
        sink.ends.clear();
        sink.duplicates = 0;
        const expected: string[] = [];
        const current = path.join(logs, 'app.log');
        let partial = ''; // text of an unfinished line at the end of app.log
        let counter = 0;
        let rotated = 0;
        const rotatedFiles: string[] = [];
        writeFileSync(current, '');
        const options = {
          server: sink.url,
          token: 'T',
          host: `run${run}`,
          stateDir: path.join(dir, 'state'),
          // The live file and copytruncate's copies match; renamed rotations (app.log.N) leave the pattern.
          sources: [{ paths: [path.join(logs, '*.log')] }],
          maxLineBytes: MAX_LINE,
          flushIntervalMs: 20,
          scanIntervalMs: 40,
          pollIntervalMs: 20,
          checkpointIntervalMs: 20,
          orphanIdleMs: 100,
          copyGraceMs: 2000,
          stopTimeoutMs: 5000,
          backoff: { baseMs: 10, maxMs: 100 },
          log: process.env.MODEL_DEBUG ? (m: string) => console.log(`[run${run}] ${m}`) : undefined,
        };
        let agent = await Agent.create(options);
        agent.start();
        const settle = (): Promise<void> =>
          sink.waitFor(() => storedLines().length >= expected.length, 20_000, `${expected.length} lines`);
        // The agent has read the live file to its end (a rotation before it ever saw the file
        // would hide lines from any agent).
        const caughtUp = async (): Promise<void> => {
          const deadline = Date.now() + 20_000;
          const stats = statSync(current);
          if (stats.size === 0) return;
          while ((agent.readPositions().get(`${stats.dev}:${stats.ino}`) ?? -1) < stats.size) {
            if (Date.now() > deadline) throw new Error('agent never caught up with the live file');
            await new Promise((r) => setTimeout(r, 10));
          }
        };
        const nextLine = (long: boolean): string => {
          counter++;
          const body = `L${counter}-${'x'.repeat(counter % 7)}`;
          return long ? body + 'y'.repeat(MAX_LINE * 2 + (counter % 5)) : body;
        };
        try {
          for (const command of commands) {
            switch (command.kind) {
              case 'append': {
                const lines = Array.from({ length: command.lines }, (_, i) => nextLine(command.long && i === 0));
                appendFileSync(current, lines.join('\n') + '\n');
                lines[0] = partial + lines[0];
                partial = '';
                expected.push(...lines);
                break;
              }
              case 'partial': {
                const text = `P${++counter}-`;
                appendFileSync(current, text);
                partial += text;
                break;
              }
              case 'rotate': {
                await caughtUp();
                // Rename away (out of the pattern) and start a new file: the old one is read to
                // its end through the open handle, its unfinished line emitted once idle.
                const target = path.join(logs, `app.log.${++rotated}`);
                renameSync(current, target);
                rotatedFiles.push(target);
                writeFileSync(current, '');
                if (partial !== '') expected.push(partial);
                partial = '';
                break;
              }
              case 'copytruncate': {
                if (partial !== '') break;
                copyFileSync(current, path.join(logs, `app-${++rotated}.log`));
                truncateSync(current, 0);
                break;
              }
              case 'deleteRotated': {
                const victim = rotatedFiles.shift();
                if (victim === undefined) break;
                await settle();
                rmSync(victim);
                break;
              }
              case 'truncate': {
                if (partial !== '') break;
                await settle();
                truncateSync(current, 0);
                break;
              }
              case 'restart': {
                if (command.crash) await agent.abort();
                else await agent.stop();
                if (process.env.MODEL_DEBUG) {
                  const cp = path.join(options.stateDir, 'checkpoints.json');
                  console.log(`[run${run}] checkpoint ${existsSync(cp) ? readFileSync(cp, 'utf8') : 'none'}`);
                  console.log(`[run${run}] files ${JSON.stringify(readdirSync(logs).map((n) => [n, statSync(path.join(logs, n)).ino, statSync(path.join(logs, n)).size]))}`);
                }
                agent = await Agent.create(options);
                agent.start();
                break;
              }
            }
          }
          await settle().catch((err: unknown) => {
            if (process.env.MODEL_DEBUG) console.log(`[run${run}] settle failed: ${String(err)}`);
            throw err;
          });
          // A little longer, so late duplicates would show.
          await new Promise((r) => setTimeout(r, 150));
        } finally {
          await agent.stop();
          if (process.env.MODEL_DEBUG) console.log(JSON.stringify(sink.stored.map((l) => [l.fileId.slice(-8), l.offset, l.end, l.cut, l.line.slice(0, 12)])));
        }
        if (process.env.MODEL_DEBUG) console.log(JSON.stringify(sink.stored.map((l) => [l.fileId.slice(-8), l.offset, l.end, l.cut, l.line.slice(0, 12)])));
        const stored = storedLines();
        expect([...stored].sort()).toEqual([...expected].sort());
        expect(new Set(stored).size).toBe(stored.length);
      }),
      { examples: REGRESSIONS.map((commands) => [commands] as [Command[]]), numRuns: Number(process.env.MODEL_RUNS ?? 20), interruptAfterTimeLimit: 150_000, seed: modelSeed(), path: process.env.MODEL_PATH },
    );
  }, 200_000);
});
