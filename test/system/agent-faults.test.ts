/**
 * What happens to files and to the agent: Henrik killed in a loop, rotation, copytruncate,
 * deletion, inode reuse, truncation while stopped, partial lines, huge lines, bad bytes.
 * Real Daniel, real Henrik, real files; each scenario ends with every line checked.
 */
import { appendFileSync, copyFileSync, renameSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { delay, fetchAllLines, verifyLines, waitForLines } from './lib/checker.js';
import { createOnInode, waitForOpen } from './lib/files.js';
import { expectExactlyOnce, Stack, useSystemHooks } from './lib/stack.js';
import { LineWriter, numberedLine } from './lib/writer.js';

useSystemHooks();

/** Writes `lines` lines of stream A, lets a Henrik ship them all, then stops it cleanly. */
async function shipThenStop(stack: Stack, path: string, lines: number): Promise<LineWriter> {
  const writer = new LineWriter({ path, stream: 'A', linesPerSecond: 0 });
  writer.writeLines(lines);
  const henrik = stack.startHenrik({ paths: [path] });
  expect((await waitForLines(stack, stack.host, { A: writer.written }, { settleMs: 0 })).lost).toBe(0);
  expect((await henrik.stop()).code).toBe(0);
  return writer;
}

describe('system: agent faults', () => {
  it('kill -9 of Henrik in a loop under load loses and duplicates nothing', async () => {
    const stack = await Stack.start({ name: 'henrik-kill9' });
    const writer = new LineWriter({ path: stack.logPath('app.log'), stream: 'A', linesPerSecond: 500 });
    writer.start();
    for (let round = 0; round < 5; round++) {
      const henrik = stack.startHenrik();
      await delay(700 + round * 250);
      await henrik.kill9();
    }
    const henrik = stack.startHenrik();
    await delay(500);
    writer.stop();
    expectExactlyOnce('henrik kill -9 loop', await waitForLines(stack, stack.host, { A: writer.written }));
    expect((await henrik.stop()).code).toBe(0);
  }, 120_000);

  it('rotation by rename twice in quick succession, before Henrik caught up', async () => {
    const stack = await Stack.start({ name: 'rotate-twice' });
    const path = stack.logPath('app.log');
    const writer = new LineWriter({ path, stream: 'A', linesPerSecond: 0 });
    writer.writeLines(100);
    const henrik = stack.startHenrik({ paths: [path] });
    expect(await waitForOpen(henrik.pid, path), 'henrik opened app.log').toBe(true);
    // A backlog Henrik is still reading when both rotations happen.
    writer.writeLines(20_000);
    renameSync(path, `${path}.1`);
    writer.writeLines(2_000);
    expect(await waitForOpen(henrik.pid, path), 'henrik opened the new app.log').toBe(true);
    renameSync(`${path}.1`, `${path}.2`);
    renameSync(path, `${path}.1`);
    writer.writeLines(2_000);
    expectExactlyOnce('rotate twice', await waitForLines(stack, stack.host, { A: writer.written }, { timeoutMs: 90_000 }));
  }, 150_000);

  it('copytruncate: the truncated file is read from 0 and the copy is not shipped again', async () => {
    const stack = await Stack.start({ name: 'copytruncate' });
    const path = stack.logPath('app.log');
    const writer = new LineWriter({ path, stream: 'A', linesPerSecond: 300 });
    writer.writeLines(10);
    // The glob also matches the copies, as a careless config would.
    const henrik = stack.startHenrik({ paths: [`${path}*`] });
    writer.start();
    for (let round = 1; round <= 2; round++) {
      await delay(1500);
      // The documented window: lines written between the copy and the truncate, or not yet
      // read when the truncate comes, exist only in the copy. The writer pauses until Henrik
      // has caught up, so the scenario tests everything outside that window.
      writer.pause();
      const caughtUp = await waitForLines(stack, stack.host, { A: writer.written }, { settleMs: 0 });
      expect(caughtUp.lost, 'caught up before the copy').toBe(0);
      if (round === 2) renameSync(`${path}.1`, `${path}.2`);
      copyFileSync(path, `${path}.1`);
      truncateSync(path, 0);
      writer.resume();
    }
    await delay(1500);
    writer.stop();
    expectExactlyOnce('copytruncate', await waitForLines(stack, stack.host, { A: writer.written }));
    await henrik.stop();
  }, 120_000);

  it('copytruncate before Henrik caught up: the unread tail is read from the copy the glob matches', async () => {
    const stack = await Stack.start({ name: 'copytruncate-behind' });
    const path = stack.logPath('app.log');
    const writer = new LineWriter({ path, stream: 'A', linesPerSecond: 0 });
    writer.writeLines(100);
    const henrik = stack.startHenrik({ paths: [`${path}*`] });
    expect(await waitForOpen(henrik.pid, path)).toBe(true);
    // A backlog Henrik has not read yet when the copy and the truncate come (back to back:
    // no line is written between them, the one documented window).
    writer.writeLines(20_000);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    writer.writeLines(1_000);
    expectExactlyOnce('copytruncate behind', await waitForLines(stack, stack.host, { A: writer.written }, { timeoutMs: 90_000 }));
  }, 150_000);

  it('a file deleted while open is read to its end', async () => {
    const stack = await Stack.start({ name: 'deleted-open' });
    const path = stack.logPath('app.log');
    const first = new LineWriter({ path, stream: 'A', linesPerSecond: 0 });
    first.writeLines(100);
    const henrik = stack.startHenrik({ paths: [path] });
    expect(await waitForOpen(henrik.pid, path)).toBe(true);
    first.writeLines(20_000);
    unlinkSync(path);
    const second = new LineWriter({ path, stream: 'B', linesPerSecond: 0 });
    second.writeLines(500);
    expectExactlyOnce('deleted while open', await waitForLines(stack, stack.host, { A: first.written, B: second.written }, { timeoutMs: 90_000 }));
  }, 150_000);

  it('inode reuse: a new file on the old inode is read from its start', async () => {
    const stack = await Stack.start({ name: 'inode-reuse' });
    const path = stack.logPath('app.log');
    const first = await shipThenStop(stack, path, 2_000);
    const inode = statSync(path).ino;
    unlinkSync(path);
    // Longer than the old file: an agent trusting the inode would resume past its start.
    let text = '';
    for (let seq = 0; seq < 3_000; seq++) text += numberedLine('B', seq);
    const reused = createOnInode(path, inode, text);
    console.log(`inode reuse: the new file ${reused ? 'got' : 'did NOT get'} inode ${inode}`);
    stack.startHenrik({ paths: [path] });
    expectExactlyOnce('inode reuse', await waitForLines(stack, stack.host, { A: first.written, B: 3_000 }));
  }, 120_000);

  it('a file truncated while Henrik was stopped is read again from 0', async () => {
    const stack = await Stack.start({ name: 'truncated-stopped' });
    const path = stack.logPath('app.log');
    const first = await shipThenStop(stack, path, 2_000);
    truncateSync(path, 0);
    const second = new LineWriter({ path, stream: 'B', linesPerSecond: 0 });
    second.writeLines(300);
    stack.startHenrik({ paths: [path] });
    expectExactlyOnce('truncated while stopped', await waitForLines(stack, stack.host, { A: first.written, B: second.written }));
  }, 120_000);

  it('a partial line is held until it is completed, then shipped once and whole', async () => {
    const stack = await Stack.start({ name: 'partial-line' });
    const path = stack.logPath('app.log');
    const whole = numberedLine('A', 1);
    appendFileSync(path, numberedLine('A', 0));
    appendFileSync(path, whole.slice(0, 40));
    stack.startHenrik({ paths: [path] });
    expect((await waitForLines(stack, stack.host, { A: 1 }, { settleMs: 2_500 })).received, 'only the complete line').toBe(1);
    appendFileSync(path, whole.slice(40));
    expectExactlyOnce('partial line', await waitForLines(stack, stack.host, { A: 2 }));
    const lines = await fetchAllLines(stack, stack.host);
    expect(lines.map((entry) => entry.logline)).toContain(whole.slice(0, -1));
  }, 90_000);

  it('a 10 MB line arrives as marked pieces, every byte once', async () => {
    const stack = await Stack.start({ name: 'huge-line' });
    const path = stack.logPath('big.log');
    let big = '';
    for (let block = 0; big.length < 10 * 1024 * 1024; block++) big += `[block ${String(block).padStart(8, '0')}]`.padEnd(64, '.');
    appendFileSync(path, `${big}\n${numberedLine('A', 0)}`);
    stack.startHenrik({ paths: [path] });
    const verdict = await waitForLines(stack, stack.host, { A: 1 }, { timeoutMs: 120_000 });
    expect(verdict.lost, 'the line after the big one arrived').toBe(0);
    const pieces = (await fetchAllLines(stack, stack.host)).filter((entry) => !entry.logline.includes('stream=A')).sort((a, b) => a.offset - b.offset);
    console.log(`10 MB line: ${pieces.length} pieces`);
    expect(pieces.length).toBeGreaterThan(1);
    expect(new Set(pieces.map((piece) => piece.offset)).size, 'no piece twice').toBe(pieces.length);
    expect(pieces.slice(0, -1).every((piece) => piece.cut === true), 'all but the last piece marked cut').toBe(true);
    const joined = pieces.map((piece) => piece.logline).join('');
    expect(joined.length).toBe(big.length);
    expect(joined === big, 'the pieces put together give the line back').toBe(true);
  }, 180_000);

  it('binary bytes arrive with U+FFFD in place of invalid UTF-8', async () => {
    const stack = await Stack.start({ name: 'binary' });
    const path = stack.logPath('app.log');
    appendFileSync(
      path,
      Buffer.concat([Buffer.from('binary seq=000000 stream=A ok '), Buffer.from([0xff, 0xfe]), Buffer.from(' bad '), Buffer.from([0xc3, 0x28]), Buffer.from(' end\n')]),
    );
    appendFileSync(path, numberedLine('A', 1));
    stack.startHenrik({ paths: [path] });
    expectExactlyOnce('binary bytes', await waitForLines(stack, stack.host, { A: 2 }));
    const lines = await fetchAllLines(stack, stack.host);
    expect(lines.map((entry) => entry.logline)).toContain('binary seq=000000 stream=A ok \uFFFD\uFFFD bad \uFFFD( end');
    expect(verifyLines(lines, { A: 2 }).foreign).toBe(0);
  }, 90_000);
});
