/**
 * A request too big for the body limit of Daniel or a proxy (413) is sent again in halves,
 * each half again in halves if it is still too big, down to one line; one line still too
 * big is cut in two pieces as the tailer cuts a long line: the first piece marked `cut`,
 * the pieces' offsets and ends splitting the line's bytes, so the pieces follow each other
 * in the file's order and Daniel recognises each of them when it comes again.
 * This runs only after a 413 (rare): the hot path never parses a body again.
 */
import type { IngestFile, IngestLine, IngestRequest } from '../protocol/ingest.js';

export function lineCount(request: IngestRequest): number {
  let n = 0;
  for (const f of request.files) n += f.lines.length;
  return n;
}

/** Two requests that together carry `request` in order, or undefined when it cannot be made smaller. */
export function splitRequest(request: IngestRequest): [IngestRequest, IngestRequest] | undefined {
  const total = lineCount(request);
  if (total === 0) return undefined;
  if (total === 1) return cutOnlyLine(request);
  const half = Math.floor(total / 2);
  const first: IngestFile[] = [];
  const second: IngestFile[] = [];
  let taken = 0;
  for (const file of request.files) {
    const room = half - taken;
    if (room <= 0) {
      second.push(file);
    } else if (file.lines.length <= room) {
      first.push(file);
      taken += file.lines.length;
    } else {
      first.push({ ...file, lines: file.lines.slice(0, room) });
      second.push({ ...file, lines: file.lines.slice(room) });
      taken += room;
    }
  }
  return [
    { host: request.host, files: first },
    { host: request.host, files: second },
  ];
}

function cutOnlyLine(request: IngestRequest): [IngestRequest, IngestRequest] | undefined {
  const fileIndex = request.files.findIndex((f) => f.lines.length === 1);
  const file = request.files[fileIndex] as IngestFile;
  const pieces = cutLine(file.lines[0] as IngestLine);
  if (pieces === undefined) return undefined;
  const before = request.files.slice(0, fileIndex);
  const after = request.files.slice(fileIndex + 1);
  return [
    { host: request.host, files: [...before, { ...file, lines: [pieces[0]] }] },
    { host: request.host, files: [{ ...file, lines: [pieces[1]] }, ...after] },
  ];
}

/**
 * One line as two pieces, cut at a character boundary near the middle of its text. The
 * file bytes it came from (offset..end) are shared in proportion to the text's UTF-8 bytes
 * (they differ when invalid UTF-8 was replaced), each piece keeping at least one byte.
 */
export function cutLine(line: IngestLine): [IngestLine, IngestLine] | undefined {
  const text = line.line;
  const textBytes = Buffer.byteLength(text, 'utf8');
  const end = line.end ?? line.offset + textBytes + 1;
  const span = end - line.offset;
  if (text.length < 2 || span < 2) return undefined;
  let at = Math.floor(text.length / 2);
  const code = text.charCodeAt(at);
  // Never between the halves of a surrogate pair.
  if (code >= 0xdc00 && code <= 0xdfff) at++;
  if (at >= text.length) at = text.length - 1;
  const head = text.slice(0, at);
  const tail = text.slice(at);
  const headBytes = Buffer.byteLength(head, 'utf8');
  const share = textBytes === 0 ? 1 : Math.round((span * headBytes) / textBytes);
  const middle = line.offset + Math.min(span - 1, Math.max(1, share));
  const first: IngestLine = { offset: line.offset, end: middle, timestamp: line.timestamp, line: head, cut: true };
  const second: IngestLine = { offset: middle, end, timestamp: line.timestamp, line: tail };
  if (line.cut === true) second.cut = true;
  return [first, second];
}
