/** Calls to the loaded Daniel's REST API with the run's token. */
import type { BenchContext } from './context.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What the answers weighed: their bytes, and the time the harness spent parsing them. */
export interface AnswerSize {
  bytes: number;
  parseMs: number;
  /** When given, each answer's URL and text are kept here too (the paging floor's static server serves them again). */
  texts?: { url: string; text: string }[];
}

/** GET a path (or an absolute URL such as a `next`) and parse the JSON answer; `size` adds up its bytes and parse time. */
export async function getJson<T>(ctx: BenchContext, pathOrUrl: string, timeoutMs = 120_000, size?: AnswerSize): Promise<T> {
  if (!ctx.daniel) throw new Error(ctx.danielMissing ?? 'no Daniel running');
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${ctx.daniel.url}${pathOrUrl}`;
  const send = (): Promise<Response> => fetch(url, { headers: { authorization: `Bearer ${ctx.token}` }, signal: AbortSignal.timeout(timeoutMs) });
  let response: Response;
  try {
    response = await send();
  } catch (error) {
    // The synchronous grep/rg baselines block this process for seconds: Daniel meanwhile closes
    // the idle keep-alive socket, and the next GET goes out on it before the close is read.
    // A GET is idempotent, so it is sent again once on a new connection, as browsers do.
    if (!socketClosed(error)) throw withCause(error);
    response = await send().catch((again: unknown) => Promise.reject(withCause(again)));
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, `GET ${url}: ${response.status} ${text.slice(0, 300)}`);
  if (size === undefined) return JSON.parse(text) as T;
  const started = performance.now();
  const parsed = JSON.parse(text) as T;
  size.parseMs += performance.now() - started;
  size.bytes += Buffer.byteLength(text);
  size.texts?.push({ url, text });
  return parsed;
}

/** A request that failed because its reused connection had been closed by the server. */
function socketClosed(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** fetch's "fetch failed" with what failed beneath it, for the "not measured" line. */
function withCause(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause === undefined ? error : new Error(`${error.message}: ${cause.code ?? ''} ${cause.message ?? ''}`.trim());
}

/**
 * Daniel's /metrics, read once: a series' value by name (a series without labels), undefined
 * when Daniel does not export it.
 */
export async function getMetrics(ctx: BenchContext): Promise<(name: string) => number | undefined> {
  if (!ctx.daniel) throw new Error(ctx.danielMissing ?? 'no Daniel running');
  const response = await fetch(`${ctx.daniel.url}/metrics`, { headers: { authorization: `Bearer ${ctx.token}` }, signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, `GET /metrics: ${response.status} ${text.slice(0, 300)}`);
  const values = new Map<string, number>();
  for (const match of text.matchAll(/^([a-z_]+) (\S+)$/gm)) values.set(match[1]!, Number(match[2]));
  return (name) => values.get(name);
}
