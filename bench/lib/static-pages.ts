/**
 * A bare node:http server, run as its own process (`node --import tsx bench/lib/static-pages.ts
 * MANIFEST`), that answers each GET with the bytes Daniel gave for the same path and query:
 * the paging walk's floor, what the harness's client needs to fetch and parse the same answers
 * when the server does nothing but write them. MANIFEST is a JSON array of
 * `{ "key": "/logs?…", "file": "<path of the answer's bytes>" }`. Prints `listening on <url>`.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { key: string; file: string }[];
const pages = new Map(manifest.map(({ key, file }) => [key, readFileSync(file)]));

const server = http.createServer((req, res) => {
  const body = req.method === 'GET' ? pages.get(req.url ?? '') : undefined;
  if (body === undefined) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"NOT_FOUND","message":"no such page"}}');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
