/**
 * The null HTTP sink, run as its own process (`node --import tsx bench/lib/null-sink.ts`):
 * drains request bodies, counts the lines in them, and answers as Daniel's /ingest would,
 * so the agent bench measures the agent and not a server. It also answers `GET /healthz`
 * with Daniel's body: the bare node:http baseline of the HTTP-overhead bench.
 *
 * Lines are counted exactly: in a binary batch (what Henrik sends) by reading it as Daniel
 * does; in a JSON ingest body by its `"offset":` keys (a quote inside a line's text is
 * escaped, so the sequence only occurs as a key); in any other body (syslog-ng's batches) by
 * newline-separated records.
 */
import http from 'node:http';
import { checkBinaryBatch, isBinaryBatch } from '../../src/protocol/binary-batch.js';
import { decompressBody } from '../../src/agent/wire-body.js';

const OFFSET_KEY = Buffer.from('"offset":');
const HEALTHZ_BODY = JSON.stringify({ data: { status: 'ok' } });

const stats = { requests: 0, lines: 0, wireBytes: 0, bodyBytes: 0, firstAt: 0, lastAt: 0 };

function countOccurrences(body: Buffer, needle: Buffer): number {
  let count = 0;
  for (let at = body.indexOf(needle); at !== -1; at = body.indexOf(needle, at + needle.length)) count++;
  return count;
}

function countRecords(body: Buffer): number {
  if (body.length === 0) return 0;
  let count = 0;
  for (let at = body.indexOf(10); at !== -1; at = body.indexOf(10, at + 1)) count++;
  return body[body.length - 1] === 10 ? count : count + 1;
}

function binaryLines(body: Buffer): number {
  const checked = checkBinaryBatch(body);
  let count = checked.rejected.length;
  for (const group of checked.groups) count += group.lines.length;
  return count;
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/healthz')) {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(HEALTHZ_BODY);
    return;
  }
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/reset') {
      Object.assign(stats, { requests: 0, lines: 0, wireBytes: 0, bodyBytes: 0, firstAt: 0, lastAt: 0 });
      res.end('{}');
      return;
    }
    const wire = Buffer.concat(chunks);
    let body: Buffer = wire;
    try {
      // Henrik's encodings (gzip, brotli, zstd), told apart by their first bytes as Henrik's own spool does.
      if (['gzip', 'br', 'zstd'].includes(req.headers['content-encoding'] ?? '')) body = decompressBody(wire);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'INVALID_BODY', message: 'bad gzip, brotli or zstd' } }));
      return;
    }
    let lines: number;
    try {
      lines = !req.url?.startsWith('/ingest') ? countRecords(body) : isBinaryBatch(body) ? binaryLines(body) : countOccurrences(body, OFFSET_KEY);
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'INVALID_BODY', message: (error as Error).message } }));
      return;
    }
    const now = Date.now();
    stats.requests++;
    stats.lines += lines;
    stats.wireBytes += wire.length;
    stats.bodyBytes += body.length;
    stats.firstAt ||= now;
    stats.lastAt = now;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { accepted: lines, duplicates: 0 } }));
  });
});

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
