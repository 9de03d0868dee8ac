/**
 * The REST API as the UI uses it: every request carries the session's token, a 401 from
 * anywhere signs the user out (which brings the sign-in back), and failures surface the
 * API's own code and sentence.
 */
import type { ApiError, ContextResponse, FileEntry, HistogramResponse, HostEntry, LogsResponse } from '../src/protocol/api.js';
import { clearToken, getToken } from './auth.js';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function authHeaders(token = getToken()): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Turns a non-2xx answer into an ApiFailure, signing out on 401. */
export async function failureOf(response: Response): Promise<ApiFailure> {
  let code = `HTTP_${response.status}`;
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as Partial<ApiError>;
    if (body.error) ({ code, message } = body.error);
  } catch {
    // Not JSON (a proxy's page, say): keep the status line.
  }
  // The token is gone or was never valid: signing out brings the sign-in back.
  if (response.status === 401) clearToken();
  return new ApiFailure(response.status, code, message);
}

/** GET a path of this origin (absolute URLs from `next` are reduced to path and query). */
export async function getJson<T>(pathAndQuery: string, signal?: AbortSignal, token?: string): Promise<T> {
  const response = await fetch(sameOrigin(pathAndQuery), { headers: { accept: 'application/json', ...authHeaders(token) }, signal });
  if (!response.ok) throw await failureOf(response);
  return (await response.json()) as T;
}

/**
 * `next` URLs are built from the request's Host; behind a proxy that may not be the
 * address the browser used, so only the path and query are kept.
 */
export function sameOrigin(url: string): string {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

export function listHosts(signal?: AbortSignal, token?: string): Promise<{ data: HostEntry[] }> {
  return getJson('/hosts/', signal, token);
}

export function listFiles(host: string, signal?: AbortSignal): Promise<{ data: FileEntry[] }> {
  return getJson(`/hosts/${encodeURIComponent(host)}/`, signal);
}

export function searchLogs(params: URLSearchParams, signal?: AbortSignal): Promise<LogsResponse> {
  return getJson(`/logs?${params.toString()}`, signal);
}

export function nextPage(next: string, signal?: AbortSignal): Promise<LogsResponse> {
  return getJson(next, signal);
}

export function histogram(params: URLSearchParams, signal?: AbortSignal): Promise<HistogramResponse> {
  return getJson(`/logs/histogram?${params.toString()}`, signal);
}

export interface FieldsAnswer {
  data: Array<{ name: string; lines: number }>;
  lines_examined: number;
  partial?: boolean;
}

export interface ValuesAnswer {
  data: Array<{ value: string; lines: number }>;
  other_lines: number;
  lines_examined: number;
  partial?: boolean;
}

/** Which fields the matching lines have (`/logs/fields`). */
export function fieldNames(params: URLSearchParams, signal?: AbortSignal): Promise<FieldsAnswer> {
  return getJson(`/logs/fields?${params.toString()}`, signal);
}

/** A field's top values among the matching lines (`/logs/fields/{name}/values`). */
export function fieldValues(name: string, params: URLSearchParams, signal?: AbortSignal): Promise<ValuesAnswer> {
  return getJson(`/logs/fields/${encodeURIComponent(name)}/values?${params.toString()}`, signal);
}

export interface ContextRequest {
  host: string;
  fileId: string;
  offset: number;
  before: number;
  after: number;
}

export function lineContext(request: ContextRequest, signal?: AbortSignal): Promise<ContextResponse> {
  const params = new URLSearchParams({
    host: request.host,
    file_id: request.fileId,
    offset: String(request.offset),
    before: String(request.before),
    after: String(request.after),
  });
  return getJson(`/logs/context?${params.toString()}`, signal);
}

/**
 * The engine's own wording of a bad regex (`Invalid regular expression: /a(b/l: …`) repeats
 * the pattern with flags the user never typed; the reason after it is what helps.
 */
export function tidyMessage(message: string): string {
  return message.replace(/Invalid regular expression: \/.*\/[a-z]*: /s, '');
}

export function describeError(error: unknown): string {
  if (error instanceof ApiFailure) return `${tidyMessage(error.message)} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A refused query or regex: what the search box shows under the text, at `position` when known. */
export interface QueryProblem {
  message: string;
  /** 0-based index into the box's text, when the server named one. */
  position: number | undefined;
}

/** The problem with the box's text, when `error` is the server refusing it; undefined for any other failure. */
export function queryProblem(error: unknown): QueryProblem | undefined {
  if (!(error instanceof ApiFailure) || error.status !== 400) return undefined;
  if (error.code !== 'INVALID_QUERY' && error.code !== 'INVALID_REGEX') return undefined;
  const message = tidyMessage(error.message);
  const at = / at (\d+)$/.exec(message);
  return { message: at ? message.slice(0, at.index).replace(/^Query parameter q: /, '') : message, position: at ? Number(at[1]) : undefined };
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
