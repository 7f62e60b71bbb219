import { errorMessage, isAbortError, sqlState, SyncError, UnrecoverableError } from './errors';
import { logger } from './log';
import { backoffMs, sleep } from './service';

const log = logger('start');

/** Longest wait between two attempts, in ms: a dependency that comes back is used within this. */
const maxRetryMs = 5_000;

export interface StartupReport {
  /** `starting` until every part of the process runs. */
  state: 'starting' | 'running';
  /** The dependency or part being waited for, while starting. */
  waiting_for?: string;
  /** Why the last attempt failed (a connection error, never a secret: see `safeReason`). */
  last_error?: { code: string; message: string };
  attempts?: number;
  since_millis: number;
}

/**
 * What a process is doing before it serves: which dependency it waits for and why the last attempt
 * failed. `/health` reports it, so an orchestrator sees `starting` (not ready) instead of a process
 * that exited and restarts in a loop while Postgres or Kafka come up.
 */
export class StartupProgress {
  #report: StartupReport = { state: 'starting', since_millis: Date.now() };

  get report(): StartupReport {
    return { ...this.#report };
  }

  waitingFor(what: string, attempts: number, error: unknown): void {
    this.#report = { state: 'starting', waiting_for: what, last_error: safeReason(error), attempts, since_millis: this.#report.since_millis };
  }

  running(): void {
    this.#report = { state: 'running', since_millis: Date.now() };
  }
}

/**
 * A connection error's code and message. Messages of connection failures name hosts and ports
 * (`connect ECONNREFUSED 127.0.0.1:5432`), never passwords: pg and kafkajs put no credentials in them.
 */
function safeReason(error: unknown): { code: string; message: string } {
  const code =
    error instanceof SyncError
      ? error.code
      : typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
        ? error.code
        : error instanceof Error
          ? error.name
          : 'UNKNOWN';
  return { code, message: errorMessage(error).slice(0, 300) };
}

/**
 * Runs `attempt` until it succeeds: a dependency that is down at start (the broker still booting,
 * Postgres restarting) is waited for with backoff instead of exiting the process, which in a
 * container without a restart policy would leave the part dead for good. An UnrecoverableError
 * (a wrong configuration, a slot of the wrong kind) still ends the wait: retrying cannot fix it.
 */
export async function untilStarted<T>(what: string, attempt: () => Promise<T>, progress: StartupProgress, signal: AbortSignal): Promise<T> {
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error: unknown) {
      if (signal.aborted || isAbortError(error) || error instanceof UnrecoverableError || isPostgresRefusal(error)) throw error;
      const retryInMs = backoffMs(attempts - 1, 250, maxRetryMs);
      progress.waitingFor(what, attempts, error);
      log.warn(`${what} is not ready; retrying`, { attempts, reason: safeReason(error), retryInMs });
      await sleep(retryInMs, signal);
    }
  }
}

/**
 * A Postgres answer that waiting will not change (a failing migration, a wrong password, a
 * missing privilege): the process stops with it instead of retrying forever as "starting". Only
 * connection failures (class 08), a server shutting down or starting up (57P01–57P03) and "too
 * many connections" (53300) are outages.
 */
export function isPostgresRefusal(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const state = sqlState(current);
    if (state !== undefined) return !(state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03' || state === '53300');
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
