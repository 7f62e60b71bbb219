/**
 * The error taxonomy of the long-running services: everything is retryable unless it says
 * otherwise; shutdown is an AbortError; an UnrecoverableError skips backoff and stops the part.
 */
export class SyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly context: Record<string, string | number | undefined> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SyncError';
  }
}

export class UnrecoverableError extends SyncError {
  override readonly name = 'UnrecoverableError';
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** The SQLSTATE of a Postgres error, if `error` is one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    // Every SQLSTATE has a digit; Node's five-letter errno codes (EPIPE, EPERM) have none.
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && /[0-9]/.test(code)) return code;
  }
  return undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
