/**
 * The one Zstandard setting both writers use: Henrik's batches (agent/wire-body.ts) and
 * Daniel's segments (segment/compression.ts). Level 1 with a 4,096-entry match table
 * (hashLog 12, 16 KiB: level 1 picks a larger one for inputs this size) rather than level 1
 * alone. Measured on this machine, one process: on 69 MiB of Henrik's binary batches of the
 * bench's 8 formats, 567-581 MB/s at 0.1621 of the body against 511-521 at 0.1636; on 107
 * MiB of segment texts, 605 MB/s at 0.1500 against 530 at 0.1506 (hashLog 11: 630 at
 * 0.1509; 13: 571 at 0.1501). Reading is the same speed: the frames are plain level-1
 * frames to any decoder.
 *
 * This module loads nothing: Henrik, also built as one file without the addon, passes the
 * binding it loaded itself.
 */
import type { ZstdBinding } from './zstd.js';

const ZSTD_LEVEL = 1;
const HASH_LOG = 12;

/** A compression context set up for `compress2`: level 1, hashLog 12. */
export function fastCompressor(binding: ZstdBinding): InstanceType<ZstdBinding['CCtx']> {
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, ZSTD_LEVEL);
  cctx.setParameter(binding.CParameter.hashLog, HASH_LOG);
  return cctx;
}
