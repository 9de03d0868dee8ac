/**
 * The compression around a segment's payload. New blobs are Zstandard (level 1) behind a
 * small header; blobs written before it are raw deflate (level 1) behind the same header, and
 * the oldest a bare brotli (quality 1) stream: all are still read.
 *
 * Why Zstandard: counting or paging every match of a term decodes every candidate segment,
 * and every ingested line is compressed once, so both directions' speed matter as much as
 * the ratio. Measured on 640 KiB runs of the bench data (8 loghub formats, one process):
 * zstd level 1 writes 470 MB/s and reads 1,160 MB/s at 0.152 of the text; deflate level 1,
 * before it, wrote 137 MB/s and read 613 MB/s at 0.182; brotli quality 1 reads ~285 MB/s.
 * (docs/architecture.md has the table.) Node 20 has no Zstandard: it comes from the zstd-napi
 * addon (src/common/zstd.ts).
 *
 * Header: 0xFF | codec (1 = raw deflate, 2 = zstd, 3 = zstd over variable columns) | varint
 * payload length; codec 3 then has the varint lengths of the arrangement's parts (the kept
 * prefix, the templates, the 12 columns: variable-columns.ts), and its frame decodes to the
 * arranged payload, which is restored to the payload's bytes (in C where native/ was built,
 * about 2.5 GB/s; JavaScript otherwise, about 0.4). Only the repacker writes codec 3. A brotli stream
 * from our encoder (window 22) always starts with a byte whose low nibble is 0xB, never 0xFF.
 * The payload length lets decompression fill one exactly sized buffer in one pass.
 *
 * A zstd body is one or more whole frames: the encode worker compresses a run's text as its
 * own frame, and the columns, written later on the main thread, go in a frame before it
 * (compressPayloadAround); the decoder reads the frames end to end.
 */
import { promisify } from 'node:util';
import { brotliDecompress, brotliDecompressSync, inflateRaw, inflateRawSync } from 'node:zlib';
import { zstd } from '../common/zstd.js';
import { ByteReader } from '../protocol/bytes.js';
import { fastCompressor } from '../common/zstd-level.js';
import { arrangedLength as arrangedBytes, arrangeVariables, restoreVariables, VARIABLE_COLUMNS, type ArrangedLengths } from './variable-columns.js';

const inflateRawAsync = promisify(inflateRaw);
const brotliDecompressAsync = promisify(brotliDecompress);

const CONTAINER_MARK = 0xff;
const CODEC_DEFLATE = 1;
const CODEC_ZSTD = 2;
/** Zstandard over the payload arranged in variable columns (variable-columns.ts): repacked blobs. */
const CODEC_ZSTD_COLUMNS = 3;

/** One context each way per thread, reused: a context holds ~1 MB of tables that a fresh one would allocate per call. */
let cctx: InstanceType<typeof zstd.CCtx> | undefined;
let dctx: InstanceType<typeof zstd.DCtx> | undefined;
/** Where frames are compressed before their exact bytes are copied out (grown when needed, kept per thread). */
let scratch = Buffer.alloc(0);

function pushVarint(header: number[], value: number): void {
  for (; ; value = Math.floor(value / 0x80)) {
    if (value < 0x80) {
      header.push(value);
      return;
    }
    header.push((value % 0x80) | 0x80);
  }
}

function containerHeader(payloadLength: number, lengths?: ArrangedLengths): number[] {
  const header = [CONTAINER_MARK, lengths === undefined ? CODEC_ZSTD : CODEC_ZSTD_COLUMNS];
  pushVarint(header, payloadLength);
  if (lengths !== undefined) {
    pushVarint(header, lengths.prefix);
    pushVarint(header, lengths.templates);
    for (const bytes of lengths.columns) pushVarint(header, bytes);
  }
  return header;
}

/**
 * `head`, then what `fill` writes into the scratch buffer from the offset it is given (it
 * answers where it stopped, at most `bound` bytes on), copied out into one exactly sized
 * buffer of its own (never a slice of Node's shared pool, so it can be transferred).
 */
function intoScratch(head: readonly number[], bound: number, fill: (at: number) => number): Buffer {
  const size = head.length + bound;
  if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, scratch.length * 2));
  let at = 0;
  for (const byte of head) scratch[at++] = byte;
  at = fill(at);
  const out = Buffer.allocUnsafeSlow(at);
  scratch.copy(out, 0, 0, at);
  return out;
}

/** `parts` compressed one frame each, after `head`, into one exactly sized buffer (with `tail` copied after). */
function frames(head: readonly number[], parts: readonly Buffer[], tail?: Buffer): Buffer {
  let bound = tail?.length ?? 0;
  for (const part of parts) bound += zstd.compressBound(part.length);
  // Level 1 (on the bench data it beat 2 and 3 on ratio and both speeds) with a smaller match table: zstd-level.ts.
  const fast = (cctx ??= fastCompressor(zstd));
  return intoScratch(head, bound, (at) => {
    for (const part of parts) at += fast.compress2(scratch.subarray(at), part);
    return tail === undefined ? at : at + tail.copy(scratch, at);
  });
}

export function compressPayload(payload: Buffer): Buffer {
  return frames(containerHeader(payload.length), [payload]);
}

/** A segment's text compressed on its own (one frame), to end a payload whose columns compressPayloadAround adds. */
export function compressText(text: Buffer): Buffer {
  return frames([], [text]);
}

/** The same blob as compressPayload(columns + text), from the columns and compressText(text): the columns' frame, then the text's. */
export function compressPayloadAround(columns: Buffer, packedText: Buffer, textBytes: number): Buffer {
  return frames(containerHeader(columns.length + textBytes), [columns], packedText);
}

interface Container {
  codec: number;
  payloadLength: number;
  body: Buffer;
  /** Codec 3: the parts of the arranged payload the body decompresses to. */
  lengths?: ArrangedLengths;
}

function readContainer(data: Buffer): Container | null {
  if (data[0] !== CONTAINER_MARK) return null;
  const codec = data[1]!;
  const header = new ByteReader(data, () => new Error('Segment blob header is truncated.'));
  header.position = 2;
  const payloadLength = header.varint();
  if (codec === CODEC_ZSTD_COLUMNS) {
    const prefix = header.varint();
    const templates = header.varint();
    const columns: number[] = [];
    for (let c = 0; c < VARIABLE_COLUMNS; c++) columns.push(header.varint());
    return { codec, payloadLength, body: data.subarray(header.position), lengths: { prefix, templates, columns } };
  }
  if (codec !== CODEC_DEFLATE && codec !== CODEC_ZSTD) throw new Error(`Unknown segment blob codec ${codec}.`);
  return { codec, payloadLength, body: data.subarray(header.position) };
}

/** zlib refuses a chunk size under 64 bytes; one more byte than the payload lets it finish in one pass, with no concatenation. */
function chunkSizeFor(payloadLength: number): number {
  return Math.max(64, payloadLength + 1);
}

/** A payload larger than this is decompressed into a buffer of its own (decompressPayloadInto). */
const MAX_REUSED_BYTES = 8 << 20;

/** Where arranged payloads are decompressed before they are restored (grown when needed, kept per thread). */
let arrangedScratch = Buffer.alloc(0);

/** `body`'s frames decompressed into all of `out`; throws unless they fill it exactly (`what` names the bytes). */
function decompressExactly(out: Buffer, body: Buffer, what: string): Buffer {
  dctx ??= new zstd.DCtx();
  const written = dctx.decompress(out, body);
  if (written !== out.length) throw new Error(`${what} holds ${written} bytes, its header says ${out.length}.`);
  return out;
}

function unzstd(container: Container, into?: Buffer): Buffer {
  const out = into ?? Buffer.allocUnsafe(container.payloadLength);
  const lengths = container.lengths;
  if (lengths === undefined) return decompressExactly(out, container.body, 'Segment blob');
  const arrangedLength = arrangedBytes(lengths);
  // An arrangement is at most 2.5 bytes a text byte (a one-digit variable's marker, digit and comma, then an escaped byte) plus the prefix: a header claiming more is no blob of ours.
  if (arrangedLength > 3 * container.payloadLength + 64) throw new Error('Segment blob variable columns are longer than their payload allows.');
  // Past MAX_REUSED_BYTES (a segment of huge lines) the arrangement gets a buffer of its own, so the scratch kept per thread stays small.
  let arranged: Buffer;
  if (arrangedLength > MAX_REUSED_BYTES) {
    arranged = Buffer.allocUnsafe(arrangedLength);
  } else {
    if (arrangedScratch.length < arrangedLength) arrangedScratch = Buffer.allocUnsafeSlow(Math.min(MAX_REUSED_BYTES, Math.max(arrangedLength, arrangedScratch.length * 2)));
    arranged = arrangedScratch.subarray(0, arrangedLength);
  }
  restoreVariables(decompressExactly(arranged, container.body, 'Segment blob arrangement'), lengths, out);
  return out;
}

/**
 * The payload, decompressed into a buffer from `into` (given the payload's length, it answers a
 * buffer at least that long, which the caller reuses) where the codec allows, else into one of
 * its own. For a reader that keeps nothing of the payload past its own use (a filter that
 * copies out the lines it keeps): a buffer of a segment's size allocated per call is memory
 * mapped and faulted in anew each time once the allocator has given the last one back.
 */
export function decompressPayloadInto(data: Buffer, into: (length: number) => Buffer): Buffer {
  const container = readContainer(data);
  if (container === null || container.codec === CODEC_DEFLATE || container.payloadLength > MAX_REUSED_BYTES) return decompressPayload(data);
  return unzstd(container, into(container.payloadLength).subarray(0, container.payloadLength));
}

export function decompressPayload(data: Buffer): Buffer {
  const container = readContainer(data);
  if (container === null) return brotliDecompressSync(data);
  if (container.codec !== CODEC_DEFLATE) return unzstd(container);
  return inflateRawSync(container.body, { chunkSize: chunkSizeFor(container.payloadLength) });
}

/**
 * The same, off the main thread where the codec allows: zlib's inflate and brotli run on
 * libuv's thread pool; zstd-napi has no asynchronous call, and decodes here (at about twice
 * inflate's speed on the thread pool).
 */
export async function decompressPayloadAsync(data: Buffer): Promise<Buffer> {
  const container = readContainer(data);
  if (container === null) return brotliDecompressAsync(data);
  if (container.codec !== CODEC_DEFLATE) return unzstd(container);
  return inflateRawAsync(container.body, { chunkSize: chunkSizeFor(container.payloadLength) });
}

/**
 * The Zstandard level sealed segments are repacked at while Daniel is idle (storage/sqlite/
 * repacker.ts). Measured on the 859 segments of the bench's 2M lines (462 MB of payloads), one
 * process: level 1, as written at ingest, 0.155 of the payload, 503 MB/s to write, 1,847 MB/s
 * to read; level 6 0.143, 153 and 2,183 MB/s; level 9 0.136, 108 and 2,220 MB/s; level 12
 * 0.134, 70 MB/s; level 15 0.132, 27 MB/s; level 19 0.121, 3 MB/s and 1,622 MB/s to read.
 * Level 9 took most of what a higher level gave at a speed an idle minute covers. Over payloads
 * arranged in variable columns, one frame per part, levels 13 to 15 find what level 9 misses
 * (their binary-tree match finder): on 105 of the bench's 10M-line segments (57 MB arranged),
 * level 9 wrote 5.82 MB at 101 MB/s, level 13 5.44 MB at 38 MB/s, level 15 5.39 MB at 29 MB/s
 * (5.42 flushed every REPACK_CHUNK), level 16 5.52 MB; all read at 2.3-3.1 GB/s. Level 15 costs an idle 2M-line store about
 * 30 CPU-seconds more than level 9 did, once.
 */
export const REPACK_LEVEL = 15;

/** Where each part of an arrangement ends in it: the prefix, the templates, all the columns. */
function partEnds(lengths: ArrangedLengths): number[] {
  return [lengths.prefix, lengths.prefix + lengths.templates, arrangedBytes(lengths)];
}

/** One context per thread for repacking (its tables are larger than the fast writer's). */
let repackCctx: InstanceType<typeof zstd.CCtx> | undefined;

/** Payload bytes compressed (and flushed as a block) between two looks at `stopped`: about a millisecond at level 15. */
const REPACK_CHUNK = 32 * 1024;

/** Thrown by repackBlob when `stopped` answered true before the end. */
export class RepackStopped extends Error {
  constructor() {
    super('The repack was stopped.');
  }
}

/**
 * The blob's payload compressed again as one Zstandard frame at `level`, behind the same
 * header, in a buffer of its own: the same payload to every reader (a blob of any codec,
 * deflate and brotli included, comes back as Zstandard). Given `textStartOf` (where the
 * payload's text starts: codec.ts payloadTextStart), the payload is arranged in variable
 * columns (codec 3) and each part of the arrangement is a frame (the prefix, the templates,
 * the columns): on the bench's stored segments, one level-9 frame of the arrangement was 0.822
 * of the plain level-9 frame's bytes, and the three level-15 frames are 0.768; decoded at
 * ~1,400 MB/s against ~2,100 (the restore after Zstandard's decode). Undefined when that is
 * not smaller.
 * The result is decoded and compared with the payload before it is answered, so a repacked
 * blob never holds other bytes.
 * The payload is compressed REPACK_CHUNK at a time, and `stopped` is asked before each: true
 * abandons the frame (RepackStopped), so whoever asked for the core has it within a chunk.
 */
export function repackBlob(
  data: Buffer,
  level: number = REPACK_LEVEL,
  stopped: () => boolean = () => false,
  textStartOf?: (payload: Buffer) => number,
): Buffer | undefined {
  const payload = decompressPayload(data);
  const arrangement = textStartOf === undefined ? undefined : arrangeVariables(payload, textStartOf(payload), stopped);
  if (textStartOf !== undefined && arrangement === undefined) throw new RepackStopped();
  const source = arrangement?.arranged ?? payload;
  // An arrangement is compressed one frame per part (the prefix, the templates, the columns):
  // each part's statistics stay its own, and the frames decode end to end to the same bytes.
  const ends = arrangement === undefined ? [source.length] : partEnds(arrangement.lengths);
  let bound = 0;
  let partStart = 0;
  for (const end of ends) {
    bound += zstd.compressBound(end - partStart);
    partStart = end;
  }
  const cctx = (repackCctx ??= new zstd.CCtx());
  const out = intoScratch(containerHeader(payload.length, arrangement?.lengths), bound, (at) => {
    let start = 0;
    for (const end of ends) {
      if (end === start) continue;
      cctx.reset(zstd.ResetDirective.sessionOnly);
      cctx.setParameter(zstd.CParameter.compressionLevel, level);
      cctx.setPledgedSrcSize(end - start);
      for (let from = start; ; from += REPACK_CHUNK) {
        if (stopped()) {
          cctx.reset(zstd.ResetDirective.sessionOnly);
          throw new RepackStopped();
        }
        const last = from + REPACK_CHUNK >= end;
        let input = source.subarray(from, Math.min(end, from + REPACK_CHUNK));
        // Flushed chunk by chunk: a frame is otherwise compressed a 128 KiB block at a time,
        // ~4 ms at level 15 between two looks at `stopped` (a chunk is ~1 ms; 0.6% more bytes).
        for (;;) {
          const [left, produced, consumed] = cctx.compressStream2(scratch.subarray(at), input, last ? zstd.EndDirective.end : zstd.EndDirective.flush);
          at += produced;
          input = input.subarray(consumed);
          if (left === 0 && input.length === 0) break;
        }
        if (last) break;
      }
      start = end;
    }
    return at;
  });
  if (out.length >= data.length) return undefined;
  if (!decompressPayload(out).equals(payload)) throw new Error('A repacked segment blob did not decode to its payload.');
  return out;
}

/** The level small records are packed at (field statistics: a few KB, written once a segment, read often). */
const RECORD_LEVEL = 15;
/** ZSTD_c_checksumFlag: a packed record's frame ends with a checksum of its content, so a damaged one is refused, not read as other values. */
const CHECKSUM_FLAG = 201;
let recordCctx: InstanceType<typeof zstd.CCtx> | undefined;

/** `body` as one Zstandard frame at RECORD_LEVEL, in a buffer of its own (a segment's field statistics: query/field-stats.ts packFieldStats). */
export function packRecord(body: Buffer): Buffer {
  const cctx = (recordCctx ??= new zstd.CCtx());
  cctx.reset(zstd.ResetDirective.sessionOnly);
  cctx.setParameter(zstd.CParameter.compressionLevel, RECORD_LEVEL);
  cctx.setParameter(CHECKSUM_FLAG, 1);
  return intoScratch([], zstd.compressBound(body.length), (at) => at + cctx.compress2(scratch.subarray(at), body));
}

/** What packRecord packed, given its length; throws on bytes that are not one frame of that length. */
export function unpackRecord(packed: Buffer, length: number): Buffer {
  if (length > MAX_REUSED_BYTES) throw new Error('A packed record is longer than any this store writes.');
  return decompressExactly(Buffer.allocUnsafe(length), packed, 'A packed record');
}
