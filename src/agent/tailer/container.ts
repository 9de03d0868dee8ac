/**
 * Container log files, recognised by their content: Docker's json-file driver
 * (`{"log":"text\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}`) and the CRI
 * format kubelet and containerd write (`2024-05-01T10:00:00.123456789Z stdout F text`).
 * Each wrapper line is unwrapped: the text without its newline, the time from the wrapper
 * (nanoseconds kept), `stream` as a field. Partial lines are joined into one record:
 * Docker's 16 KiB pieces (a `log` without its trailing `\n`) and CRI's `P` pieces up to the
 * `F` one. A record keeps the first piece's offset and the last piece's end, so checkpoints
 * fall on wrapper-line boundaries and a restart reads an unfinished sequence again from its
 * first piece. A record is bounded by the long-line limit: past it, it is cut (marked `cut`)
 * at a piece boundary. A line that is not a wrapper of the file's format is passed on as
 * the plain line it is: never dropped.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { RawLine } from './line-splitter.js';

export type ContainerFormat = 'docker' | 'cri';

/** Fields a line carries to Daniel (`fields` on the wire). Shared objects: never mutate. */
export type LineFields = Readonly<Record<string, string>>;

const STREAM_FIELDS: Record<string, LineFields> = {
  stdout: Object.freeze({ stream: 'stdout' }),
  stderr: Object.freeze({ stream: 'stderr' }),
};

/** A record out of the decoder: a raw line as it was (`time` undefined) or an unwrapped one. */
export interface DecodedLine extends RawLine {
  /** The wrapper's time (ns); undefined for a plain line, which is stamped from its text. */
  time?: bigint;
  fields?: LineFields;
}

/** One wrapper line, unwrapped. */
export interface Piece {
  stream: 'stdout' | 'stderr';
  time: bigint;
  text: string;
  /** The line goes on in the next piece of the same stream. */
  partial: boolean;
}

/** Lines of a file looked at to recognise its format before it is taken as plain. */
export const LINES_TO_JUDGE = 8;

export function decodePiece(format: ContainerFormat, text: string): Piece | undefined {
  return format === 'docker' ? decodeDocker(text) : decodeCri(text);
}

/** The format `text` (a file's line) is written in, if any. */
export function recognise(text: string): ContainerFormat | undefined {
  if (decodeDocker(text) !== undefined) return 'docker';
  if (decodeCri(text) !== undefined) return 'cri';
  return undefined;
}

const DOCKER_HEAD = '{"log":"';
const DOCKER_STDOUT = '","stream":"stdout","time":"';
const DOCKER_STDERR = '","stream":"stderr","time":"';

/** Docker json-file: the members in the order dockerd writes them on a fast path, any order through JSON.parse. */
export function decodeDocker(text: string): Piece | undefined {
  if (!text.startsWith(DOCKER_HEAD)) return text.charCodeAt(0) === 0x7b ? decodeDockerSlow(text) : undefined;
  // The end of the `log` string: the first `"` not escaped by an odd run of backslashes.
  let close = -1;
  for (let from = DOCKER_HEAD.length; ; ) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return undefined;
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === 0x5c) slashes++;
    if ((slashes & 1) === 0) {
      close = quote;
      break;
    }
    from = quote + 1;
  }
  let stream: 'stdout' | 'stderr';
  if (text.startsWith(DOCKER_STDOUT, close)) stream = 'stdout';
  else if (text.startsWith(DOCKER_STDERR, close)) stream = 'stderr';
  else return decodeDockerSlow(text);
  const timeAt = close + DOCKER_STDOUT.length;
  if (!text.endsWith('"}') || text.length - 2 < timeAt) return decodeDockerSlow(text);
  const time = parseWrapperTime(text.slice(timeAt, text.length - 2));
  if (time === undefined) return undefined;
  const raw = text.slice(DOCKER_HEAD.length, close);
  const slash = raw.indexOf('\\');
  if (slash === -1) return { stream, time, text: raw, partial: true };
  if (slash === raw.length - 2 && raw.charCodeAt(slash + 1) === 0x6e) return { stream, time, text: raw.slice(0, slash), partial: false };
  let log: string;
  try {
    log = JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
  return unwrapLog(log, stream, time);
}

function decodeDockerSlow(text: string): Piece | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { log, stream, time } = parsed as Record<string, unknown>;
  if (typeof log !== 'string' || (stream !== 'stdout' && stream !== 'stderr') || typeof time !== 'string') return undefined;
  const ns = parseWrapperTime(time);
  return ns === undefined ? undefined : unwrapLog(log, stream, ns);
}

function unwrapLog(log: string, stream: 'stdout' | 'stderr', time: bigint): Piece {
  if (!log.endsWith('\n')) return { stream, time, text: log, partial: true };
  const cut = log.endsWith('\r\n') ? 2 : 1;
  return { stream, time, text: log.slice(0, log.length - cut), partial: false };
}

/** CRI: `<RFC3339Nano> <stdout|stderr> <P|F>[:more tags] <text>`. */
export function decodeCri(text: string): Piece | undefined {
  const space = text.indexOf(' ');
  if (space < 20 || space > 35) return undefined;
  let stream: 'stdout' | 'stderr';
  if (text.startsWith('stdout ', space + 1)) stream = 'stdout';
  else if (text.startsWith('stderr ', space + 1)) stream = 'stderr';
  else return undefined;
  const tagAt = space + 8;
  const tag = text.charCodeAt(tagAt);
  if (tag !== 0x50 && tag !== 0x46) return undefined;
  let after = tagAt + 1;
  if (text.charCodeAt(after) === 0x3a) {
    after = text.indexOf(' ', after);
    if (after === -1) after = text.length;
  }
  if (after < text.length && text.charCodeAt(after) !== 0x20) return undefined;
  const time = parseWrapperTime(text.slice(0, space));
  if (time === undefined) return undefined;
  return { stream, time, text: after + 1 >= text.length ? '' : text.slice(after + 1), partial: tag === 0x50 };
}

const SECOND_HEAD = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)$/;
let cachedHead = '';
let cachedSecondsNs = 0n;

/**
 * RFC 3339 with up to nine fraction digits (`2024-05-01T10:00:00.123456789Z`, or a
 * `+02:00` zone) -> ns since the epoch; undefined when it is not one. Neighbouring lines
 * share their second: its conversion is kept.
 */
export function parseWrapperTime(text: string): bigint | undefined {
  if (text.length < 20) return undefined;
  const head = text.slice(0, 19);
  let secondsNs: bigint;
  if (head === cachedHead) secondsNs = cachedSecondsNs;
  else {
    const m = SECOND_HEAD.exec(head);
    if (m === null) return undefined;
    const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
    secondsNs = BigInt(Date.UTC(year, month - 1, day, hour, minute, second) / 1000) * 1_000_000_000n;
    cachedHead = head;
    cachedSecondsNs = secondsNs;
  }
  let at = 19;
  let fraction = 0;
  if (text.charCodeAt(at) === 0x2e) {
    at++;
    let digits = 0;
    while (digits < 10) {
      const c = text.charCodeAt(at);
      if (c < 0x30 || c > 0x39) break;
      fraction = fraction * 10 + (c - 0x30);
      digits++;
      at++;
    }
    if (digits === 0 || digits > 9) return undefined;
    for (let i = digits; i < 9; i++) fraction *= 10;
  }
  let zoneSeconds = 0;
  const zone = text.charCodeAt(at);
  if (zone === 0x5a && at + 1 === text.length) zoneSeconds = 0;
  else if ((zone === 0x2b || zone === 0x2d) && at + 6 === text.length && text.charCodeAt(at + 3) === 0x3a) {
    const hours = Number(text.slice(at + 1, at + 3));
    const minutes = Number(text.slice(at + 4, at + 6));
    if (!Number.isInteger(hours) || !Number.isInteger(minutes) || hours > 23 || minutes > 59) return undefined;
    zoneSeconds = (zone === 0x2b ? 1 : -1) * (hours * 3600 + minutes * 60);
  } else return undefined;
  const ns = secondsNs + BigInt(fraction);
  return zoneSeconds === 0 ? ns : ns - BigInt(zoneSeconds) * 1_000_000_000n;
}

export type DecodedSink = (line: DecodedLine) => void;

/**
 * Wrapper lines -> records, for one file in a container format. Pieces are joined while one
 * stream goes on; a piece of the other stream ends the record that was waiting (the two
 * streams' pieces can interleave, and a record must not span another's bytes).
 */
export class ContainerDecoder {
  private pending: DecodedLine | undefined;
  private parts: string[] = [];
  private pendingBytes = 0;
  private pendingStream = '';
  /** The splitter cut the last raw line: its next piece continues it. */
  private insideCutRaw = false;
  /** The decoded head of a CRI line the splitter cut (its text follows in the next pieces). */
  private cutHead: Piece | undefined;
  /** The time (and stream) a record cut at the limit passes on to its continuation. */
  private carry: { time: bigint; stream: string } | undefined;

  constructor(
    readonly format: ContainerFormat,
    private readonly maxBytes: number,
  ) {}

  /** Bytes of an unfinished record held (its pieces are read, not handed on). */
  get heldBytes(): number {
    return this.pending === undefined ? 0 : Math.max(1, this.pending.end - this.pending.offset);
  }

  push(line: RawLine, emit: DecodedSink): void {
    if (this.insideCutRaw) {
      this.insideCutRaw = line.cut;
      const head = this.cutHead;
      if (head !== undefined) {
        if (!line.cut) this.cutHead = undefined;
        this.add(line, head.stream, head.time, line.text, line.cut || head.partial, emit);
        return;
      }
      this.flush(emit);
      this.carry = undefined;
      emit(line);
      return;
    }
    this.insideCutRaw = line.cut;
    const piece = decodePiece(this.format, line.text);
    if (piece === undefined) {
      // Not a wrapper: the line as it is (a cut one's pieces follow as plain too).
      this.flush(emit);
      this.carry = undefined;
      emit(line);
      return;
    }
    if (line.cut) this.cutHead = piece;
    this.add(line, piece.stream, piece.time, piece.text, line.cut || piece.partial, emit);
  }

  /** Emits the record waiting for more pieces (its file went quiet, was rotated away, or `--once` ends). */
  flush(emit: DecodedSink): void {
    this.emitPending(false, emit);
  }

  private add(line: RawLine, stream: 'stdout' | 'stderr', time: bigint, text: string, partial: boolean, emit: DecodedSink): void {
    if (this.pending !== undefined && this.pendingStream !== stream) this.flush(emit);
    const carry = this.carry;
    this.carry = undefined;
    const start = carry !== undefined && carry.stream === stream ? carry.time : time;
    if (this.pending === undefined && !partial) {
      emit({ offset: line.offset, end: line.end, text, cut: false, time: start, fields: STREAM_FIELDS[stream] });
      return;
    }
    const bytes = Buffer.byteLength(text);
    if (this.pending !== undefined && this.pendingBytes + bytes > this.maxBytes) {
      const carried = { time: this.pending.time as bigint, stream };
      this.emitPending(true, emit);
      this.carry = carried;
    }
    let pending = this.pending;
    if (pending === undefined) {
      pending = { offset: line.offset, end: line.end, text: '', cut: false, time: this.carry?.time ?? start, fields: STREAM_FIELDS[stream] };
      this.carry = undefined;
      this.pending = pending;
      this.pendingStream = stream;
    }
    this.parts.push(text);
    this.pendingBytes += bytes;
    pending.end = line.end;
    if (!partial) this.emitPending(false, emit);
  }

  private emitPending(cut: boolean, emit: DecodedSink): void {
    const pending = this.pending;
    if (pending === undefined) return;
    pending.text = this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join('');
    pending.cut = cut;
    this.pending = undefined;
    this.parts = [];
    this.pendingBytes = 0;
    emit(pending);
  }
}

/** `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<N>.log` (and its rotated names), wherever the tree is mounted. */
const POD_PATH = /\/([^/_]+)_([^/_]+)_([0-9A-Za-z-]+)\/([^/]+)\/\d+\.log(?:\.[^/]*)?$/;
/** `/var/lib/docker/containers/<id>/<id>-json.log` (and `.1`, `.2`...). */
const DOCKER_PATH = /\/([0-9a-f]{12,64})\/([0-9a-f]{12,64})-json\.log(?:\.[^/]*)?$/;

/** What the path of a container file says: `namespace`, `pod`, `container` for a kubelet pod log. */
export function podFields(at: string): Record<string, string> | undefined {
  const m = POD_PATH.exec(at);
  if (m === null) return undefined;
  return { namespace: m[1] as string, pod: m[2] as string, container: m[4] as string };
}

/** Docker's names of its containers, by directory: a file per container, read once. */
const dockerNames = new Map<string, string | undefined>();
const DOCKER_NAMES_KEPT = 4096;
const CONFIG_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Fields from where a file lies: a kubelet pod log's namespace, pod and container; a Docker
 * json-file's container name (`Name` in the `config.v2.json` beside it, without its `/`) when
 * it can be read. Applied only to files recognised as container logs.
 */
export async function containerFileFields(at: string): Promise<Record<string, string> | undefined> {
  const pod = podFields(at);
  if (pod !== undefined) return pod;
  const m = DOCKER_PATH.exec(at);
  if (m === null || m[1] !== m[2]) return undefined;
  const dir = path.dirname(at);
  let name = dockerNames.get(dir);
  if (!dockerNames.has(dir)) {
    name = await readDockerName(path.join(dir, 'config.v2.json'));
    if (dockerNames.size >= DOCKER_NAMES_KEPT) dockerNames.delete(dockerNames.keys().next().value as string);
    // Unreadable now (not there yet, no permission): asked again next time.
    if (name !== undefined) dockerNames.set(dir, name);
  }
  return name === undefined ? undefined : { container: name };
}

async function readDockerName(file: string): Promise<string | undefined> {
  try {
    const handle = await fsp.open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > CONFIG_MAX_BYTES) return undefined;
      const parsed = JSON.parse(await handle.readFile('utf8')) as { Name?: unknown };
      if (typeof parsed.Name !== 'string' || parsed.Name === '') return undefined;
      return parsed.Name.replace(/^\//, '');
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}
