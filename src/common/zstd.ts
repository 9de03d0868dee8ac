/**
 * Zstandard, from the reference C library through the zstd-napi addon's thin binding (Node
 * 20 has none of its own): segment blobs (src/segment/compression.ts) and request bodies sent
 * with `Content-Encoding: zstd` (src/server/plugins/json-body.ts). Daniel only: Henrik, which
 * also runs as one file without node_modules, does not load it.
 */
import { createRequire } from 'node:module';

type StreamResult = [returnValue: number, produced: number, consumed: number];

/** The part of zstd-napi's binding the project uses (its high-level API allocates a bound-sized buffer per call). */
export interface ZstdBinding {
  CCtx: new () => {
    compress(dst: Uint8Array, src: Uint8Array, level: number): number;
    /** With the parameters set (zstd-level.ts); `compress` would set them all from the level. */
    compress2(dst: Uint8Array, src: Uint8Array): number;
    setParameter(param: number, value: number): void;
    setPledgedSrcSize(size: number): void;
    reset(directive: number): void;
    compressStream2(dst: Uint8Array, src: Uint8Array, endOp: number): StreamResult;
  };
  CParameter: { compressionLevel: number; hashLog: number };
  EndDirective: { continue: number; flush: number; end: number };
  ResetDirective: { sessionOnly: number };
  DCtx: new () => {
    decompress(dst: Uint8Array, src: Uint8Array): number;
    decompressStream(dst: Uint8Array, src: Uint8Array): StreamResult;
    setParameter(param: number, value: number): void;
  };
  DParameter: { windowLogMax: number };
  compressBound(size: number): number;
  dStreamOutSize(): number;
  getFrameContentSize(frame: Uint8Array): number | null;
  findFrameCompressedSize(frame: Uint8Array): number;
}

export const zstd = createRequire(import.meta.url)('zstd-napi/binding') as ZstdBinding;

/** The largest window a body may ask for: 8 MiB, the default body limit (the library's default lets a frame ask for 128 MiB). */
const BODY_WINDOW_LOG_MAX = 23;

/**
 * Decodes a Zstandard stream chunk by chunk (one or more frames) straight into one buffer,
 * sized from the first frame's header when it says its size, and stops as soon as the output
 * passes `limit` bytes, so a bomb is never held past it. Decoding into a scratch buffer, copying
 * each piece out and joining the pieces copied an ingest body twice more: 8% of Daniel's main
 * thread at full ingest.
 */
export class ZstdStreamDecoder {
  private readonly dctx = new zstd.DCtx();
  private buffer: Buffer;
  private length = 0;
  /** ZSTD_decompressStream's last answer: 0 when a frame just ended (and nothing is buffered). */
  private pending = 0;
  private empty = true;

  constructor(private readonly limit: number) {
    this.dctx.setParameter(zstd.DParameter.windowLogMax, BODY_WINDOW_LOG_MAX);
    this.buffer = Buffer.allocUnsafeSlow(Math.min(limit + 1, zstd.dStreamOutSize()));
  }

  /** False once the output passed the limit; throws on data that is not Zstandard (the library's message). */
  write(chunk: Buffer): boolean {
    if (this.empty && chunk.length > 0) this.sizeFromHeader(chunk);
    let input = chunk;
    while (input.length > 0 || this.pending > 0) {
      if (this.length === this.buffer.length && !this.grow()) return false;
      const room = this.buffer.length - this.length;
      const [hint, produced, consumed] = this.dctx.decompressStream(this.buffer.subarray(this.length), input);
      this.pending = hint;
      this.empty = false;
      input = input.subarray(consumed);
      this.length += produced;
      if (this.length > this.limit) return false;
      // Nothing left to feed and the output had room: the decoder waits for more input.
      if (input.length === 0 && produced < room) break;
    }
    return true;
  }

  /** The bytes decoded so far (a view: valid until the next write). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  /** A buffer for the whole frame when its header (in this first chunk) says how large it is. */
  private sizeFromHeader(chunk: Buffer): void {
    let size: number | null;
    try {
      size = zstd.getFrameContentSize(chunk);
    } catch {
      return; // not a whole header yet, or not Zstandard: decompressStream says which
    }
    if (size !== null && size > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(Math.min(size, this.limit) + 1);
  }

  /** More room, up to one byte past the limit (which a stream that fills it passes); false when full at that. */
  private grow(): boolean {
    const most = this.limit + 1;
    if (this.buffer.length >= most) return false;
    const grown = Buffer.allocUnsafeSlow(Math.min(most, Math.max(this.buffer.length * 2, this.length + zstd.dStreamOutSize())));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
    return true;
  }

  /** Throws when the stream stopped inside a frame (or held no frame at all). */
  end(): void {
    if (this.empty) throw new Error('the body is empty');
    if (this.pending !== 0) throw new Error('the body ends inside a frame');
  }
}
