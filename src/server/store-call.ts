/**
 * Store calls from routes. Errors the store means for the user (bad cursor, bad regex,
 * unavailable) keep their code. A failure that retrying can fix (the store busy, locked, out
 * of disk, an I/O error, DynamoDB unreachable or throttling) is 503 STORE_UNAVAILABLE with
 * Retry-After, so an agent holds its batch and sends it again. Anything else (a corrupt
 * database, a constraint or SQL error, a bug) is a StoreFailure: 500 with the request id,
 * logged once with its stack, because retrying it would only fail again.
 */
import { AppError } from '../common/errors.js';

const USER_CODES = new Set(['INVALID_CURSOR', 'INVALID_REGEX', 'STORE_UNAVAILABLE', 'STORE_DAMAGED']);

/** SQLite result codes (with their extended forms) that say "not now" rather than "never". */
const TRANSIENT_SQLITE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|NOMEM|PROTOCOL|INTERRUPT)(_|$)/;
/** File-system errors of the same kind: the disk, not the data. */
const TRANSIENT_ERRNO = new Set(['ENOSPC', 'EIO', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ENOMEM', 'EDQUOT']);

/** A store error that retrying will not fix: the error handler answers 500 and logs it with its cause. */
export class StoreFailure extends Error {
  constructor(readonly operation: string, cause: unknown) {
    super(`The store failed to ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreFailure';
  }
}

export function isTransientStoreError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (TRANSIENT_SQLITE.test(code) || TRANSIENT_ERRNO.has(code));
}

export async function callStore<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && USER_CODES.has(code)) throw error;
    if (isTransientStoreError(error)) throw new AppError('STORE_UNAVAILABLE', `The store could not ${operation}; retry later`, { cause: error });
    throw new StoreFailure(operation, error);
  }
}
