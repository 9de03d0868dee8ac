/**
 * Maps every failure, ours and Fastify's own (validation, unknown route, wrong method, body
 * too large, bad JSON, unsupported content type), to `{"error": {"code", "message"}}` with a
 * code of src/common/errors.ts and a message that names the bad parameter or field. Bad input
 * never becomes a 500; only a bug does, and that one is logged.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errorBody, errorCatalogue, type ErrorCode } from '../../common/errors.js';
import type { ServerLog } from '../log.js';
import { StoreFailure } from '../store-call.js';
import { setSecurityHeaders } from './abuse.js';

interface ValidationIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

interface MappedError {
  status: number;
  code: ErrorCode;
  message: string;
}

/** `/files/0/lines/3/offset` -> `files[0].lines[3].offset` */
export function fieldPath(instancePath: string): string {
  let out = '';
  for (const part of instancePath.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(key)) out += `[${key}]`;
    else out += out === '' ? key : `.${key}`;
  }
  return out;
}

function missingProperty(issue: ValidationIssue): string | undefined {
  const params = issue.params ?? {};
  if (typeof params.missingProperty === 'string') return params.missingProperty;
  const required = params.requiredProperties;
  if (Array.isArray(required) && typeof required[0] === 'string') return required[0];
  return undefined;
}

function describeValidation(context: string | undefined, issues: readonly ValidationIssue[]): MappedError {
  const issue = issues[0] ?? {};
  let field = fieldPath(issue.instancePath ?? '');
  let message = issue.message ?? 'is not valid';
  const missing = issue.keyword === 'required' ? missingProperty(issue) : undefined;
  if (missing !== undefined) {
    field = field === '' ? missing : `${field}.${missing}`;
    message = 'is required';
  }
  const allowed = ALLOWED[field];
  if (allowed !== undefined) {
    message = `must be ${allowed}`;
  } else if (issue.keyword === 'enum' || issue.keyword === 'const' || issue.keyword === 'anyOf') {
    message = 'has a value that is not allowed';
  } else if (issue.keyword === 'pattern' && field.endsWith('timestamp')) {
    message = 'must be a decimal string of nanoseconds since the epoch';
  } else if (issue.keyword === 'pattern') {
    message = 'has the wrong format';
  }
  if (context === 'body') {
    return { status: 400, code: 'INVALID_BODY', message: field === '' ? `Body ${message}` : `Body field ${field} ${message}` };
  }
  const kind = context === 'params' ? 'Path parameter' : context === 'headers' ? 'Header' : 'Query parameter';
  return { status: 400, code: 'INVALID_PARAMETER', message: `${kind} ${field === '' ? '' : field + ' '}${message}` };
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_BODY',
  FST_ERR_BAD_URL: 'INVALID_PARAMETER',
  FST_ERR_MAX_PARAM_LENGTH: 'INVALID_PARAMETER',
};

const FASTIFY_MESSAGES: Partial<Record<string, (request: FastifyRequest) => string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => 'The request body passes the size limit',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (request) =>
    `Content-Type '${String(request.headers['content-type'] ?? '')}' is not supported: send application/json`,
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'The body is empty: send a JSON object',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'The Content-Length header does not match the body',
  FST_ERR_BAD_URL: () => 'The URL path is not valid percent-encoding',
  FST_ERR_MAX_PARAM_LENGTH: () => 'A path parameter is too long',
};

/** Values a field may take, for messages that say what to send instead. */
const ALLOWED: Record<string, string> = {
  case: 'sensitive or insensitive',
  order: 'desc or asc',
  follow: 'true or false',
};

const STATUS_CODES: Record<number, ErrorCode> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'STORE_UNAVAILABLE',
};

export function mapError(error: unknown, request: FastifyRequest): MappedError | undefined {
  if (error instanceof AppError) return { status: error.status, code: error.code, message: error.message };
  if (typeof error !== 'object' || error === null) return undefined;
  const err = error as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(err.validation)) return describeValidation(err.validationContext, err.validation);
  const code = typeof err.code === 'string' ? err.code : '';
  // Store errors carry our codes (InvalidCursorError, InvalidPatternError, StoreUnavailableError).
  if (code in errorCatalogue) {
    const ours = code as ErrorCode;
    return { status: errorCatalogue[ours].status, code: ours, message: err.message ?? errorCatalogue[ours].meaning };
  }
  const fastifyCode = FASTIFY_CODES[code];
  if (fastifyCode) {
    const describe = FASTIFY_MESSAGES[code];
    return {
      status: errorCatalogue[fastifyCode].status,
      code: fastifyCode,
      message: describe ? describe(request) : `The body is not valid JSON: ${err.message ?? ''}`,
    };
  }
  const status = typeof err.statusCode === 'number' ? err.statusCode : 0;
  if (status >= 400 && status < 500) {
    const mapped = STATUS_CODES[status] ?? 'INVALID_PARAMETER';
    return { status: errorCatalogue[mapped].status, code: mapped, message: err.message ?? errorCatalogue[mapped].meaning };
  }
  return undefined;
}

/** Seconds an agent waits before sending again after a 503 STORE_UNAVAILABLE. */
export const STORE_RETRY_AFTER_SECONDS = 5;

function sendError(reply: FastifyReply, mapped: MappedError): void {
  if (mapped.code === 'UNAUTHORIZED') void reply.header('www-authenticate', 'Bearer');
  if (mapped.code === 'STORE_UNAVAILABLE' && !reply.hasHeader('retry-after')) void reply.header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
  void reply.code(mapped.status).type('application/json; charset=utf-8').send(errorBody(mapped.code, mapped.message));
}

/** Turns a route pattern into a matcher for concrete paths (trailing slash optional). */
function routeMatcher(url: string): RegExp {
  const body = url
    .replace(/\/+$/, '')
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}/?$`);
}

/** Fastify's `frameworkErrors` option: bad URL encoding and over-long path parameters, before routing. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = mapError(error, request) ?? { status: 500, code: 'INTERNAL' as const, message: `Internal error (request ${request.id})` };
  // Errors found before routing (a malformed URL) run no hook: the headers are set here.
  setSecurityHeaders(reply.raw);
  sendError(reply, mapped);
}

/** Installs the error and not-found handlers on the root instance (before any route). */
export function installErrorHandling(app: FastifyInstance, log: ServerLog): void {
  const routes: { method: string; matcher: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method: String(method).toUpperCase(), matcher: routeMatcher(route.url) });
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof StoreFailure) {
      // Not the client's fault and not fixed by a retry: one log line with the cause's stack.
      log.error('store failure', { reqId: request.id, method: request.method, url: request.url, status: 500, err: error });
      sendError(reply, { status: 500, code: 'INTERNAL', message: `${error.message} (request ${request.id}); the server logged it` });
      return;
    }
    if ((error as { code?: unknown }).code === 'STORE_DAMAGED') {
      // Damaged store files: as loud as a store failure, and the message says what to do.
      log.error('store failure', { reqId: request.id, method: request.method, url: request.url, status: 500, err: error });
      sendError(reply, { status: 500, code: 'STORE_DAMAGED', message: `${(error as Error).message} (request ${request.id})` });
      return;
    }
    const mapped = mapError(error, request);
    if (mapped) {
      if (mapped.status >= 500) log.warn('request failed', { reqId: request.id, method: request.method, url: request.url, status: mapped.status, err: error });
      sendError(reply, mapped);
      return;
    }
    log.error('unhandled error', { reqId: request.id, method: request.method, url: request.url, status: 500, err: error });
    sendError(reply, { status: 500, code: 'INTERNAL', message: `Internal error (request ${request.id}); the server logged it` });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = [...new Set(routes.filter((route) => route.matcher.test(path)).map((route) => route.method))];
    if (allowed.length > 0) {
      void reply.header('allow', allowed.join(', '));
      sendError(reply, {
        status: 405,
        code: 'METHOD_NOT_ALLOWED',
        message: `${request.method} is not allowed on ${path}: use ${allowed.join(' or ')}`,
      });
      return;
    }
    sendError(reply, { status: 404, code: 'NOT_FOUND', message: `No route ${request.method} ${path}` });
  });
}
