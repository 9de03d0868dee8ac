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
  EndDirective: { continue: number; end: number };
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
 * Decodes a Zstandard stream chunk by chunk (one or more frames), handing each piece of
 * output on as it is produced, so the caller can stop a bomb at its limit instead of holding
 * its output. `write` returns false once `onOut` asked to stop.
 */
export class ZstdStreamDecoder {
  private readonly dctx = new zstd.DCtx();
  private readonly out = Buffer.allocUnsafe(zstd.dStreamOutSize());
  /** ZSTD_decompressStream's last answer: 0 when a frame just ended (and nothing is buffered). */
  private pending = 0;
  private empty = true;

  constructor(private readonly onOut: (chunk: Buffer) => boolean) {
    this.dctx.setParameter(zstd.DParameter.windowLogMax, BODY_WINDOW_LOG_MAX);
  }

  /** Throws on data that is not Zstandard (the library's message). */
  write(chunk: Buffer): boolean {
    let input = chunk;
    while (input.length > 0 || this.pending > 0) {
      const [hint, produced, consumed] = this.dctx.decompressStream(this.out, input);
      this.pending = hint;
      this.empty = false;
      input = input.subarray(consumed);
      if (produced > 0 && !this.onOut(Buffer.from(this.out.subarray(0, produced)))) return false;
      // Nothing left to feed and the output buffer was not filled: the decoder waits for more input.
      if (input.length === 0 && produced < this.out.length) break;
    }
    return true;
  }

  /** Throws when the stream stopped inside a frame (or held no frame at all). */
  end(): void {
    if (this.empty) throw new Error('the body is empty');
    if (this.pending !== 0) throw new Error('the body ends inside a frame');
  }
}
