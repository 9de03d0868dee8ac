import { BinaryBatchWriter } from '../../src/protocol/binary-batch.js';
import type { IngestRequest } from '../../src/protocol/ingest.js';

/** `request` written as Henrik writes a binary batch. */
export function binaryBody(request: IngestRequest, textBuffer = Buffer.alloc(16)): Buffer {
  const writer = new BinaryBatchWriter(textBuffer, Buffer.alloc(8), request.host);
  for (const file of request.files) {
    writer.startGroup(file.file_id, file.filename, file.path ?? '', file.labels);
    for (const line of file.lines) {
      const bytes = Buffer.byteLength(line.line, 'utf8');
      writer.line(line.offset, line.end ?? line.offset + bytes + 1, BigInt(line.timestamp), line.line, line.cut === true, line.fields);
    }
    writer.endGroup(file.size);
  }
  return writer.finish();
}
