/**
 * Store calls from routes: errors the store means for the user (bad cursor, bad regex,
 * unavailable) keep their code; anything else from the store becomes STORE_UNAVAILABLE,
 * because an ingest client must retry rather than drop its batch on a store hiccup.
 */
import { AppError } from '../common/errors.js';

const USER_CODES = new Set(['INVALID_CURSOR', 'INVALID_REGEX', 'STORE_UNAVAILABLE', 'STORE_DAMAGED']);

export async function callStore<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && USER_CODES.has(code)) throw error;
    throw new AppError('STORE_UNAVAILABLE', `The store could not ${operation}; retry later`, { cause: error });
  }
}
