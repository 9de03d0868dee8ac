/**
 * The CLI's HTTP client: fetch, the bearer token, and failures sorted into the CLI's exit
 * codes (1: the server answered with an error, 3: the server could not be reached).
 */
import type { ApiError } from '../protocol/api.js';

export const EXIT = { ok: 0, api: 1, usage: 2, connect: 3 } as const;

/** A failure the CLI reports as one line and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export type QueryValue = string | number | boolean | readonly string[] | undefined;

const REQUEST_TIMEOUT_MS = 120_000;

export class ApiClient {
  readonly baseUrl: string;

  constructor(
    server: string,
    private readonly token: string | undefined,
  ) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new CliError(`--server / DANIEL_URL '${server}' is not a URL (e.g. http://127.0.0.1:3032)`, EXIT.usage);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CliError(`--server / DANIEL_URL '${server}' must be http or https`, EXIT.usage);
    }
    this.baseUrl = url.toString().replace(/\/+$/, '');
  }

  url(path: string, query: Record<string, QueryValue> = {}): string {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value as readonly string[]) url.searchParams.append(name, item);
      else url.searchParams.set(name, String(value as string | number | boolean));
    }
    return url.toString();
  }

  /** GETs a JSON answer; `pathOrUrl` may be a full URL (a `next` link). */
  async getJson<T>(pathOrUrl: string, query: Record<string, QueryValue> = {}): Promise<T> {
    const target = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.url(pathOrUrl, query);
    const response = await this.fetch(target, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return (await readJson(response)) as T;
  }

  /** Sends a JSON body (or none) with `method` and reads the JSON answer. */
  async sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(this.url(path), {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return (await readJson(response)) as T;
  }

  /** Opens a streaming GET (live tail); the caller reads `body`. */
  async open(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const response = await this.fetch(url, { headers, signal });
    if (!response.ok) await readJson(response);
    return response;
  }

  private async fetch(url: string, init: { method?: string; body?: string; headers?: Record<string, string>; signal: AbortSignal }): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, text/event-stream', ...init.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    try {
      return await fetch(url, { headers, signal: init.signal, ...(init.method === undefined ? {} : { method: init.method }), ...(init.body === undefined ? {} : { body: init.body }) });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new CliError(`cannot connect to ${this.baseUrl}: ${why}`, EXIT.connect);
    }
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CliError(`the server answered ${response.status} with something that is not JSON`, EXIT.api);
  }
  if (!response.ok) {
    const error = (body as Partial<ApiError>).error;
    const code = typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`;
    const message = typeof error?.message === 'string' ? error.message : response.statusText;
    const hint = response.status === 401 ? ' (pass --token, set DANIEL_TOKEN, or point --data-dir at the server data directory)' : '';
    throw new CliError(`${code}: ${message}${hint}`, EXIT.api);
  }
  return body;
}
