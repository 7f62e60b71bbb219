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
