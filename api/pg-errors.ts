import { sqlState } from '../infra/runtime/errors';

/** A Postgres error's SQLSTATE and constraint, found through drizzle's wrapping `cause` chain. */
export function postgresErrorOf(error: unknown): { code: string; constraint?: string } | undefined {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const code = sqlState(current);
    if (code) {
      const constraint = (current as { constraint?: unknown }).constraint;
      return { code, ...(typeof constraint === 'string' ? { constraint } : {}) };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export const uniqueViolation = '23505';
export const foreignKeyViolation = '23503';

/** Node's codes for a connection that could not be made or was cut. */
const connectionFailureCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether `error` means the internal database cannot be reached right now (down, restarting, out
 * of connections) rather than that the request was wrong: the API answers these with 503 and a
 * known code, so clients retry instead of seeing a 500. SQLSTATE class 08 (connection exception),
 * 57P01–57P03 (shutting down, crash recovery, starting up) and 53300 (too many connections).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const code = typeof current === 'object' && 'code' in current ? (current as { code: unknown }).code : undefined;
    if (typeof code === 'string' && connectionFailureCodes.has(code)) return true;
    const state = sqlState(current);
    if (state !== undefined) return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03' || state === '53300';
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether `error` could be a query cut by a lost connection, which pg reports as a plain `Error`
 * without any code ("Connection terminated unexpectedly"): the innermost cause is a plain Error
 * with no `code`. A TypeError, a zod error or anything Postgres answered (a SQLSTATE) is not.
 */
export function mayBeLostConnection(error: unknown): boolean {
  let innermost: unknown = error;
  for (let depth = 0; depth < 5 && typeof innermost === 'object' && innermost !== null && 'cause' in innermost && innermost.cause !== undefined; depth++) {
    innermost = innermost.cause;
  }
  return innermost instanceof Error && innermost.name === 'Error' && !('code' in innermost);
}
