/**
 * `app | henrik --stdin --name app`: a pipe as an input. Lines are split and stamped as a
 * file's are (SPEC.md "What a line becomes"; a line without a time of its own takes the
 * previous line's, else the time it was read), and go through the spool like every other
 * line. Its identity is new for every run (`stdin:<name>:<start time>:<pid>`), its offsets
 * the byte offsets in the stream, its file name the given name.
 *
 * A pipe cannot be read again, so what is promised is narrower than for files: every line
 * in the spool reaches Daniel once (a restart with the same state dir replays it); the
 * lines read from the pipe but not yet spooled when the process is killed (at most one
 * batch, typically the last `flushIntervalMs`) are lost, as is what the writer had put in
 * the pipe and Henrik had not read. While the spool is full, Henrik stops reading, so the
 * writer blocks rather than lines being dropped. At the end of the input (the writer
 * closed the pipe) the last line leaves even without its newline.
 */
import type { Readable } from 'node:stream';
import type { AgentInput, InputHost } from './input.js';
import { InputBatcher, type InputGroup } from './input-batcher.js';
import { Stamper } from './stamper.js';
import { wireName } from './tailer/names.js';
import { LineSplitter, type RawLine } from './tailer/line-splitter.js';
import type { TimestampParser } from './timestamps.js';

export interface StdinInputOptions {
  host: string;
  name: string;
  maxLineBytes: number;
  batchMaxLines: number;
  batchMaxBytes: number;
  flushIntervalMs: number;
  parser: TimestampParser;
  stream: Readable;
}

export class StdinInput implements AgentInput {
  readonly key: string;
  readonly description: string;
  readonly ended: Promise<void>;
  private endNow: () => void = () => {};
  private readonly group: InputGroup;
  private readonly splitter: LineSplitter;
  private readonly stamper: Stamper;
  private readonly batcher: InputBatcher;
  private offset = 0;
  private paused = false;
  private caughtUp = false;
  private chunkSeq = 0;
  private stopped = false;
  private done = false;
  /** Lines read (tests). */
  lines = 0;

  get linesRead(): number {
    return this.lines;
  }

  constructor(
    private readonly options: StdinInputOptions,
    private readonly host: InputHost,
  ) {
    this.key = `stdin:${options.name}`;
    this.description = `stdin:${options.name}`;
    this.group = { id: wireName(`stdin:${options.name}:${Date.now()}:${process.pid}`), filename: wireName(options.name), path: '' };
    this.splitter = new LineSplitter(options.maxLineBytes);
    this.stamper = new Stamper(options.parser);
    this.batcher = new InputBatcher(
      { host: options.host, maxLines: options.batchMaxLines, maxBytes: options.batchMaxBytes, flushIntervalMs: options.flushIntervalMs },
      (batch) => host.seal(batch, this.key, undefined),
    );
    this.ended = new Promise((resolve) => (this.endNow = resolve));
  }

  start(): void {
    const stream = this.options.stream;
    stream.on('data', (chunk: Buffer) => this.onChunk(chunk));
    stream.once('end', () => this.finish());
    stream.once('error', (err) => {
      this.host.log(`${this.description}: reading failed: ${err.message}`);
      this.finish();
    });
  }

  async readOnce(): Promise<boolean> {
    this.start();
    await this.ended;
    return true;
  }

  stop(flush: boolean): Promise<void> {
    this.stopped = true;
    this.options.stream.pause();
    if (flush) this.batcher.flush();
    this.batcher.stop();
    return Promise.resolve();
  }

  roomMade(): void {
    if (this.paused && !this.stopped && this.host.hasRoom()) {
      this.paused = false;
      this.options.stream.resume();
    }
    this.idle();
  }

  idle(): void {
    if ((this.caughtUp || this.done) && this.batcher.pendingLines > 0 && this.host.idle()) this.batcher.flush();
  }

  private onChunk(chunk: Buffer): void {
    if (this.stopped) return;
    this.caughtUp = false;
    const seq = ++this.chunkSeq;
    this.splitter.push(chunk, this.offset, (line) => this.emit(line));
    this.offset += chunk.length;
    if (!this.host.hasRoom() && !this.paused) {
      this.paused = true;
      this.options.stream.pause();
    }
    setImmediate(() => {
      if (seq !== this.chunkSeq || this.paused) return;
      this.caughtUp = true;
      this.idle();
    });
  }

  private emit(line: RawLine): void {
    const now = Date.now();
    const timestamp = this.stamper.stamp(line.text, true, now, now);
    this.lines++;
    this.batcher.add(this.group, { offset: line.offset, end: line.end, timestamp: timestamp.toString(), text: line.text, cut: line.cut });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (!this.stopped) {
      this.splitter.flushHeld((line) => this.emit(line));
      this.batcher.flush();
    }
    this.endNow();
  }
}
