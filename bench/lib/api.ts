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

/** GET a path (or an absolute URL such as a `next`) and parse the JSON answer. */
export async function getJson<T>(ctx: BenchContext, pathOrUrl: string, timeoutMs = 120_000): Promise<T> {
  if (!ctx.daniel) throw new Error(ctx.danielMissing ?? 'no Daniel running');
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${ctx.daniel.url}${pathOrUrl}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${ctx.token}` }, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, `GET ${url}: ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}
