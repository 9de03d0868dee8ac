/**
 * Start-up: what the agent knew when it last stopped or crashed. The checkpoint file says
 * how far Daniel acknowledged each file identity; the spool holds what was read after that
 * and not acknowledged yet. Every file resumes after the last line either of them covers,
 * so nothing is read twice into the spool and nothing read before is skipped.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { loadCheckpoints, type FileCheckpoint } from './checkpoints.js';
import { decodeSpoolHeader } from './spool-record.js';
import { Spool, type SpoolPosition } from './spool.js';
import type { FileStream } from './tailer/open-file.js';
import type { AgentLog } from './events.js';

export interface RecoveredState {
  spool: Spool;
  /** Every identity known, positioned after what the spool already holds. */
  streams: FileStream[];
  /** Spool records up to here were acknowledged. */
  acked: SpoolPosition;
  /** Records in the spool still to deliver. */
  pendingRecords: number;
  /** Inputs that are not files: positions acknowledged (checkpoints), and where reading resumes (after the spool). */
  inputs: { acked: Record<string, string>; resume: Record<string, string> };
}

export async function recoverState(stateDir: string, spoolMaxBytes: number, log: AgentLog): Promise<RecoveredState> {
  await mkdir(stateDir, { recursive: true });
  const checkpoints = await loadCheckpoints(path.join(stateDir, 'checkpoints.json'));
  const spool = await Spool.open(path.join(stateDir, 'spool'), { maxBytes: spoolMaxBytes, releasedUpTo: checkpoints.spool, log });
  const streams = new Map<string, FileStream>(checkpoints.files.map((f) => [f.id, fromCheckpoint(f)]));
  let pending = 0;
  const resume: Record<string, string> = { ...checkpoints.inputs };
  for (let record = await spool.next(); record !== undefined; record = await spool.next()) {
    pending++;
    const header = decodeSpoolHeader(record.payload);
    if (header.inputs !== undefined) Object.assign(resume, header.inputs);
    for (const f of header.files) {
      const stream: FileStream = streams.get(f.fileId) ?? {
        id: f.fileId,
        filename: f.filename,
        path: f.path,
        sourceIndex: f.sourceIndex,
        dev: f.dev,
        ino: f.ino,
        prefixLength: f.prefixLength,
        prefixHash: f.prefixHash,
        ackedOffset: 0,
        readEnd: 0,
        ...(f.archive === true ? { archive: true } : {}),
      };
      stream.readEnd = Math.max(stream.readEnd, f.end);
      stream.lastTimestamp = BigInt(f.lastTimestamp);
      streams.set(stream.id, stream);
    }
  }
  spool.rewind();
  if (pending > 0) log('spool_replay', { records: pending, bytes: spool.sizeBytes });
  return { spool, streams: [...streams.values()], acked: checkpoints.spool, pendingRecords: pending, inputs: { acked: { ...checkpoints.inputs }, resume } };
}

function fromCheckpoint(f: FileCheckpoint): FileStream {
  return {
    ...f,
    ackedOffset: f.offset,
    ackedTimestamp: f.lastTimestamp,
    readEnd: f.offset,
    lastTimestamp: f.lastTimestamp !== undefined ? BigInt(f.lastTimestamp) : undefined,
  };
}
