/**
 * What the agent puts in a spool record: the compressed ingest request (wire-body.ts), preceded by a small
 * JSON header saying which file identities it covers up to which offset. The header is what
 * a restart needs to resume reading after what is already spooled, and what an
 * acknowledgement needs to advance the checkpoints, without unzipping the body.
 */
import type { BatchedFile } from './batcher.js';

export interface SpooledFile extends BatchedFile {
  sourceIndex: number;
  dev: number;
  ino: number;
  prefixLength: number;
  prefixHash: string;
  /** A compressed file read decompressed (tailer/archives.ts). */
  archive?: boolean;
}

export interface SpoolRecordHeader {
  files: SpooledFile[];
  lines: number;
  /** The body is a binary batch (protocol/binary-batch.ts), sent as such; absent: JSON. */
  binary?: true;
  /** Inputs that are not files (the journal): where each resumes after this record, by key. */
  inputs?: Record<string, string>;
}

export function encodeSpoolRecord(header: SpoolRecordHeader, gzippedBody: Buffer): Buffer {
  const headerBytes = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(headerBytes.length, 0);
  return Buffer.concat([length, headerBytes, gzippedBody]);
}

export function decodeSpoolRecord(payload: Buffer): { header: SpoolRecordHeader; body: Buffer } {
  const headerLength = payload.readUInt32LE(0);
  const header = JSON.parse(payload.toString('utf8', 4, 4 + headerLength)) as SpoolRecordHeader;
  return { header, body: payload.subarray(4 + headerLength) };
}

/** Only the header: what start-up and acknowledgements need, without touching the body. */
export function decodeSpoolHeader(payload: Buffer): SpoolRecordHeader {
  const headerLength = payload.readUInt32LE(0);
  return JSON.parse(payload.toString('utf8', 4, 4 + headerLength)) as SpoolRecordHeader;
}
