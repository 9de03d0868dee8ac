/**
 * The spool's segment files on disk: records are `[length u32le][crc32 u32le][payload]`;
 * checking a segment finds where its whole, uncorrupted records end.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from './crc32.js';

/** Bytes before each record's payload: length and checksum. */
export const HEADER = 8;
/** A length this large is corruption, not a record (batches are a few MiB at most). */
export const MAX_RECORD = 256 * 1024 * 1024;

/** Length of the prefix of `file` made of whole records with good checksums. */
export async function validLength(file: string): Promise<number> {
  const handle = await fsp.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const header = Buffer.alloc(HEADER);
    let offset = 0;
    while (offset + HEADER <= size) {
      await readFully(handle, header, offset);
      const length = header.readUInt32LE(0);
      if (length > MAX_RECORD || offset + HEADER + length > size) break;
      const payload = Buffer.alloc(length);
      await readFully(handle, payload, offset + HEADER);
      if (crc32(payload) !== header.readUInt32LE(4)) break;
      offset += HEADER + length;
    }
    return offset;
  } finally {
    await handle.close();
  }
}

export async function readFully(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) throw new Error('spool: unexpected end of segment');
    filled += bytesRead;
  }
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
